"""Run the dashboard under ``streamlit run`` and drive it in headless Chromium.

Shared by the browser test (``tests/dashboard/test_browser.py``) and the load benchmark
(``bench/dashboard_load.py``).  Browsers cannot be downloaded here, so Playwright launches the
system Chromium (Debian's ``chromium``) through ``executable_path``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["ROOT", "chromium_path", "free_port", "serve", "launch", "sample_photo",
           "upload_and_wait", "wait_idle", "IDLE_JS", "READY_SELECTOR", "full_screenshot", "page_errors", "tour", "compress_png",
           "MAP_KEYS", "PAGES", "write_y4m", "cut_titles"]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
# The charts that must be drawn before a face counts as explained (their st.plotly_chart keys).
MAP_KEYS = ("probs_fig", "stn_fig", "occlusion_fig")
# url path -> page title, as dashboard/app.py registers them.
PAGES = {"": "Explain a face", "confusion": "Confusion matrices", "regions": "Face regions by emotion",
         "trust": "Trust", "model_card": "Model card"}


def chromium_path() -> str | None:
    """The system Chromium, or None ($CHROMIUM overrides)."""
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and Path(c).is_file():
            return c
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(port: int | None = None, env: dict | None = None, timeout: float = 60.0,
          unset: tuple[str, ...] = ()):
    """Start ``streamlit run dashboard/app.py`` on a loopback port; yield (url, seconds to ready).

    "Ready" is the first 200 from ``/_stcore/health``.  The server is stopped on exit; its log
    is kept in memory and printed if it dies early.
    """
    port = port or free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    start = time.perf_counter()
    server_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n"
                                   f"{proc.stdout.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"streamlit not healthy on {url} after {timeout} s")
            time.sleep(0.05)
        yield url, time.perf_counter() - start
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def launch(playwright, **kwargs):
    """Headless system Chromium with the flags this sandbox needs."""
    path = chromium_path()
    if path is None:
        raise FileNotFoundError("no Chromium found: `apt-get install chromium` or set $CHROMIUM")
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS,
                                      **kwargs)


def sample_photo(path: Path) -> Path:
    """A real photo with one face (NASA's public-domain astronaut, from scikit-image) as JPEG."""
    from PIL import Image
    from skimage import data

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


# True when the app is idle: stApp carries the script's run state; spinners and skeletons
# cover cached work still in flight.
IDLE_JS = ("() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
           " const state = app && app.getAttribute('data-test-script-state');"
           " return state !== 'running' && state !== 'rerunRequested' && !document.querySelector("
           "'[data-testid=\"stSpinner\"], [data-testid=\"stSkeleton\"]'); }")
# The Explain page is ready for a photo: uploader on screen, idle, and its first Plotly figure
# drawn (so plotly.js is loaded, as it is by the time a person has picked a file).
READY_SELECTOR = ".st-key-intro_fig .js-plotly-plot .main-svg"


def wait_idle(page, timeout_ms: float = 60_000, settle_ms: int = 900) -> None:
    """Wait until the script run is over (no running script, spinner or skeleton) and stays
    over for ``settle_ms`` (a rerun can start a moment after the previous one ends)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    busy = IDLE_JS
    deadline = time.perf_counter() + timeout_ms / 1000
    quiet_since = None
    while time.perf_counter() < deadline:
        if page.evaluate(busy):
            quiet_since = quiet_since or time.perf_counter()
            if (time.perf_counter() - quiet_since) * 1000 >= settle_ms:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(150)
    raise TimeoutError(f"the app was still running after {timeout_ms / 1000:.0f} s")


CUT_TITLES_JS = (
    "() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(p => {"
    " const svg = p.querySelector('.main-svg'), t = p.querySelector('.gtitle');"
    " if (!svg || !t) return [];"
    " return t.getBoundingClientRect().top < svg.getBoundingClientRect().top - 0.5"
    " ? [t.textContent] : []; })")


def cut_titles(page) -> list[str]:
    """The chart titles drawn partly above their chart's top edge, where nobody sees them."""
    return page.evaluate(CUT_TITLES_JS)


def full_screenshot(page, path: Path, width: int = 1400, max_height: int = 6000) -> Path:
    """Screenshot the whole page: Streamlit scrolls inside its main block, so the viewport is
    grown to the content's height first (``full_page`` alone would stop at the fold)."""
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " const b = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        " return Math.max(b ? b.scrollHeight : 0, m ? m.scrollHeight : 0, 800); }")
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, max_height)})
    page.wait_for_timeout(400)  # let Plotly re-lay out to the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path


def page_errors(page) -> list[str]:
    """Texts of exception and error elements on the page (empty when it rendered cleanly)."""
    return [e.inner_text() for e in page.locator('[data-testid="stException"]').all()] + \
           [e.inner_text() for e in page.locator('[data-testid="stAlertContentError"]').all()]


def chart_selector(key: str) -> str:
    return f".st-key-{key} .js-plotly-plot .main-svg"


def upload_and_wait(page, photo: Path, timeout_ms: float = 60_000) -> float:
    """Upload ``photo`` through the file uploader; seconds until every map in MAP_KEYS is drawn."""
    start = time.perf_counter()
    page.locator('[data-testid="stMain"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(photo))
    for key in MAP_KEYS:
        page.wait_for_selector(chart_selector(key), timeout=timeout_ms, state="attached")
    return time.perf_counter() - start


def tour(page, url: str, photo: Path, out: Path, *, click_cell: bool = True) -> dict:
    """Upload ``photo`` on the Explain page, then visit every page; screenshot each to
    ``out/<page>.png``.  Returns timings and the errors found on each page."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stFileUploaderDropzoneInput"]', state="attached",
                           timeout=60_000)
    first_page = time.perf_counter() - started
    page.wait_for_selector(READY_SELECTOR, state="attached", timeout=60_000)
    wait_idle(page)
    upload_to_maps = upload_and_wait(page, photo)
    wait_idle(page)
    shots = {"explain": full_screenshot(page, out / "explain.png")}
    errors = {"explain": page_errors(page) + cut_titles(page)}
    body = {"explain": page.locator('[data-testid="stMain"]').inner_text()}
    for path, title in PAGES.items():
        if not path:
            continue
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}/{path}")
        page.wait_for_selector(f"h1:has-text('{title}')", timeout=60_000)
        wait_idle(page)
        if path == "confusion" and click_cell:  # a click on a cell picks the faces below
            cells = page.locator("[class*='st-key-cm_fig_'] .nsewdrag").first.bounding_box()
            if cells:
                page.mouse.click(cells["x"] + cells["width"] * 3.5 / 7,
                                 cells["y"] + cells["height"] * 3.5 / 7)
                page.wait_for_timeout(500)
                wait_idle(page)
        errors[path] = page_errors(page) + cut_titles(page)  # a cut title is an error too
        body[path] = page.locator('[data-testid="stMain"]').inner_text()
        shots[path] = full_screenshot(page, out / f"{path}.png")
    return {"first_page_ready_after_goto_s": first_page, "upload_to_maps_s": upload_to_maps,
            "errors": errors, "text": body, "screenshots": shots}


def compress_png(src: Path, dst: Path, width: int = 1100, colours: int = 256) -> Path:
    """A smaller copy for the README: scaled to ``width`` and reduced to a palette (octree
    keeps the colour scales true; median cut shifted them)."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
        im = im.quantize(colors=colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        dst.parent.mkdir(parents=True, exist_ok=True)
        im.save(dst, optimize=True)
    return dst


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.dashboard.e2e --screenshots docs/screenshots``: the README's screenshots,
    from the checkpoints in ``checkpoints/`` (or $DEEP_EMOTION_CHECKPOINTS).  The server does
    not see $DEEP_EMOTION_DATA, so no dataset face ends up in a committed picture."""
    import argparse
    import tempfile

    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--screenshots", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photo = sample_photo(tmp / "astronaut.jpg")
        with serve(unset=("DEEP_EMOTION_DATA",)) as (url, _), sync_playwright() as p:
            browser = launch(p)
            result = tour(browser.new_page(viewport={"width": 1400, "height": 1000}), url, photo,
                          tmp / "raw")
            browser.close()
        for name, shot in result["screenshots"].items():
            dst = compress_png(shot, args.screenshots / f"{name}.png")
            print(f"{dst} ({dst.stat().st_size // 1024} KB)")
    bad = {k: v for k, v in result["errors"].items() if v}
    if bad:
        print(f"errors on pages: {bad}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())


def write_y4m(path: str | Path, frames: Sequence[np.ndarray], fps: int = 30) -> Path:
    """Raw YUV 4:2:0 frames in the YUV4MPEG2 format Chromium's fake camera plays in a loop."""
    path = Path(path)
    h, w = frames[0].shape[:2]
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).tobytes())
    return path
