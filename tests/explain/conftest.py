"""Fixtures for the explainers: a network trained in seconds on faces whose class is written
in one bright patch, so the pixels that matter are known exactly."""

from __future__ import annotations

import pytest
import torch

from deep_emotion.model import DeepEmotion, DeepEmotionConfig
from deep_emotion.preprocess import DEFAULT_PREPROCESSING

SIDE = 48
PATCH = 10
# class k is a bright square at PATCH_AT[k] (top-left corner, rows and columns)
PATCH_AT = ((8, 8), (30, 30))


def patch_faces(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (n, 48, 48) grey noise with one white square whose position is the label (n,)."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(60, 120, (n, SIDE, SIDE), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % len(PATCH_AT)
    for i, k in enumerate(labels.tolist()):
        r, c = PATCH_AT[k]
        images[i, r:r + PATCH, c:c + PATCH] = 250
    return images, labels


def train_patch_model(layout: str = "paper", steps: int = 20, seed: int = 0) -> DeepEmotion:
    """A 2-class DeepEmotion that reads the patch (100% accurate, p > 0.99, after 20 steps)."""
    torch.manual_seed(seed)
    model = DeepEmotion(DeepEmotionConfig(num_classes=len(PATCH_AT), layout=layout))
    images, labels = patch_faces(512, seed)
    x = DEFAULT_PREPROCESSING.to_input(images)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="session")
def patch_model() -> DeepEmotion:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return train_patch_model()


@pytest.fixture
def patch_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised faces (8, 1, 48, 48) and labels (8,) the patch model has not seen."""
    images, labels = patch_faces(8, seed=123)
    return DEFAULT_PREPROCESSING.to_input(images), labels


@torch.no_grad()
def faces_at_the_decision_boundary(model: DeepEmotion, n: int = 2, seed: int = 0,
                                   steps: int = 14) -> torch.Tensor:
    """Normalised noise faces (n, 1, 48, 48) whose contrast is bisected until the network's
    decision is about to change, so that occluding almost any window flips it and every
    attribution method has something to show, even on an untrained network.

    An untrained DeepEmotion calls low-contrast noise one class and high-contrast noise
    another; the bisection keeps each face on the low-contrast side of that boundary.
    """
    noise = torch.randn(n, 1, SIDE, SIDE, generator=torch.Generator().manual_seed(seed))
    lo, hi = torch.full((n, 1, 1, 1), 0.1), torch.full((n, 1, 1, 1), 3.0)
    low = model(noise * lo).argmax(1)
    if (model(noise * hi).argmax(1) == low).any():
        raise ValueError("no decision boundary between contrast 0.1 and 3 on these faces")
    for _ in range(steps):
        mid = (lo + hi) / 2
        same = (model(noise * mid).argmax(1) == low).view(-1, 1, 1, 1)
        lo, hi = torch.where(same, mid, lo), torch.where(same, hi, mid)
    return noise * lo


@pytest.fixture(params=["paper", "input_warp"])
def random_model(request) -> DeepEmotion:
    """An untrained network of each layout (theta starts at the identity)."""
    torch.manual_seed(0)
    return DeepEmotion(DeepEmotionConfig(layout=request.param)).eval()
