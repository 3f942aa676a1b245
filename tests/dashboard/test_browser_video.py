"""The Video and Live camera pages end to end in headless Chromium.

Video: a clip generated here (the public-domain astronaut moved across the frame) is uploaded;
the timeline chart, the frame, the STN panels and the occlusion map must be drawn, the moment
slider must move the view, and a text file posing as a video must get a message.
Live: Chromium's fake camera plays a generated .y4m clip; after START the page must report a
labelled face, and the returned video must show the coloured box drawn around it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.dashboard import e2e
from dashboard.live import TRACK_COLOURS
from deep_emotion.catalog import list_checkpoints
from deep_emotion.video.synthetic import render_frame, scene, write_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints"
ARTIFACTS = e2e.ROOT / "test-artifacts"
ERRORS = '[data-testid="stException"], [data-testid="stExceptionMessage"]'


@pytest.fixture(scope="module")
def server(checkpoints_dir):
    if e2e.chromium_path() is None:
        pytest.skip("no Chromium: apt-get install chromium (or set $CHROMIUM)")
    pytest.importorskip("playwright")
    pytest.importorskip("streamlit_webrtc")
    folder = SHIPPED if list_checkpoints(SHIPPED) else checkpoints_dir
    with e2e.serve(env={"DEEP_EMOTION_CHECKPOINTS": str(folder)}) as (url, _):
        yield url


def _browser(playwright, *extra: str):
    return playwright.chromium.launch(executable_path=e2e.chromium_path(), headless=True,
                                      args=[*e2e.CHROMIUM_ARGS, *extra])


def _outside_requests(page) -> list[str]:
    """Collects every request the page makes to a host other than the loopback server."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.startswith(("http:", "https:", "ws"))
            and "//127.0.0.1:" not in r.url else None)
    return seen


def _frames(kind: str, size: tuple[int, int], n: int):
    return [render_frame(size, p) for p in scene(kind, size, n)]


def test_video_page_reads_a_clip_and_explains_any_moment(server, tmp_path):
    from playwright.sync_api import sync_playwright

    clip = write_clip(tmp_path / "astronaut.mp4", _frames("one", (320, 240), 20), fps=10)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        outside = _outside_requests(page)
        page.goto(f"{server}/video")
        uploader = page.locator('[data-testid="stMain"] [data-testid="stFileUploaderDropzoneInput"]')
        uploader.wait_for(state="attached", timeout=60_000)
        uploader.set_input_files(str(clip))
        for selector in (CHART, *(e2e.chart_selector(k) for k in ("video_frame", "stn_fig",
                                                                  "occlusion_fig"))):
            page.wait_for_selector(selector, state="attached", timeout=120_000)
        e2e.wait_idle(page)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "10 frames read (5 frames per second of clip time)" in text and "1 face followed" in text
        assert "Frame 0 at 0.00 s" in text
        assert page.locator(f"{TIMELINE} .scatterlayer .trace").count() == 7
        assert page.get_by_text("Timeline (CSV)").count() == 1

        thumb = page.locator('.st-key-video_time input[type="range"], '
                             '.st-key-video_time [role="slider"]').first
        thumb.focus()
        thumb.press("End")
        page.wait_for_selector("text=Frame 18 at 1.80 s", timeout=60_000)
        e2e.wait_idle(page)
        assert page.locator(ERRORS).count() == 0
        e2e.full_screenshot(page, ARTIFACTS / "video.png")

        # A click on the chart's point at 0.6 s opens that moment.
        x, y = page.evaluate(POINT_JS, [0.6, "video_chart"])
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        page.wait_for_selector("text=Frame 6 at 0.60 s", timeout=60_000)
        e2e.wait_idle(page)
        assert page.locator(ERRORS).count() == 0

        # A click on no point at all (high above the lines, just right of 1.2 s) goes to the
        # nearest moment; after the slider moves, the same point again is a new click.
        x, y = page.evaluate(AT_JS, [1.23, 0.97, "video_chart"])
        page.mouse.click(x, y)
        page.wait_for_selector("text=Frame 12 at 1.20 s", timeout=60_000)
        e2e.wait_idle(page)
        thumb.focus()
        thumb.press("End")
        page.wait_for_selector("text=Frame 18 at 1.80 s", timeout=60_000)
        e2e.wait_idle(page)
        x, y = page.evaluate(AT_JS, [1.23, 0.97, "video_chart"])
        page.mouse.click(x, y)
        page.wait_for_selector("text=Frame 12 at 1.20 s", timeout=60_000)
        e2e.wait_idle(page)
        assert page.locator(ERRORS).count() == 0

        (tmp_path / "notes.mp4").write_text("not a video at all\n" * 10)
        uploader.set_input_files(str(tmp_path / "notes.mp4"))
        page.wait_for_selector("text=This clip cannot be used", timeout=60_000)
        assert "not a video we can read" in page.locator('[data-testid="stMain"]').inner_text()
        assert page.locator(ERRORS).count() == 0
        assert outside == []
        browser.close()


# The timeline chart's element: its key is renewed after every click (video_chart_0, _1, ...).
TIMELINE = "[class*='st-key-video_chart_']"
CHART = f"{TIMELINE} .js-plotly-plot .main-svg"

# Page coordinates of the happiness trace's point at time x in a Plotly chart (by its key).
POINT_JS = """([x, key]) => {
  const gd = document.querySelector(`[class*="st-key-${key}_"] .js-plotly-plot`);
  const trace = gd.data.findIndex(t => t.name === 'happiness');
  const point = gd.calcdata[trace].find(p => Math.abs(p.x - x) < 1e-6);
  const fl = gd._fullLayout, box = gd.getBoundingClientRect();
  return [box.left + fl._size.l + fl.xaxis.d2p(x), box.top + fl._size.t + fl.yaxis.d2p(point.y)];
}"""


# Page coordinates of data point (x, y) in a Plotly chart (by its key), on a line or not.
AT_JS = """([x, y, key]) => {
  const gd = document.querySelector(`[class*="st-key-${key}_"] .js-plotly-plot`);
  const fl = gd._fullLayout, box = gd.getBoundingClientRect();
  return [box.left + fl._size.l + fl.xaxis.d2p(x), box.top + fl._size.t + fl.yaxis.d2p(y)];
}"""


# The returned frame is drawn into a canvas in the component's iframe; count the pixels within
# 30 levels of a box colour (video coding shifts colours a little).
BOX_PIXELS_JS = """(video, colours) => {
  if (!video.videoWidth) return -1;
  const c = document.createElement('canvas');
  c.width = video.videoWidth; c.height = video.videoHeight;
  const g = c.getContext('2d'); g.drawImage(video, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    for (const [r, g, b] of colours)
      if (Math.abs(d[i] - r) < 30 && Math.abs(d[i + 1] - g) < 30 && Math.abs(d[i + 2] - b) < 30) {
        n++; break;
      }
  return n;
}"""


def test_live_page_boxes_and_labels_the_face_from_the_camera(server, tmp_path):
    from playwright.sync_api import sync_playwright

    there = _frames("one", (640, 480), 30)
    camera = e2e.write_y4m(tmp_path / "camera.y4m", there + there[::-1])  # loops without a jump
    with sync_playwright() as p:
        browser = _browser(p, "--use-fake-device-for-media-stream",
                           "--use-fake-ui-for-media-stream",
                           f"--use-file-for-fake-video-capture={camera}")
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        outside = _outside_requests(page)
        page.goto(f"{server}/live")
        frame = page.frame_locator('iframe[title*="streamlit_webrtc"]')
        frame.get_by_role("button", name="START").click(timeout=120_000)
        page.wait_for_selector("text=/face 1: \\w+ \\(\\d+%\\)/", timeout=120_000)
        status = page.locator('[data-testid="stMain"]').inner_text()
        assert "frames/s" in status
        video = frame.locator("video")
        box = 0
        for _ in range(20):  # the first returned frames may predate the first detection
            box = video.evaluate(BOX_PIXELS_JS, [list(c) for c in TRACK_COLOURS])
            if box > 200:
                break
            page.wait_for_timeout(500)
        assert box > 200, "the returned frames show the face's box"
        assert page.locator(ERRORS).count() == 0
        page.wait_for_timeout(4000)  # the rate over the last 30 frames, for the record
        status = page.locator('[data-testid="stMain"]').inner_text()
        rate = re.search(r"([\d.]+) frames/s", status)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "live.json").write_text(json.dumps(
            {"frames_per_second": float(rate.group(1)) if rate else None}))
        page.screenshot(path=str(ARTIFACTS / "live.png"))
        assert outside == []
        browser.close()
