"""The Video page's choices: every click on the chart picks the nearest moment, the chart
spans the whole clip, and a frame rate already read is not read again."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.video_figures import click_columns, emotion_timeline, nearest_moment
from tests.dashboard.conftest import app, app_env, checkpoints_dir  # noqa: F401 - fixtures
from tests.dashboard.test_pages import go, texts


def test_the_click_columns_tile_the_whole_clip_each_around_its_moment():
    times = np.array([0.2, 0.4, 1.0])
    centres, widths = click_columns(times, (0.0, 1.4))
    left, right = centres - widths / 2, centres + widths / 2
    assert left[0] == 0.0 and right[-1] == 1.4  # the whole clip, not only this face's moments
    np.testing.assert_allclose(right[:-1], left[1:])  # no gap a click could fall through
    np.testing.assert_allclose(right[:-1], [0.3, 0.7])  # each border halfway between moments


@pytest.mark.parametrize("click, moment", [({"x": 0.65}, 0.4), ({"x": 0.71}, 1.0),
                                           ({"x": 0.05}, 0.2), ({"x": 1.3}, 1.0)])
def test_a_click_anywhere_goes_to_the_nearest_moment(click, moment):
    assert nearest_moment([0.2, 0.4, 1.0], [click]) == moment
    assert nearest_moment([0.2, 0.4, 1.0], []) is None


def test_a_click_on_a_column_goes_to_its_own_moment_however_uneven_the_moments():
    times = np.array([0.1, 0.2, 1.5, 1.6, 4.0])
    centres, _ = click_columns(times, (0.0, 6.0))
    assert [nearest_moment(times, [{"x": c}]) for c in centres] == times.tolist()


def test_the_timeline_spans_the_clip_and_every_column_can_be_clicked():
    times = np.array([0.5, 0.7])
    fig = emotion_timeline(times, np.array([5, 7]), np.full((2, 2), 0.5), ["anger", "fear"],
                           span=(0.0, 2.0))
    low, high = fig.layout.xaxis.range
    assert low < 0.0 and high > 2.0
    columns = fig.data[0]
    assert columns.type == "bar" and len(columns.x) == 2
    assert fig.layout.clickmode == "event+select"


def test_a_rate_already_read_is_not_read_again(app, clips, monkeypatch):
    from dashboard import video

    reads = []
    real = video.read_clip
    monkeypatch.setattr(video, "read_clip", lambda *a, **k: reads.append(k["fps"]) or real(*a, **k))
    go(app, "video")
    app.file_uploader(key="video_upload").set_value(
        ("one.mp4", clips["one"].read_bytes(), "video/mp4"))
    app.run()
    rates = list(video.SAMPLE_RATES)
    for rate in (rates[0], rates[1], rates[0], rates[1]):
        [r for r in app.radio if r.label == "Frames to read"][0].set_value(rate).run()
        assert not app.exception, [e.value for e in app.exception]
    assert reads == [video.SAMPLE_RATES[rates[1]], video.SAMPLE_RATES[rates[0]]]
    assert "frames read" in texts(app)
