"""Causal region knock-outs: hide one named face region and see what the network loses.

Attribution maps say where a network's output is *sensitive*; a knock-out says what it
*needs*.  For every face and each of the seven named regions (``KNOCKOUT_REGIONS``: every
region of ``regions.py`` except "other"), the region's pixels are filled with an occlusion
baseline and the face is classified again; per emotion we then report how far recall and the
true class's probability fall.

* **Baselines** are the Explain page's (``face.BASELINES``): black, mid-gray and the face's own
  mean intensity, so a knock-out fills a region exactly as the page's occlusion fills a
  window.  The first baseline is the primary one; the others are reported beside it, and a
  region whose drop under another baseline falls outside the primary one's interval is
  flagged as baseline-sensitive (the fill, not the region, may be what the network reacts to).
* **A random region of the same area** is the reference: the region's own mask moved by a
  random offset (wrapping round the frame, so its area and shape are kept exactly), one offset
  per face and region, seeded by the face's row so every run and every shard draws the same.
  A region matters beyond "any patch that size" only when its drop exceeds the random one's.
* **Intervals** are 95% percentile bootstraps over the faces of the emotion (``metrics.
  mean_interval``), of the mean per-face drop; recall drop is the mean of per-face
  (correct before - correct after).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from deep_emotion.explain.face import BASELINES, baseline_intensity
from deep_emotion.explain.metrics import mean_interval
from deep_emotion.explain.regions import REGIONS, RegionLayout, region_layout
from deep_emotion.preprocess import Preprocessing

__all__ = ["KNOCKOUT_REGIONS", "region_masks", "random_masks", "knockout_faces",
           "knockout_summary"]

KNOCKOUT_REGIONS = tuple(r for r in REGIONS if r != "other")


def region_masks(layout: RegionLayout | None = None,
                 regions: Sequence[str] = KNOCKOUT_REGIONS) -> np.ndarray:
    """bool (R, S, S): the pixels of each region, in ``regions`` order."""
    layout = layout if layout is not None else region_layout()
    return np.stack([layout.mask(r) for r in regions])


def random_masks(masks: np.ndarray, rows: np.ndarray, seed: int) -> np.ndarray:
    """bool (B, R, S, S): each region's mask rolled by a random (dy, dx), one per face and
    region, drawn from a generator seeded by (seed, the face's row), so a face gets the same
    random regions however the faces are chunked or sharded."""
    size = masks.shape[-1]
    out = np.empty((len(rows), *masks.shape), dtype=bool)
    for i, row in enumerate(rows):
        shifts = np.random.default_rng((seed, int(row))).integers(0, size, (len(masks), 2))
        for r, (dy, dx) in enumerate(shifts):
            out[i, r] = np.roll(masks[r], (int(dy), int(dx)), axis=(0, 1))
    return out


@torch.inference_mode()
def _true_probs(model: nn.Module, x: torch.Tensor, labels: torch.Tensor,
                batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(probability of the true class, whether it is predicted) for inputs x (N, 1, S, S)
    whose true classes are ``labels`` (N,)."""
    probs = torch.cat([model(x[i:i + batch_size]).softmax(1) for i in range(0, len(x), batch_size)])
    p = probs.gather(1, labels[:, None])[:, 0]
    return p.numpy().astype(np.float64), (probs.argmax(1) == labels).numpy()


def _filled(images: torch.Tensor, masks: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """float (B, M, S, S): each face with each of its masks filled; masks (B or 1, M, S, S),
    fill (B, 1, 1, 1) intensities."""
    faces = images.float()[:, None]
    return torch.where(masks, fill, faces)


def knockout_faces(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                   pre: Preprocessing, *, rows: np.ndarray, masks: np.ndarray,
                   baselines: Sequence[str] = BASELINES, seed: int = 0,
                   batch_size: int = 512) -> dict[str, np.ndarray]:
    """Per-face knock-out results of one batch of faces.

    Args:
        model: the network (eval mode; any module mapping (N, 1, S, S) inputs to logits).
        images: uint8 (B, S, S) faces; labels: int64 (B,) their true classes.
        rows: (B,) the faces' global row numbers (seed their random regions).
        masks: bool (R, S, S) the regions (``region_masks``).
        baselines: fills, each one of ``face.BASELINES``; the random region uses the first.

    Returns:
        ``p0``, ``hit0`` (B,): true-class probability and correctness of the intact face;
        ``p``, ``hit`` (K, R, B): the same with region r filled by baseline k;
        ``p_random``, ``hit_random`` (R, B): with the random same-area region filled.
    """
    model.eval()
    b, r, s = len(images), len(masks), images.shape[-1]
    p0, hit0 = _true_probs(model, pre.to_input(images), labels, batch_size)
    m = torch.from_numpy(masks)[None]
    per_region = labels.repeat_interleave(r)
    out = {"p0": p0, "hit0": hit0}
    ps, hits = [], []
    for name in baselines:
        fill = torch.tensor([baseline_intensity(f, name) for f in images.numpy()],
                            dtype=torch.float32).view(b, 1, 1, 1)
        x = pre.to_input(_filled(images, m, fill).reshape(b * r, s, s))
        p, hit = _true_probs(model, x, per_region, batch_size)
        ps.append(p.reshape(b, r).T)
        hits.append(hit.reshape(b, r).T)
        if name == baselines[0]:
            rand = torch.from_numpy(random_masks(masks, rows, seed))
            x = pre.to_input(_filled(images, rand, fill).reshape(b * r, s, s))
            p, hit = _true_probs(model, x, per_region, batch_size)
            out |= {"p_random": p.reshape(b, r).T, "hit_random": hit.reshape(b, r).T}
    return out | {"p": np.stack(ps), "hit": np.stack(hits)}


def _r(value: float) -> float:
    return round(float(value), 5)


def _drop(values: np.ndarray, seed: int) -> tuple[float, float | None, float | None]:
    """Mean per-face drop and its bootstrap interval (None, None with fewer than two faces)."""
    interval = mean_interval(values, seed=seed)
    if interval is None:
        return _r(values.mean()) if len(values) else 0.0, None, None
    return tuple(_r(v) for v in interval)


def _cell(res: dict, k: int, r: int, faces: np.ndarray, seed: int) -> dict:
    """Recall and probability drops of region r under baseline k on ``faces`` (bool (N,))."""
    hit0, p0 = res["hit0"][faces].astype(float), res["p0"][faces]
    recall, low, high = _drop(hit0 - res["hit"][k, r, faces], seed)
    prob, p_low, p_high = _drop(p0 - res["p"][k, r, faces], seed)
    return {"recall_drop": recall, "probability_drop": prob, "low": low, "high": high,
            "probability_low": p_low, "probability_high": p_high}


def _versus_random(res: dict, r: int, faces: np.ndarray, seed: int) -> dict:
    """The random same-area region's drops, and whether the region's probability drop exceeds
    it (paired over the same faces: the interval of p_random - p lies above 0)."""
    hit0, p0 = res["hit0"][faces].astype(float), res["p0"][faces]
    recall, low, high = _drop(hit0 - res["hit_random"][r, faces], seed)
    prob, _, _ = _drop(p0 - res["p_random"][r, faces], seed)
    _, ex_low, ex_high = _drop(res["p_random"][r, faces] - res["p"][0, r, faces], seed)
    verdict = None if ex_low is None else bool(ex_low > 0)
    return {"random_recall_drop": recall, "random_low": low, "random_high": high,
            "random_probability_drop": prob, "exceeds_random": verdict}


def knockout_summary(res: dict, labels: np.ndarray, classes: Sequence[str],
                     regions: Sequence[str] = KNOCKOUT_REGIONS,
                     baselines: Sequence[str] = BASELINES, seed: int = 0) -> dict:
    """Per region and emotion: the drops under the primary baseline (``baselines[0]``) with
    intervals, the random same-area region's, every baseline's, and whether another baseline
    moves the probability drop outside the primary interval.

    Args:
        res: ``knockout_faces`` results of every face, concatenated along the face axis.
        labels: (N,) true class index per face.

    Returns:
        {region: {emotion: {recall_drop, probability_drop, low, high (of the recall drop),
        probability_low, probability_high, random_recall_drop, random_low, random_high,
        random_probability_drop, exceeds_random, baselines {name: {recall_drop,
        probability_drop, low, high, ...}}, baseline_sensitive}}} for emotions with faces.
    """
    labels = np.asarray(labels)
    out: dict = {}
    for r, region in enumerate(regions):
        out[region] = {}
        for c, emotion in enumerate(classes):
            faces = labels == c
            if not faces.any():
                continue
            each = {b: _cell(res, k, r, faces, seed) for k, b in enumerate(baselines)}
            main = each[baselines[0]]
            lo, hi = main["probability_low"], main["probability_high"]
            sensitive = lo is not None and any(
                not lo <= v["probability_drop"] <= hi for v in each.values())
            out[region][emotion] = {**main, **_versus_random(res, r, faces, seed),
                                    "baselines": each, "baseline_sensitive": sensitive}
    return out
