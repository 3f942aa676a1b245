"""FERG-DB (Aneja et al. 2016): 55,767 rendered faces of 6 stylised characters, 7 expressions.

Layout ``<root>/ferg/FERG_DB_256/<char>/<char>_<expression>/<char>_<expression>_<n>.png``
(256x256 PNGs).  The character is the group (the identity attribute); the folder names the
expression, and "joy" is our "happiness".

No face detection: MTCNN is trained on human faces and misses cartoon proportions, while every
FERG image is already a rendered, centred face; each is taken whole (``align_face(rgb, None)``:
transparency onto grey, grayscale, area-resized to 48x48).

When ``expected_counts.csv`` (shipped next to the data, from the dataset's README) is present,
every character/expression folder must hold the published count, or the load fails naming the
folder: a partial copy would otherwise train silently on a skewed set.  FERG-DB publishes no
split; ``split="train"|"val"|"test"`` returns a stratified 80/10/10 split (seed 0).
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import torch

from deep_emotion import protocols
from deep_emotion.data.base import DatasetError, FaceDataset, cached_arrays, find_image_folder

__all__ = ["CLASSES", "EXPRESSIONS", "CHARACTERS", "SPLITS", "STRATIFIED_SPLIT", "load",
           "find_folder", "parse_name", "expected_counts"]

# Folder expression name -> canonical name, in the dataset's README column order.
EXPRESSIONS = {"anger": "anger", "disgust": "disgust", "fear": "fear", "joy": "happiness",
               "neutral": "neutral", "sadness": "sadness", "surprise": "surprise"}
CLASSES = tuple(EXPRESSIONS.values())
CHARACTERS = ("aia", "bonnie", "jules", "malcolm", "mery", "ray")
SPLITS = ("train", "val", "test")
STRATIFIED_SPLIT = {"train": 0.8, "val": 0.1, "test": 0.1}
NAME = re.compile(r"^([a-z]+)_([a-z]+)_(\d+)\.png$", re.IGNORECASE)
COUNTS_FILE = "expected_counts.csv"


def parse_name(path: Path) -> tuple[str, str, int]:
    """``.../aia/aia_joy/aia_joy_12.png`` -> ("aia", "happiness", 12).

    Raises:
        DatasetError: when the name does not match its folders or the expression is unknown.
    """
    path = Path(path)
    m = NAME.match(path.name)
    character, folder = path.parent.parent.name.lower(), path.parent.name.lower()
    if not m or m.group(1).lower() != character or folder != f"{character}_{m.group(2).lower()}":
        raise DatasetError(f"{path}: expected <character>/<character>_<expression>/"
                           "<character>_<expression>_<n>.png")
    expression = m.group(2).lower()
    if expression not in EXPRESSIONS:
        raise DatasetError(f"{path}: unknown expression {expression!r}; FERG-DB has "
                           f"{list(EXPRESSIONS)}")
    return m.group(1).lower(), EXPRESSIONS[expression], int(m.group(3))


def find_folder(root: Path) -> Path:
    """``FERG_DB_256`` under the datasets root, the ``ferg`` folder, or ``root`` itself."""
    return find_image_folder(root, "FERG-DB", "ferg", "FERG_DB_256", CHARACTERS,
                             "<character>/<character>_<expression>/*.png (request it from the "
                             "University of Washington GRAIL group's FERG-DB page; see "
                             "ferg/README.md)")


def expected_counts(path: Path) -> dict[tuple[str, str], set[int]]:
    """(character, expression folder name) -> the acceptable image counts, from the CSV.

    Both the README's count and the authors' file list's count are accepted: they differ by
    one image for bonnie_surprise (ferg/README.md).
    """
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        return {(r["character"], r["expression"]):
                {int(r["count_official_readme"]), int(r["count_in_filename_list"])}
                for r in rows}
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise DatasetError(f"{path}: unreadable expected counts ({e})") from None


def _check_counts(folder: Path, found: dict[tuple[str, str], int]) -> None:
    counts_file = folder.parent / COUNTS_FILE
    if not counts_file.is_file():
        return
    for key, allowed in sorted(expected_counts(counts_file).items()):
        n = found.get(key, 0)
        if n not in allowed:
            character, expression = key
            raise DatasetError(f"{folder / character / f'{character}_{expression}'}: {n} images, "
                               f"expected {' or '.join(map(str, sorted(allowed)))} "
                               f"(from {counts_file}); the copy is incomplete")


def _read(path: Path) -> np.ndarray:
    from deep_emotion.faces import FaceImageError, align_face, decode_image

    try:
        return align_face(decode_image(path.read_bytes(), name=path.name).rgb, None)
    except (OSError, FaceImageError) as e:
        raise DatasetError(f"{path}: unreadable image ({e})") from None


def load(root: Path, split: str | None = None) -> FaceDataset:
    """Every FERG-DB face, 48x48 grayscale, with the character as the group.

    Args:
        root: the datasets root (``<root>/ferg/FERG_DB_256``) or the FERG_DB_256 folder.
        split: None for every row, or one of ``SPLITS`` (stratified 80/10/10, seed 0).

    Raises:
        DatasetError: naming the path, for a missing folder, a misnamed file, an unreadable
            image, or counts that differ from ``expected_counts.csv``.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"FERG split must be None or one of {SPLITS}, got {split!r}")
    folder = find_folder(root)
    files = sorted(folder.glob("*/*/*.png"), key=lambda p: (p.parent.parent.name,
                                                            p.parent.name, _index(p)))
    if not files:
        raise DatasetError(f"{folder}: no <character>/<character>_<expression>/*.png images")
    parsed = [parse_name(p) for p in files]
    found: dict[tuple[str, str], int] = {}
    for p in files:
        key = (p.parent.parent.name, p.parent.name.split("_", 1)[1])
        found[key] = found.get(key, 0) + 1
    _check_counts(folder, found)

    # Keyed by names, sizes and modification times: hashing ~3 GB of PNGs on every load would
    # cost more than parsing them.
    manifest = hashlib.sha256()
    for p in files:
        st = p.stat()
        manifest.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    sha = manifest.hexdigest()
    arrays = cached_arrays(f"ferg-{sha[:16]}",
                           lambda: {"images": np.stack([_read(p) for p in files])})

    labels = np.array([CLASSES.index(emotion) for _, emotion, _ in parsed], dtype=np.int64)
    dataset = FaceDataset(
        name="ferg", images=torch.from_numpy(arrays["images"]), labels=torch.from_numpy(labels),
        classes=CLASSES, source=str(folder), sha256=sha,
        groups=np.array([character for character, _, _ in parsed]),
        names=np.array([str(p.relative_to(folder)) for p in files]),
        meta={"preprocessing": "whole-image"},
    )
    if split is None:
        return dataset
    part = dataset.subset(protocols.stratified_split(labels, STRATIFIED_SPLIT, seed=0) == split)
    part.meta = {**dataset.meta, "protocol": "stratified split 80/10/10, seed 0"}
    return part


def _index(path: Path) -> int:
    m = NAME.match(path.name)
    return int(m.group(3)) if m else -1
