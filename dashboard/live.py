"""Camera frames -> the same frames with every face boxed, labelled and its STN attention drawn.

``LiveAnnotator.annotate`` is what the Live camera page runs on each frame (in
streamlit-webrtc's worker thread) and what ``bench/video.py`` times.  Faces come from the
tracker of ``deep_emotion.video`` (detection every few frames, optical flow between), the
prediction and the attention from ``deep_emotion.explain.face.explain_face`` (the entry point
the Explain page uses), so the live label is the label the Explain page would give.

The STN attention costs one forward pass, so it is drawn on every frame (its sampling density
as a heat map, the region it samples as a white outline); a gradient map costs a
backward pass too, so it is refreshed every ``GRADIENT_EVERY`` frames and shown as an inset.
Nothing here imports streamlit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import nullcontext

import cv2
import numpy as np

from deep_emotion.explain.face import explain_face
from deep_emotion.faces import Face, align_face, alignment_matrix
from deep_emotion.video import DETECT_EVERY, FaceTracker
from deep_emotion.video.timeline import one_thread

__all__ = ["LiveAnnotator", "paste_map", "draw_outline", "GRADIENT_METHOD", "GRADIENT_EVERY", "TRACK_COLOURS"]

GRADIENT_METHOD = "saliency"  # ~10 ms a face here; Grad-CAM's 6x6 map is too coarse at 48 px
GRADIENT_EVERY = 5            # frames between gradient-map refreshes of a face
INSET = 112                   # side of the gradient-map inset in pixels
ATTENTION_ALPHA = 0.45
# RGB box colours by track id, cycling; picked to stay readable over skin and the heat map.
TRACK_COLOURS = ((0, 230, 118), (41, 182, 246), (255, 214, 0), (236, 64, 122), (171, 71, 188))


def _stretch(heat: np.ndarray) -> np.ndarray:
    """float (h, w) -> float32 in [0, 1], min to max (the STN's density is smooth: without the
    stretch its peak would hardly stand out)."""
    lo, hi = float(heat.min()), float(heat.max())
    return ((heat - lo) / max(hi - lo, 1e-8)).astype(np.float32)


def _colourise(heat: np.ndarray) -> np.ndarray:
    """float (h, w) -> uint8 (h, w, 3) RGB through the inferno colour map, stretched."""
    scaled = _stretch(heat)
    bgr = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def paste_map(frame: np.ndarray, face: Face, heat: np.ndarray, alpha: float = ATTENTION_ALPHA
              ) -> None:
    """Blend a map of the aligned crop back onto the frame where the crop came from, in place.

    Args:
        frame: uint8 (H, W, 3) RGB, modified.
        face: the face the crop was aligned from.
        heat: float (S, S) map over the S x S aligned crop; shown stretched min to max, each
            pixel blended in proportion to its value.

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
    colour = cv2.warpAffine(_colourise(heat), to_roi, roi_size, flags=cv2.INTER_LINEAR)
    weight = cv2.warpAffine(_stretch(heat), to_roi, roi_size,
                            flags=cv2.INTER_LINEAR)[..., None] * alpha
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (roi * (1 - weight) + colour * weight).astype(np.uint8)


def draw_outline(frame: np.ndarray, face: Face, outline: np.ndarray, size: int,
                 colour: tuple[int, int, int] = (255, 255, 255)) -> None:
    """Draw, in place, the quadrilateral the STN samples: ``outline`` (k, 2) crop pixels
    (the ``grid_outline`` of the STN explanation) mapped back into the frame."""
    inverse = cv2.invertAffineTransform(alignment_matrix(face, size))
    points = np.asarray(outline, np.float64) @ inverse[:, :2].T + inverse[:, 2]
    cv2.polylines(frame, [np.round(points).astype(np.int32)], True, colour, 1, cv2.LINE_AA)


def _label(frame: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
    """Black text on a filled colour tab whose bottom-left corner is (x, y)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
    y = max(th + base + 2, y)
    cv2.rectangle(frame, (x, y - th - base - 4), (x + tw + 6, y), colour, cv2.FILLED)
    cv2.putText(frame, text, (x + 3, y - base - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1,
                cv2.LINE_AA)


class LiveAnnotator:
    """One camera session: its tracker, its gradient maps, its frame rate.

    Args:
        checkpoint: a loaded checkpoint (read only); its preprocessing sets the crop size.
        lock: held around the network (the dashboard shares one model between sessions).
        detect_every: detection every k frames, optical flow between.

    Attributes set by the page between frames: ``gradient`` (draw the gradient-map insets).
    """

    def __init__(self, checkpoint, *, lock: threading.Lock | None = None,
                 detect_every: int = DETECT_EVERY):
        self.checkpoint = checkpoint
        self.lock = lock or nullcontext()
        self.tracker = FaceTracker(detect_every=detect_every)
        self.gradient = False
        self.faces: list[tuple[int, str, float]] = []  # (track, label, confidence) of the last frame
        self._maps: dict[int, np.ndarray] = {}
        self._frame = 0
        self._stamps: deque[float] = deque(maxlen=30)

    @property
    def fps(self) -> float:
        """Frames annotated per second over the last 30."""
        if len(self._stamps) < 2:
            return 0.0
        return (len(self._stamps) - 1) / max(self._stamps[-1] - self._stamps[0], 1e-6)

    def annotate(self, rgb: np.ndarray, now: float | None = None) -> np.ndarray:
        """uint8 (H, W, 3) RGB frame -> a copy with boxes, labels, attention and the frame rate.

        ``now`` (seconds, increasing) times the frame; the wall clock by default."""
        now = time.perf_counter() if now is None else now
        out = rgb.copy()
        size = self.checkpoint.preprocessing.size
        faces = []
        for track in self.tracker.update(rgb, now):
            crop = align_face(rgb, track.face, size)
            refresh = self.gradient and (self._frame % GRADIENT_EVERY == 0
                                         or track.id not in self._maps)
            methods = ("stn", GRADIENT_METHOD) if refresh else ("stn",)
            with self.lock, one_thread():
                maps = explain_face(self.checkpoint, crop, methods).maps
            if refresh:
                self._maps[track.id] = np.abs(maps[GRADIENT_METHOD].map)
            stn = maps["stn"]
            paste_map(out, track.face, stn.map)
            draw_outline(out, track.face, stn.meta["grid_outline"], size)
            faces.append((track, stn.meta["target"], stn.meta["probability"], crop))
        for track, label, confidence, crop in faces:
            self._draw_face(out, track, label, confidence, crop)
        self.faces = [(t.id, label, p) for t, label, p, _ in faces]
        self._frame += 1
        self._stamps.append(time.perf_counter())
        _label(out, f"{self.fps:.1f} frames/s", 4, 22, (255, 255, 255))
        return out

    def _draw_face(self, out: np.ndarray, track, label: str, confidence: float,
                   crop: np.ndarray) -> None:
        colour = TRACK_COLOURS[(track.id - 1) % len(TRACK_COLOURS)]
        x, y, w, h = track.face.box
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, 2)
        _label(out, f"{track.id}: {label} {confidence:.0%}", x, y - 2, colour)
        if self.gradient and track.id in self._maps:
            inset = cv2.resize(np.repeat(crop[..., None], 3, axis=2), (INSET, INSET))
            heat = cv2.resize(_colourise(self._maps[track.id]), (INSET, INSET))
            inset = cv2.addWeighted(inset, 0.5, heat, 0.5, 0)
            H, W = out.shape[:2]
            ix = min(max(0, x + w + 4), W - INSET) if W >= INSET else 0
            iy = min(max(0, y), H - INSET) if H >= INSET else 0
            out[iy:iy + INSET, ix:ix + INSET] = inset[:H - iy, :W - ix]
            cv2.rectangle(out, (ix, iy), (ix + INSET - 1, iy + INSET - 1), colour, 1)

    def summary(self) -> str:
        """One line for the page: the frame rate and each face's label."""
        faces = " · ".join(f"face {t}: {label} ({p:.0%})" for t, label, p in self.faces)
        return f"{self.fps:.1f} frames/s · " + (faces or "no face in view")
