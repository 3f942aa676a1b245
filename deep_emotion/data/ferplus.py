"""FER+ (Barsoum et al. 2016): Microsoft's 10-tagger votes for every FER2013 row, 8 emotions.

``<root>/ferplus/fer2013new.csv`` is joined row by row with FER2013 (row i labels row i).  The
label is the majority vote over the ten vote columns (ties go to the earlier column, as
``numpy.argmax`` does; this reproduces the published counts); rows whose majority is
``unknown`` or ``NF`` (not a face), and the 173 rows FER+ left unnamed, are dropped.  The vote
distribution over the 8 emotions is kept as ``soft_labels`` for soft-label training.

``with_vote_targets`` goes the other way: it gives FER2013 itself training targets that mix its
own label with the FER+ votes of the same image (the issue's "FER+ soft labels as a teacher
signal"); FER2013's labels and classes are unchanged, so evaluation is untouched.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from deep_emotion.data import fer2013
from deep_emotion.data.base import DatasetError, FaceDataset, file_sha256, find_first

__all__ = ["CLASSES", "SPLITS", "load", "parse_votes", "with_vote_targets"]

# Column order of fer2013new.csv; already canonical names.
CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
VOTE_COLUMNS = CLASSES + ("unknown", "NF")
SPLITS = fer2013.SPLITS


def find_csv(root: Path) -> Path:
    root = Path(root)
    return find_first((root / "ferplus" / "fer2013new.csv", root / "fer2013new.csv"), Path.is_file,
                      f"FER+ labels not found: expected {root / 'ferplus' / 'fer2013new.csv'}. "
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


def _aligned_votes(path: Path, base: FaceDataset) -> tuple[np.ndarray, np.ndarray]:
    """``parse_votes`` checked against the FER2013 rows it labels -> (votes (N, 10), named (N,)).

    Raises:
        DatasetError: a row count or Usage column that disagrees with FER2013.
    """
    votes, usage, named = parse_votes(path)
    if len(votes) != len(base):
        raise DatasetError(f"{path}: {len(votes)} rows but {base.source} has {len(base)}; "
                           "FER+ must label FER2013 row by row")
    mismatch = np.flatnonzero(usage != base.splits)
    if mismatch.size:
        i = int(mismatch[0])
        raise DatasetError(f"{path}, line {i + 2}: Usage {str(usage[i])!r} differs from "
                           f"FER2013's {str(base.splits[i])!r}; the files are not aligned")
    return votes, named


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
    votes, named = _aligned_votes(path, base)
    majority = votes.argmax(axis=1)
    keep = named & (majority < len(CLASSES)) & (votes.sum(axis=1) > 0)
    emotion_votes = votes[:, : len(CLASSES)].astype(np.float32)
    soft = emotion_votes / np.maximum(emotion_votes.sum(axis=1, keepdims=True), 1.0)
    rows = np.flatnonzero(keep)
    t = torch.from_numpy(rows)
    ds = FaceDataset(
        name="ferplus", images=base.images[t], labels=torch.from_numpy(majority[rows]),
        classes=CLASSES, source=str(path), sha256=file_sha256(path), splits=base.splits[rows],
        soft_labels=torch.from_numpy(soft[rows]), names=base.names[rows],
        meta={"fer2013_sha256": base.sha256, "dropped": int((~keep).sum()),
              "names": "FER2013 CSV line number"},
    )
    return ds.split(split) if split else ds


def with_vote_targets(data: FaceDataset, root: Path, share: float) -> FaceDataset:
    """FER2013 rows whose ``soft_labels`` mix the FER2013 label with the image's FER+ votes.

    target = (1 - share) * one_hot(FER2013 label) + share * votes, where ``votes`` is the FER+
    distribution over FER2013's seven classes: ``contempt`` (no FER2013 class), ``unknown`` and
    ``NF`` votes are left out and the rest renormalised.  Rows FER+ left unnamed or gave no
    emotion vote keep their one-hot label.  Why mix rather than replace: FER+'s majority agrees
    with the FER2013 label on only 64.5% of Training rows (58% of the votes on average), and
    the test split is scored against FER2013 labels, so the votes are a teacher signal, not the
    truth.

    Args:
        data: FER2013 as ``fer2013.load`` returns it (all rows, CSV order).
        root: the datasets root holding ``ferplus/``.
        share: in [0, 1].

    Raises:
        ValueError: ``data`` is not the whole of FER2013 or ``share`` is outside [0, 1];
            DatasetError: a missing or misaligned FER+ file.
    """
    if data.name != "fer2013" or data.classes != fer2013.CLASSES:
        raise ValueError(f"FER+ vote targets are for FER2013, got {data.name}")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"the vote share must be in [0, 1], got {share}")
    path = find_csv(root)
    votes, named = _aligned_votes(path, data)
    columns = [VOTE_COLUMNS.index(c) for c in fer2013.CLASSES]
    emotion_votes = torch.from_numpy(votes[:, columns]).float()
    total = emotion_votes.sum(1, keepdim=True)
    usable = torch.from_numpy(named) & (total.squeeze(1) > 0)
    one_hot = torch.nn.functional.one_hot(data.labels, len(fer2013.CLASSES)).float()
    distribution = torch.where(usable[:, None], emotion_votes / total.clamp(min=1.0), one_hot)
    targets = (1.0 - share) * one_hot + share * distribution
    return replace(data, soft_labels=targets,
                   meta={**data.meta, "vote_targets": {"file": path.name, "sha256": file_sha256(path),
                                                       "share": share,
                                                       "rows_with_votes": int(usable.sum())}})
