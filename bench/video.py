"""Video benchmarks: decoding, detection every frame against detection every k frames plus
tracking, and the live overlay.

    .venv/bin/python bench/video.py                  # all parts
    .venv/bin/python bench/video.py --part track --k 5 --repeats 3

Clips are generated (``deep_emotion.video.synthetic``: the public-domain astronaut photo moved
and scaled across a plain stage), 30 frames/s: 640x480 with one face (3 s), 1280x720 with five
(2 s), and 640x480 with two faces crossing, one hiding the other for a moment (3 s).  The face
keeps one expression throughout, so the disagreement measures what tracking does to the crop,
not how it follows a changing expression.

- decode: frames/s decoding to RGB with PyAV and with OpenCV's VideoCapture, same file.
- track: ``read_timeline`` frames/s (decode, faces, crops, network; no CSV) with detection on
  every frame (the baseline) and every k frames with optical flow between; how often the
  predicted emotion of the same face (boxes overlapping at IoU >= 0.5) disagrees between the
  two, and how many faces one finds that the other does not.
- live: ``LiveAnnotator.annotate`` frames/s on the one-face clip, and what the overlay costs per
  frame: annotate (tracking + STN attention + drawing) against tracking alone, with and
  without the gradient inset.

Runs of a comparison alternate (baseline, variant, baseline, ...) and the median of the
repeats is printed, so a CPU shared with other work loads both alike; the load average is
printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import torch

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.video import DETECT_EVERY, FaceTracker, VideoReader, box_iou, read_timeline
from deep_emotion.video.synthetic import render_frame, scene, write_clip

CLIPS = {"640x480, 1 face": ("one", (640, 480), 90), "1280x720, 5 faces": ("five", (1280, 720), 60),
         "640x480, 2 faces crossing": ("crossing", (640, 480), 90)}
DECODE_CLIPS = ("640x480, 1 face", "1280x720, 5 faces")


def make_clips(folder: Path) -> dict[str, Path]:
    return {name: write_clip(folder / f"{kind}.mp4", [render_frame(size, p)
                                                     for p in scene(kind, size, n)], fps=30)
            for name, (kind, size, n) in CLIPS.items()}


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def alternate(repeats: int, **runs) -> dict[str, tuple[float, object]]:
    """Run each callable ``repeats`` times, interleaved; median seconds and the last result."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    last = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            s, last[name] = timed(fn)
            seconds[name].append(s)
    return {name: (statistics.median(s), last[name]) for name, s in seconds.items()}


def decode_pyav(path: Path) -> int:
    with VideoReader(path) as video:
        return sum(1 for _ in video.frames())


def decode_opencv(path: Path) -> int:
    cap, n = cv2.VideoCapture(str(path)), 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            return n
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        n += 1


def part_decode(clips: dict[str, Path], repeats: int) -> None:
    print("\n## decode to RGB (frames/s; ratio PyAV / OpenCV)")
    for name in DECODE_CLIPS:
        path = clips[name]
        r = alternate(repeats, opencv=lambda: decode_opencv(path), pyav=lambda: decode_pyav(path))
        (so, n), (sp, _) = r["opencv"], r["pyav"]
        print(f"{name}: OpenCV {n / so:7.0f}   PyAV {n / sp:7.0f}   ratio {so / sp:.2f}")


def readings(path: Path, ckpt, k: int) -> list:
    """Per frame, (box, predicted class) of each face; the time gap is left at its default
    (1/3 s: every 10th frame of these 30 frames/s clips), so k above 10 changes nothing."""
    with VideoReader(path) as video:
        return [[(f.face.box, int(f.probs.argmax())) for f in r.faces]
                for r in read_timeline(video, ckpt, tracker=FaceTracker(detect_every=k))]


def disagreement(base: list, other: list) -> tuple[float, int, int]:
    """(share of matched faces whose predicted class differs, matched, unmatched) where faces
    of the same frame match by box IoU >= 0.5."""
    differ = matched = unmatched = 0
    for a, b in zip(base, other):
        free = list(b)
        for box, cls in a:
            best = max(free, key=lambda f: box_iou(box, f[0]), default=None)
            if best is None or box_iou(box, best[0]) < 0.5:
                unmatched += 1
                continue
            free.remove(best)
            matched += 1
            differ += best[1] != cls
        unmatched += len(free)
    return differ / max(matched, 1), matched, unmatched


def part_track(clips: dict[str, Path], ckpt, k: int, repeats: int) -> None:
    print(f"\n## read_timeline frames/s: detection every frame (baseline) vs every {k} frames "
          "+ optical flow")
    for name, path in clips.items():
        r = alternate(repeats, every=lambda: readings(path, ckpt, 1),
                      flow=lambda: readings(path, ckpt, k))
        (sb, base), (sf, flow) = r["every"], r["flow"]
        n = len(base)
        share, matched, unmatched = disagreement(base, flow)
        print(f"{name}: every frame {n / sb:6.1f}   every {k} + flow {n / sf:6.1f}   "
              f"speed-up {sb / sf:.2f}x   emotion disagrees on {share:.1%} of {matched} faces, "
              f"{unmatched} faces found by only one")


def part_live(clips: dict[str, Path], ckpt, repeats: int) -> None:
    from dashboard.live import LiveAnnotator

    with VideoReader(clips["640x480, 1 face"]) as video:
        frames = [(f.time, f.rgb) for f in video.frames()]

    def tracking_only():
        tracker = FaceTracker()
        for t, rgb in frames:
            tracker.update(rgb, t)

    def annotate(gradient: bool):
        annotator = LiveAnnotator(ckpt)
        annotator.gradient = gradient
        for t, rgb in frames:
            annotator.annotate(rgb, t)

    r = alternate(repeats, tracking=tracking_only, overlay=lambda: annotate(False),
                  gradient=lambda: annotate(True))
    n = len(frames)
    base = r["tracking"][0]
    print("\n## live, 640x480 with one face (frames/s; overlay cost per frame over tracking)")
    print(f"tracking only      {n / base:6.1f}")
    for key, label in (("overlay", "STN overlay"), ("gradient", "STN + saliency inset")):
        s = r[key][0]
        print(f"{label:<19}{n / s:6.1f}   +{(s - base) / n * 1000:.1f} ms/frame   "
              f"ratio {base / s:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=("all", "decode", "track", "live"), default="all")
    ap.add_argument("--k", type=int, default=DETECT_EVERY,
                    help="detect every k frames in the variant (default: the tracker's)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint)
    print(f"# bench/video.py  load average before: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; medians of {args.repeats} interleaved runs")
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp))
        if args.part in ("all", "decode"):
            part_decode(clips, args.repeats)
        if args.part in ("all", "track"):
            part_track(clips, ckpt, args.k, args.repeats)
        if args.part in ("all", "live"):
            part_live(clips, ckpt, args.repeats)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
