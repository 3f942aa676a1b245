"""What every dataset loader returns, the error it raises, and the parsed-tensor cache."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from deep_emotion.emotions import check_classes

__all__ = ["FaceDataset", "DatasetError", "cache_dir", "file_sha256", "cached_arrays", "find_first",
           "find_image_folder"]

# Bump when a loader's output for the same file changes, so stale caches are ignored.
CACHE_VERSION = 1


class DatasetError(Exception):
    """A dataset file or folder is missing or malformed; the message names the path and line."""


@dataclass
class FaceDataset:
    """Faces of one dataset, all in memory.

    images:  uint8 (N, 48, 48) grayscale faces.
    labels:  int64 (N,), indices into ``classes``; -1 never occurs.
    classes: ordered canonical emotion names of this dataset's labels.
    splits:  (N,) array of split names per row (e.g. "Training"), or None when the dataset has
             no published split (protocols then build folds from ``groups``).
    groups:  (N,) array of group ids (the subject / character) for subject-independent
             splits, or None.
    soft_labels: float32 (N, C) label distributions (FER+ votes), or None.
    names:   (N,) per-row identifiers (file names or CSV line numbers) for error messages and
             example browsing.
    sha256:  hash of the source file or folder manifest, stored in checkpoint cards.
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    source: str
    sha256: str
    splits: np.ndarray | None = None
    groups: np.ndarray | None = None
    soft_labels: torch.Tensor | None = None
    names: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.classes = check_classes(self.classes)
        n = len(self.images)
        if self.images.dtype != torch.uint8 or self.images.dim() != 3:
            raise ValueError(f"images must be uint8 (N, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        for key in ("labels", "splits", "groups", "soft_labels", "names"):
            value = getattr(self, key)
            if value is not None and len(value) != n:
                raise ValueError(f"{key} has {len(value)} rows, images have {n}")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray | torch.Tensor) -> "FaceDataset":
        """Rows selected by a boolean mask or an index array, every field kept aligned."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        t = torch.as_tensor(index, dtype=torch.long)

        def pick(v):
            if v is None:
                return None
            return v[t] if isinstance(v, torch.Tensor) else v[index]

        return replace(self, images=self.images[t], labels=self.labels[t], splits=pick(self.splits),
                       groups=pick(self.groups), soft_labels=pick(self.soft_labels),
                       names=pick(self.names))

    def split(self, name: str) -> "FaceDataset":
        """Rows of one published split; raises DatasetError listing the splits that exist."""
        if self.splits is None:
            raise DatasetError(f"{self.name} has no published splits; use a protocol's folds")
        available = sorted(set(self.splits.tolist()))
        if name not in available:
            raise DatasetError(f"{self.name} has no split {name!r}; available: {available}")
        return self.subset(self.splits == name)

    def class_counts(self) -> dict[str, int]:
        counts = torch.bincount(self.labels, minlength=len(self.classes)).tolist()
        return dict(zip(self.classes, counts))


def find_first(candidates: Iterable[Path], holds: Callable[[Path], bool], missing: str) -> Path:
    """The first candidate path that ``holds`` accepts, or DatasetError(``missing``).

    Loaders accept the datasets root laid out as documented, the dataset's own folder, or the
    file itself; ``missing`` says which path was expected and how to obtain the data.
    """
    for candidate in candidates:
        if holds(candidate):
            return candidate
    raise DatasetError(missing)


def find_image_folder(root: Path, name: str, dataset: str, folder: str, members: Iterable[str],
                      how_to_get: str) -> Path:
    """``root/dataset/folder``, ``root/folder`` or ``root``: the first with a subfolder named
    in ``members``; otherwise a DatasetError naming dataset ``name``, the path expected and
    ``how_to_get`` (the layout below that path and where the data comes from)."""
    root = Path(root)
    members = tuple(members)
    return find_first((root / dataset / folder, root / folder, root),
                      lambda c: c.is_dir() and any((c / m).is_dir() for m in members),
                      f"{name} not found: expected {root / dataset / folder}/{how_to_get}")


def cache_dir() -> Path:
    """Where parsed tensors are cached: $DEEP_EMOTION_CACHE, else the user cache directory."""
    if os.environ.get("DEEP_EMOTION_CACHE"):
        return Path(os.environ["DEEP_EMOTION_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deep-emotion"


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cached_arrays(key: str, build) -> dict[str, np.ndarray]:
    """Load arrays cached under ``key`` (.npz), or call ``build()`` and cache its dict of arrays.

    The key must identify the source bytes (its sha256) and the loader, so editing the file
    invalidates the cache.  A corrupt cache file is rebuilt, never trusted.
    """
    path = cache_dir() / f"{key}-v{CACHE_VERSION}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except Exception:  # noqa: BLE001 - a damaged cache is simply rebuilt
            path.unlink(missing_ok=True)
    arrays = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home must not stop loading; the next load parses again
    return arrays
