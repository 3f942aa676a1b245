"""Class probabilities for 48x48 faces, with optional test-time augmentation.

Both evaluation and the CLI/dashboard go through ``predict_proba`` so a number in a card and a
bar in the dashboard come from the same code.
"""

from __future__ import annotations

import threading
import weakref

import torch
import torch.nn.functional as F
from torch import nn

from deep_emotion.preprocess import Preprocessing

__all__ = ["TTA_MODES", "predict_proba", "tta_views", "model_lock"]

TTA_MODES = ("none", "flip", "tencrop")
TENCROP_FRACTION = 0.9  # crops keep 90% of the side (43 of 48 px), resized back to the input size


_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The lock of one network, for work that must not interleave on it: Captum's layer
    methods add (and then remove) hooks on the network, which a concurrent forward pass from
    another thread would run.  Re-entrant, so an explanation may predict under it."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
        return lock


def tta_views(x: torch.Tensor, mode: str) -> list[torch.Tensor]:
    """The views of a normalised batch (B, 1, S, S) averaged under ``mode``.

    flip: the image and its mirror.  tencrop: four corner crops and the centre crop of 90% of
    the side, each resized back to S (the network needs S x S), and their mirrors.
    """
    if mode not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {mode!r}")
    if mode == "none":
        return [x]
    if mode == "flip":
        return [x, x.flip(-1)]
    side = x.shape[-1]
    c = round(side * TENCROP_FRACTION)
    offsets = [(0, 0), (0, side - c), (side - c, 0), (side - c, side - c),
               ((side - c) // 2, (side - c) // 2)]
    crops = [F.interpolate(x[..., i:i + c, j:j + c], size=(side, side), mode="bilinear",
                           align_corners=False) for i, j in offsets]
    return crops + [v.flip(-1) for v in crops]


@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, preprocessing: Preprocessing,
                  tta: str = "none", batch_size: int = 1024) -> torch.Tensor:
    """Softmax probabilities for uint8 faces.

    Args:
        model: a DeepEmotion network; its mode is restored afterwards.
        images: uint8 (N, S, S) grayscale faces framed as ``preprocessing`` says.
        preprocessing: the checkpoint's preprocessing.
        tta: one of ``TTA_MODES``; probabilities are averaged over the views.

    Returns:
        float32 (N, C) probabilities on the CPU.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = preprocessing.to_input(images[start:start + batch_size]).to(device)
            views = tta_views(x, tta)
            probs = sum(torch.softmax(model(v), dim=1) for v in views) / len(views)
            out.append(probs.float().cpu())
    finally:
        model.train(was_training)
    if not out:
        return torch.zeros(0, model.config.num_classes)
    return torch.cat(out)
