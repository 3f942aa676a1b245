"""``analyze`` computes the knock-outs and the agreement with people, and can add them alone."""

from __future__ import annotations

import importlib

import pytest

from deep_emotion.explain.analyze import analysis_path, analyze
from deep_emotion.explain.knockout import KNOCKOUT_REGIONS

from tests.explain.test_analyze import SMALL, TEST_FACES, fake_data, strip_volatile  # noqa: F401

analyze_module = importlib.import_module("deep_emotion.explain.analyze")
stages = importlib.import_module("deep_emotion.explain.stages")


def test_analyze_writes_knockouts_and_agreement_per_source(random_checkpoint, fake_data):
    result = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    knockout = result["knockout"]
    assert list(knockout) == list(KNOCKOUT_REGIONS)
    emotions = [e for e, n in result["counts"].items() if n]
    for region in KNOCKOUT_REGIONS:
        assert list(knockout[region]) == emotions
        for cell in knockout[region].values():
            assert {"recall_drop", "probability_drop", "low", "high", "random_recall_drop",
                    "exceeds_random", "baselines", "baseline_sensitive"} <= set(cell)
            assert list(cell["baselines"]) == ["black", "gray", "mean"]
    assert result["knockout_settings"]["faces"] == TEST_FACES
    assert set(result["human_agreement"]) == {"wegrzyn2017", "facs"}
    assert result["human_references"]["wegrzyn2017"]["observers"] == 94
    for source in result["human_agreement"].values():
        for cell in source.values():
            assert {"spearman", "low", "high", "p"} <= set(cell)
            assert set(cell["measures"]) == {"attribution", "attention", "knockout"}
            assert cell["verdict"] in ("agrees", "disagrees", "uncertain", "undefined")
            for measure in cell["measures"].values():  # stage 1 ran too: every interval
                assert (measure["low"] is None) == (measure["spearman"] is None)
    assert "knockout" in result["seconds"]


def test_the_knockout_stage_alone_keeps_every_other_stage(random_checkpoint, fake_data,
                                                          monkeypatch):
    first = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    for name in ("_regions_stage",):
        monkeypatch.setattr(analyze_module, name, lambda *a: pytest.fail("stage 1 ran"))
    monkeypatch.setattr(analyze_module, "trust_stages", lambda *a, **k: pytest.fail("trust ran"))
    again = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False,
                    stages=("knockout",))
    people, people_first = again.pop("human_agreement"), first.pop("human_agreement")
    assert strip_volatile(again) == strip_volatile(first)
    for source, per in people.items():
        for emotion, cell in per.items():
            before = people_first[source][emotion]["measures"]
            assert cell["measures"]["knockout"] == before["knockout"]
            assert cell["measures"]["attention"] == before["attention"]
            # an analysis keeps stage 1's class means only: no per-face spread, no interval
            attribution = cell["measures"]["attribution"]
            assert attribution["spearman"] == before["attribution"]["spearman"]
            assert attribution["low"] is None and attribution["high"] is None


def test_leaving_out_a_stage_needs_an_earlier_analysis(random_checkpoint, fake_data):
    assert not analysis_path(random_checkpoint).exists()
    with pytest.raises(ValueError, match="no regions, trust stage"):
        analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False,
                stages=("knockout",))
    with pytest.raises(ValueError, match="unknown stage"):
        analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False,
                stages=("bubbles",))


def test_an_interrupted_knockout_stage_resumes_to_the_same_result(random_checkpoint, fake_data,
                                                                  monkeypatch):
    full = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    analysis_path(random_checkpoint).unlink()
    real, calls = stages.knockout_chunk, []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(stages, "knockout_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    monkeypatch.setattr(stages, "knockout_chunk", real)
    resumed = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    assert strip_volatile(resumed) == strip_volatile(full)


def test_the_command_adds_the_knockout_stage_and_names_each_emotions_most_needed_region(
        capsys, random_checkpoint, fake_data):
    from deep_emotion.cli import main

    common = ["analyze", "--checkpoint", str(random_checkpoint), "--data-dir", str(fake_data),
              "--faithfulness-faces", "2", "--sanity-faces", "1", "--window", "16",
              "--stride", "16", "--quiet"]
    assert main(common + ["--stages", "knockout"]) == 2  # nothing to take the rest over from
    assert "compute every stage" in capsys.readouterr().err
    assert main(common) == 0
    assert main(common + ["--stages", "knockout"]) == 0
    out = capsys.readouterr().out
    assert "knock-out: " in out and "beyond a random region of its size" in out
