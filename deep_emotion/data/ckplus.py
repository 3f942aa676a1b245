"""CK+48: 981 48x48 grayscale crops, the last three frames of the 327 labelled CK+ sequences.

Layout ``<root>/ckplus/CK+48/<emotion>/Sxxx_yyy_zzzzzzzz.png``: the folder names the emotion,
the file name the subject, sequence and frame.  There is no published split: protocols build
subject-independent folds from ``groups`` (the subject), so the three near-identical frames of a
sequence, and every sequence of a person, stay on one side.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from deep_emotion.data.base import DatasetError, FaceDataset, find_image_folder

__all__ = ["CLASSES", "FOLDERS", "load", "parse_name"]

# Folder name -> canonical name.  CK+ has no neutral class in the emotion-labelled frames.
FOLDERS = {"anger": "anger", "contempt": "contempt", "disgust": "disgust", "fear": "fear",
           "happy": "happiness", "sadness": "sadness", "surprise": "surprise"}
CLASSES = tuple(FOLDERS.values())
SIDE = 48
NAME = re.compile(r"^(S\d{3})_(\d{3})_(\d{8})\.png$", re.IGNORECASE)


def parse_name(path: Path) -> tuple[str, int, int]:
    """``S010_004_00000017.png`` -> ("S010", 4, 17); DatasetError for any other name."""
    m = NAME.match(path.name)
    if not m:
        raise DatasetError(f"{path}: file name does not match Sxxx_yyy_zzzzzzzz.png")
    return m.group(1).upper(), int(m.group(2)), int(m.group(3))


def find_folder(root: Path) -> Path:
    return find_image_folder(root, "CK+48", "ckplus", "CK+48", FOLDERS,
                             "<emotion>/*.png (CK+ is distributed by the University of "
                             "Pittsburgh after an agreement)")


def _read(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im = im.convert("L")
            if im.size != (SIDE, SIDE):
                im = im.resize((SIDE, SIDE), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as e:
        raise DatasetError(f"{path}: unreadable image ({e})") from e


def load(root: Path, split: str | None = None) -> FaceDataset:
    """All 981 CK+48 faces with subject ids as groups.

    Args:
        root: the datasets root (``<root>/ckplus/CK+48``) or the CK+48 folder.
        split: must be None: CK+ has no published split (use ``protocols``).
    """
    if split is not None:
        raise ValueError("CK+48 has no published split; use deep_emotion.protocols folds")
    folder = find_folder(root)
    images, labels, groups, names = [], [], [], []
    for label, (dirname, _) in enumerate(FOLDERS.items()):
        d = folder / dirname
        if not d.is_dir():
            raise DatasetError(f"{d}: class folder missing (expected one per {list(FOLDERS)})")
        files = sorted(p for p in d.iterdir() if p.suffix.lower() == ".png")
        if not files:
            raise DatasetError(f"{d}: class folder has no .png images")
        for f in files:
            subject, _, _ = parse_name(f)
            images.append(_read(f))
            labels.append(label)
            groups.append(subject)
            names.append(f"{dirname}/{f.name}")
    manifest = "\n".join(names).encode()
    import hashlib
    return FaceDataset(
        name="ckplus", images=torch.from_numpy(np.stack(images)),
        labels=torch.tensor(labels, dtype=torch.long), classes=CLASSES, source=str(folder),
        sha256=hashlib.sha256(manifest + np.stack(images).tobytes()).hexdigest(),
        groups=np.array(groups), names=np.array(names),
    )
