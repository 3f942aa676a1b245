"""``deep-emotion predict CLIP --out timeline.csv``: the emotion of every face over a video.

``predict`` hands a video here.  The clip is decoded in order (``deep_emotion.video``), faces
are detected every ``--detect-every`` frames and followed between, and every tracked face of
every sampled frame becomes one row: time, frame, faces in the frame, track id, box,
prediction, confidence and one probability column per class; a frame with no face is one
row that says so (``NO_FACE``), so the table spans the whole clip.  A progress bar on stderr
shows frames/s and the time left.  ``--out`` may end in ``.csv`` or ``.parquet``.
``--annotate CLIP`` (with or without ``--out``) also writes the clip with the faces drawn on
every frame (``deep_emotion.video.annotate``).

The table is written like the photo batch table (``deep_emotion.resumable``): a frame's rows
in one write, so an interrupted run (Ctrl-C, a crash) leaves only whole frames, and the same
command again carries on after the last one, the face identities picked up from their paths
so far.  A clip refused or found damaged leaves no table behind.  A drawn clip appears
under its name only when it is whole; with it, a resumed run reads the clip from the start
(every frame is drawn) and the table skips the frames it already holds.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter
from pathlib import Path

from deep_emotion import resumable
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.runtime import accelerate
from deep_emotion.video import (COUNT, DETECT_EVERY, DETECT_GAP, KEY, FaceTracker,
                                FrameSampler, VideoError, VideoReader, looks_like_video,
                                read_timeline, timeline_columns, timeline_rows)
from deep_emotion.video.annotate import ClipAnnotator, check_annotate_path

__all__ = ["add_arguments", "is_video", "wants_video", "run", "render", "VIDEO_SUFFIXES"]

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The video flags of ``predict`` (``--out`` and ``--quiet`` are shared with photos)."""
    group = parser.add_argument_group("videos (MP4, MOV, WebM, AVI): one clip per command")
    pick = group.add_mutually_exclusive_group()
    pick.add_argument("--every", type=int, default=None, metavar="N",
                      help="read one frame in N (default: every frame)")
    pick.add_argument("--fps", type=float, default=None, metavar="F",
                      help="read F frames per second of clip time (by timestamps)")
    group.add_argument("--detect-every", type=int, default=DETECT_EVERY, metavar="K",
                       help=f"run the face detector every K read frames (or every "
                            f"{DETECT_GAP:g} s of clip time, if sooner) and follow the faces "
                            f"between (default {DETECT_EVERY}; 1 detects on every frame)")
    group.add_argument("--restart", action="store_true",
                       help="drop the rows of an interrupted run and read the clip afresh")
    group.add_argument("--annotate", type=Path, default=None, metavar="CLIP",
                       help="also write the clip with every face's box, track, label, "
                            "confidence and attention drawn (.mp4, .mov, .mkv, .webm, .avi; "
                            "same size and frame rate, no audio; never overwrites a file)")
    group.add_argument("--annotate-occlusion", action="store_true",
                       help="with --annotate: draw the occlusion map instead of the "
                            "attention heat map (slower: one occlusion pass per face)")


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
    if args.out is None and args.annotate is None:
        raise ValueError("a video needs --out FILE.csv for its timeline, --annotate "
                         "FILE.mp4 for a copy with its faces drawn, or both")
    if args.annotate_occlusion and args.annotate is None:
        raise ValueError("--annotate-occlusion draws on the clip that --annotate FILE writes")
    if args.tta != "none" or args.no_detect:
        raise ValueError("--tta and --no-detect are for photos; a video's faces are always "
                         "detected and read once")
    if args.detect_every < 1:
        raise ValueError(f"--detect-every must be 1 or more, got {args.detect_every}")
    return args.images[0]


def run(args: argparse.Namespace) -> dict:
    path = _check(args)
    sampler = FrameSampler(every=args.every, fps=args.fps)
    # Outputs are checked before any work: the table's suffix, the drawn clip's path.
    journal = resumable.journal_path(args.out) if args.out is not None else None
    drawn = check_annotate_path(args.annotate) if args.annotate is not None else None
    plain = load_checkpoint(args.checkpoint)
    ckpt = accelerate(plain, args.runtime)
    tracker = FaceTracker(detect_every=args.detect_every)
    with VideoReader(path) as video:
        if args.restart and journal is not None:
            journal.unlink(missing_ok=True)
        # A drawn clip needs every frame, so it reads the clip from the start (the tracker
        # then finds the faces as the first run did) and the table skips the frames it has.
        after = _resume_point(journal, path.name, None if drawn else tracker)
        try:
            with _table(journal, ckpt.classes) as table, _annotator(
                    drawn, video, plain, args.annotate_occlusion) as annotator:
                counts = _write(video, ckpt, sampler, tracker, table, after, annotator,
                                progress=not args.quiet)
        except VideoError:
            if journal is not None:
                journal.unlink(missing_ok=True)  # a damaged clip leaves nothing half-written
            raise
        except KeyboardInterrupt:
            if journal is not None:
                print(f"the frames done so far are in {journal}; run the same command again "
                      "to carry on", file=sys.stderr)
            raise
        info = video.info
    if args.out is not None:
        resumable.finish(args.out, KEY, COUNT)
    return {"clip": str(path), "out": args.out and str(args.out),
            "annotated": drawn and str(drawn), "checkpoint": ckpt.name,
            "container": info.container, "codec": info.codec, "size": [info.width, info.height],
            "duration_s": info.duration, "sampling": sampler.describe(),
            "detect_every": args.detect_every, "resumed_after_frame": after, **counts}


def _table(journal: Path | None, classes) -> contextlib.AbstractContextManager:
    """The resumable timeline table, or no table (None) when only a drawn clip is asked for."""
    if journal is None:
        return contextlib.nullcontext()
    return resumable.ResumableTable(journal, timeline_columns(classes), KEY, COUNT)


def _annotator(out: Path | None, video: VideoReader, ckpt,
               occlusion: bool) -> contextlib.AbstractContextManager:
    """The drawn clip's writer, or None when no --annotate was given."""
    if out is None:
        return contextlib.nullcontext()
    return ClipAnnotator(out, video.info, ckpt, occlusion=occlusion)


def _resume_point(journal: Path | None, clip: str, tracker: FaceTracker | None) -> int:
    """The last frame a previous, interrupted run wrote whole (-1: none); the tracker, when
    given, is seeded with every face's path so far, so identities carry on.

    Raises:
        ValueError: the table holds another clip's rows (nothing is changed).
    """
    if journal is None or not journal.is_file() or not journal.stat().st_size:
        return -1
    _, groups, _ = resumable.read_groups(journal, KEY, COUNT)
    if not groups:
        return -1
    others = {r.get("clip") for g in groups for r in g} - {clip}
    if others:
        raise ValueError(f"{journal} holds the timeline of {sorted(map(str, others))[0]}, not "
                         f"{clip}; choose another --out, or --restart to replace it")
    if tracker is None:
        return max(int(g[0][KEY]) for g in groups)
    history: dict[int, list] = {}
    for row in (r for g in groups for r in g if r["track"]):  # a frame with no face: no track
        box = tuple(int(row[k]) for k in "xywh")
        history.setdefault(int(row["track"]), []).append((float(row["time_s"]), box))
    tracker.seed(history)
    return max(int(g[0][KEY]) for g in groups)


def _write(video: VideoReader, ckpt, sampler: FrameSampler, tracker: FaceTracker,
           table: resumable.ResumableTable | None, after: int,
           annotator: ClipAnnotator | None, progress: bool) -> dict:
    """Read the clip into ``table`` (frames after ``after``) and ``annotator`` (every frame)
    with a progress bar; counts for the summary."""
    from tqdm import tqdm

    frames = rows = 0
    predictions: dict[int, Counter] = {}
    total = sampler.expected(video.info.frames, video.info.duration)
    readings = read_timeline(video, ckpt, sampler=sampler, tracker=tracker,
                             after_frame=-1 if annotator else after,
                             on_skipped=annotator.skip if annotator else None)
    with tqdm(total=total, unit="frame", desc=Path(video.name).name, file=sys.stderr,
              dynamic_ncols=True, mininterval=0.5, disable=not progress) as bar:
        for reading in readings:
            if annotator is not None:
                annotator.draw(reading)
            bar.update(1)
            if reading.index <= after:  # in the table already; read again for the drawing
                continue
            group = timeline_rows(Path(video.name).name, reading, ckpt.classes)
            if table is not None:
                table.write_group(group)
                rows += len(group)
            frames += 1
            for row in (r for r in group if r.get("track")):
                predictions.setdefault(int(row["track"]), Counter())[row["prediction"]] += 1
    return {"frames_read": frames, "rows_written": rows, "detections": tracker.detections,
            "tracks": {str(t): dict(c.most_common()) for t, c in sorted(predictions.items())}}


def render(result: dict) -> str:
    lines = [f"{result['clip']}: {result['frames_read']} frames read ({result['sampling']})"
             + (f", {result['rows_written']} rows -> {result['out']}" if result["out"] else "")]
    if result["annotated"]:
        lines.append(f"faces drawn on every frame -> {result['annotated']}")
    if result["resumed_after_frame"] >= 0:
        lines.append(f"carried on after frame {result['resumed_after_frame']}, where an "
                     "interrupted run stopped")
    for track, counts in result["tracks"].items():
        top, n = next(iter(counts.items()))
        lines.append(f"  face {track}: mostly {top} ({n} of {sum(counts.values())} frames "
                     "read now)")
    if not result["tracks"]:
        lines.append("  no face found in the frames read")
    return "\n".join(lines)

