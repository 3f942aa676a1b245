"""Alignment: a detected face -> a 48x48 grayscale crop framed like FER2013.

One function, ``align_face``, serves uploads, the CLI and the JAFFE loader, so a face from a
phone photo and a face from a dataset reach the network framed the same way.  The geometry is
a similarity transform (rotation, uniform scale, shift; no shear, so faces keep their shape):

- rotation: the eye line is made level (from the two eye landmarks);
- scale and shift: least squares over the five landmarks after that rotation, onto
  ``FER2013_LANDMARKS``, the median landmark positions measured on FER2013 itself.

The crop is rendered at ``_SUPERSAMPLE`` times the output size and then area-averaged down,
and a face much larger than that is area-shrunk first, so a 2000 px face in a 24 MP photo
does not alias into a noisy 48 px one.
"""

from __future__ import annotations

import cv2
import numpy as np

from deep_emotion.faces.detect import LANDMARKS, Face
from deep_emotion.faces.framing import FER2013_LANDMARKS, FRAME

__all__ = ["ALIGNMENT_NAME", "align_face", "alignment_matrix"]

# The preprocessing name checkpoint cards carry (``Preprocessing.name``): a face framed like
# FER2013's crops, whether it comes from the dataset or from this alignment.
ALIGNMENT_NAME = "fer2013-crop"
_SUPERSAMPLE = 4


def alignment_matrix(face: Face, size: int = FRAME) -> np.ndarray:
    """The 2x3 affine map from image pixels to the ``size`` x ``size`` aligned crop.

    Args:
        face: a detected face (only its landmarks are used).
        size: side of the output; FER2013's 48 px frame is scaled to it.

    Returns:
        float64 (2, 3) matrix ``M``: crop = M @ [x, y, 1].
    """
    src = np.array([face.landmarks[k] for k in LANDMARKS], dtype=np.float64)  # (5, 2)
    dst = np.array([FER2013_LANDMARKS[k] for k in LANDMARKS], dtype=np.float64)
    dst = (dst + 0.5) * (size / FRAME) - 0.5  # pixel centres: 48-px pixel i covers [i-.5, i+.5]
    left, right = src[0], src[1]
    angle = np.arctan2(right[1] - left[1], right[0] - left[0])
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    p = src @ rot.T  # (5, 2) landmarks with the eyes levelled
    p_mean, q_mean = p.mean(0), dst.mean(0)
    # Least-squares uniform scale between the centred point sets (rotation already fixed).
    scale = ((p - p_mean) * (dst - q_mean)).sum() / max(((p - p_mean) ** 2).sum(), 1e-12)
    shift = q_mean - scale * p_mean
    return np.hstack([scale * rot, shift[:, None]])


def _gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)  # ITU-R 601, as PIL "L"


def _whole_image(rgb: np.ndarray, size: int) -> np.ndarray:
    """The largest centred square, grayscale, resized: the 'use the whole image' choice."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    square = _gray(rgb[y0:y0 + side, x0:x0 + side])
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(square, (size, size), interpolation=interp)


def align_face(rgb: np.ndarray, face: Face | None, size: int = FRAME) -> np.ndarray:
    """Crop one face out of an image, framed like FER2013.

    Args:
        rgb: uint8 (H, W, 3) RGB or (H, W) grayscale image the face was detected in.
        face: the face to crop, or None to use the whole image as the face (the largest
            centred square, for uploads that are already face crops or where no face is found).
        size: output side in pixels (the checkpoint's ``Preprocessing.size``, 48).

    Returns:
        uint8 (size, size) grayscale crop.  Where the frame reaches past the image edge, the
        edge pixels are repeated (FER2013's own crops show no black borders).

    Examples::

        >>> import numpy as np
        >>> align_face(np.zeros((100, 80, 3), np.uint8), None).shape
        (48, 48)
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 (H, W[, 3]) image, got {rgb.dtype} {rgb.shape}")
    if face is None:
        return _whole_image(rgb, size)

    big = size * _SUPERSAMPLE
    m = alignment_matrix(face, big)
    # Work only on the part of the image the crop covers (a 24 MP photo stays untouched).
    h, w = rgb.shape[:2]
    inverse = cv2.invertAffineTransform(m)
    frame = np.array([[0, 0], [big, 0], [big, big], [0, big]], dtype=np.float64)
    src = frame @ inverse[:, :2].T + inverse[:, 2]
    x0 = int(np.clip(np.floor(src[:, 0].min()) - 2, 0, w - 1))
    y0 = int(np.clip(np.floor(src[:, 1].min()) - 2, 0, h - 1))
    x1 = int(np.clip(np.ceil(src[:, 0].max()) + 2, x0 + 1, w))
    y1 = int(np.clip(np.ceil(src[:, 1].max()) + 2, y0 + 1, h))
    roi = _gray(rgb[y0:y1, x0:x1])
    m = m.copy()
    m[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)  # ROI coordinates in

    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 1.0:
        # Area-shrink the ROI first: warpAffine samples bilinearly and would alias.
        rw, rh = max(1, round(roi.shape[1] * scale)), max(1, round(roi.shape[0] * scale))
        fx, fy = rw / roi.shape[1], rh / roi.shape[0]
        roi = cv2.resize(roi, (rw, rh), interpolation=cv2.INTER_AREA)
        # Pixel centres: x_small = (x + 0.5) * fx - 0.5.
        to_small = np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1]])
        m = m @ np.linalg.inv(to_small)
    warped = cv2.warpAffine(roi, m, (big, big), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
    return cv2.resize(warped, (size, size), interpolation=cv2.INTER_AREA)
