"""VideoReader: timed RGB frames from a path or from bytes, or one clear VideoError."""

from __future__ import annotations

import numpy as np
import pytest

from deep_emotion.video import VideoError, VideoLimits, VideoReader
from tests.video.conftest import SIZE, audio_only, make_clip, png_bytes, vfr_clip, zero_frames


def test_frames_come_with_their_timestamps_and_the_header_facts(clips):
    with VideoReader(clips["one"]) as video:
        frames = list(video.frames())
        info = video.info
    assert (info.container, info.codec, info.width, info.height) == ("MP4/MOV", "h264", *SIZE)
    assert info.fps == pytest.approx(10) and info.duration == pytest.approx(1.2, abs=0.01)
    assert [f.index for f in frames] == list(range(12))
    assert [f.time for f in frames] == pytest.approx([i / 10 for i in range(12)], abs=1e-3)
    assert frames[0].rgb.shape == (SIZE[1], SIZE[0], 3) and frames[0].rgb.dtype == np.uint8


def test_bytes_in_memory_decode_to_the_same_frames_as_the_file(clips):
    with VideoReader(clips["one"]) as a, VideoReader(clips["one"].read_bytes(), name="x") as b:
        for fa, fb in zip(a.frames(), b.frames(), strict=True):
            assert fa.time == fb.time and np.array_equal(fa.rgb, fb.rgb)


def test_a_variable_frame_rate_is_read_by_timestamps(tmp_path):
    times = [0.0, 0.04, 0.3, 0.35, 1.0, 1.01, 1.5]
    with VideoReader(vfr_clip(tmp_path / "vfr.mp4", times)) as video:
        assert [f.time for f in video.frames()] == pytest.approx(times, abs=1e-3)


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_a_stream_that_starts_after_zero_is_timed_from_its_first_frame(tmp_path, suffix):
    """A cut from a longer recording: its first frame is stamped 1.5 s.  Times count from the
    first frame, and the header's length is the cut's own (not refused as truncated)."""
    clip = vfr_clip(tmp_path / f"late.{suffix}", [1.5 + i / 10 for i in range(6)])
    with VideoReader(clip) as video:
        times = [f.time for f in video.frames()]
        assert video.info.duration == pytest.approx(0.6, abs=0.01)
    assert times == pytest.approx([i / 10 for i in range(6)], abs=1e-3)


def _truncated(tmp_path, clips):
    data = clips["one"].read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])  # the index (moov) is at the end
    return tmp_path / "cut.mp4"


def _damaged(tmp_path, clips):
    clip = make_clip(tmp_path / "fast.mkv", "one", 12)  # Matroska: the index comes first
    data = bytearray(clip.read_bytes())
    data[len(data) // 2:len(data) // 2 + 3000] = bytes(3000)
    clip.write_bytes(bytes(data))
    return clip


@pytest.mark.parametrize("make, message", [
    (lambda tmp, clips: _write(tmp / "notes.mp4", b"just some text, not a video\n" * 20),
     "not a video we can read; use an MP4, MOV, WebM or AVI file"),
    (lambda tmp, clips: _write(tmp / "photo.mp4", png_bytes()),
     "not a video we accept"),
    (lambda tmp, clips: _write(tmp / "empty.mp4", b""), "the file is empty"),
    (lambda tmp, clips: audio_only(tmp / "voice.mp4"), "holds audio only, no picture"),
    (lambda tmp, clips: zero_frames(tmp / "none.avi"), "holds no frames"),
    (_truncated, "truncated or corrupt"),
    (_damaged, "truncated or corrupt"),
])
def test_every_hostile_file_gets_its_own_message(tmp_path, clips, make, message):
    path = make(tmp_path, clips)
    with pytest.raises(VideoError, match=message) as caught:
        with VideoReader(path) as video:
            for _ in video.frames():
                pass
    assert str(caught.value).startswith(str(path)), "the message names the file"


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_resolution_past_the_limit_is_refused_before_decoding_and_says_the_limit(clips):
    with pytest.raises(VideoError, match=r"320x240 pixels; the limit is 200x150"):
        VideoReader(clips["one"], limits=VideoLimits(max_long_side=200, max_short_side=150))


def test_a_duration_past_the_limit_is_refused_and_says_the_limit(clips):
    with pytest.raises(VideoError, match=r"lasts 1.2 s; the limit is 1 s: cut it shorter"):
        VideoReader(clips["one"], limits=VideoLimits(max_seconds=1.0))


def test_frames_past_the_duration_limit_stop_the_decoding(clips):
    # A header can understate the length; the frames' own timestamps are held to the limit.
    with VideoReader(clips["one"]) as video:
        video.limits = VideoLimits(max_seconds=0.5)
        with pytest.raises(VideoError, match="runs past the limit of 0.5 s"):
            list(video.frames())
