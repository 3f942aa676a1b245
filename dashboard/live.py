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
from deep_emotion.faces import align_face
from deep_emotion.video import DETECT_EVERY, FaceTracker
from deep_emotion.video.overlay import (TRACK_COLOURS, colour_of, colourise, draw_label,
                                       draw_outline, paste_map)
from deep_emotion.video.timeline import one_thread

__all__ = ["LiveAnnotator", "paste_map", "draw_outline", "GRADIENT_METHOD", "GRADIENT_EVERY", "TRACK_COLOURS"]

GRADIENT_METHOD = "saliency"  # ~10 ms a face here; Grad-CAM's 6x6 map is too coarse at 48 px
GRADIENT_EVERY = 5            # frames between gradient-map refreshes of a face
INSET = 112                   # side of the gradient-map inset in pixels


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
        draw_label(out, f"{self.fps:.1f} frames/s", 4, 22, (255, 255, 255))
        return out

    def _draw_face(self, out: np.ndarray, track, label: str, confidence: float,
                   crop: np.ndarray) -> None:
        colour = colour_of(track.id)
        x, y, w, h = track.face.box
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, 2)
        draw_label(out, f"{track.id}: {label} {confidence:.0%}", x, y - 2, colour)
        if self.gradient and track.id in self._maps:
            inset = cv2.resize(np.repeat(crop[..., None], 3, axis=2), (INSET, INSET))
            heat = cv2.resize(colourise(self._maps[track.id]), (INSET, INSET))
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
