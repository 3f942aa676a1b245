"""Builders of small labelled datasets in a temp folder, from generated pixels only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def crop(seed: int, size: int = 64, colour: bool = False) -> np.ndarray:
    """A smooth random 'face crop' (uint8, size x size, grey or RGB), distinct per seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3 if colour else 1), dtype=np.uint8)
    image = Image.fromarray(small.squeeze()).resize((size, size), Image.BILINEAR)
    return np.asarray(image)


def write_image(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def crop_folder(root: Path, per_class: dict[str, int], start: int = 0) -> Path:
    """``root/<folder name>/<i>.png`` crops; sizes and colour vary so resizing is exercised."""
    seed = start
    for folder, n in per_class.items():
        for i in range(n):
            write_image(root / folder / f"{i}.png", crop(seed, size=40 + 8 * (seed % 4),
                                                         colour=seed % 2 == 1))
            seed += 1
    return root
