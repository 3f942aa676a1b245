"""In headless Chromium: upload a small labelled zip on the Confusion page and see its matrix."""

from __future__ import annotations

import pytest

from tests.dashboard import e2e
from tests.dashboard.conftest import served_checkpoints
from tests.dashboard.test_userdata_pages import labelled_zip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(checkpoints_dir):
    with served_checkpoints(checkpoints_dir, unset=("DEEP_EMOTION_USER_DATA",)) as url:
        yield url


def test_upload_a_labelled_zip_and_see_its_confusion_matrix(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = e2e.launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        crashes = []
        page.on("pageerror", lambda e: crashes.append(str(e)))
        page.goto(f"{server}/confusion")
        page.wait_for_selector("h1:has-text('Confusion matrices')", timeout=60_000)
        e2e.wait_idle(page)
        page.get_by_text("Your data").first.click()
        e2e.wait_idle(page)
        # A click that lands while the rerun is redrawing the sidebar can be lost, and random
        # pixels with detection on find no face, so the tick is confirmed before the upload.
        crops = page.locator(".st-key-user_aligned input[type=checkbox]")
        crops.check(force=True)
        e2e.wait_idle(page)
        assert crops.is_checked()
        page.locator(".st-key-user_zip input[type=file]").set_input_files(
            {"name": "faces.zip", "mimeType": "application/zip", "buffer": labelled_zip()})
        page.wait_for_selector(e2e.chart_selector("user_cm_fig"), state="attached",
                               timeout=120_000)
        e2e.wait_idle(page)
        body = page.locator('[data-testid="stMain"]').inner_text()
        errors = e2e.page_errors(page)
        # the chosen dataset stays chosen on the next page, reached by the sidebar's link
        page.locator("[data-testid='stSidebarNav'] a", has_text="Trust").first.click()
        page.wait_for_selector("h1:has-text('Trust')", timeout=60_000)
        page.wait_for_selector("text=Your data: faces.zip", timeout=60_000)
        errors += e2e.page_errors(page)
        browser.close()
    assert "Your data: faces.zip" in body and "Accuracy on the shared classes" in body
    assert "12 faces from 12 image files" in body
    assert not errors and not crashes, (errors, crashes)
