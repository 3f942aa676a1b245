"""Drawing on video frames: a face's box and label, and a map of its aligned crop pasted back
where the crop came from (the spatial transformer's sampling density, the outline of the
region it samples, an occlusion map).

Maps live on the S x S aligned crop (``deep_emotion.faces.align_face``); the inverse of the
alignment's similarity transform carries them back onto the frame, so an attention map sits on
the face it describes, tilted with it.  OpenCV draws in place on uint8 RGB frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from deep_emotion.faces import Face, alignment_matrix

__all__ = ["TRACK_COLOURS", "ATTENTION_ALPHA", "colour_of", "colourise", "paste_map",
           "draw_outline", "draw_label", "draw_box"]

ATTENTION_ALPHA = 0.45  # how much of a map's peak covers the face
# RGB box colours by track id, cycling; picked to stay readable over skin and the heat map.
TRACK_COLOURS = ((0, 230, 118), (41, 182, 246), (255, 214, 0), (236, 64, 122), (171, 71, 188))


def colour_of(track: int) -> tuple[int, int, int]:
    """The box colour of a track id (1, 2, ...)."""
    return TRACK_COLOURS[(track - 1) % len(TRACK_COLOURS)]


def _stretch(heat: np.ndarray) -> np.ndarray:
    """float (h, w) -> float32 in [0, 1], min to max (the STN's density is smooth: without the
    stretch its peak would hardly stand out)."""
    lo, hi = float(heat.min()), float(heat.max())
    return ((heat - lo) / max(hi - lo, 1e-8)).astype(np.float32)


def colourise(heat: np.ndarray) -> np.ndarray:
    """float (h, w) -> uint8 (h, w, 3) RGB through the inferno colour map, stretched."""
    bgr = cv2.applyColorMap((_stretch(heat) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def paste_map(frame: np.ndarray, face: Face, heat: np.ndarray,
              alpha: float = ATTENTION_ALPHA) -> None:
    """Blend a map of the aligned crop onto the frame where the crop came from, in place.

    Args:
        frame: uint8 (H, W, 3) RGB, modified.
        face: the face the crop was aligned from.
        heat: float (S, S) map over the S x S crop; stretched min to max, each pixel blended
            in proportion to its value, so the map's low end leaves the face as it is.

    Only the crop's bounding rectangle is warped (a full-frame warp per face would cost more
    than the network).
    """
    size = heat.shape[0]
    inverse = cv2.invertAffineTransform(alignment_matrix(face, size))
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [size - 0.5, size - 0.5],
                        [-0.5, size - 0.5]]) @ inverse[:, :2].T + inverse[:, 2]
    h, w = frame.shape[:2]
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int), 0, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    to_roi = inverse.copy()
    to_roi[:, 2] -= (x0, y0)
    roi_size = (int(x1 - x0), int(y1 - y0))
    colour = cv2.warpAffine(colourise(heat), to_roi, roi_size, flags=cv2.INTER_LINEAR)
    weight = cv2.warpAffine(_stretch(heat), to_roi, roi_size,
                            flags=cv2.INTER_LINEAR)[..., None] * alpha
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (roi * (1 - weight) + colour * weight).astype(np.uint8)


def draw_outline(frame: np.ndarray, face: Face, outline: np.ndarray, size: int,
                 colour: tuple[int, int, int] = (255, 255, 255)) -> None:
    """Draw, in place, the quadrilateral the STN samples: ``outline`` (k, 2) crop pixels (the
    ``grid_outline`` of the STN explanation, crop side ``size``) mapped into the frame."""
    inverse = cv2.invertAffineTransform(alignment_matrix(face, size))
    points = np.asarray(outline, np.float64) @ inverse[:, :2].T + inverse[:, 2]
    cv2.polylines(frame, [np.round(points).astype(np.int32)], True, colour, 1, cv2.LINE_AA)


def draw_label(frame: np.ndarray, text: str, x: int, y: int,
               colour: tuple[int, int, int]) -> None:
    """Black text on a filled colour tab whose bottom-left corner is (x, y), kept in frame."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
    y = max(th + base + 2, y)
    cv2.rectangle(frame, (x, y - th - base - 4), (x + tw + 6, y), colour, cv2.FILLED)
    cv2.putText(frame, text, (x + 3, y - base - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1,
                cv2.LINE_AA)


def draw_box(frame: np.ndarray, box: tuple[int, int, int, int], track: int, text: str) -> None:
    """A face's box in its track's colour, with ``track: text`` on a tab above it, in place."""
    colour = colour_of(track)
    x, y, w, h = box
    cv2.rectangle(frame, (x, y), (x + w, y + h), colour, 2)
    draw_label(frame, f"{track}: {text}", x, y - 2, colour)
