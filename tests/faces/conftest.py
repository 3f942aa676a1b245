"""Real photos that ship inside registry packages, read where they are installed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """One face (Eileen Collins, NASA, public domain), 512x512 RGB."""
    return skimage_data.astronaut()


@pytest.fixture(scope="session")
def hopper() -> np.ndarray:
    """One face (Grace Hopper, US Navy, public domain), 512x600 RGB, from matplotlib."""
    matplotlib = pytest.importorskip("matplotlib")
    from PIL import Image

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="session")
def group(astronaut, hopper) -> np.ndarray:
    """Three faces side by side: astronaut (x < 480, biggest face), hopper (480..685, next),
    cameraman (x > 685, smallest face)."""
    camera = np.repeat(skimage_data.camera()[:, :, None], 3, 2)
    tiles = []
    for img, height in ((astronaut, 480), (hopper, 240), (camera, 360)):
        s = height / img.shape[0]
        tile = cv2.resize(img, (round(img.shape[1] * s), height), interpolation=cv2.INTER_AREA)
        tiles.append(np.pad(tile, ((0, 480 - height), (0, 0), (0, 0)), constant_values=90))
    return np.concatenate(tiles, axis=1)
