"""In headless Chromium: every upload limit a user reads is the limit that applies."""

from __future__ import annotations

import re

import pytest

from tests.dashboard import e2e
from tests.dashboard.conftest import served_checkpoints

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(checkpoints_dir):
    with served_checkpoints(checkpoints_dir) as url:
        yield url


def _visible_limits(page) -> set[str]:
    text = page.locator('[data-testid="stApp"]').inner_text()
    return {m.replace(" ", "") for m in re.findall(r"\d+\s?MB", text)}


@pytest.mark.parametrize("path, title, limit", [("", "Explain a face", "30MB"),
                                                ("video", "Emotions over a video", "200MB")])
def test_the_upload_limits_a_user_reads_agree(server, browser, path, title, limit):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/{path}")
    page.wait_for_selector(f"h1:has-text('{title}')", timeout=60_000)
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stFileUploaderDropzoneInput"]', state="attached",
                           timeout=60_000)
    e2e.wait_idle(page)
    shown = _visible_limits(page)
    page.close()
    assert limit in shown, shown
    assert shown <= {limit, "200MB"}, shown  # the sidebar's zip box says 200 MB too
