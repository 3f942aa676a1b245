"""In headless Chromium against ``streamlit run``: no request leaves the machine, the layout
holds on a 390x844 phone screen, and every click on a confusion-matrix cell selects it.

Runs on generated checkpoints (``conftest.checkpoints_dir``) without the datasets, so it
needs neither; skipped when Chromium or Playwright is missing.  Screenshots go to
``test-artifacts/phone-*.png``.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.dashboard import e2e
from tests.dashboard.conftest import served_checkpoints

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = e2e.ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
VISIT = {"confusion": "Confusion matrices", "regions": "Face regions by emotion", "trust": "Trust",
         "model_card": "Model card", "glossary": "Glossary"}


@pytest.fixture(scope="module")
def server(checkpoints_dir):
    with served_checkpoints(checkpoints_dir, unset=("DEEP_EMOTION_DATA",)) as url:
        yield url


def _open(page, url: str, path: str, title: str) -> None:
    page.goto(f"{url}/{path}")
    page.wait_for_selector(f"h1:has-text('{title}')", timeout=60_000)
    e2e.wait_idle(page)


def test_no_request_leaves_the_machine(server, browser, tmp_path):
    own = urlparse(server).netloc
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests, failed = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.goto(server)
    page.wait_for_selector(e2e.READY_SELECTOR, state="attached", timeout=60_000)
    e2e.wait_idle(page)
    e2e.upload_and_wait(page, e2e.sample_photo(tmp_path / "astronaut.jpg"))
    e2e.wait_idle(page)
    for path, title in VISIT.items():
        _open(page, server, path, title)
    outside = sorted({u for u in requests
                      if urlparse(u).scheme not in ("data", "blob") and urlparse(u).netloc != own})
    assert not outside, outside
    # a navigation cancels the previous page's in-flight loads (ERR_ABORTED): not a failure
    assert not [f for f in failed if "ERR_ABORTED" not in f], failed
    assert len(requests) > 10  # the recorder saw the page load at all


def _boxes(page, selector: str) -> list[dict]:
    return [b for b in (e.bounding_box() for e in page.locator(selector).all()) if b]


def _overlap(a: dict, b: dict, slack: float = 1.0) -> bool:
    return (a["x"] + slack < b["x"] + b["width"] and b["x"] + slack < a["x"] + a["width"] and
            a["y"] + slack < b["y"] + b["height"] and b["y"] + slack < a["y"] + a["height"])


def _check_charts(page, where: str) -> None:
    """On every Plotly chart: titles and labels apart and inside the chart (a wide diagram
    scrolls in its own box; the page never scrolls sideways), no toolbar over a title, no
    colour bar or legend over any plot area, and a plot with a legend at least half the chart
    wide."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], where
    for chart in page.locator(".js-plotly-plot").all():
        frame = chart.bounding_box()
        if not frame or frame["width"] < 50:
            continue
        titles = [b for b in (e.bounding_box() for e in chart.locator(".gtitle, .annotation-text").all()) if b]
        for i, a in enumerate(titles):
            assert a["x"] >= frame["x"] - 1 and a["x"] + a["width"] <= frame["x"] + frame["width"] + 1, \
                (where, "title clipped", a, frame)
            assert a["y"] >= frame["y"] - 1, (where, "title cut at the top", a, frame)
            for b in titles[i + 1:]:
                assert not _overlap(a, b), (where, "titles overlap", a, b)
        bars = [b for b in (e.bounding_box() for e in chart.locator(".colorbar").all()) if b]
        plots = [b for b in (e.bounding_box() for e in chart.locator(".nsewdrag").all()) if b]
        for bar in bars:
            for plot in plots:
                assert not _overlap(bar, plot, slack=2.0), (where, "colour bar over a plot", bar, plot)
        legends = [b for b in (e.bounding_box() for e in chart.locator(".legend").all()) if b]
        for legend in legends:
            for plot in plots:
                assert not _overlap(legend, plot, slack=2.0), (where, "legend over a plot", legend, plot)
        if legends and len(plots) == 1:  # the plot, not its legend, takes most of the width
            assert plots[0]["width"] >= 0.5 * frame["width"], (where, "plot squeezed", plots[0], frame)
        chart.hover()
        for bar in [b for b in (e.bounding_box() for e in chart.locator(".modebar-container").all()) if b]:
            for title in titles:
                assert not _overlap(bar, title), (where, "toolbar over a title", bar, title)


def test_the_layout_holds_on_a_phone(server, browser, tmp_path):
    page = browser.new_page(viewport=PHONE)
    page.goto(server)
    page.wait_for_selector(e2e.READY_SELECTOR, state="attached", timeout=60_000)
    e2e.wait_idle(page)
    e2e.upload_and_wait(page, e2e.sample_photo(tmp_path / "astronaut.jpg"))
    e2e.wait_idle(page)
    _check_charts(page, "explain")
    e2e.full_screenshot(page, ARTIFACTS / "phone-explain.png", width=PHONE["width"])
    for path, title in (("regions", "Face regions by emotion"), ("trust", "Trust"),
                        ("model_card", "Model card")):
        page.set_viewport_size(PHONE)
        _open(page, server, path, title)
        _check_charts(page, path)
        e2e.full_screenshot(page, ARTIFACTS / f"phone-{path}.png", width=PHONE["width"])


def _click_cell(page, true: str, pred: str) -> None:
    """Click the matrix cell (true, predicted) where Plotly draws it, scrolled into view first
    as a user would: a select box below the chart leaves the page scrolled past it."""
    page.locator('[class*="st-key-cm_fig_"] .js-plotly-plot').scroll_into_view_if_needed()
    x, y = page.evaluate(
        """([t, p]) => {
            const gd = document.querySelector('[class*="st-key-cm_fig_"] .js-plotly-plot');
            const L = gd._fullLayout, r = gd.getBoundingClientRect();
            return [r.left + L._size.l + L.xaxis.l2p(L.xaxis.d2l(p)),
                    r.top + L._size.t + L.yaxis.l2p(L.yaxis.d2l(t))];
        }""", [true, pred])
    page.mouse.click(x, y)
    page.wait_for_timeout(400)
    e2e.wait_idle(page)


def _nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
    page.wait_for_selector(f"h1:has-text('{title}')", timeout=60_000)
    e2e.wait_idle(page)


def _cell(page) -> tuple[str, str]:
    return tuple(page.locator(f".st-key-{k} input").input_value() for k in ("cell_true", "cell_pred"))


def _choose(page, key: str, option: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.click()
    box.fill(option)
    box.press("Enter")
    e2e.wait_idle(page)
    page.locator("h1").first.click()  # close the list, so it covers no part of the matrix
    e2e.wait_idle(page)


def test_every_click_on_a_confusion_cell_selects_it(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, server, "confusion", "Confusion matrices")
    _click_cell(page, "happiness", "anger")
    assert _cell(page) == ("happiness", "anger")
    _choose(page, "cell_true", "fear")
    _click_cell(page, "happiness", "anger")  # the same cell after a select box moved
    assert _cell(page) == ("happiness", "anger")
    _click_cell(page, "surprise", "neutral")
    _click_cell(page, "happiness", "anger")  # the same cell again
    assert _cell(page) == ("happiness", "anger")
    _choose(page, "cell_true", "fear")
    assert _cell(page) == ("fear", "anger")
    _click_cell(page, "happiness", "anger")  # the cell clicked before the select box moved
    assert _cell(page) == ("happiness", "anger")
    _choose(page, "cell_pred", "neutral")
    _click_cell(page, "sadness", "surprise")  # a click after the select boxes changed
    assert _cell(page) == ("sadness", "surprise")
    page.get_by_text("row-normalised").click()  # a new figure
    e2e.wait_idle(page)
    _click_cell(page, "sadness", "surprise")
    assert _cell(page) == ("sadness", "surprise")
    _nav(page, "Trust")  # through the sidebar, in the same session
    _nav(page, "Confusion matrices")
    assert _cell(page) == ("sadness", "surprise")  # kept while away
    _click_cell(page, "happiness", "anger")  # after coming back: the cell clicked, no other
    assert _cell(page) == ("happiness", "anger")
    _click_cell(page, "neutral", "fear")
    assert _cell(page) == ("neutral", "fear")
    assert not e2e.page_errors(page)
