"""Fixtures for the dashboard tests: a checkpoints folder made on the fly, photos from
scikit-image (public-domain NASA astronaut), and AppTest on ``dashboard/app.py``.

Nothing here needs the datasets: tests that do are marked ``realdata`` and skipped unless
``$DEEP_EMOTION_DATA`` is set.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from deep_emotion.checkpoints import save_checkpoint
from deep_emotion.model import DeepEmotion, DeepEmotionConfig
from deep_emotion.preprocess import DEFAULT_PREPROCESSING

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
FER = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
CK = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")


def _metrics(classes, rng, folds=False):
    k = len(classes)
    conf = rng.integers(0, 20, (k, k)) + np.diag(rng.integers(50, 150, k))
    per = {}
    for i, c in enumerate(classes):
        p, r = conf[i, i] / conf[:, i].sum(), conf[i, i] / conf[i].sum()
        per[c] = {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / (p + r)),
                  "support": int(conf[i].sum())}
    out = {"accuracy": float(np.trace(conf) / conf.sum()), "per_class": per,
           "confusion": conf.tolist(), "macro_f1": 0.5}
    if folds:
        out |= {"fold_accuracy_mean": out["accuracy"], "fold_accuracy_std": 0.03, "folds": 2}
    return out


def make_checkpoint(folder: Path, name: str, classes, dataset: str, *, folds: int = 1,
                    seed: int = 0) -> Path:
    """A small random checkpoint whose card has the fields real cards have."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    models = []
    for _ in range(folds):
        m = DeepEmotion(DeepEmotionConfig(num_classes=len(classes)))
        with torch.no_grad():  # a theta that is not the identity, so the STN view shows a warp
            m.fc_loc[-1].bias.copy_(torch.tensor([0.8, 0.05, 0.02, -0.03, 0.85, 0.05]))
        models.append(m)
    epochs = [{"epoch": e, "train_loss": 1.9 - 0.03 * e, "train_acc": 0.3 + 0.01 * e,
               "val_acc": 0.3 + 0.008 * e, "lr": 0.005, "seconds": 10.0} for e in range(1, 11)]
    cv = folds > 1
    card = {"classes": list(classes), "preprocessing": DEFAULT_PREPROCESSING.to_dict(),
            "dataset": {"name": dataset, "sha256": "test"},
            "protocol": {"name": "subject-kfold" if cv else "official", "seed": 0,
                         "description": "test protocol", "selection": "best val epoch",
                         "split_sizes": ([{"train": 8, "val": 1, "test": 1}] * folds if cv
                                         else {"train": 8, "val": 1, "test": 1}),
                         "folds": [f"fold{i}" for i in range(folds)] if cv else ["official"]},
            "metrics": {"val": {"none": _metrics(classes, rng, cv)},
                        "test": {t: _metrics(classes, rng, cv) for t in ("none", "flip", "tencrop")}},
            "training": {"epochs": 10, "lr": 0.005, "folds": folds},
            "history": ([{"fold": f"fold{i}", "best_epoch": 5, "epochs": epochs} for i in range(folds)]
                        if cv else epochs)}
    return save_checkpoint(folder / name, models if cv else models[0], card)


# Verdicts of the generated analysis: Grad-CAM alone passes both checks among the extra methods
# (saliency fails the sanity check, integrated gradients is no better than a random map).
SANITY = {"occlusion": "passes", "ig": "passes", "saliency": "fails", "gradcam": "passes",
          "stn": "fails"}
BEATS = {"occlusion": True, "ig": False, "saliency": True, "gradcam": True, "stn": None}


def make_analysis(folder: Path, name: str, classes) -> Path:
    """An analysis file in the format ``deep_emotion.explain.analyze`` writes."""
    from deep_emotion.explain.analyze import ANALYSIS_FORMAT
    from deep_emotion.explain.regions import region_layout

    rng = np.random.default_rng(0)
    layout = region_layout(size=48)
    regions = list(layout.names)
    methods = ("stn", "occlusion")
    trust = ("occlusion", "ig", "saliency", "gradcam", "stn")

    def share():
        v = rng.random(len(regions))
        return dict(zip(regions, (v / v.sum()).round(5).tolist()))

    def summary():
        return {"n": 10, "mean": 0.2, "quantiles": {"0.1": 0.0, "0.25": 0.1, "0.5": 0.2,
                                                     "0.75": 0.3, "0.9": 0.4},
                "histogram": {"edges": np.linspace(-1, 1, 21).tolist(), "counts": [1] * 20}}

    data = {
        "format": ANALYSIS_FORMAT, "checkpoint": name, "faces": 70, "classes": list(classes),
        "source": "test faces", "config": {"window": 8, "stride": 4},
        "regions": {"names": regions, "area": dict(zip(regions, [1 / len(regions)] * len(regions))),
                    "landmarks": {}, "labels": layout.labels.tolist()},
        "counts": {c: 10 for c in classes},
        "region_sensitivity": {m: {c: share() for c in classes} for m in methods},
        "class_mean_maps": {m: {c: rng.random((48, 48)).round(4).tolist() for c in classes}
                            for m in methods},
        "agreement": {"measures": {"spearman": "rank correlation", "topk_iou": "IoU top 10%"},
                      "all": {"spearman": summary(), "topk_iou": summary()},
                      "per_emotion": {c: {"spearman": summary(), "topk_iou": summary()}
                                      for c in classes}},
        "faithfulness": {"faces": 32, "score": "probability", "deletion_baseline": "black",
                         "insertion_start": "blurred face",
                         "interval": "95% percentile bootstrap over the faces",
                         "methods": {m: {"deletion_auc": 0.2, "deletion_auc_std": 0.05,
                                         "insertion_auc": 0.5, "insertion_auc_std": 0.1,
                                         **({} if m == "random" else {
                                             "deletion": {"interval": [0.2, 0.15, 0.25],
                                                          "beats_random": BEATS.get(m)},
                                             "insertion": {"interval": [0.5, 0.4, 0.6],
                                                           "beats_random": BEATS.get(m)}}),
                                         "deletion_curve": np.linspace(0.6, 0.1, 25).tolist(),
                                         "insertion_curve": np.linspace(0.1, 0.6, 25).tolist(),
                                         "fractions": np.linspace(0, 1, 25).tolist()}
                                     for m in (*trust, "random")}},
        "sanity": {"faces": 4, "similarity": "Spearman of |map| with the original map",
                   "interval": "95% percentile bootstrap over the faces",
                   "methods": {m: {"layers": ["classifier.2", "classifier.0", "features.0"],
                                   "mean_spearman": [0.8, 0.4, 0.1 if m != "stn" else 0.9],
                                   "faces": 100, "faces_defined": 100,
                                   "interval": [0.1, 0.05, 0.15] if m != "stn" else [0.9, 0.85, 0.95],
                                   "verdict": SANITY[m], "passed": SANITY[m] == "passes",
                                   "threshold": 0.5} for m in trust}},
        "seconds": {"regions": 1.0}, "date": "2026-01-01T00:00:00+00:00",
    }
    path = folder / f"{name}.analysis.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="session")
def checkpoints_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("checkpoints")
    make_checkpoint(folder, "fer2013", FER, "fer2013")
    make_checkpoint(folder, "ckplus", CK, "ckplus", folds=2, seed=1)
    make_analysis(folder, "fer2013", FER)
    return folder


@pytest.fixture()
def app_env(checkpoints_dir, monkeypatch):
    """Point the app at the generated checkpoints; datasets only when the real-data tier runs."""
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(checkpoints_dir))
    if not os.environ.get("DEEP_EMOTION_DATA"):
        monkeypatch.delenv("DEEP_EMOTION_DATA", raising=False)
    return checkpoints_dir


@pytest.fixture()
def app(app_env):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    from skimage import data

    return jpeg(data.astronaut())


@pytest.fixture(scope="session")
def two_faces_jpeg() -> bytes:
    from skimage import data

    a = data.astronaut()
    return jpeg(np.concatenate([a, a[:, ::-1]], axis=1))


@pytest.fixture(scope="session", autouse=True)
def _join_warm_up():
    """Let the frame's background warm-up finish before the interpreter exits: a daemon thread
    still inside torch at shutdown aborts the process ("terminate called ...")."""
    yield
    import threading

    for t in threading.enumerate():
        if t.name == "dashboard-warm-up":
            t.join(timeout=120)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the browser tests (``tests.dashboard.e2e.launch``: no outside traffic)."""
    from playwright.sync_api import sync_playwright

    from tests.dashboard import e2e

    with sync_playwright() as p:
        b = e2e.launch(p)
        yield b
        b.close()


@contextlib.contextmanager
def served_checkpoints(checkpoints_dir, unset: tuple[str, ...] = ()):
    """``streamlit run`` on the test checkpoints (skips without Chromium or Playwright);
    yields its URL.  ``unset``: environment variables the server must not see."""
    from tests.dashboard import e2e

    if e2e.chromium_path() is None:
        pytest.skip("no Chromium: apt-get install chromium (or set $CHROMIUM)")
    pytest.importorskip("playwright")
    with e2e.serve(env={"DEEP_EMOTION_CHECKPOINTS": str(checkpoints_dir)},
                   unset=unset) as (url, _):
        yield url

