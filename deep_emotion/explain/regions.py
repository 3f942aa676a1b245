"""Named face regions of the aligned 48x48 frame, and how much of a map falls in each.

The layout is derived from ``deep_emotion.faces.FER2013_LANDMARKS``, the median MTCNN
landmarks of FER2013 Training faces (eyes, nose tip, mouth corners), so it follows where
FER2013 actually puts a face.  Sizes are in units of the inter-ocular distance ``d`` (18 px):

==========  ==================================================================================
region      pixels (centre ``(x, y)``; the first matching row wins)
==========  ==================================================================================
eyes        two ellipses on the eyes, semi-axes 0.30d across and 0.17d down
brows       a band from 0.38d outside one eye to 0.38d outside the other, from 0.50d above
            the eye line down to it (the glabella, where frowns show, included)
mouth       an ellipse on the mouth centre, semi-axes half the corner distance + 0.15d, 0.28d
nose        0.25d either side of the nose tip, from the eyes' top to 0.15d below the tip
chin        below the mouth ellipse, within 0.70d of the face's midline
cheeks      from the eye line to the mouth's bottom, within 0.95d of the midline
forehead    above the brows, within 0.95d of the midline
other       everything else (hair, ears, background, the frame's sides)
==========  ==================================================================================

``docs/regions.png`` draws it over the mean FER2013 face (``bench/draw_regions.py``).

Scores: a region's score is its share of the map's total absolute mass, so the scores of all
regions *including "other"* sum to 1 for every face.  Absolute values are used because a
region matters whether occluding it lowers or raises the logit.  Dividing a share by the
region's share of the frame's area (``RegionLayout.area``) gives a density, 1 meaning "as
much as an average pixel".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["REGIONS", "RegionLayout", "region_layout", "region_scores", "class_mean_maps",
           "class_map_sums"]

REGIONS = ("forehead", "brows", "eyes", "nose", "cheeks", "mouth", "chin", "other")
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


class RegionLayout(NamedTuple):
    """A partition of the frame into ``REGIONS``.

    labels: int64 (S, S), index into ``names`` for every pixel.
    names:  the region names (``REGIONS``).
    landmarks: the landmarks it was derived from, (x, y) pixel coordinates.
    """

    labels: np.ndarray
    names: tuple[str, ...]
    landmarks: dict[str, tuple[float, float]]

    @property
    def area(self) -> dict[str, float]:
        """Each region's share of the frame's pixels (sums to 1)."""
        counts = np.bincount(self.labels.ravel(), minlength=len(self.names))
        return {n: float(c) / self.labels.size for n, c in zip(self.names, counts)}

    def mask(self, name: str) -> np.ndarray:
        """bool (S, S) pixels of one region."""
        return self.labels == self.names.index(name)


def region_layout(landmarks: Mapping[str, tuple[float, float]] | None = None,
                  size: int = 48) -> RegionLayout:
    """The region partition for ``landmarks`` (default: FER2013's measured framing).

    Args:
        landmarks: ``left_eye``, ``right_eye``, ``nose``, ``mouth_left``, ``mouth_right`` as
            (x, y) pixel coordinates of the ``size`` frame.
        size: side of the frame in pixels.

    Raises:
        ValueError: when a landmark is missing.
    """
    if landmarks is None:
        from deep_emotion.faces.framing import FER2013_LANDMARKS

        landmarks = FER2013_LANDMARKS
    missing = [k for k in LANDMARK_NAMES if k not in landmarks]
    if missing:
        raise ValueError(f"landmarks lack {missing}; need {LANDMARK_NAMES}")
    lm = {k: np.asarray(landmarks[k], dtype=float) for k in LANDMARK_NAMES}
    le, re, nose = lm["left_eye"], lm["right_eye"], lm["nose"]
    mouth = (lm["mouth_left"] + lm["mouth_right"]) / 2
    d = float(np.linalg.norm(re - le))
    mid_x = (le[0] + re[0]) / 2
    eye_y = (le[1] + re[1]) / 2
    mouth_rx = float(np.linalg.norm(lm["mouth_right"] - lm["mouth_left"])) / 2 + 0.15 * d
    mouth_ry = 0.28 * d
    y, x = np.mgrid[0:size, 0:size].astype(float)

    def ellipse(c, rx, ry):
        return ((x - c[0]) / rx) ** 2 + ((y - c[1]) / ry) ** 2 <= 1

    def within(c_x, half):
        return np.abs(x - c_x) <= half

    eyes = ellipse(le, 0.30 * d, 0.17 * d) | ellipse(re, 0.30 * d, 0.17 * d)
    brow_rows = (y >= eye_y - 0.50 * d) & (y < eye_y)
    brows = brow_rows & (x >= le[0] - 0.38 * d) & (x <= re[0] + 0.38 * d)
    mouth_area = ellipse(mouth, mouth_rx, mouth_ry)
    nose_area = within(nose[0], 0.25 * d) & (y >= eye_y - 0.17 * d) & (y <= nose[1] + 0.15 * d)
    chin = (y > mouth[1] + mouth_ry) & within(mid_x, 0.70 * d)
    cheeks = (y >= eye_y) & (y <= mouth[1] + mouth_ry) & within(mid_x, 0.95 * d)
    forehead = (y < eye_y - 0.50 * d) & within(mid_x, 0.95 * d)

    labels = np.full((size, size), REGIONS.index("other"), dtype=np.int64)
    # paint lowest priority first so the table's first matching row wins
    for name, area in [("forehead", forehead), ("cheeks", cheeks), ("chin", chin),
                       ("nose", nose_area), ("mouth", mouth_area), ("brows", brows),
                       ("eyes", eyes)]:
        labels[area] = REGIONS.index(name)
    return RegionLayout(labels, REGIONS, {k: tuple(map(float, v)) for k, v in lm.items()})


def _as_numpy(maps) -> np.ndarray:
    if isinstance(maps, torch.Tensor):
        maps = maps.detach().cpu().numpy()
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim == 4:  # (B, 1, S, S)
        maps = maps[:, 0]
    return maps


def region_scores(maps, layout: RegionLayout | None = None) -> dict[str, np.ndarray]:
    """Share of each map's absolute mass in each region.

    Args:
        maps: (S, S), (B, S, S) or (B, 1, S, S) maps (tensor or array).
        layout: the regions (default ``region_layout()``).

    Returns:
        {region: float64 (B,)} (scalars for a single (S, S) map); for every face the values
        over all ``REGIONS`` sum to 1, and are NaN for an all-zero map.
    """
    layout = layout if layout is not None else region_layout()
    m = _as_numpy(maps)
    single = m.ndim == 2
    m = np.abs(m.reshape(-1, m.shape[-1] * m.shape[-2]))
    total = m.sum(1)
    labels = layout.labels.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = {name: m[:, labels == i].sum(1) / total for i, name in enumerate(layout.names)}
    return {k: v[0] for k, v in scores.items()} if single else scores


def class_mean_maps(maps, labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class-conditional mean of absolute maps, each face normalised to unit mass first.

    Normalising makes every face count equally whatever its logit scale, and makes the region
    scores of a class-mean map equal the mean of the faces' region scores (scores are linear
    in a unit-mass map).

    Args:
        maps: (N, S, S) or (N, 1, S, S) maps.
        labels: (N,) class index per face.
        num_classes: number of classes C.

    Returns:
        (means float64 (C, S, S), each summing to 1 or NaN for a class without faces;
        counts int64 (C,)).  Faces with an all-zero map are skipped.
    """
    m = np.abs(_as_numpy(maps))
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(int)
    sums, counts = class_map_sums(m, labels, num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None, None], counts


def class_map_sums(m: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class sums of unit-mass |maps| and counts; the accumulable half of class_mean_maps."""
    total = m.reshape(len(m), -1).sum(1)
    keep = total > 0
    unit = m[keep] / total[keep, None, None]
    sums = np.zeros((num_classes, *m.shape[1:]))
    np.add.at(sums, labels[keep], unit)
    return sums, np.bincount(labels[keep], minlength=num_classes)
