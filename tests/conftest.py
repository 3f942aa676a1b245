"""Shared fixtures: the real-data root (skips without it) and a tiny trained-shape checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from deep_emotion.checkpoints import save_checkpoint
from deep_emotion.data import DATA_ENV
from deep_emotion.model import DeepEmotion, DeepEmotionConfig
from deep_emotion.preprocess import DEFAULT_PREPROCESSING

FER_CLASSES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


@pytest.fixture
def data_root() -> Path:
    """The real datasets root from $DEEP_EMOTION_DATA; the test skips when it is unset."""
    root = os.environ.get(DATA_ENV)
    if not root or not Path(root).is_dir():
        pytest.skip(f"real-data tier: set {DATA_ENV} to the datasets root")
    return Path(root)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Parsed-dataset caches go to a per-session temp dir unless a test sets its own; under
    pytest-xdist (``-n N``) each worker gets a folder of its own inside a given cache, so two
    processes never write the same cache file."""
    if "DEEP_EMOTION_CACHE" not in os.environ:
        monkeypatch.setenv("DEEP_EMOTION_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        monkeypatch.setenv("DEEP_EMOTION_CACHE", str(Path(os.environ["DEEP_EMOTION_CACHE"])
                                                     / os.environ["PYTEST_XDIST_WORKER"]))


@pytest.fixture
def random_checkpoint(tmp_path) -> Path:
    """An untrained 7-class FER2013-shaped checkpoint in a temp dir; returns its path stem."""
    torch.manual_seed(0)
    model = DeepEmotion(DeepEmotionConfig()).eval()
    return save_checkpoint(tmp_path / "random_fer", model, {
        "classes": FER_CLASSES, "preprocessing": DEFAULT_PREPROCESSING.to_dict(),
        "dataset": {"name": "fer2013"}, "protocol": {"name": "official"},
    })
