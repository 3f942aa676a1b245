"""Where an aligned crop lies in its photo, for tests that check what was drawn where."""

from __future__ import annotations

import cv2
import numpy as np

from deep_emotion.faces import Face, alignment_matrix
from deep_emotion.faces import FRAME


def crop_corners(face: Face, size: int = FRAME) -> np.ndarray:
    """Where the aligned crop's corners lie in the image: float (4, 2) (x, y), clockwise from
    top-left, for drawing the crop on the photo."""
    inverse = cv2.invertAffineTransform(alignment_matrix(face, size))
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [size - 0.5, size - 0.5],
                        [-0.5, size - 0.5]])
    return corners @ inverse[:, :2].T + inverse[:, 2]
