"""An uploaded clip -> its emotion timeline, as plain data the Video page caches and draws.

The clip stays in memory (``VideoReader`` reads bytes); ``deep_emotion.video`` does the work,
the same code as ``deep-emotion predict CLIP --out``.  What the page needs later is kept small:
each sampled frame as a JPEG of at most ``THUMB_SIDE`` pixels (not the decoded frame), and each
face's aligned crop (S x S) so the Explain maps of any moment need no second decoding.
Nothing here imports streamlit.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from deep_emotion.video import (DETECT_EVERY, FaceReading, FaceTracker, FrameReading,
                                FrameSampler, VideoError, VideoInfo, VideoLimits, VideoReader,
                                read_timeline, timeline_columns, timeline_rows)

__all__ = ["PAGE_LIMITS", "SAMPLE_RATES", "THUMB_SIDE", "Moment", "ClipTimeline", "read_clip",
           "timeline_csv", "track_series", "Progress", "DETECT_EVERY", "VideoError"]

# An upload is held in memory by the browser session, so the page allows far less than the
# command line: two minutes of Full HD at most.
PAGE_LIMITS = VideoLimits(max_bytes=200 * 2**20, max_seconds=120.0)
SAMPLE_RATES = {"2 frames per second": 2.0, "5 frames per second": 5.0,
                "10 frames per second": 10.0, "every frame": None}
THUMB_SIDE = 640  # longer side of the stored frame pictures


@dataclass
class Moment:
    """One sampled frame as the page keeps it: decoding index, time (s), JPEG bytes of the
    frame shrunk by ``scale``, and its faces (box in full-frame pixels, crop, probabilities)."""

    index: int
    time: float
    jpeg: bytes
    scale: float
    faces: list[FaceReading]

    def picture(self) -> np.ndarray:
        """uint8 (h, w, 3) RGB of the stored frame (shrunk by ``scale``)."""
        bgr = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class ClipTimeline:
    """A clip read at a sampling rate: its header facts, the classes, the sampled moments."""

    name: str
    info: VideoInfo
    classes: tuple[str, ...]
    sampling: str
    moments: list[Moment]

    @property
    def tracks(self) -> list[int]:
        return sorted({f.track for m in self.moments for f in m.faces})


# (frames done, frames expected or None, frames per second so far) -> None
Progress = Callable[[int, int | None, float], None]


def _moment(reading: FrameReading) -> Moment:
    h, w = reading.rgb.shape[:2]
    scale = min(1.0, THUMB_SIDE / max(h, w))
    small = reading.rgb if scale == 1.0 else cv2.resize(
        reading.rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 85])
    return Moment(reading.index, reading.time, jpeg.tobytes(), scale, reading.faces)


def read_clip(data: bytes, name: str, checkpoint, *, fps: float | None, detect_every: int,
              progress: Progress | None = None) -> ClipTimeline:
    """Read an uploaded clip into a ``ClipTimeline``.

    Args:
        data: the clip's bytes (never written to disk).
        name: the file name, for messages.
        checkpoint: a loaded checkpoint (read only).
        fps: frames per second of clip time to read (by timestamps); None reads every frame.
        detect_every: detector runs every k read frames, optical flow between.
        progress: called after every frame with (done, expected, frames/s).

    Raises:
        VideoError: not a video, damaged, no frames, or past ``PAGE_LIMITS``.
    """
    sampler = FrameSampler(fps=fps)
    moments: list[Moment] = []
    start = time.perf_counter()
    with VideoReader(data, name=name, limits=PAGE_LIMITS) as video:
        expected = sampler.expected(video.info.frames, video.info.duration)
        for reading in read_timeline(video, checkpoint, sampler=sampler,
                                     tracker=FaceTracker(detect_every=detect_every)):
            moments.append(_moment(reading))
            if progress is not None:
                done = len(moments)
                progress(done, expected, done / max(time.perf_counter() - start, 1e-6))
        info = video.info
    return ClipTimeline(name, info, tuple(checkpoint.classes), sampler.describe(), moments)


def timeline_csv(timeline: ClipTimeline) -> bytes:
    """The timeline as the command line writes it (``deep_emotion.video.timeline_columns``)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, timeline_columns(timeline.classes), lineterminator="\n")
    writer.writeheader()
    for m in timeline.moments:
        writer.writerows(timeline_rows(timeline.name, FrameReading(m.index, m.time, None,
                                                                   m.faces), timeline.classes))
    return buf.getvalue().encode()


def track_series(timeline: ClipTimeline, track: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One face over time: times (n,) seconds, frame indices (n,), probabilities (n, C)."""
    rows = [(m.time, m.index, f.probs) for m in timeline.moments for f in m.faces
            if f.track == track]
    if not rows:
        return np.zeros(0), np.zeros(0, int), np.zeros((0, len(timeline.classes)))
    times, frames, probs = zip(*rows)
    return np.array(times), np.array(frames), np.stack(probs)
