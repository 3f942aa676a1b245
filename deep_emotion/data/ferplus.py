"""FER+ (Barsoum et al. 2016): Microsoft's 10-tagger votes for every FER2013 row, 8 emotions.

``<root>/ferplus/fer2013new.csv`` is joined row by row with FER2013 (row i labels row i).  The
label is the majority vote over the ten vote columns (ties go to the earlier column, as
``numpy.argmax`` does; this reproduces the published counts); rows whose majority is
``unknown`` or ``NF`` (not a face), and the 173 rows FER+ left unnamed, are dropped.  The vote
distribution over the 8 emotions is kept as ``soft_labels`` for soft-label training.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import torch

from deep_emotion.data import fer2013
from deep_emotion.data.base import DatasetError, FaceDataset, file_sha256

__all__ = ["CLASSES", "SPLITS", "load", "parse_votes"]

# Column order of fer2013new.csv; already canonical names.
CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
VOTE_COLUMNS = CLASSES + ("unknown", "NF")
SPLITS = fer2013.SPLITS


def find_csv(root: Path) -> Path:
    root = Path(root)
    for c in (root / "ferplus" / "fer2013new.csv", root / "fer2013new.csv"):
        if c.is_file():
            return c
    raise DatasetError(f"FER+ labels not found: expected {root / 'ferplus' / 'fer2013new.csv'}. "
                       "Get fer2013new.csv from github.com/microsoft/FERPlus.")


def parse_votes(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read ``fer2013new.csv`` -> (votes (N, 10) int, usage (N,) str, named (N,) bool)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from e
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise DatasetError(f"{path}: file is empty")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("Usage", "Image name", *VOTE_COLUMNS) if c not in header]
    if missing:
        raise DatasetError(f"{path}, line 1: missing column(s) {missing}; header is {header}")
    idx = [header.index(c) for c in VOTE_COLUMNS]
    body = rows[1:]
    votes = np.zeros((len(body), len(VOTE_COLUMNS)), dtype=np.int64)
    usage = np.empty(len(body), dtype=object)
    named = np.zeros(len(body), dtype=bool)
    for i, row in enumerate(body):
        lineno = i + 2
        if len(row) != len(header):
            raise DatasetError(f"{path}, line {lineno}: expected {len(header)} fields, found {len(row)}")
        try:
            votes[i] = [int(row[j]) for j in idx]
        except ValueError:
            raise DatasetError(f"{path}, line {lineno}: vote counts must be integers") from None
        if (votes[i] < 0).any():
            raise DatasetError(f"{path}, line {lineno}: negative vote count")
        usage[i] = row[header.index("Usage")].strip()
        if usage[i] not in SPLITS:
            raise DatasetError(f"{path}, line {lineno}: Usage {usage[i]!r} is not one of {SPLITS}")
        named[i] = bool(row[header.index("Image name")].strip())
    return votes, usage.astype(str), named


def load(root: Path, split: str | None = None) -> FaceDataset:
    """FER+ majority-vote labels on FER2013 pixels, with vote distributions as soft labels.

    Args:
        root: the datasets root holding ``fer2013/`` and ``ferplus/``.
        split: one of ``SPLITS`` or None.

    Raises:
        DatasetError: a missing file, a malformed row, or a FER+ file whose row count or
            Usage column disagrees with the FER2013 file.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    path = find_csv(root)
    base = fer2013.load(root)
    votes, usage, named = parse_votes(path)
    if len(votes) != len(base):
        raise DatasetError(f"{path}: {len(votes)} rows but {base.source} has {len(base)}; "
                           "FER+ must label FER2013 row by row")
    mismatch = np.flatnonzero(usage != base.splits)
    if mismatch.size:
        i = int(mismatch[0])
        raise DatasetError(f"{path}, line {i + 2}: Usage {str(usage[i])!r} differs from "
                           f"FER2013's {str(base.splits[i])!r}; the files are not aligned")
    majority = votes.argmax(axis=1)
    keep = named & (majority < len(CLASSES)) & (votes.sum(axis=1) > 0)
    emotion_votes = votes[:, : len(CLASSES)].astype(np.float32)
    soft = emotion_votes / np.maximum(emotion_votes.sum(axis=1, keepdims=True), 1.0)
    rows = np.flatnonzero(keep)
    t = torch.from_numpy(rows)
    ds = FaceDataset(
        name="ferplus", images=base.images[t], labels=torch.from_numpy(majority[rows]),
        classes=CLASSES, source=str(path), sha256=file_sha256(path), splits=usage[rows],
        soft_labels=torch.from_numpy(soft[rows]), names=base.names[rows],
        meta={"fer2013_sha256": base.sha256, "dropped": int((~keep).sum()),
              "names": "FER2013 CSV line number"},
    )
    return ds.split(split) if split else ds
