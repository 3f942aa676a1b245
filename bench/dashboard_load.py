"""Load test of the dashboard: N concurrent browser sessions that each upload a photo and wait
for every map, against one ``streamlit run`` server on a loopback port.

Reports, measured in the same run:
  * first page ready: seconds from spawning the server to the photo uploader in the browser;
  * baseline: one session alone, upload -> all maps drawn (median of --baseline-runs), the
    upload made once the page is ready (idle, its first figure drawn);
  * load: N sessions at once (--rounds times), errors and the 50th/95th percentile, and the
    p95 as a ratio of the baseline;
  * server compute only: the same N uploads through ``read_faces`` and ``explain_face`` in N threads with
    the app's locking and no browser, to separate the server's share from the browsers'
    (all N Chromium renderers run on the same machine as the server here).

Each session uploads a slightly different photo (brightness shifted), so no session is served
from another's cache.  Errors are timeouts, page crashes and any exception or error element.

    PYTHONPATH=. .venv/bin/python bench/dashboard_load.py --sessions 8 --rounds 2 [--json out.json]

(``PYTHONPATH=.``: the browser driver lives in ``tests/dashboard/e2e.py``.)

Needs Chromium (Debian's ``chromium``; $CHROMIUM overrides) and Playwright's Python package.
Not part of the pass/fail suite.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from tests.dashboard import e2e

ROOT = e2e.ROOT

UPLOADER = '[data-testid="stMain"] [data-testid="stFileUploaderDropzoneInput"]'


def photos(n: int, folder: Path) -> list[Path]:
    """``n`` JPEGs of the public-domain astronaut photo, each a little brighter than the last."""
    from PIL import Image
    from skimage import data

    base = data.astronaut().astype(np.int16)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        rgb = np.clip(base + 2 * i - n, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
        path = folder / f"photo{i}.jpg"
        path.write_bytes(buf.getvalue())
        out.append(path)
    return out


async def session(browser, url: str, photo: Path, timeout_ms: float) -> dict:
    """One user: open the app, upload, wait for every map; time from upload to last map."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    crashes = []
    page.on("pageerror", lambda e: crashes.append(str(e)))
    try:
        await page.goto(url)
        await page.wait_for_selector(UPLOADER, state="attached", timeout=timeout_ms)
        # Upload once the page is ready (idle, first figure drawn), as a person would.
        await page.wait_for_selector(e2e.READY_SELECTOR, state="attached", timeout=timeout_ms)
        await page.wait_for_function(e2e.IDLE_JS, timeout=timeout_ms)
        start = time.perf_counter()
        await page.locator(UPLOADER).set_input_files(str(photo))
        for key in e2e.MAP_KEYS:
            await page.wait_for_selector(e2e.chart_selector(key), state="attached", timeout=timeout_ms)
        seconds = time.perf_counter() - start
        bad = await page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
        error = f"{bad} error element(s) on the page" if bad else (crashes[0] if crashes else None)
        return {"seconds": seconds, "error": error}
    except Exception as e:  # noqa: BLE001 - every failure is counted, the run goes on
        return {"seconds": None, "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
    finally:
        await context.close()


async def run(url: str, files: list[Path], sessions: int, rounds: int, baseline_runs: int,
              timeout_ms: float) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=e2e.chromium_path(), headless=True,
                                          args=e2e.CHROMIUM_ARGS)
        # Warm the server (model load, imports) once, so baseline and load see the same state.
        await session(browser, url, files[-1], timeout_ms)
        baseline = [await session(browser, url, files[i], timeout_ms) for i in range(baseline_runs)]
        loads = []
        for r in range(rounds):
            batch = files[baseline_runs + r * sessions: baseline_runs + (r + 1) * sessions]
            started = time.perf_counter()
            results = await asyncio.gather(*(session(browser, url, f, timeout_ms) for f in batch))
            loads.append({"wall_s": time.perf_counter() - started, "results": results})
        await browser.close()
    return {"baseline": baseline, "loads": loads}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def server_compute(files: list[Path], sessions: int) -> list[float]:
    """The server's share, without browsers: ``sessions`` threads each decode, detect, align
    and explain one photo through ``read_faces`` and ``explain_face`` as the Explain page does
    (the network's lock is the core's; the detector has its own) and one torch thread.
    Seconds per thread."""
    import threading

    import torch

    from deep_emotion.catalog import checkpoint_dir, list_checkpoints
    from deep_emotion.checkpoints import load_checkpoint
    from deep_emotion.explain import explain_face
    from deep_emotion.faces import detect_faces, read_faces

    torch.set_num_threads(1)
    name = "fer2013" if "fer2013" in list_checkpoints() else list_checkpoints()[0]
    ckpt = load_checkpoint(checkpoint_dir() / name)
    methods = ("stn", "occlusion", "ig", "gradcam")  # the page's default maps
    detect_faces(np.full((64, 64, 3), 128, np.uint8))
    explain_face(ckpt, np.zeros((48, 48), np.uint8), methods, trust=True)
    times = [0.0] * sessions

    def one(i: int) -> None:
        start = time.perf_counter()
        photo = read_faces(files[i], size=ckpt.preprocessing.size)
        face = photo.crops[0] if photo.crops else photo.whole_image()
        explain_face(ckpt, face, methods, trust=True)
        times[i] = time.perf_counter() - start

    threads = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def first_page_ready(timeout_ms: float) -> tuple[float, float]:
    """(seconds to healthy, seconds to the uploader in the browser) from spawning a server."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = e2e.launch(p)  # launched before the server, so its start-up is not counted
        page = browser.new_page()
        spawned = time.perf_counter()
        with e2e.serve() as (url, healthy):
            page.goto(url)
            page.wait_for_selector(UPLOADER, state="attached", timeout=timeout_ms)
            ready = time.perf_counter() - spawned
        browser.close()
    return healthy, ready


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions (8)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of concurrent sessions (2)")
    ap.add_argument("--baseline-runs", type=int, default=3, help="single-session runs (3)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per wait (120)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if e2e.chromium_path() is None:
        print("no Chromium: apt-get install chromium (or set $CHROMIUM)", file=sys.stderr)
        return 2
    timeout_ms = args.timeout * 1000

    healthy, ready = first_page_ready(timeout_ms)
    print(f"first page ready: {ready:.2f} s after spawning the server (healthy at {healthy:.2f} s)")

    files = photos(args.baseline_runs + args.sessions * args.rounds + 1, ROOT / "test-artifacts" / "bench")
    with e2e.serve() as (url, _):
        out = asyncio.run(run(url, files, args.sessions, args.rounds, args.baseline_runs, timeout_ms))

    compute = server_compute(files[:args.sessions], args.sessions)
    print(f"server compute only ({args.sessions} threads, no browser): p95 "
          f"{percentile(compute, 95):.2f} s, max {max(compute):.2f} s")

    base = [r["seconds"] for r in out["baseline"] if r["seconds"] is not None]
    base_med = statistics.median(base) if base else float("nan")
    results = [r for load in out["loads"] for r in load["results"]]
    times = [r["seconds"] for r in results if r["seconds"] is not None]
    errors = [r["error"] for r in results + out["baseline"] if r["error"]]
    p50, p95 = percentile(times, 50), percentile(times, 95)
    print(f"baseline (1 session): upload -> all maps median {base_med:.2f} s over {len(base)} runs "
          f"({', '.join(f'{t:.2f}' for t in base)})")
    print(f"load ({args.sessions} concurrent sessions x {args.rounds} rounds): "
          f"{len(times)}/{len(results)} completed, errors {len(errors)}, "
          f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(times, default=float('nan')):.2f} s, "
          f"p95/baseline {p95 / base_med:.2f}x")
    for e in errors:
        print(f"  error: {e}")
    summary = {"server_compute_s": compute, "first_page_ready_s": ready, "server_healthy_s": healthy,
               "baseline_median_s": base_med, "baseline_s": base, "sessions": args.sessions,
               "rounds": args.rounds, "load_s": times, "errors": errors, "p50_s": p50, "p95_s": p95,
               "round_wall_s": [load["wall_s"] for load in out["loads"]]}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
