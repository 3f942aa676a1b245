"""The Video and Live camera pages through AppTest on dashboard/app.py.

The camera component needs a real server session (AppTest's runtime is a mock), so past its
checkpoint check the Live page is driven in Chromium (tests/dashboard/test_browser_video.py).
"""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import app, app_env, checkpoints_dir  # noqa: F401 - fixtures
from tests.dashboard.test_pages import charts, go, texts
from tests.dashboard.test_pages import test_no_checkpoint_says_what_to_do as no_checkpoint_check


def test_video_page_without_a_clip_states_its_limits(app):
    go(app, "video")
    out = texts(app)
    assert "at most 1920x1080 pixels, 2 min 00 s, 200 MB" in out
    assert "Choose a clip above to begin" in out


def test_video_page_reads_an_upload_and_explains_the_first_moment(app, clips):
    go(app, "video")
    app.file_uploader(key="video_upload").set_value(
        ("crossing.mp4", clips["crossing"].read_bytes(), "video/mp4"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    out = texts(app)
    assert "15 frames read (5 frames per second of clip time) · 2 faces followed" in out
    assert charts(app) == 5  # timeline, frame, bars, STN panels, occlusion
    assert app.selectbox(key="video_track").options == ["face 1", "face 2"]
    app.selectbox(key="video_track").set_value(2).run()
    assert not app.exception and "Face 2:" in texts(app)


def test_video_page_turns_a_bad_clip_into_a_message(app):
    go(app, "video")
    app.file_uploader(key="video_upload").set_value(("clip.mp4", b"not a video" * 50, "video/mp4"))
    app.run()
    assert not app.exception
    assert "This clip cannot be used" in texts(app) and "not a video" in texts(app)


@pytest.mark.parametrize("page", ["video", "live"])
def test_no_checkpoint_says_what_to_do(tmp_path, monkeypatch, page):
    no_checkpoint_check(tmp_path, monkeypatch, page)
