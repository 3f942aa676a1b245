"""End to end in headless Chromium: ``streamlit run dashboard/app.py`` on a loopback port.

Driven by Playwright's Python package with the system Chromium (``executable_path``; browsers
cannot be downloaded here).  Uploads a real photo, waits for the prediction, the STN map and
the occlusion map, visits every page (clicking a confusion-matrix cell on the way), and saves
screenshots and timings to ``test-artifacts/``.  Skipped when Chromium or Playwright is missing.
The checkpoints are the shipped ones when ``checkpoints/`` has any, else generated ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dashboard import e2e
from deep_emotion.catalog import list_checkpoints

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = e2e.ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def server(checkpoints_dir):
    if e2e.chromium_path() is None:
        pytest.skip("no Chromium: apt-get install chromium (or set $CHROMIUM)")
    pytest.importorskip("playwright")
    shipped = Path(__file__).resolve().parents[2] / "checkpoints"
    folder = shipped if list_checkpoints(shipped) else checkpoints_dir
    with e2e.serve(env={"DEEP_EMOTION_CHECKPOINTS": str(folder)}) as (url, ready):
        yield url, ready


def test_upload_predict_and_every_page(server, browser, tmp_path):
    url, ready = server
    photo = e2e.sample_photo(tmp_path / "astronaut.jpg")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    crashes = []
    page.on("pageerror", lambda e: crashes.append(str(e)))

    result = e2e.tour(page, url, photo, ARTIFACTS)

    explain = result["text"]["explain"]
    assert "Prediction:" in explain and "1 face found" in explain
    # e2e.upload_and_wait waited for every chart of e2e.MAP_KEYS; Plotly writes their titles
    # as SVG text, which is part of the page's text: the STN map and the occlusion map are there
    assert "Where it samples" in explain and "Occlusion (" in explain
    for page_name, errors in result["errors"].items():
        assert not errors, (page_name, errors)
    assert set(result["screenshots"]) == {"explain", "confusion", "regions", "trust", "model_card"}
    assert "Click a cell" in result["text"]["confusion"]
    assert not crashes, crashes
    (ARTIFACTS / "timings.json").write_text(json.dumps({
        "server_healthy_s": round(ready, 3),
        "first_page_ready_after_goto_s": round(result["first_page_ready_after_goto_s"], 3),
        "first_page_ready_after_server_start_s": round(ready + result["first_page_ready_after_goto_s"], 3),
        "upload_to_maps_s": round(result["upload_to_maps_s"], 3)}, indent=1))
