"""JAFFE (Lyons et al. 1998): 213 posed expressions of 10 Japanese women, 256x256 TIFFs.

Layout ``<root>/jaffe/images/SUBJ.XXn.ID.tiff`` (e.g. ``KA.AN1.39.tiff``): the subject, the
posed expression code and its instance, and the image number in the original database.  The
photos show head and shoulders, so every one goes through the same face path as an upload
(``deep_emotion.faces``: detect, level the eyes, crop to FER2013's framing, 48x48 grayscale);
a photo without a detectable face is an error, not a silent whole-image fallback.  The aligned
faces are cached by the files' content hash and the alignment's own signature.

JAFFE has no published split.  Its protocols: leave-one-subject-out (10 folds, the
``loso`` protocol of ``deep_emotion.experiment``) and a paper-style stratified split (``paper_split``: 120 train / 23 val /
70 test with 10 test images per emotion; the paper's exact rows are not published), which
``load(root, split="train"|"val"|"test")`` returns with seed 0.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import torch

from deep_emotion import protocols
from deep_emotion.data.base import DatasetError, FaceDataset, cached_arrays
from deep_emotion.faces import (ALIGNMENT_NAME, DETECTOR_NAME, FER2013_LANDMARKS, FRAME,
                                FaceImageError, read_faces)

__all__ = ["CLASSES", "CODES", "SPLITS", "PAPER_SPLIT", "load", "parse_name", "find_folder",
           "paper_split"]

# Expression code -> canonical name; FER2013's class order, so label i means the same here.
CODES = {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "SA": "sadness",
         "SU": "surprise", "NE": "neutral"}
CLASSES = tuple(CODES.values())
SPLITS = ("train", "val", "test")
PAPER_SPLIT = {"train": 120, "val": 23, "test": 70}
PAPER_TEST_PER_CLASS = 10
NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})(\d+)\.(\d+)\.tiff?$", re.IGNORECASE)


def parse_name(path: Path) -> tuple[str, str, int, int]:
    """``KA.AN1.39.tiff`` -> ("KA", "anger", 1, 39); DatasetError for any other name."""
    m = NAME.match(Path(path).name)
    if not m or m.group(2).upper() not in CODES:
        raise DatasetError(f"{path}: file name does not match SUBJ.XXn.ID.tiff with XX one of "
                           f"{sorted(CODES)}")
    return m.group(1).upper(), CODES[m.group(2).upper()], int(m.group(3)), int(m.group(4))


def find_folder(root: Path) -> Path:
    """The folder holding the TIFFs: ``<root>/jaffe/images``, ``<root>/images`` or ``root``."""
    root = Path(root)
    for c in (root / "jaffe" / "images", root / "images", root / "jaffe", root):
        if c.is_dir() and any(p.suffix.lower() in (".tiff", ".tif") for p in c.iterdir()):
            return c
    raise DatasetError(f"JAFFE not found: expected {root / 'jaffe' / 'images'}/SUBJ.XXn.ID.tiff "
                       "(JAFFE is distributed by its authors after a research-use agreement)")


def _alignment_signature() -> str:
    """Changes whenever the face path would crop differently, so stale caches are ignored."""
    from deep_emotion.faces import detect

    spec = json.dumps([ALIGNMENT_NAME, DETECTOR_NAME, FER2013_LANDMARKS, detect.DETECT_MAX_SIDE,
                       detect.DETECT_MIN_SIDE, detect.MIN_FACE_PIXELS, detect.MIN_SCORE],
                      sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def _align(path: Path, data: bytes) -> tuple[np.ndarray, float]:
    """The largest face of one photo in FER2013's 48 px frame, and its detector score."""
    try:
        photo = read_faces(data, name=path.name, size=FRAME)
    except FaceImageError as e:
        raise DatasetError(f"{path}: unreadable image ({e})") from None
    if not photo.faces:
        raise DatasetError(f"{path}: no face found by {DETECTOR_NAME}")
    return photo.crops[0], photo.faces[0].score


def load(root: Path, split: str | None = None) -> FaceDataset:
    """All 213 JAFFE faces, aligned, with the subject as the group.

    Args:
        root: the datasets root (``<root>/jaffe/images``) or the images folder.
        split: None for every row, or one of ``SPLITS`` for that part of the paper-style
            stratified split (seed 0).

    Returns:
        FaceDataset "jaffe": uint8 (N, 48, 48) faces, labels in ``CLASSES``, groups = subject,
        names = file names; ``meta["scores"]`` holds the detector score per row.

    Raises:
        DatasetError: naming the file, for a missing folder, a bad name, an unreadable image or
            a photo without a detectable face.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"JAFFE split must be None or one of {SPLITS}, got {split!r}")
    folder = find_folder(root)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".tiff", ".tif"))
    parsed = [parse_name(p) for p in files]
    blobs = [p.read_bytes() for p in files]
    digest = hashlib.sha256()
    for p, blob in zip(files, blobs):
        digest.update(p.name.encode() + b"\0" + hashlib.sha256(blob).digest())
    sha = digest.hexdigest()

    def build() -> dict[str, np.ndarray]:
        aligned = [_align(p, blob) for p, blob in zip(files, blobs)]
        return {"images": np.stack([a for a, _ in aligned]),
                "scores": np.array([s for _, s in aligned], dtype=np.float32)}

    arrays = cached_arrays(f"jaffe-{sha[:16]}-{_alignment_signature()}", build)
    labels = np.array([CLASSES.index(emotion) for _, emotion, _, _ in parsed], dtype=np.int64)
    dataset = FaceDataset(
        name="jaffe", images=torch.from_numpy(arrays["images"]),
        labels=torch.from_numpy(labels), classes=CLASSES, source=str(folder), sha256=sha,
        groups=np.array([subject for subject, _, _, _ in parsed]),
        names=np.array([p.name for p in files]),
        meta={"preprocessing": ALIGNMENT_NAME, "detector": DETECTOR_NAME,
              "scores": arrays["scores"]},
    )
    if split is None:
        return dataset
    mask = paper_split(dataset) == split
    part = dataset.subset(mask)
    part.meta = {**dataset.meta, "scores": arrays["scores"][mask],
                 "protocol": "paper-style stratified split 120/23/70, 10 test images per "
                             "emotion, seed 0"}
    return part

def paper_split(dataset: FaceDataset, seed: int = 0) -> np.ndarray:
    """Paper-style split names per row: 120 train / 23 val / 70 test, 10 test per emotion.

    Secondary sources describe the Deep-Emotion JAFFE split this way; the exact rows were
    never published, so the seed is part of the protocol and goes into the card.
    """
    return protocols.stratified_split(dataset.labels.numpy(), PAPER_SPLIT, seed=seed,
                                      per_class_test=PAPER_TEST_PER_CLASS)
