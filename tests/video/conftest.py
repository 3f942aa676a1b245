"""Clips made in the tests from the public-domain astronaut photo (never dataset images)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from deep_emotion.video.synthetic import render_frame, scene, write_clip

SIZE = (320, 240)  # small frames keep detection cheap on a shared CPU; faces ~130 px tall


def make_clip(path: Path, kind: str, frames: int, *, size=SIZE, fps: float = 10.0,
              times=None, codec: str = "libx264") -> Path:
    return write_clip(path, [render_frame(size, p) for p in scene(kind, size, frames)],
                      fps=fps, times=times, codec=codec)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """one: one face, 12 frames at 10 fps; crossing: two faces swapping sides, 30 frames."""
    root = tmp_path_factory.mktemp("clips")
    return {"one": make_clip(root / "one.mp4", "one", 12),
            "crossing": make_clip(root / "crossing.mp4", "crossing", 30, size=(480, 320))}


def audio_only(path: Path) -> Path:
    """An MP4 holding one AAC track and no video stream."""
    with av.open(str(path), "w") as c:
        stream = c.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")
        frame.sample_rate = 8000
        c.mux(stream.encode(frame))
        c.mux(stream.encode(None))
    return path


def zero_frames(path: Path) -> Path:
    """An AVI with a video stream and not one frame in it."""
    with av.open(str(path), "w") as c:
        stream = c.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    return path


def vfr_clip(path: Path, times: list[float]) -> Path:
    """A one-face clip whose frames sit at ``times`` (seconds): a variable frame rate."""
    return make_clip(path, "one", len(times), times=times)


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "PNG")
    return buf.getvalue()

