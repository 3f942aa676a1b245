"""Precomputed analyses: file beside the checkpoint, documented keys, resumable, shipped ones."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from deep_emotion.catalog import checkpoint_dir, list_checkpoints
from deep_emotion.checkpoints import load_checkpoint, save_checkpoint
from deep_emotion.data import fer2013
from deep_emotion.explain.attributions import make_explainer
from deep_emotion.explain.analyze import AnalyzeConfig, analysis_path, analyze, load_analysis
from deep_emotion.explain.metrics import randomisation_order, sanity_check
from deep_emotion.explain.regions import REGIONS
from deep_emotion.model import DeepEmotion, DeepEmotionConfig
from deep_emotion.preprocess import DEFAULT_PREPROCESSING

from tests.conftest import FER_CLASSES

TEST_FACES = 9  # PrivateTest rows of the fake CSV
# the module, not the function deep_emotion.explain re-exports under the same name
analyze_module = importlib.import_module("deep_emotion.explain.analyze")
stages = importlib.import_module("deep_emotion.explain.stages")

SMALL = AnalyzeConfig(window=16, stride=8, trust_methods=("occlusion", "saliency", "stn"),
                      faithfulness_faces=4, sanity_faces=2, steps=4, chunk=4)


def write_fer2013(root: Path) -> Path:
    """A FER2013 CSV in the Kaggle format with 4 Training, 2 PublicTest, 9 PrivateTest rows."""
    rng = np.random.default_rng(0)
    usages = ["Training"] * 4 + ["PublicTest"] * 2 + ["PrivateTest"] * TEST_FACES
    rows = [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},{u}"
            for i, u in enumerate(usages)]
    path = root / "fer2013" / "fer2013.csv"
    path.parent.mkdir(parents=True)
    path.write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    return root


@pytest.fixture
def fake_data(tmp_path) -> Path:
    return write_fer2013(tmp_path / "data")


def strip_volatile(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("seconds", "date", "code_commit")}


@pytest.fixture
def warping_checkpoint(tmp_path) -> Path:
    """An untrained FER2013-shaped checkpoint whose STN starts away from the identity, so its
    attention map varies over the face (at the identity it is flat and agreement undefined)."""
    torch.manual_seed(0)
    model = DeepEmotion(DeepEmotionConfig()).eval()
    with torch.no_grad():
        model.fc_loc[-1].bias.copy_(torch.tensor([0.8, 0.05, 0.02, -0.03, 0.85, 0.05]))
    return save_checkpoint(tmp_path / "random_fer", model, {
        "classes": FER_CLASSES, "preprocessing": DEFAULT_PREPROCESSING.to_dict(),
        "dataset": {"name": "fer2013"}, "protocol": {"name": "official"}})


def test_writes_the_documented_analyses_beside_the_checkpoint(warping_checkpoint, fake_data):
    config = replace(SMALL, sanity_faces=TEST_FACES)  # every test face: the sample is known
    result = analyze(warping_checkpoint, data_dir=fake_data, config=config, progress=False)
    path = analysis_path(warping_checkpoint)
    assert path == warping_checkpoint.with_name("random_fer.analysis.json") and path.is_file()
    assert path.stat().st_size < 1_000_000
    assert strip_volatile(load_analysis(warping_checkpoint)) == strip_volatile(result)
    assert result["faces"] == TEST_FACES and sum(result["counts"].values()) == TEST_FACES
    for method in ("stn", "occlusion"):
        for emotion, shares in result["region_sensitivity"][method].items():
            assert list(shares) == list(REGIONS)
            assert sum(shares.values()) == pytest.approx(1.0, abs=1e-4)
            assert np.asarray(result["class_mean_maps"][method][emotion]).shape == (48, 48)
    assert set(result["faithfulness"]["methods"]) == {"occlusion", "saliency", "stn", "random"}
    # both maps vary on every face, so every face has an agreement score
    agreement = result["agreement"]["per_emotion"]
    assert sum(a["spearman"]["n"] for a in agreement.values()) == TEST_FACES
    assert result["agreement"]["all"]["spearman"]["n"] == TEST_FACES
    assert not path.with_name("random_fer.analysis.partial.npz").exists()
    # the sanity stage is the randomisation check of each method on the test faces
    sanity = result["sanity"]
    assert sanity["faces"] == TEST_FACES and list(sanity["methods"]) == list(SMALL.trust_methods)
    ckpt = load_checkpoint(warping_checkpoint)
    x = ckpt.preprocessing.to_input(fer2013.load(fake_data, split="PrivateTest").images)
    for method, check in sanity["methods"].items():
        explainer = make_explainer(method, ckpt.model, ckpt.preprocessing,
                                   **config.params(method, "trust"))
        direct = sanity_check(explainer, x, seed=config.seed).summary()
        assert check["layers"] == direct["layers"] == randomisation_order(ckpt.model)
        assert check["mean_spearman"] == pytest.approx(direct["mean_spearman"], abs=1e-3)
        assert None not in check["mean_spearman"] and len(check["mean_spearman"]) == 11
        assert check["passed"] == direct["passed"], method


def test_an_interrupted_run_resumes_to_the_same_result(random_checkpoint, fake_data,
                                                       monkeypatch):
    full = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    analysis_path(random_checkpoint).unlink()
    real_sanity = stages.sanity
    calls = []

    def interrupted(*args):
        calls.append(args[3])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_sanity(*args)

    monkeypatch.setattr(stages, "sanity", interrupted)
    with pytest.raises(KeyboardInterrupt):
        analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    partial = random_checkpoint.with_name("random_fer.analysis.partial.npz")
    assert partial.is_file() and not analysis_path(random_checkpoint).exists()
    monkeypatch.setattr(stages, "sanity", real_sanity)
    monkeypatch.setattr(analyze_module, "_regions_stage",
                        lambda *a: pytest.fail("stage 1 was already done"), raising=True)
    resumed = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    assert strip_volatile(resumed) == strip_volatile(full)


def test_missing_analysis_says_how_to_make_it(random_checkpoint):
    with pytest.raises(FileNotFoundError, match="deep-emotion analyze --checkpoint random_fer"):
        load_analysis(random_checkpoint)


def test_unknown_methods_are_refused():
    with pytest.raises(ValueError, match="unknown method 'lime'"):
        AnalyzeConfig(trust_methods=("lime",))


@pytest.fixture(params=list_checkpoints())
def shipped_analysis(request) -> tuple[str, dict]:
    """(name, analysis) of each shipped checkpoint; skipped where none is shipped."""
    name = request.param
    if not (checkpoint_dir() / f"{name}.analysis.json").is_file():
        pytest.skip(f"no analysis for {name}")
    return name, load_analysis(name)


def test_shipped_analyses_are_current_and_occlusion_beats_random_on_a_curve(shipped_analysis):
    """Occlusion beats the random map on deletion or insertion with its whole bootstrap interval
    (a network that is sure of nearly every face, such as ckplus_res_ft, can tie on one curve;
    the Trust page says so), and passes the randomisation check."""
    name, data = shipped_analysis
    card = json.loads((checkpoint_dir() / f"{name}.json").read_text())
    assert data["weights_sha256"] == card["weights_sha256"], "stale: re-run deep-emotion analyze"
    occlusion = data["faithfulness"]["methods"]["occlusion"]
    assert True in (occlusion["deletion"]["beats_random"], occlusion["insertion"]["beats_random"])
    assert data["sanity"]["methods"]["occlusion"]["passed"]


def test_shipped_trust_checks_use_100_faces_or_every_test_face_with_intervals(shipped_analysis):
    _, data = shipped_analysis
    for stage in ("sanity", "faithfulness"):
        assert data[stage]["faces"] >= min(100, data["faces"]), stage
        assert "bootstrap" in data[stage]["interval"]
    for check in data["sanity"]["methods"].values():
        assert check["verdict"] in ("passes", "fails", "undefined")
        if check["interval"] is None:  # too few faces with a defined map: no verdict
            assert check["verdict"] == "undefined" and not check["passed"]


def test_trust_stages_carry_intervals_and_verdicts(random_checkpoint, fake_data):
    result = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    occlusion = result["faithfulness"]["methods"]["occlusion"]
    for kind in ("deletion", "insertion"):
        mean, low, high = occlusion[kind]["interval"]
        assert low <= mean <= high and mean == pytest.approx(occlusion[f"{kind}_auc"], abs=1e-3)
        # the verdict is the side of 0 on which the whole paired difference lies, if any:
        # below for deletion (faster to fall), above for insertion (faster to rise)
        diff, low, high = occlusion[kind]["vs_random"]
        better, worse = (high < 0, low > 0) if kind == "deletion" else (low > 0, high < 0)
        assert occlusion[kind]["beats_random"] is (True if better else False if worse else None)
        random_auc = result["faithfulness"]["methods"]["random"][f"{kind}_auc"]
        assert diff == pytest.approx(occlusion[f"{kind}_auc"] - random_auc, abs=1e-3)
    assert "deletion" not in result["faithfulness"]["methods"]["random"]
    for check in result["sanity"]["methods"].values():
        assert check["faces"] == 2 and check["verdict"] == "undefined"  # 2 faces: no verdict
        assert not check["passed"]
    assert "bootstrap" in result["sanity"]["interval"]


def test_refreshing_the_trust_stages_keeps_stage_one_of_the_same_weights(random_checkpoint,
                                                                         fake_data, monkeypatch):
    first = analyze(random_checkpoint, data_dir=fake_data, config=SMALL, progress=False)
    monkeypatch.setattr(analyze_module, "_regions_stage",
                        lambda *a: pytest.fail("stage 1 should have been taken over"))
    more = AnalyzeConfig(**{**SMALL.__dict__, "sanity_faces": 5})
    second = analyze(random_checkpoint, data_dir=fake_data, config=more, progress=False)
    assert second["class_mean_maps"] == first["class_mean_maps"]
    assert second["sanity"]["faces"] == 5 and second["config"]["sanity_faces"] == 5
    monkeypatch.undo()
    other_window = AnalyzeConfig(**{**SMALL.__dict__, "window": 8})
    calls = []
    real = analyze_module._regions_stage
    monkeypatch.setattr(analyze_module, "_regions_stage", lambda *a: calls.append(1) or real(*a))
    analyze(random_checkpoint, data_dir=fake_data, config=other_window, progress=False)
    assert calls, "other stage-1 settings must recompute stage 1"


def test_trust_samples_pool_the_test_faces_of_every_network():
    parts = [stages.Part(None, list(range(n)), f"fold{i}") for i, n in enumerate((5, 3, 4))]
    picks = stages.sample_parts(parts, 12, seed=0)
    assert [len(rows) for _, rows in picks] == [5, 3, 4]
    picks = stages.sample_parts(parts, 7, seed=0)
    assert sum(len(rows) for _, rows in picks) == 7
    assert all(rows.max() < len(part.data) for part, rows in picks)


def test_faithfulness_verdicts_say_which_way_each_curve_should_go():
    """Deletion: a faithful map's curve falls faster than the random map's (lower AUC);
    insertion: it rises faster (higher AUC).  Both make occlusion beat random here."""
    fractions = [0.0, 0.5, 1.0]
    flat = torch.linspace(0.6, 0.7, 12)[:, None].repeat(1, 3)
    faithful = {"deletion": (flat * torch.tensor([1.0, 0.5, 0.2])).tolist(),
                "insertion": (flat * torch.tensor([0.2, 0.9, 1.0])).tolist(),
                "fractions": fractions}
    random = {"deletion": flat.tolist(), "insertion": (flat * 0.5).tolist(), "fractions": fractions}
    summary = analyze_module._faithfulness_summary(faithful, random, seed=0)
    assert summary["deletion"]["beats_random"] is True
    assert summary["insertion"]["beats_random"] is True
    assert summary["deletion_auc"] < analyze_module._faithfulness_summary(random, None, 0)[
        "deletion_auc"]


class _Faces:
    """The one attribute of a dataset the trust stages read."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)


def test_a_sanity_array_pools_every_network_with_each_face_judged_on_its_own_network():
    """A cross-validated checkpoint: each fold's sampled faces are explained and randomised on
    that fold's network, and the array holds them side by side in fold order."""
    from types import SimpleNamespace

    torch.manual_seed(0)
    nets = [DeepEmotion(DeepEmotionConfig()).eval() for _ in range(2)]
    g = torch.Generator().manual_seed(1)
    parts = [stages.Part(net, _Faces(torch.randint(0, 256, (n, 48, 48), generator=g,
                                                   dtype=torch.uint8)), f"fold{i}")
             for i, (net, n) in enumerate(zip(nets, (3, 2)))]
    ckpt = SimpleNamespace(preprocessing=DEFAULT_PREPROCESSING)
    config = replace(SMALL, trust_stride=16)
    picks = stages.sample_parts(parts, 5, seed=0)
    pooled = stages.sanity(picks, ckpt, "occlusion", config)
    similarity = torch.tensor(pooled["similarity"], dtype=torch.float64)
    assert similarity.shape == (11, 5) and pooled["layers"] == randomisation_order(nets[0])
    start = 0
    for part, rows in picks:
        explainer = make_explainer("occlusion", part.model, DEFAULT_PREPROCESSING,
                                   **config.params("occlusion", "trust"))
        own = sanity_check(explainer, DEFAULT_PREPROCESSING.to_input(part.data.images[rows]),
                           seed=config.seed).similarity
        torch.testing.assert_close(similarity[:, start:start + len(rows)], own.double(),
                                   equal_nan=True)
        start += len(rows)
