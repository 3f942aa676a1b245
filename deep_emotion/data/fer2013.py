"""FER2013 from the Kaggle ``fer2013.csv`` (or ``.csv.gz``): 35,887 48x48 faces, 7 classes.

Layout: ``<root>/fer2013/fer2013.csv[.gz]`` with header ``emotion,pixels,Usage``; ``pixels`` is
2,304 space-separated integers (row-major 48x48), ``Usage`` one of Training / PublicTest /
PrivateTest.  Parsing avoids a Python loop over pixel values: all pixel fields are joined and
read by one NumPy call, which keeps the full file under a few seconds; the result is cached by
the file's sha256.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from deep_emotion.data.base import (DatasetError, FaceDataset, cached_arrays, file_sha256,
                                    find_first)

__all__ = ["CLASSES", "SPLITS", "load", "find_csv", "parse_csv"]

# Kaggle label ids 0..6 in order, mapped to the shared vocabulary; the label index is kept.
CLASSES = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
SPLITS = ("Training", "PublicTest", "PrivateTest")
SIDE = 48
HEADER = ["emotion", "pixels", "Usage"]


def find_csv(root: Path) -> Path:
    """The FER2013 CSV under ``root`` (the datasets root or the fer2013 folder itself)."""
    root = Path(root)
    candidates = [root / "fer2013" / n for n in ("fer2013.csv", "fer2013.csv.gz")]
    candidates += [root / n for n in ("fer2013.csv", "fer2013.csv.gz")]
    return find_first([root, *candidates], Path.is_file,
                      f"FER2013 not found: expected {candidates[0]} or {candidates[1]}. "
                      "Download fer2013.csv from the Kaggle 'Challenges in Representation "
                      "Learning: Facial Expression Recognition Challenge' page.")


def _read_text(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from e


def parse_csv(path: Path) -> dict[str, np.ndarray]:
    """Parse a FER2013 CSV into arrays ``images`` (N,48,48) uint8, ``labels``, ``usage``.

    Raises:
        DatasetError: naming the file and the 1-based line of the first malformed row.
    """
    lines = _read_text(path).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise DatasetError(f"{path}: file is empty")
    header = [h.strip() for h in lines[0].decode("utf-8", "replace").strip().split(",")]
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise DatasetError(f"{path}, line 1: missing column(s) {missing}; header is {header}")
    col = {h: header.index(h) for h in HEADER}
    n = len(lines) - 1
    labels, usage = np.empty(n, dtype=np.int64), np.empty(n, dtype=object)
    pixels: list[bytes] = []
    for i, line in enumerate(lines[1:]):
        labels[i], usage[i], px = _parse_row(path, i + 2, line, col, len(header))
        pixels.append(px)
    images = _pixel_values(path, pixels).astype(np.uint8).reshape(n, SIDE, SIDE)
    return {"images": images, "labels": labels, "usage": usage.astype(str)}


def _parse_row(path: Path, lineno: int, line: bytes, col: dict[str, int],
               n_fields: int) -> tuple[int, str, bytes]:
    """One CSV row -> (label, Usage, the pixel text), checked field by field."""
    fields = line.rstrip(b"\r").split(b",")
    if len(fields) != n_fields:
        raise DatasetError(f"{path}, line {lineno}: expected {n_fields} fields, "
                           f"found {len(fields)}")
    try:
        label = int(fields[col["emotion"]])
    except ValueError:
        shown = fields[col["emotion"]][:20].decode("utf-8", "replace")
        raise DatasetError(f"{path}, line {lineno}: emotion {shown!r} is not an integer") from None
    if not 0 <= label < len(CLASSES):
        raise DatasetError(f"{path}, line {lineno}: emotion {label} out of range 0..6")
    px = fields[col["pixels"]].strip()
    if px.count(b" ") + 1 != SIDE * SIDE or b"  " in px:
        raise DatasetError(f"{path}, line {lineno}: expected {SIDE * SIDE} pixel values, "
                           f"found {len(px.split())}")
    usage = fields[col["Usage"]].strip().decode("ascii", "replace")
    if usage not in SPLITS:
        raise DatasetError(f"{path}, line {lineno}: Usage {usage!r} is not one of {SPLITS}")
    return label, usage, px


def _pixel_values(path: Path, pixels: list[bytes]) -> np.ndarray:
    """Every row's pixel text -> int64 (N * 48 * 48,) values, all in 0..255."""
    n_values = SIDE * SIDE
    # One C-level parse of every value (fromstring's text mode is not the deprecated binary mode).
    try:
        values = np.fromstring(b" ".join(pixels).decode("ascii", "replace"), dtype=np.int64,
                               sep=" ")
    except ValueError:  # NumPy 2 raises on a token that is not a number
        values = np.empty(0, dtype=np.int64)
    if values.size != len(pixels) * n_values:
        bad = _first_bad_row(pixels, n_values)
        raise DatasetError(f"{path}, line {bad + 2}: pixel values must be integers 0..255")
    if values.min(initial=0) < 0 or values.max(initial=0) > 255:
        row = int(np.flatnonzero((values < 0) | (values > 255))[0]) // n_values
        raise DatasetError(f"{path}, line {row + 2}: pixel value out of range 0..255")
    return values


def _first_bad_row(pixels: list[bytes], n_values: int) -> int:
    for i, px in enumerate(pixels):
        try:
            if np.array(px.split(), dtype=np.int64).size != n_values:
                return i
        except ValueError:
            return i
    return 0


def load(root: Path, split: str | None = None) -> FaceDataset:
    """FER2013 with Kaggle's three splits (``splits`` holds each row's Usage).

    Args:
        root: the datasets root (``<root>/fer2013/fer2013.csv[.gz]``) or the CSV itself.
        split: one of ``SPLITS`` to keep only that split, or None for all rows.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    path = find_csv(root)
    digest = file_sha256(path)
    arrays = cached_arrays(f"fer2013-{digest[:16]}", lambda: parse_csv(path))
    ds = FaceDataset(
        name="fer2013", images=torch.from_numpy(arrays["images"]),
        labels=torch.from_numpy(arrays["labels"]), classes=CLASSES, source=str(path),
        sha256=digest, splits=arrays["usage"], names=np.arange(len(arrays["labels"])) + 2,
        meta={"names": "CSV line number (header is line 1)"},
    )
    return ds.split(split) if split else ds
