"""--data folder:PATH / csv:FILE in evaluate, train and analyze."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.data import load_dataset
from deep_emotion.data.userdata import make_spec
from deep_emotion.evaluate import cross_dataset
from tests.cli.test_cli import cli
from tests.data.userfaces import crop_folder


@pytest.fixture
def faces(tmp_path):
    """Crops in mixed-case and synonym folders, 'contempt' among them (FER2013 lacks it)."""
    return crop_folder(tmp_path / "faces", {"Happy": 6, "angry": 6, "SAD": 6, "contempt": 3})


def test_evaluate_on_a_folder_reports_shared_classes_and_what_was_left_out(faces,
                                                                           random_checkpoint):
    out = json.loads(cli("evaluate", "--checkpoint", random_checkpoint, "--data",
                         f"folder:{faces}", "--aligned", "--tta", "none", "flip",
                         "--json").stdout)
    assert set(out) >= {"checkpoint", "dataset", "protocol", "test", "card", "matches_card"}
    assert out["shared_classes"] == ["anger", "happiness", "sadness"]
    assert out["left_out"]["dataset_classes"] == ["contempt"]
    assert out["left_out"]["dataset_rows"] == 3
    assert "neutral" in out["left_out"]["network_classes"]
    assert out["manifest"]["faces_used"] == 21
    ckpt = load_checkpoint(random_checkpoint)
    data = load_dataset(make_spec("folder", faces, aligned=True))
    for mode in ("none", "flip"):
        direct = cross_dataset(ckpt.model, ckpt.classes, ckpt.preprocessing, data, mode)
        assert out["test"][mode]["confusion"] == direct["confusion"]
        assert out["test"][mode]["accuracy"] == direct["accuracy"]
        assert set(out["test"][mode]["per_class"]) == {"anger", "happiness", "sadness"}


def test_evaluate_with_a_bad_folder_is_one_line(tmp_path, random_checkpoint):
    crop_folder(tmp_path, {"cats": 1, "happy": 1})
    result = cli("evaluate", "--checkpoint", random_checkpoint, "--data", f"folder:{tmp_path}",
                 check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'cats'" in result.stderr


def test_train_fine_tunes_a_network_on_a_folder_and_the_card_finds_it_again(faces, tmp_path,
                                                                            random_checkpoint):
    cli("train", "--data", f"folder:{faces}", "--aligned", "--init", random_checkpoint,
        "--protocol", "stratified", "--epochs", "1", "--batch-size", "8", "--threads", "1",
        "--out", tmp_path / "mine", "--run-dir", tmp_path / "run", "--quiet")
    card = json.loads((tmp_path / "mine.json").read_text())
    assert card["dataset"]["name"] == make_spec("folder", faces, aligned=True)
    assert card["dataset"]["manifest"]["faces_used"] == 21
    assert card["classes"] == ["anger", "happiness", "sadness", "contempt"]
    out = json.loads(cli("evaluate", "--checkpoint", tmp_path / "mine", "--json").stdout)
    assert out["matches_card"] is True


def test_analyze_on_a_folder_writes_to_the_cache_with_the_manifest(faces, random_checkpoint):
    from deep_emotion.explain import AnalyzeConfig, analyze

    data = load_dataset(make_spec("folder", faces, aligned=True))
    config = AnalyzeConfig(trust_methods=("stn",), faithfulness_faces=4, sanity_faces=2,
                           chunk=8)
    result = analyze(load_checkpoint(random_checkpoint), data=data, config=config,
                     progress=False)
    assert result["faces"] == 18  # contempt rows: the network has no such class
    assert result["counts"] == {"anger": 6, "disgust": 0, "fear": 0, "happiness": 6,
                                "sadness": 6, "surprise": 0, "neutral": 0}
    assert result["dataset"]["manifest"]["faces_used"] == 21
    assert set(result["region_sensitivity"]["stn"]) == {"anger", "happiness", "sadness"}
    assert np.isfinite(np.asarray(result["class_mean_maps"]["stn"]["anger"])).all()


def test_an_analysis_kept_in_memory_writes_nothing_and_equals_the_written_one(
        faces, random_checkpoint, tmp_path, monkeypatch):
    """The dashboard analyses an upload with ``write=False``: not a file, not a partial state."""
    from deep_emotion.explain import AnalyzeConfig, analyze
    from deep_emotion.explain.analyze import data_analysis_path

    monkeypatch.setenv("DEEP_EMOTION_CACHE", str(tmp_path / "cache"))
    data = load_dataset(make_spec("folder", faces, aligned=True))  # may cache the aligned faces
    ckpt = load_checkpoint(random_checkpoint)
    config = AnalyzeConfig(trust_methods=("stn",), faithfulness_faces=4, sanity_faces=2, chunk=8)

    def files() -> set:
        return {p for p in (tmp_path / "cache").rglob("*") if p.is_file()}

    before = files()
    kept = analyze(ckpt, data=data, config=config, progress=False, write=False)
    assert files() == before
    written = analyze(ckpt, data=data, config=config, progress=False)
    assert files() == before | {data_analysis_path(ckpt, data)}
    volatile = ("seconds", "date", "code_commit")
    assert {k: v for k, v in kept.items() if k not in volatile} == \
        {k: v for k, v in written.items() if k not in volatile}


def torchrun() -> str:
    import os
    import sys

    return os.path.join(os.path.dirname(sys.executable), "torchrun")


def test_two_torchrun_processes_analyze_exactly_as_one(faces, tmp_path, random_checkpoint):
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["-m", "deep_emotion.cli", "analyze", "--checkpoint", str(random_checkpoint),
            "--data", f"folder:{faces}", "--aligned", "--faithfulness-faces", "6",
            "--sanity-faces", "2", "--trust-methods", "stn", "saliency", "--chunk", "4",
            "--quiet"]  # 5 chunks of region work dealt out to the two ranks
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one.json")],
                         env=env, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([torchrun(), "--standalone", "--nproc_per_node", "2", *args, "--out",
                          str(tmp_path / "two.json")], env=env, capture_output=True, text=True)
    assert two.returncode == 0, two.stderr
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    for volatile in ("seconds", "date"):
        a.pop(volatile), b.pop(volatile)
    assert a == b
    assert a["faces"] == 18 and set(a["faithfulness"]["methods"]) == {"stn", "saliency",
                                                                      "random"}
    assert not list(tmp_path.glob("two.analysis.partial*"))
