"""The Video page's data: a clip in memory -> moments, per-face series, the CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from dashboard import video, video_figures
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.video import VideoError


def test_a_clip_in_memory_becomes_moments_series_and_the_cli_csv(clips, random_checkpoint):
    ckpt = load_checkpoint(random_checkpoint)
    calls = []
    timeline = video.read_clip(clips["crossing"].read_bytes(), "crossing.mp4", ckpt, fps=5.0,
                               detect_every=5, progress=lambda *a: calls.append(a))
    assert [m.time for m in timeline.moments] == pytest.approx([i / 5 for i in range(15)])
    assert [c[0] for c in calls] == list(range(1, 16)) and calls[-1][1] == 15
    assert timeline.tracks == [1, 2]
    assert timeline.moments[0].picture().shape == (320, 480, 3)
    times, frames, probs = video.track_series(timeline, 2)
    assert len(times) == len(frames) == len(probs) and probs.shape[1] == 7
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    rows = list(csv.DictReader(io.StringIO(video.timeline_csv(timeline).decode())))
    assert len(rows) == sum(len(m.faces) for m in timeline.moments)
    assert {r["frame"] for r in rows} <= {str(m.index) for m in timeline.moments}


def test_a_clip_past_the_page_limit_is_refused_with_the_limit(clips, random_checkpoint,
                                                              monkeypatch):
    monkeypatch.setattr(video, "PAGE_LIMITS", video.VideoLimits(max_seconds=1.0))
    with pytest.raises(VideoError, match="the limit is 1 s"):
        video.read_clip(clips["one"].read_bytes(), "one.mp4", load_checkpoint(random_checkpoint),
                        fps=None, detect_every=5)


def test_the_timeline_figure_has_one_line_per_class_with_the_frame_on_hover():
    fig = video_figures.emotion_timeline(np.array([0, 0.5]), np.array([0, 15]),
                                         np.array([[0.2, 0.8], [0.6, 0.4]]), ["anger", "happiness"],
                                         marker=0.5)
    # first the invisible click columns (one per moment), then one line per class
    assert [t.name for t in fig.data] == ["moments", "anger", "happiness"]
    lines = fig.data[1:]
    assert list(lines[1].y) == [0.8, 0.4] and list(lines[0].customdata) == [0, 15]
    assert "frame %{customdata}" in lines[0].hovertemplate
    # "none", not "skip": a skipped trace gets no hover and so no click either
    assert len(fig.data[0].x) == 2 and fig.data[0].hoverinfo == "none"
    assert fig.layout.shapes[0].x0 == 0.5
