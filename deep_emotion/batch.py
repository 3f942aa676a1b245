"""Batch prediction: folders and globs of photos -> one table row per face, resumable.

``deep-emotion predict DIR_OR_GLOB... --out results.csv`` runs ``run_batch``: every photo goes
the one face path (decode, detect, align at the checkpoint's input size) and the network;
each file's rows are written together (``deep_emotion.resumable``), so a rerun skips the
files already in the table.  A file that cannot be read, or shows no face, gets one row with
the reason in ``error``.

Under ``torchrun --nproc_per_node N`` (and across nodes) rank r takes files r, r+N, ...,
writes its own shard table (which resumes on its own), and rank 0 merges the shards in the
inputs' order once every rank is done: the merged table is the single-process one.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from deep_emotion import resumable
from deep_emotion.checkpoints import Checkpoint
from deep_emotion.data.listing import IMAGE_SUFFIXES
from deep_emotion.distributed import distributed_env
from deep_emotion.faces import FaceImageError, read_faces
from deep_emotion.predict import predict_proba

__all__ = ["expand_inputs", "columns", "file_rows", "run_batch", "render_batch", "KEY", "COUNT"]

KEY, COUNT = "file", "faces"
_GLOB_CHARS = set("*?[")


def columns(classes: Sequence[str]) -> list[str]:
    """The table's header: the face, its box and score, the answer, one column per class."""
    return [KEY, "face", COUNT, "x", "y", "w", "h", "score", "prediction", "confidence",
            *resumable.probability_columns(classes), "error"]


def expand_inputs(items: Sequence[str | Path]) -> list[Path]:
    """Files named, found under folders (recursively, image suffixes) or matched by globs,
    in order, each once.  A named file that does not exist is kept (its row says so).

    Raises:
        FileNotFoundError: a glob or folder that yields no image file.
    """
    files: list[Path] = []
    for item in map(str, items):
        if Path(item).is_dir():
            found = sorted(p for p in Path(item).rglob("*")
                           if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif _GLOB_CHARS & set(item):
            found = []
            for match in sorted(glob.glob(item, recursive=True)):
                found += expand_inputs([match]) if Path(match).is_dir() else [Path(match)]
        else:
            found = [Path(item)]
        if not found:
            raise FileNotFoundError(f"{item}: no image files there")
        files += found
    return list(dict.fromkeys(files))


def _error_row(path: Path, reason: str) -> list[dict]:
    return [{KEY: str(path), COUNT: 0, "error": reason}]


def file_rows(path: Path, ckpt: Checkpoint, tta: str = "none", detect: bool = True) -> list[dict]:
    """The rows of one photo: one per face (largest first), or one row saying why none."""
    try:
        photo = read_faces(path, size=ckpt.preprocessing.size, detect=detect)
    except FileNotFoundError:
        return _error_row(path, "no such file")
    except FaceImageError as e:
        return _error_row(path, str(e))
    except OSError as e:
        return _error_row(path, f"cannot read: {e.strerror}")
    if not photo.crops:
        return _error_row(path, "no face found")
    probs = predict_proba(ckpt.model, torch.from_numpy(np.stack(photo.crops)),
                          ckpt.preprocessing, tta=tta).numpy()
    rows = []
    for i, p in enumerate(probs):
        face = photo.faces[i] if photo.detection_ran else None
        box = face.box if face else (None,) * 4
        best = int(p.argmax())
        rows.append({KEY: str(path), "face": i, COUNT: len(probs), **dict(zip("xywh", box)),
                     "score": float(face.score) if face else None,
                     "prediction": ckpt.classes[best], "confidence": float(p[best]),
                     **dict(zip(resumable.probability_columns(ckpt.classes), map(float, p)))})
    return rows


def _shard_journal(out: Path, rank: int, world: int) -> Path:
    if world == 1:
        return resumable.journal_path(out)
    return out.with_name(f"{out.name}.shard{rank}of{world}.csv")


def _predict_shard(files: list[Path], journal: Path, ckpt: Checkpoint, tta: str, detect: bool,
                   progress: bool, label: str) -> dict:
    """Predict the files not yet in ``journal``; counts of this call."""
    stats = {"files": 0, "faces": 0, "errors": 0, "already_done": 0}
    with resumable.ResumableTable(journal, columns(ckpt.classes), KEY, COUNT) as table:
        todo = [f for f in files if str(f) not in table.done]
        stats["already_done"] = len(files) - len(todo)
        started = time.perf_counter()
        bar = tqdm(todo, desc=label, unit="file", disable=not progress, dynamic_ncols=True)
        for path in bar:
            rows = file_rows(path, ckpt, tta, detect)
            table.write_group(rows)
            stats["files"] += 1
            stats["faces"] += int(rows[0][COUNT])
            stats["errors"] += bool(rows[0].get("error"))
            bar.set_postfix(faces_per_s=f"{stats['faces'] / (time.perf_counter() - started):.1f}")
    stats["seconds"] = round(time.perf_counter() - started, 2)
    return stats


def run_batch(inputs: Sequence[str | Path], out: str | Path, ckpt: Checkpoint, *,
              tta: str = "none", detect: bool = True, progress: bool = True) -> dict:
    """Predict every face of every input file into ``out`` (.csv or .parquet), resuming.

    Returns:
        ``out``, ``rows`` in the finished table, and this process's counts: ``files`` done
        now, ``already_done`` (skipped, in the table before), ``faces``, ``errors``,
        ``seconds``, ``faces_per_second``; ``rank``/``world`` under torchrun.
    """
    out = Path(out)
    table = resumable.journal_path(out)  # checks the suffix before any work
    files = expand_inputs(inputs)
    rank, world = distributed_env()
    if rank == 0:
        resumable.reopen(out)  # an earlier finished table is added to, never replaced
    _barrier(world)
    done = resumable.done_keys(table, KEY, COUNT) if world > 1 else set()
    slice_ = files[rank::world]
    mine = [f for f in slice_ if str(f) not in done]
    label = "predict" if world == 1 else f"predict rank {rank}/{world}"
    stats = _predict_shard(mine, _shard_journal(out, rank, world), ckpt, tta, detect, progress,
                           label)
    stats["already_done"] += len(slice_) - len(mine)
    rows = _finish(out, files, world, rank)
    faces_per_s = stats["faces"] / stats["seconds"] if stats["seconds"] else 0.0
    return {"out": str(out), "rows": rows, **stats, "faces_per_second": round(faces_per_s, 2),
            **({"rank": rank, "world": world} if world > 1 else {})}


def _barrier(world: int) -> None:
    """Wait for every torchrun rank (nothing to wait for in one process)."""
    if world == 1:
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    dist.barrier()


def _finish(out: Path, files: list[Path], world: int, rank: int) -> int | None:
    """Single process: finish the table.  torchrun: wait for every rank, then rank 0 merges
    the table an earlier run left (if any) with every shard, in the inputs' order."""
    if world == 1:
        resumable.finish(out, KEY, COUNT)
        return _row_count(out)
    _barrier(world)
    rows = None
    if rank == 0:
        table = resumable.journal_path(out)
        shards = [_shard_journal(out, r, world) for r in range(world)]
        earlier = [table] if table.is_file() else []
        rows = resumable.merge_groups(earlier + shards, out, KEY, COUNT, [str(f) for f in files])
        for path in shards + ([table] if table != out else []):
            path.unlink(missing_ok=True)
    _barrier(world)
    return rows


def _row_count(out: Path) -> int:
    if out.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(out).metadata.num_rows
    with open(out, encoding="utf-8") as f:
        return sum(1 for _ in f) - 1


def render_batch(result: dict) -> str:
    """One line for the terminal: what was written, how fast, what was skipped."""
    where = f" (rank {result['rank']} of {result['world']})" if "rank" in result else ""
    rows = f"{result['rows']} rows in " if result.get("rows") is not None else ""
    return (f"{rows}{result['out']}{where}: {result['files']} files now "
            f"({result['faces']} faces, {result['faces_per_second']} faces/s, "
            f"{result['errors']} without a face or unreadable), {result['already_done']} "
            "already done")
