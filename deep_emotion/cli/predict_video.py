"""``deep-emotion predict CLIP --out timeline.csv``: the emotion of every face over a video.

``predict`` hands a video here.  The clip is decoded in order (``deep_emotion.video``), faces
are detected every ``--detect-every`` frames and followed between, and every tracked face of
every sampled frame becomes one CSV row: time, frame, track id, box, prediction, confidence and
one probability column per class.  A progress bar on stderr shows frames/s and the time left.

Nothing half-written: rows go to ``OUT.part`` and become ``OUT`` at the end; a damaged or
refused clip leaves no file.  Interrupted (Ctrl-C), the part stays, and the same command again
carries on from the last complete frame, the face identities picked up where they were.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.video import (DETECT_EVERY, FaceTracker, FrameSampler, ResumableCsv,
                                VideoError, VideoReader, csv_rows, looks_like_video,
                                read_timeline, timeline_columns)

__all__ = ["add_arguments", "is_video", "wants_video", "run", "render", "VIDEO_SUFFIXES"]

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The video flags of ``predict``; ``--out`` is added only if ``predict`` has none yet."""
    group = parser.add_argument_group("videos (MP4, MOV, WebM, AVI): one clip per command")
    if "--out" not in parser._option_string_actions:  # the photo batch mode may own it
        group.add_argument("--out", type=Path, default=None,
                           help="CSV to write: for a video, one row per face per sampled frame")
    pick = group.add_mutually_exclusive_group()
    pick.add_argument("--every", type=int, default=None, metavar="N",
                      help="read one frame in N (default: every frame)")
    pick.add_argument("--fps", type=float, default=None, metavar="F",
                      help="read F frames per second of clip time (by timestamps)")
    group.add_argument("--detect-every", type=int, default=DETECT_EVERY, metavar="K",
                       help=f"run the face detector every K read frames and follow the faces "
                            f"between (default {DETECT_EVERY}; 1 detects on every frame)")
    group.add_argument("--restart", action="store_true",
                       help="ignore the rows of an interrupted run and start the clip afresh")


def is_video(path: Path) -> bool:
    """A video by its name, or by its first bytes (MP4/MOV, WebM/MKV, AVI) whatever its name."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return looks_like_video(head)


def wants_video(args: argparse.Namespace) -> bool:
    return any(is_video(p) for p in args.images)


def _check(args: argparse.Namespace) -> Path:
    if len(args.images) != 1:
        raise ValueError("give one video per command (photos and videos cannot be mixed)")
    if args.out is None:
        raise ValueError("a video needs --out FILE.csv for its timeline")
    if args.tta != "none" or args.no_detect:
        raise ValueError("--tta and --no-detect are for photos; a video's faces are always "
                         "detected and read once")
    if args.detect_every < 1:
        raise ValueError(f"--detect-every must be 1 or more, got {args.detect_every}")
    return args.images[0]


def run(args: argparse.Namespace) -> dict:
    path = _check(args)
    sampler = FrameSampler(every=args.every, fps=args.fps)
    ckpt = load_checkpoint(args.checkpoint)
    tracker = FaceTracker(detect_every=args.detect_every)
    with VideoReader(path) as video:
        stat = path.stat()
        out = ResumableCsv(args.out, timeline_columns(ckpt.classes), {
            "clip": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "weights": ckpt.card.get("weights_sha256", ckpt.name), "every": args.every,
            "fps": args.fps, "detect_every": args.detect_every})
        kept, after = ([], -1) if args.restart else _resume_point(out, tracker)
        out.start(kept)
        try:
            counts = _write(video, ckpt, sampler, tracker, out, after, len(kept))
        except VideoError:
            out.discard()
            raise
        except KeyboardInterrupt:
            out.close()
            print(f"rows so far kept in {out.part}; run the same command again to carry on",
                  file=sys.stderr)
            raise
        out.commit()
        info = video.info
    return {"clip": str(path), "out": str(args.out), "checkpoint": ckpt.name,
            "container": info.container, "codec": info.codec, "size": [info.width, info.height],
            "duration_s": info.duration, "sampling": sampler.describe(),
            "detect_every": args.detect_every, "resumed_after_frame": after, **counts}


def _resume_point(out: ResumableCsv, tracker: FaceTracker) -> tuple[list[dict], int]:
    """Rows to keep from an interrupted run and the last frame they complete; the tracker is
    seeded with every face's path so far, so identities carry on."""
    rows = out.resume()
    if not rows:
        return [], -1
    last = max(int(r["frame"]) for r in rows)  # its rows may be torn: that frame is redone
    kept = [r for r in rows if int(r["frame"]) < last]
    if not kept:
        return [], -1
    history: dict[int, list] = {}
    for r in kept:
        box = tuple(int(r[k]) for k in ("x", "y", "width", "height"))
        history.setdefault(int(r["track"]), []).append((float(r["time_s"]), box))
    tracker.seed(history)
    return kept, max(int(r["frame"]) for r in kept)


def _write(video: VideoReader, ckpt, sampler: FrameSampler, tracker: FaceTracker,
           out: ResumableCsv, after: int, kept_rows: int) -> dict:
    """Read the clip into ``out`` with a progress bar; returns counts for the summary."""
    from tqdm import tqdm

    frames = rows = 0
    predictions: dict[int, Counter] = {}
    total = sampler.expected(video.info.frames, video.info.duration)
    with tqdm(total=total, unit="frame", desc=Path(video.name).name, file=sys.stderr,
              dynamic_ncols=True, mininterval=0.5) as bar:
        for reading in read_timeline(video, ckpt, sampler=sampler, tracker=tracker,
                                     after_frame=after):
            batch = csv_rows(reading, ckpt.classes)
            out.write(batch)
            frames, rows = frames + 1, rows + len(batch)
            for face, row in zip(reading.faces, batch):
                predictions.setdefault(face.track, Counter())[row[7]] += 1
            bar.update(1)
    return {"frames_read": frames, "rows": rows + kept_rows, "detections": tracker.detections,
            "tracks": {str(t): dict(c.most_common()) for t, c in sorted(predictions.items())}}


def render(result: dict) -> str:
    lines = [f"{result['clip']}: {result['frames_read']} frames read ({result['sampling']}), "
             f"{result['rows']} rows -> {result['out']}"]
    if result["resumed_after_frame"] >= 0:
        lines.append(f"carried on after frame {result['resumed_after_frame']} of an "
                     "interrupted run")
    for track, counts in result["tracks"].items():
        top, n = next(iter(counts.items()))
        lines.append(f"  face {track}: mostly {top} ({n} of {sum(counts.values())} frames)")
    if not result["tracks"]:
        lines.append("  no face found in the frames read")
    return "\n".join(lines)

