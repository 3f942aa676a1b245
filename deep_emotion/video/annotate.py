"""A clip re-encoded with its faces drawn on: box, track id, label, confidence and the spatial
transformer's attention (optionally the occlusion map too), for slides and reports.

``ClipAnnotator`` receives the clip's frames in decoding order, each one once: the frames the
timeline reads with their faces (``draw``) and the frames it skips (``skip``, which repeats the
last reading's drawing, so ``--every``/``--fps`` thin the work, not the clip).  Each frame is
encoded as it comes and then dropped, so memory stays flat however long the clip is.  The
output keeps the clip's size and every frame's timestamp, hence its frame rate; audio is
dropped.  It is written as ``NAME.partial.SUFFIX`` and renamed when the clip ends, so an
interrupted or refused run leaves no half-written clip under the name asked for.
``draw_clip`` does the same in memory for the Video page, from the readings it holds.

The attention drawn is the STN's (``deep_emotion.explain``, method ``stn``): the density of the
points it samples as a heat map and the region it samples as a white outline.  With
``occlusion=True`` the heat map is the occlusion map's positive part instead (where covering
the face lowers the predicted class's logit), the STN's outline stays.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from deep_emotion.checkpoints import Checkpoint
from deep_emotion.faces import Face
from deep_emotion.video.decode import LIMITS, VideoFrame, VideoInfo, VideoLimits, VideoReader
from deep_emotion.video.overlay import draw_box, draw_outline, paste_map
from deep_emotion.video.timeline import FrameReading, one_thread

__all__ = ["ClipAnnotator", "check_annotate_path", "draw_clip", "ANNOTATE_CODECS"]

# Output suffix -> encoder (all in PyAV's own FFmpeg build).
ANNOTATE_CODECS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264",
                   ".avi": "mpeg4", ".webm": "libvpx"}
_TIME_BASE = Fraction(1, 1000)  # timestamps in milliseconds, as the decoder reports frame times


def check_annotate_path(out: Path) -> Path:
    """``out`` if an annotated clip may be written there.

    Raises:
        ValueError: an unsupported suffix, a file already there (never overwritten), or a
            folder that is missing or not writable.
    """
    out = Path(out)
    if out.suffix.lower() not in ANNOTATE_CODECS:
        raise ValueError(f"{out}: an annotated clip is written as one of "
                         f"{', '.join(ANNOTATE_CODECS)}")
    if out.exists():
        raise ValueError(f"{out} already exists; choose another --annotate file or remove it")
    folder = out.parent
    if not folder.is_dir():
        raise ValueError(f"{out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{out}: the folder {folder} is not writable")
    return out


class _Drawn(NamedTuple):
    """What is drawn for one face: its detection, track, label, heat map, STN outline."""

    face: Face
    track: int
    text: str
    heat: np.ndarray
    outline: np.ndarray


class ClipAnnotator:
    """Encodes a clip's frames with their faces drawn (see the module docstring).

    Args:
        out: the file to write (checked with ``check_annotate_path``), or an in-memory
            buffer (an upload's clip stays off disk), which receives an MP4.
        info: the clip's header (size and average frame rate).
        checkpoint: a PyTorch checkpoint for the maps (its classes name the labels).
        occlusion: draw the occlusion map as the heat map (one occlusion pass per face).

    Use as a context manager: a clean exit renames the partial file to ``out``, an exception
    removes it.
    """

    def __init__(self, out: Path | io.BytesIO, info: VideoInfo, checkpoint: Checkpoint, *,
                 occlusion: bool = False) -> None:
        self.checkpoint, self.occlusion = checkpoint, occlusion
        self.frames, self._pts = 0, -1
        self._last: list[_Drawn] = []
        if isinstance(out, io.BytesIO):
            self.out = self.partial = None
            self._container = av.open(out, "w", format="mp4")
            codec = ANNOTATE_CODECS[".mp4"]
        else:
            self.out = Path(out)
            self.partial = self.out.with_name(f"{self.out.stem}.partial{self.out.suffix}")
            self._container = av.open(str(self.partial), "w")
            codec = ANNOTATE_CODECS[self.out.suffix.lower()]
        rate = Fraction(info.fps).limit_denominator(1000) if info.fps > 0 else Fraction(30)
        self._stream = self._container.add_stream(codec, rate=rate)
        self._stream.width, self._stream.height = info.width, info.height
        # 4:2:0 chroma needs even sides; an odd-sided clip keeps its size with full chroma.
        even = info.width % 2 == 0 and info.height % 2 == 0
        self._stream.pix_fmt = "yuv420p" if even else "yuv444p"
        self._stream.codec_context.time_base = _TIME_BASE

    def draw(self, reading: FrameReading) -> None:
        """Encode a read frame with its faces, and keep the drawing for the frames skipped
        until the next reading."""
        self._last = [self._face(f.face, f.track, f.crop, f.probs) for f in reading.faces]
        self._encode(reading.time, reading.rgb)

    def skip(self, frame: VideoFrame) -> None:
        """Encode a frame the timeline did not read, with the last reading's drawing."""
        self._encode(frame.time, frame.rgb)

    def _face(self, face: Face, track: int, crop: np.ndarray, probs: np.ndarray) -> _Drawn:
        from deep_emotion.explain.face import explain_face

        methods = ("stn", "occlusion") if self.occlusion else ("stn",)
        best = int(np.argmax(probs))
        with one_thread():
            maps = explain_face(self.checkpoint, crop, methods, target=best).maps
        heat = np.clip(maps["occlusion"].map, 0, None) if self.occlusion else maps["stn"].map
        text = f"{self.checkpoint.classes[best]} {probs[best]:.0%}"
        return _Drawn(face, track, text, heat, np.asarray(maps["stn"].meta["grid_outline"]))

    def _encode(self, time: float, rgb: np.ndarray) -> None:
        canvas = rgb.copy()
        size = self.checkpoint.preprocessing.size
        for d in self._last:
            paste_map(canvas, d.face, d.heat)
            draw_outline(canvas, d.face, d.outline, size)
        for d in self._last:  # boxes and labels over every map, so none is hidden
            draw_box(canvas, d.face.box, d.track, d.text)
        frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
        # Timestamps must rise; two frames within one millisecond would share one.
        self._pts = max(round(time / _TIME_BASE), self._pts + 1)
        frame.pts, frame.time_base = self._pts, _TIME_BASE
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def __enter__(self) -> "ClipAnnotator":
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
            if self.partial is not None and kind is None:
                self.partial.replace(self.out)
            elif self.partial is not None:
                self.partial.unlink(missing_ok=True)


def draw_clip(data: bytes, name: str, readings: Iterable[FrameReading], checkpoint: Checkpoint,
              *, limits: VideoLimits | None = None) -> bytes:
    """An uploaded clip as MP4 bytes with the faces of ``readings`` drawn, all in memory.

    The Video page holds the clip's readings (frame index, faces with crops and
    probabilities; no pixels), so the clip is decoded once more and each read frame drawn
    with its faces, the frames between with the last ones, as ``predict --annotate`` does.

    Args:
        data: the clip's bytes.
        name: its file name, for messages.
        readings: the read frames in order; their ``rgb`` is not used (may be None).
        checkpoint: a PyTorch checkpoint for the maps.
        limits: the decoder's limits (the page's), default ``LIMITS``.

    Raises:
        VideoError: the clip is damaged or past the limits.
    """
    by_index = {r.index: r for r in readings}
    buf = io.BytesIO()
    with VideoReader(data, name=name, limits=limits or LIMITS) as video, \
            ClipAnnotator(buf, video.info, checkpoint) as annotator:
        for frame in video.frames():
            read = by_index.get(frame.index)
            if read is None:
                annotator.skip(frame)
            else:
                annotator.draw(FrameReading(frame.index, frame.time, frame.rgb, read.faces))
    return buf.getvalue()
