"""Clips made from a licence-clean photo, for tests, benchmarks and the camera demo.

The face is the astronaut Eileen Collins from ``skimage.data.astronaut`` (NASA, public
domain), cut out with some context and pasted onto a plain grey-gradient stage, moved and
scaled along smooth paths; a second identity is her mirror image.  Nothing here comes from a
research dataset.  ``skimage`` is a test dependency, imported only when a clip is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

__all__ = ["Placement", "face_sprite", "render_frame", "scene", "write_clip"]

# The head and shoulders in the 512x512 astronaut photo (x0, y0, x1, y1): the face box MTCNN
# finds is about (182, 60, 84, 114), so the sprite leaves room around it for the detector.
_SPRITE = (120, 0, 330, 260)


@dataclass(frozen=True)
class Placement:
    """A face on the stage: centre (cx, cy) and sprite height in pixels, mirrored or not."""

    cx: float
    cy: float
    height: float
    mirrored: bool = False


@lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    from skimage import data

    x0, y0, x1, y1 = _SPRITE
    return np.ascontiguousarray(data.astronaut()[y0:y1, x0:x1])


def face_sprite(height: int, mirrored: bool = False) -> np.ndarray:
    """uint8 (height, ~0.8 height, 3) RGB head-and-shoulders cut of the astronaut."""
    src = _astronaut()
    width = max(1, round(src.shape[1] * height / src.shape[0]))
    sprite = cv2.resize(src, (width, height), interpolation=cv2.INTER_AREA)
    return sprite[:, ::-1].copy() if mirrored else sprite


def _stage(width: int, height: int) -> np.ndarray:
    ramp = np.linspace(70, 130, width, dtype=np.float32)[None, :, None]
    return np.broadcast_to(ramp, (height, width, 3)).astype(np.uint8)


def render_frame(size: tuple[int, int], faces: Sequence[Placement]) -> np.ndarray:
    """uint8 (H, W, 3) RGB frame of ``size`` (W, H) with the faces pasted in order (later ones
    in front), clipped at the frame's edges."""
    width, height = size
    frame = _stage(width, height).copy()
    for p in faces:
        sprite = face_sprite(max(8, round(p.height)), p.mirrored)
        h, w = sprite.shape[:2]
        x0, y0 = round(p.cx - w / 2), round(p.cy - h / 2)
        fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(width, x0 + w), min(height, y0 + h)
        if fx1 > fx0 and fy1 > fy0:
            frame[fy0:fy1, fx0:fx1] = sprite[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return frame


def scene(kind: str, size: tuple[int, int], n: int) -> Iterator[list[Placement]]:
    """Face placements for ``n`` frames of a named scene.

    one:      one face drifting across the middle and breathing in scale (+-10%).
    crossing: two faces (the photo and its mirror) swapping sides at two heights, their boxes
              overlapping as they pass.
    five:     five faces in a row, each bobbing on its own phase.
    """
    w, h = size
    for i in range(n):
        t = i / max(1, n - 1)  # 0 .. 1 over the clip
        if kind == "one":
            yield [Placement(w * (0.35 + 0.3 * t), h * 0.5, h * 0.55 * (1 + 0.1 * math.sin(6 * t)))]
        elif kind == "crossing":
            yield [Placement(w * (0.22 + 0.56 * t), h * 0.42, h * 0.5),
                   Placement(w * (0.78 - 0.56 * t), h * 0.6, h * 0.5, mirrored=True)]
        elif kind == "five":
            yield [Placement(w * (k + 0.5) / 5 + 0.02 * w * math.sin(2 * math.pi * t + k),
                             h * 0.5 + 0.05 * h * math.cos(2 * math.pi * t + k), h * 0.36,
                             mirrored=bool(k % 2)) for k in range(5)]
        else:
            raise ValueError(f"unknown scene {kind!r}; use one, crossing or five")


def write_clip(path: str | Path, frames: Iterator[np.ndarray] | Sequence[np.ndarray], *,
               fps: float = 30.0, times: Sequence[float] | None = None,
               codec: str = "libx264") -> Path:
    """Encode RGB frames with PyAV; the container follows the suffix (.mp4, .webm, .avi, ...).

    ``times`` (seconds, increasing) gives each frame its own timestamp: a variable frame rate.
    """
    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = None
        for i, rgb in enumerate(frames):
            if stream is None:
                stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
                stream.height, stream.width = rgb.shape[:2]
                stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
                if times is not None:
                    stream.codec_context.time_base = Fraction(1, 1000)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = round(times[i] * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        if stream is not None:
            container.mux(stream.encode(None))
    return path
