"""One call for one face: the prediction and every requested map as NumPy, ready for a page,
a command's JSON or a file.  The CLI's ``explain`` and the dashboard's Explain page both call
``explain_face``, so the same settings give the same maps everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from deep_emotion.checkpoints import Checkpoint
from deep_emotion.explain.attributions import (METHODS, OCCLUSION_STRIDE, OCCLUSION_WINDOW,
                                               make_explainer)
from deep_emotion.explain.metrics import (AGREEMENT_TOP, Curves, deletion_curve, insertion_curve,
                                          spearman, topk_iou)
from deep_emotion.predict import model_lock, predict_proba

__all__ = ["Explanation", "FaceExplanation", "FaceTrust", "explain_face", "DEFAULT_METHODS",
           "BASELINES", "baseline_intensity"]

DEFAULT_METHODS = ("stn", "occlusion")
# What an occluded patch is filled with: black (the paper's), mid-gray, or the face's own mean.
BASELINES = ("black", "gray", "mean")
_OCCLUDING = ("occlusion", "flip")  # the methods the window, stride and baseline apply to


class Explanation(NamedTuple):
    """One method's map of one face.

    map:  float32 (S, S), aligned pixel for pixel with the face.
    meta: JSON-ready dict: ``method``, ``target`` (class name), ``target_index``,
          ``probability`` (softmax of the target), ``attributes`` ("logit"), ``values`` (what
          the numbers mean), ``params``; for ``stn`` also ``theta`` (2x3), ``grid_outline``
          (5 (x, y) input pixel corners, closed) and ``view`` (R x R pixels 0..255, the face as
          the sampled frame shows it); for ``ig`` the completeness error ``delta``.
    """

    map: np.ndarray
    meta: dict


class FaceTrust(NamedTuple):
    """How far this face's occlusion map can be trusted, and how it compares with the STN's.

    agreement: IoU of the top ``AGREEMENT_TOP`` pixels of STN attention and |occlusion|, 0..1.
    spearman:  rank correlation of the two maps over pixels; NaN when either is constant.
    deletion, insertion: the target's probability as the occlusion map's top pixels are
        deleted / revealed (``Curves`` of one face: ``scores`` (1, T), ``auc`` (1,)).
    """

    agreement: float
    spearman: float
    deletion: Curves
    insertion: Curves


@dataclass(frozen=True)
class FaceExplanation:
    """Everything ``explain_face`` found for one face.

    classes:    the checkpoint's class names.
    probs:      float32 (C,) probabilities (under ``tta``; the maps explain the plain face).
    prediction: index of the most probable class.
    target:     index of the class the maps explain (the prediction unless one was asked for).
    maps:       {method: Explanation} in the order asked.
    trust:      FaceTrust when asked for (needs "stn" and "occlusion"), else None.
    """

    classes: tuple[str, ...]
    probs: np.ndarray
    prediction: int
    target: int
    maps: dict[str, Explanation]
    trust: FaceTrust | None = None


def baseline_intensity(face: np.ndarray, baseline: str) -> float:
    """The pixel intensity (0..255) an occluded patch is filled with (one of ``BASELINES``)."""
    if baseline == "black":
        return 0.0
    if baseline == "gray":
        return 128.0
    if baseline == "mean":
        return float(np.asarray(face).mean())
    raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")


def _target_index(target: int | str | None, classes: Sequence[str], probs: np.ndarray) -> int:
    if target is None:
        return int(np.argmax(probs))
    if isinstance(target, str):
        if target not in classes:
            raise ValueError(f"unknown class {target!r}; this checkpoint has {tuple(classes)}")
        return classes.index(target)
    if not 0 <= int(target) < len(classes):
        raise ValueError(f"target must be in 0..{len(classes) - 1}, got {target}")
    return int(target)


def _params(face: np.ndarray, window: int, stride: int, baseline: str,
            params: Mapping[str, Mapping] | None) -> dict[str, dict]:
    """Per-method constructor keywords: the occlusion settings for both occluding methods."""
    out = {m: dict(p) for m, p in (params or {}).items()}
    occluding = {"window": window, "stride": stride, "baseline": baseline_intensity(face, baseline)}
    for m in _OCCLUDING:
        out[m] = {**occluding, **out.get(m, {})}
    return out


def _explanation(explainer, x: torch.Tensor, target: int, classes: Sequence[str],
                 probability: float) -> Explanation:
    """One method's map of the one face in ``x`` (1, 1, S, S), with JSON-ready metadata."""
    result = explainer.attribute(x, target)
    meta = {**result.meta, "target": classes[target], "target_index": target,
            "probability": probability}
    for key in ("theta", "grid_outline", "view", "delta"):  # per-face extras of the one face
        if key in meta:
            meta[key] = meta[key][0]
    return Explanation(result.maps[0, 0].numpy().astype(np.float32), meta)


def _trust(checkpoint: Checkpoint, images: torch.Tensor, maps: dict[str, Explanation],
           target: int) -> FaceTrust:
    if "stn" not in maps or "occlusion" not in maps:
        raise ValueError("trust compares STN attention with occlusion: ask for both methods")
    pre = checkpoint.preprocessing
    x, t = pre.to_input(images), torch.tensor([target])
    occlusion = torch.from_numpy(maps["occlusion"].map)[None]
    heat = torch.from_numpy(maps["stn"].map)[None]
    return FaceTrust(
        agreement=float(topk_iou(heat, occlusion.abs(), AGREEMENT_TOP)[0]),
        spearman=float(spearman(heat, occlusion)[0]),
        deletion=deletion_curve(checkpoint.model, x, occlusion, t, baseline=pre.pixel_value(0.0)),
        insertion=insertion_curve(checkpoint.model, x, occlusion, t))


def explain_face(checkpoint: Checkpoint, face, methods: Sequence[str] = DEFAULT_METHODS,
                 target: int | str | None = None, *, tta: str = "none",
                 window: int = OCCLUSION_WINDOW, stride: int = OCCLUSION_STRIDE,
                 baseline: str = "black", params: Mapping[str, Mapping] | None = None,
                 trust: bool = False) -> FaceExplanation:
    """Predict one aligned face and explain it with several methods.

    Args:
        checkpoint: a loaded checkpoint (its network is read, never modified; its lock is
            held, because Captum's layer methods hook into the shared network).
        face: uint8 (S, S) grayscale face framed like FER2013 (array or tensor).
        methods: names from ``METHODS`` (default: STN attention and occlusion).
        target: class index or name to explain; None explains the predicted class.
        tta: test-time augmentation of the probabilities (``deep_emotion.predict.TTA_MODES``).
        window, stride, baseline: the occlusion (and flip) patch side, step and fill
            (``BASELINES``); the stride may not exceed the window.
        params: further per-method constructor keywords, e.g. ``{"ig": {"n_steps": 16}}``.
        trust: also compare STN attention with occlusion and score the occlusion map's
            faithfulness (``FaceTrust``).

    Returns:
        FaceExplanation; ``maps[m].map`` is float32 (S, S).

    Raises:
        ValueError: unknown method or class, a face of the wrong shape or type, or occlusion
            settings that do not fit the face.

    Example::

        >>> out = explain_face(load_checkpoint("fer2013"), face48, ["stn", "ig"], target="fear")
        >>> out.maps["ig"].map.shape, out.classes[out.target], out.classes[out.prediction]
        ((48, 48), 'fear', 'happiness')
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; available: {sorted(METHODS)}")
    face = np.array(face, copy=True)  # writable and owned: torch shares the buffer
    if face.dtype != np.uint8:
        raise ValueError(f"face must be uint8 pixels, got {face.dtype}")
    images = torch.from_numpy(face)[None]
    model, pre, classes = checkpoint.model, checkpoint.preprocessing, checkpoint.classes
    settings = _params(face, window, stride, baseline, params)
    explainers = {m: make_explainer(m, model, pre, **settings.get(m, {})) for m in methods}
    with model_lock(model):
        probs = predict_proba(model, images, pre, tta=tta)[0].numpy()
        plain = probs if tta == "none" else predict_proba(model, images, pre)[0].numpy()
        t = _target_index(target, classes, probs)
        maps = {m: _explanation(e, pre.to_input(images), t, classes, float(plain[t]))
                for m, e in explainers.items()}
        checks = _trust(checkpoint, images, maps, t) if trust else None
    return FaceExplanation(tuple(classes), probs.astype(np.float32), int(np.argmax(probs)), t,
                           maps, checks)
