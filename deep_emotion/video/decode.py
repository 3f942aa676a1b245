"""Decoding untrusted video into timed RGB frames, or one clear error.

Why PyAV rather than OpenCV's ``VideoCapture``: PyAV reads a clip from bytes in memory (the
dashboard never writes an upload to disk; ``VideoCapture`` only opens paths), it gives every
frame its presentation timestamp (so a variable-frame-rate phone clip is timed by its clock,
not by frame count), it lists the streams (an audio-only file is told apart from a broken one)
and decoding failures arrive as exceptions instead of a silent ``False``.  Speed does not
decide it: ``bench/video.py`` measured the two within 2x of each other at decoding to RGB
(OpenCV ahead in most runs), both above 400 frames/s at 1280x720, while reading a frame's
faces costs 20 ms or more.

Only MP4/MOV, Matroska/WebM and AVI containers are accepted, found from the bytes, never the
file name.  Limits are checked on the header before any frame is decoded and again while
decoding (a header can lie about the duration).  Every failure is a ``VideoError`` whose
message a person can act on.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["VideoError", "VideoLimits", "VideoInfo", "VideoFrame", "VideoReader", "LIMITS",
           "CONTAINERS", "looks_like_video"]

# FFmpeg demuxer name -> what we call it.  Anything else (images, audio, text) is refused.
CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "MP4/MOV", "matroska,webm": "WebM/MKV", "avi": "AVI"}
# Leading bytes of the accepted containers: a file that starts like one but cannot be opened is
# a damaged video, not "not a video".
_SIGNATURES = ((4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"),
               (0, b"\x1a\x45\xdf\xa3"), (8, b"AVI "))
_SHORTFALL = 0.5  # seconds: a stream ending earlier than its header says is truncated


class VideoError(ValueError):
    """A file that is not a video we accept; ``str(e)`` is a sentence for the person using it.

    Raised for: empty or oversized files, anything other than MP4/MOV/WebM/AVI video, audio-only
    files, truncated or corrupted streams, clips with no frames, and clips past ``VideoLimits``.
    """


@dataclass(frozen=True)
class VideoLimits:
    """What a clip may be.  Full HD covers phone and webcam clips; larger frames are shrunk to
    1280 px for detection anyway, so they would cost decoding time and memory for nothing."""

    max_bytes: int = 2 * 2**30       # 2 GiB
    max_long_side: int = 1920        # pixels, landscape or portrait
    max_short_side: int = 1080
    max_seconds: float = 30 * 60.0   # 30 minutes

    def describe(self) -> str:
        return (f"{self.max_long_side}x{self.max_short_side} pixels, "
                f"{_duration(self.max_seconds)}, {self.max_bytes / 2**20:.0f} MB")


LIMITS = VideoLimits()


@dataclass(frozen=True)
class VideoInfo:
    """What the header says.  duration: seconds, None when the container does not say (live
    WebM recordings); frames: declared count, 0 when unknown; fps: average frame rate."""

    container: str
    codec: str
    width: int
    height: int
    duration: float | None
    fps: float
    frames: int


class VideoFrame(NamedTuple):
    """One decoded frame: index in decoding order, time in seconds from the stream's start,
    uint8 (H, W, 3) RGB pixels."""

    index: int
    time: float
    rgb: np.ndarray


def looks_like_video(head: bytes) -> bool:
    """Whether the first 16 bytes of a file start an MP4/MOV, WebM/MKV or AVI container."""
    return any(head[at:at + len(sig)] == sig for at, sig in _SIGNATURES)


def _duration(seconds: float) -> str:
    """1.5 -> '1.5 s', 90 -> '1 min 30 s'."""
    if seconds < 60:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + " s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def _label(name: str | None) -> str:
    return f"{name}: " if name else ""


class VideoReader:
    """Open a clip from a path or from bytes, check it, and decode its frames in order.

    Use as a context manager::

        with VideoReader("clip.mp4") as video:
            print(video.info.width, video.info.duration)
            for frame in video.frames():
                ...

    Raises ``VideoError`` on opening for everything the header shows (container, streams, size,
    duration) and from ``frames()`` for damage found while decoding, frames past the duration
    limit, or a clip with no frames at all.
    """

    def __init__(self, source: str | Path | bytes, *, name: str | None = None,
                 limits: VideoLimits = LIMITS):
        self.limits = limits
        if isinstance(source, (bytes, bytearray, memoryview)):
            head, size, self._open_arg = bytes(source[:16]), len(source), io.BytesIO(source)
        else:
            path = Path(source)
            name = name or str(path)
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such file")
            size = path.stat().st_size
            with path.open("rb") as f:
                head = f.read(16)
            self._open_arg = str(path)
        self.name = name
        self._check_size(size)
        self._container = self._open(head)
        try:
            self.info = self._probe()
        except BaseException:
            self._container.close()
            raise

    def _check_size(self, size: int) -> None:
        if size == 0:
            raise VideoError(f"{_label(self.name)}the file is empty (0 bytes)")
        if size > self.limits.max_bytes:
            raise VideoError(f"{_label(self.name)}the file is {size / 2**20:.0f} MB; the limit "
                             f"is {self.limits.max_bytes / 2**20:.0f} MB")

    def _open(self, head: bytes):
        import av

        try:
            return av.open(self._open_arg, mode="r", metadata_errors="ignore")
        except (av.error.FFmpegError, EOFError, OSError) as e:
            if looks_like_video(head):
                raise VideoError(f"{_label(self.name)}the video is truncated or corrupt and "
                                 f"cannot be opened ({_reason(e)}); export it again") from None
            raise VideoError(f"{_label(self.name)}this is not a video we can read; use an MP4, "
                             "MOV, WebM or AVI file") from None

    def _probe(self) -> VideoInfo:
        c, label = self._container, _label(self.name)
        if not c.streams.video:
            if c.streams.audio:
                raise VideoError(f"{label}the file holds audio only, no picture; use a video")
            raise VideoError(f"{label}this is not a video we can read; use an MP4, MOV, WebM "
                             "or AVI file")
        container = CONTAINERS.get(c.format.name)
        if container is None:
            raise VideoError(f"{label}this is a {c.format.long_name or c.format.name} file, not "
                             "a video we accept; use an MP4, MOV, WebM or AVI file")
        stream = c.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        info = VideoInfo(container, stream.codec_context.name, width, height, _stream_seconds(c),
                         float(stream.average_rate or stream.guessed_rate or 0), stream.frames)
        long_side, short_side = max(width, height), min(width, height)
        if long_side > self.limits.max_long_side or short_side > self.limits.max_short_side:
            raise VideoError(f"{label}the frames are {width}x{height} pixels; the limit is "
                             f"{self.limits.max_long_side}x{self.limits.max_short_side} (either "
                             "orientation): export the clip at 1080p or less")
        if info.duration is not None and info.duration > self.limits.max_seconds:
            raise VideoError(f"{label}the clip lasts {_duration(info.duration)}; the limit is "
                             f"{_duration(self.limits.max_seconds)}: cut it shorter")
        return info

    def frames(self) -> Iterator[VideoFrame]:
        """Decoded frames in presentation order, as RGB, each with its timestamp in seconds.

        A frame without a timestamp (rare raw streams) is placed one average frame interval
        after the previous one.  Raises ``VideoError`` as the class docstring says.
        """
        import av

        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: decoding is ~2x faster on two cores
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        step = 1.0 / self.info.fps if self.info.fps > 0 else 0.0
        index, time, label = -1, -step, _label(self.name)
        try:
            for frame in self._container.decode(stream):
                index += 1
                time = frame.time - start if frame.time is not None else time + step
                if time > self.limits.max_seconds:
                    raise VideoError(f"{label}the clip runs past the limit of "
                                     f"{_duration(self.limits.max_seconds)}: cut it shorter")
                yield VideoFrame(index, max(time, 0.0), frame.to_ndarray(format="rgb24"))
        except (av.error.FFmpegError, EOFError) as e:
            raise VideoError(f"{label}the video is truncated or corrupt after "
                             f"{max(time, 0):.2f} s ({_reason(e)}); export it again") from None
        if index < 0:
            raise VideoError(f"{label}the video holds no frames")
        declared = self.info.duration
        if declared is not None and time + step < declared - _SHORTFALL:
            raise VideoError(f"{label}the video is truncated: its frames stop at {time:.2f} s "
                             f"of the {declared:.2f} s its header declares; export it again")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stream_seconds(container) -> float | None:
    """The clip's duration in seconds from the video stream, else the container; None if
    neither says."""
    stream = container.streams.video[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        seconds = container.duration / 1_000_000  # AV_TIME_BASE
        # A Matroska/WebM header gives the end time counted from zero, not from the first
        # frame: a stream that starts late (a cut from a longer recording) is that much shorter.
        if container.format.name.startswith("matroska") and container.start_time:
            seconds -= container.start_time / 1_000_000
        return seconds
    return None


def _reason(error: BaseException) -> str:
    """FFmpeg's own words, without the errno prefix and the C function name."""
    text = getattr(error, "strerror", None) or str(error)
    return str(text).rstrip(".").lower()
