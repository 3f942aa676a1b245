"""The Video page offers the clip with its faces drawn, made on request from the timeline it
holds, as an MP4 download with every frame of the upload."""

from __future__ import annotations

from tests.dashboard.conftest import app, app_env, checkpoints_dir  # noqa: F401 - fixtures
from tests.dashboard.test_pages import go


def _downloads(app) -> dict[str, object]:
    return {d.proto.label: d for d in app.get("download_button")}


def test_the_video_page_offers_the_clip_with_its_faces_drawn(app, clips):
    go(app, "video")
    app.file_uploader(key="video_upload").set_value(
        ("one.mp4", clips["one"].read_bytes(), "video/mp4"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Clip with the faces drawn (MP4)" not in _downloads(app), "made only on request"
    app.button(key="video_draw").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Clip with the faces drawn (MP4)" in _downloads(app)
    assert "Timeline (CSV)" in _downloads(app)
