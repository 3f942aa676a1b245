"""One call for one face: every requested map as NumPy, ready for a page or a JSON file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch

from deep_emotion.checkpoints import Checkpoint
from deep_emotion.explain.attributions import METHODS, make_explainer
from deep_emotion.predict import predict_proba

__all__ = ["Explanation", "explain_face", "DEFAULT_METHODS"]

DEFAULT_METHODS = ("stn", "occlusion")


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


def explain_face(checkpoint: Checkpoint, face, methods: Sequence[str] = DEFAULT_METHODS,
                 target: int | str | None = None,
                 params: Mapping[str, Mapping] | None = None) -> dict[str, Explanation]:
    """Explain one aligned face with several methods.

    Args:
        checkpoint: a loaded checkpoint (its network is read, never modified).
        face: uint8 (S, S) grayscale face framed like FER2013 (array or tensor).
        methods: names from ``METHODS`` (default: STN attention and occlusion).
        target: class index or name to explain; None explains the predicted class.
        params: per-method constructor keywords, e.g. ``{"occlusion": {"stride": 4}}``.

    Returns:
        {method: Explanation} in the order of ``methods``.

    Raises:
        ValueError: unknown method or class, or a face of the wrong shape.

    Example::

        >>> out = explain_face(load_checkpoint("fer2013"), face48, methods=["stn", "ig"])
        >>> out["ig"].map.shape, out["ig"].meta["target"]
        ((48, 48), 'happiness')
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; available: {sorted(METHODS)}")
    model, pre, classes = checkpoint.model, checkpoint.preprocessing, checkpoint.classes
    images = torch.as_tensor(np.asarray(face)).reshape(1, *np.shape(face))
    if images.dtype != torch.uint8:
        raise ValueError(f"face must be uint8 pixels, got {images.dtype}")
    x = pre.to_input(images)
    if isinstance(target, str):
        if target not in classes:
            raise ValueError(f"unknown class {target!r}; this checkpoint has {classes}")
        target = classes.index(target)
    probs = predict_proba(model, images, pre)[0]
    out = {}
    for method in methods:
        result = make_explainer(method, model, pre, **dict((params or {}).get(method, {}))) \
            .attribute(x, target)
        t = int(result.target[0])
        meta = {**result.meta, "target": classes[t], "target_index": t,
                "probability": float(probs[t])}
        for key in ("theta", "grid_outline", "view", "delta"):  # per-face extras of our one face
            if key in meta:
                meta[key] = meta[key][0]
        out[method] = Explanation(result.maps[0, 0].numpy().astype(np.float32), meta)
    return out
