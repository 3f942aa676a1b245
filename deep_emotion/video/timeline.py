"""A clip's emotion timeline: every sampled frame -> tracked faces -> aligned crops -> probabilities.

The faces go the same path as a photo's: ``deep_emotion.faces`` detects and aligns them to the
checkpoint's input size, ``deep_emotion.predict.predict_proba`` scores them, so a frame of a
clip and the same picture uploaded as a photo get the same prediction (up to the tracker moving
the landmarks between detections).  One row per face per sampled frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch

from deep_emotion import resumable
from deep_emotion.checkpoints import Checkpoint
from deep_emotion.faces import Face, align_face
from deep_emotion.predict import predict_proba
from deep_emotion.video.decode import VideoFrame, VideoReader
from deep_emotion.video.sampling import FrameSampler
from deep_emotion.video.track import FaceTracker

__all__ = ["FaceReading", "FrameReading", "read_timeline", "timeline_columns", "timeline_rows",
           "one_thread", "BASE_COLUMNS", "KEY", "COUNT", "NO_FACE"]

# A frame's rows are written together (``deep_emotion.resumable``): ``frame`` names the group,
# ``faces`` counts its rows.  ``clip`` (the file name) lets a resumed run check that the table
# is this clip's, and timelines of several clips be stacked.  Box and probability columns are
# named as in the photo batch table.
KEY, COUNT = "frame", "faces"
BASE_COLUMNS = ("clip", "time_s", KEY, COUNT, "track", "x", "y", "w", "h", "prediction",
                "confidence")
# The prediction cell of a frame read with no face: its one row has ``faces`` 0 and empty
# track, box and probability cells, so a table (and a timeline drawn from it) spans the whole
# clip, not only the moments with a face.
NO_FACE = "no face"


class FaceReading(NamedTuple):
    """One tracked face in one frame: track id, detected/tracked face (box in frame pixels,
    landmarks), uint8 (S, S) aligned crop, float32 (C,) class probabilities."""

    track: int
    face: Face
    crop: np.ndarray
    probs: np.ndarray


class FrameReading(NamedTuple):
    """One sampled frame: decoding index, time in seconds, uint8 (H, W, 3) RGB, its faces."""

    index: int
    time: float
    rgb: np.ndarray
    faces: list[FaceReading]


def read_timeline(video: VideoReader, checkpoint: Checkpoint, *,
                  sampler: FrameSampler | None = None, tracker: FaceTracker | None = None,
                  after_frame: int = -1,
                  on_skipped: Callable[[VideoFrame], None] | None = None
                  ) -> Iterator[FrameReading]:
    """Read a clip frame by frame and score every tracked face.

    Args:
        video: an open clip; its frames are decoded once, in order.
        checkpoint: the network, its classes and its input size.
        sampler: which frames to read (default: every frame).
        tracker: follows the faces (default: ``FaceTracker()``); pass one seeded with
            ``FaceTracker.seed`` to resume after ``after_frame``.
        after_frame: frames up to this decoding index are decoded and skipped (resuming).
        on_skipped: called with every decoded frame that is not read, in decoding order
            between the readings, so a caller can pass the whole clip on (an annotated copy).

    Yields:
        A ``FrameReading`` per sampled frame, faces by track id.

    Raises:
        VideoError: the clip is damaged or past the limits (see ``VideoReader``).
    """
    sampler = sampler or FrameSampler()
    tracker = tracker or FaceTracker()
    pre = checkpoint.preprocessing
    for frame in video.frames():
        if not sampler.take(frame.index, frame.time) or frame.index <= after_frame:
            if on_skipped is not None:
                on_skipped(frame)
            continue
        tracks = tracker.update(frame.rgb, frame.time)
        crops = [align_face(frame.rgb, t.face, pre.size) for t in tracks]
        probs = np.zeros((0, len(checkpoint.classes)), np.float32)
        if crops:
            with one_thread():
                probs = predict_proba(checkpoint.model, torch.from_numpy(np.stack(crops)),
                                      pre).numpy()
        faces = [FaceReading(t.id, t.face, c, p) for t, c, p in zip(tracks, crops, probs)]
        yield FrameReading(frame.index, frame.time, frame.rgb, faces)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread for a few 48 px faces.  Their forward pass is ~1 ms; splitting
    it over threads gains nothing, and on a shared, loaded CPU the threads' waiting turned it
    into ~300 ms (measured with ten other processes busy on two cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def timeline_columns(classes: Sequence[str]) -> list[str]:
    """The table's header: ``BASE_COLUMNS`` then ``p_<class>`` for each class, in order."""
    return [*BASE_COLUMNS, *resumable.probability_columns(classes)]


def timeline_rows(clip: str, reading: FrameReading,
                  classes: Sequence[str]) -> list[dict[str, str]]:
    """The rows of one sampled frame, one per face, as the cells of ``timeline_columns``
    (time to the millisecond, probabilities to 6 decimals as in the photo batch table); a
    frame with no face is one row with ``faces`` 0 and the prediction ``NO_FACE``."""
    if not reading.faces:
        return [{"clip": clip, "time_s": f"{reading.time:.3f}", KEY: str(reading.index),
                 COUNT: "0", "prediction": NO_FACE}]
    rows = []
    for face in reading.faces:
        best = int(np.argmax(face.probs))
        probs = {c: f"{p:.6f}" for c, p in zip(resumable.probability_columns(classes),
                                                face.probs)}
        rows.append({"clip": clip, "time_s": f"{reading.time:.3f}", KEY: str(reading.index),
                     COUNT: str(len(reading.faces)), "track": str(face.track),
                     **{k: str(v) for k, v in zip("xywh", face.face.box)},
                     "prediction": classes[best], "confidence": f"{face.probs[best]:.6f}",
                     **probs})
    return rows
