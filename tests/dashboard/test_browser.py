"""End to end in headless Chromium: ``streamlit run dashboard/app.py`` on a loopback port.

Driven by Playwright's Python package with the system Chromium (``executable_path``; browsers
cannot be downloaded here).  Uploads a real photo, waits for the prediction, the STN map and
the occlusion map, visits every page, and saves screenshots and timings to ``test-artifacts/``.
Run with ``pytest -m browser``; skipped when Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from dashboard import e2e

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = e2e.ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def server(checkpoints_dir):
    if e2e.chromium_path() is None:
        pytest.skip("no Chromium: apt-get install chromium (or set $CHROMIUM)")
    pytest.importorskip("playwright")
    env = {"DEEP_EMOTION_CHECKPOINTS": os.environ.get("E2E_CHECKPOINTS", str(checkpoints_dir))}
    with e2e.serve(env=env) as (url, ready):
        yield url, ready


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = e2e.launch(p)
        yield b
        b.close()


def test_upload_predict_and_every_page(server, browser, tmp_path):
    url, ready = server
    photo = e2e.sample_photo(tmp_path / "astronaut.jpg")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors = []
    page.on("pageerror", lambda e: console_errors.append(str(e)))

    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector('[data-testid="stFileUploaderDropzoneInput"]', state="attached",
                           timeout=60_000)
    first_page = time.perf_counter() - started

    upload_to_maps = e2e.upload_and_wait(page, photo)
    e2e.wait_idle(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Prediction:" in body
    assert "1 face found" in body
    for key in e2e.MAP_KEYS:
        assert page.locator(e2e.chart_selector(key)).count() >= 1, key
    assert not e2e.page_errors(page)
    e2e.full_screenshot(page, ARTIFACTS / "explain.png")

    for path, title in e2e.PAGES.items():
        if not path:
            continue
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}/{path}")
        page.wait_for_selector(f"h1:has-text('{title}')", timeout=60_000)
        e2e.wait_idle(page)
        assert not e2e.page_errors(page), (path, e2e.page_errors(page))
        if path == "confusion":  # a click on a cell picks the faces shown below the matrix
            cells = page.locator(".st-key-cm_fig .nsewdrag").first.bounding_box()
            page.mouse.click(cells["x"] + cells["width"] * 3.5 / 7, cells["y"] + cells["height"] * 3.5 / 7)
            page.wait_for_function("() => document.body.innerText.includes("
                                   "'are happiness and predicted happiness')", timeout=60_000)
            e2e.wait_idle(page)
        e2e.full_screenshot(page, ARTIFACTS / f"{path}.png")

    assert not console_errors, console_errors
    (ARTIFACTS / "timings.json").write_text(json.dumps({
        "server_healthy_s": round(ready, 3), "first_page_ready_after_goto_s": round(first_page, 3),
        "first_page_ready_after_server_start_s": round(ready + first_page, 3),
        "upload_to_maps_s": round(upload_to_maps, 3)}, indent=1))
