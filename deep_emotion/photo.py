"""One call for one photo: its faces, their predictions and their maps, in one object.

``read_photo`` chains the face path (``deep_emotion.faces.read_faces``: safe decoding,
detection, alignment at the checkpoint's input size), ``predict_proba`` over all the faces at
once and ``deep_emotion.explain.explain_face`` for each face's maps, so a script gets what
``deep-emotion predict`` prints and the maps the Explain page draws without wiring the three
together.  ``deep-emotion predict`` on photos calls it with no maps; the explanation stack
(Captum) is imported only when maps are asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import Checkpoint, load_checkpoint
from deep_emotion.faces import Face, FacePhoto, read_faces
from deep_emotion.predict import predict_proba

__all__ = ["PhotoFace", "PhotoReading", "read_photo", "PHOTO_METHODS"]

# The maps read by default: the spatial transformer's own view costs one forward pass and
# occlusion is the map the dashboard opens on (``deep_emotion.explain.METHODS`` lists the rest).
PHOTO_METHODS = ("stn", "occlusion")


@dataclass(frozen=True)
class PhotoFace:
    """One face of a photo.

    face:    the detection (box ``(x, y, w, h)`` in image pixels, landmarks, score); None when
             the whole image was taken as the face (``detect=False``).
    crop:    uint8 (S, S) grayscale crop the network read, framed like FER2013.
    probs:   float32 (C,) class probabilities, in ``classes`` order (under ``tta``).
    classes: the checkpoint's class names.
    maps:    {method: float32 (S, S) map} pixel for pixel with ``crop``, of the predicted class.
    meta:    {method: JSON-ready facts of the map} (``Explanation.meta``: the STN's theta, ...).
    """

    face: Face | None
    crop: np.ndarray
    probs: np.ndarray
    classes: tuple[str, ...]
    maps: dict[str, np.ndarray]
    meta: dict[str, dict]

    @property
    def prediction(self) -> str:
        return self.classes[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return float(self.probs.max())

    @property
    def probabilities(self) -> dict[str, float]:
        return dict(zip(self.classes, map(float, self.probs)))


@dataclass(frozen=True)
class PhotoReading:
    """What ``read_photo`` found: the checkpoint's name and classes, the decoded photo (size,
    format, notes, whether detection ran) and its faces, largest first (empty: no face)."""

    checkpoint: str
    classes: tuple[str, ...]
    photo: FacePhoto
    faces: tuple[PhotoFace, ...]


def read_photo(source: str | Path | bytes, checkpoint: str | Path | Checkpoint = DEFAULT_CHECKPOINT,
               *, methods: Sequence[str] = PHOTO_METHODS, detect: bool = True, tta: str = "none",
               name: str | None = None, **explain_options) -> PhotoReading:
    """Find every face of a photo, predict its emotion and explain it.

    Args:
        source: a path, or the file's bytes (kept in memory; ``name`` names them in messages).
        checkpoint: a name, a path or a loaded ``Checkpoint`` (load once to read many photos).
        methods: maps to compute per face (``deep_emotion.explain.METHODS``); () predicts only.
        detect: False takes the whole image as the one face (photos that are face crops).
        tta: test-time augmentation of the probabilities (``deep_emotion.predict.TTA_MODES``).
        **explain_options: passed to ``explain_face`` (``target``, default the prediction;
            ``window``, ``stride``, ``baseline``, ``params``).

    Returns:
        PhotoReading; ``faces[i].maps["stn"]`` is float32 (S, S) with S the checkpoint's size.

    Raises:
        FaceImageError: the file is not an acceptable image (the message says why).
        FileNotFoundError: no file at ``source``.
        CheckpointError: the checkpoint is missing or damaged.
        ValueError: an unknown method, class or setting.

    Example::

        >>> reading = read_photo("group.jpg")
        >>> [(f.face.box, f.prediction, round(f.confidence, 2)) for f in reading.faces]
        [((412, 80, 96, 118), 'happiness', 0.91), ...]
        >>> reading.faces[0].maps["occlusion"].shape
        (48, 48)
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    source = source if isinstance(source, bytes) else Path(source)
    photo = read_faces(source, size=ckpt.preprocessing.size, detect=detect, name=name)
    detections: Sequence[Face | None] = photo.faces if detect else (None,)
    crops = np.stack(photo.crops) if photo.crops else np.zeros((0, photo.size, photo.size),
                                                                  np.uint8)
    probs = predict_proba(ckpt.model, torch.from_numpy(crops), ckpt.preprocessing, tta=tta)
    faces = []
    for face, crop, p in zip(detections, photo.crops, probs.numpy()):
        maps = _explain(ckpt, crop, methods, {"target": int(np.argmax(p)), **explain_options})
        faces.append(PhotoFace(face, crop, p, ckpt.classes, {m: e.map for m, e in maps.items()},
                               {m: e.meta for m, e in maps.items()}))
    return PhotoReading(ckpt.name, ckpt.classes, photo, tuple(faces))


def _explain(ckpt: Checkpoint, crop: np.ndarray, methods: Sequence[str], options: dict) -> dict:
    """{method: Explanation} of one crop; the explanation stack is imported only when asked."""
    if not methods:
        return {}
    from deep_emotion.explain.face import explain_face

    return explain_face(ckpt, crop, methods, **options).maps
