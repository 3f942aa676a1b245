"""Where people look: human references per emotion over the seven named regions, and how far
the network's region rankings agree with each.

The references live in ``deep_emotion/references/`` as small JSON files, each with its
provenance (paradigm, stimuli, observers, licence) and its values per emotion and region;
``scripts/derive_human_reference.py`` derives them from their sources (``--check``
re-derives and compares).  They are never pooled into one "ground truth": the sources
disagree (the mouth leads in some, the eyes in others), so agreement is reported per source.

* **Wegrzyn et al. 2017**: observers stopped a face's tile-by-tile uncovering (48 tiles of
  50 px, random order) as soon as they knew the expression.  A correct trial that needed k <= 16
  tiles credits each uncovered tile with 1 - k/16 (the paper's weighting); a tile's importance
  is its credit per trial shown.  ``tile_regions`` spreads the tiles over the regions of
  ``regions.py`` drawn on each stimulus from its own landmarks, and a region's value is the
  mean importance of its pixels (a density, so large regions are not favoured).
* **FACS prototypes**: the action units of each basic emotion's posed textbook prototype,
  each unit assigned to the region where it shows; a region's value is its number of units.

Agreement (``rank_agreement``): Spearman's rank correlation over the seven regions between a
network ranking and a reference, with an exact permutation test (all 7! = 5040 orderings of the
people's values) as the chance baseline, and a 95% percentile bootstrap
interval over the network's faces where per-face values exist (knock-out, attention).
"""

from __future__ import annotations

import itertools
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata

from deep_emotion.explain.knockout import KNOCKOUT_REGIONS
from deep_emotion.explain.metrics import CONFIDENCE
from deep_emotion.explain.regions import REGIONS, region_layout

__all__ = ["Reference", "REFERENCE_DIR", "load_references", "tile_regions", "facs_regions",
           "rank_agreement", "human_agreement", "network_rankings", "references_about",
           "verdict", "emotion_reading", "MEASURES", "RESAMPLES", "READINGS"]

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "references"
SOURCES = ("wegrzyn2017", "facs")
# The network's rankings: attribution is occlusion's share of map mass, attention the STN's,
# both divided by the region's area (a density, as the human values are); knock-out is the drop
# of the true class's probability beyond the drop for a random region of the same area (so a
# large region does not lead for its size alone).
MEASURES = ("attribution", "attention", "knockout")
RESAMPLES = 2000  # bootstrap resamples of the faces
SIGNIFICANCE = 0.05


class Reference(NamedTuple):
    """One human source: ``about`` its provenance, ``emotions`` {emotion: {region: value}}
    over ``KNOCKOUT_REGIONS`` (larger: people rely on the region more)."""

    key: str
    about: dict
    emotions: dict[str, dict[str, float]]


@lru_cache(maxsize=1)
def load_references() -> dict[str, Reference]:
    """Every shipped reference, by key (``SOURCES`` order)."""
    out = {}
    for key in SOURCES:
        data = json.loads((REFERENCE_DIR / f"{key}.json").read_text())
        out[key] = Reference(key, data["about"], data["emotions"])
    return out


def tile_regions(weights: np.ndarray, landmarks: dict, *, tile: int = 50, columns: int = 6,
                 rows: int = 8) -> dict[str, float]:
    """Mean tile importance over each region's pixels on one stimulus.

    Args:
        weights: (columns * rows,) importance per tile; tile i has its left edge at
            (i // rows) * tile and its top edge at (i % rows) * tile (the experiment's order).
        landmarks: the stimulus's five landmarks (x, y) in the tiled frame's pixels.

    Returns:
        {region: mean importance} for ``KNOCKOUT_REGIONS``; NaN for a region outside the frame.
    """
    width, height = columns * tile, rows * tile
    pad = (height - width) // 2  # region_layout draws a square frame: centre the tiles in it
    shifted = {k: (x + pad, y) for k, (x, y) in landmarks.items()}
    labels = region_layout(shifted, size=height).labels[:, pad:pad + width]
    per_tile = np.asarray(weights, dtype=np.float64).reshape(columns, rows).T  # (rows, columns)
    pixels = np.kron(per_tile, np.ones((tile, tile)))
    out = {}
    for region in KNOCKOUT_REGIONS:
        inside = labels == REGIONS.index(region)
        out[region] = float(pixels[inside].mean()) if inside.any() else float("nan")
    return out


def facs_regions(units: list[int], unit_regions: dict[str, str]) -> dict[str, float]:
    """Number of a prototype's action units in each region (``unit_regions``: AU -> region)."""
    out = {r: 0.0 for r in KNOCKOUT_REGIONS}
    for au in units:
        out[unit_regions[str(au)]] += 1.0
    return out


def _rank_corr(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho along ``axis`` (ties get mean ranks); NaN where either side is constant."""
    rx, ry = rankdata(x, axis=axis), rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    den = np.sqrt((rx ** 2).sum(axis=axis) * (ry ** 2).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(axis=axis) / den, np.nan)


@lru_cache(maxsize=2)
def _orderings(n: int) -> np.ndarray:
    """int (n!, n): every ordering of n items (5040 for the seven regions)."""
    return np.array(list(itertools.permutations(range(n))))


def rank_agreement(network, people) -> dict:
    """Spearman's rho of two rankings of the same regions, with its exact permutation test.

    The chance baseline is every one of the n! orderings of the people's values against the
    network's (enumerated: scipy's ``permutation_test`` permutes both samples for paired
    data, n!^2 orderings, where one side's n! gives the same distribution).

    Returns:
        {spearman, p (share of orderings with a rho at least this high), p_below (at most
        this low), chance_95 (the 95th percentile of rho over the orderings)}; values None
        when either ranking is constant (no order to compare).
    """
    x, y = np.asarray(network, dtype=np.float64), np.asarray(people, dtype=np.float64)
    rho = float(_rank_corr(x, y))
    if not np.isfinite(rho):
        return {"spearman": None, "p": None, "p_below": None, "chance_95": None}
    null = _rank_corr(np.broadcast_to(x, (math.factorial(len(y)), len(y))), y[_orderings(len(y))])
    tol = 1e-9  # rho values tie exactly in exact arithmetic; not in floating point
    return {"spearman": round(rho, 4), "p": round(float((null >= rho - tol).mean()), 5),
            "p_below": round(float((null <= rho + tol).mean()), 5),
            "chance_95": round(float(np.quantile(null, 0.95)), 4)}


def _boot_rankings(per_face: np.ndarray, seed: int) -> np.ndarray:
    """(RESAMPLES, R) region means over faces resampled with replacement; per_face (R, n)."""
    n = per_face.shape[1]
    idx = np.random.default_rng(seed).integers(0, n, (RESAMPLES, n))
    with np.errstate(invalid="ignore"):  # a face with an all-zero map has no shares (NaN)
        return np.stack([np.nanmean(row[idx], 1) for row in per_face], axis=1)


def _interval(boot: np.ndarray | None, people: np.ndarray) -> tuple[float | None, float | None]:
    if boot is None:
        return None, None
    rho = _rank_corr(boot, np.broadcast_to(people, boot.shape))
    rho = rho[np.isfinite(rho)]
    if not len(rho):
        return None, None
    tail = (1 - CONFIDENCE) / 2
    return round(float(np.quantile(rho, tail)), 4), round(float(np.quantile(rho, 1 - tail)), 4)


def verdict(cell: dict) -> str:
    """"agrees", "disagrees", "uncertain" or "undefined", read off the permutation test and,
    where there is one, the interval (which must lie wholly on the verdict's side of 0)."""
    if cell.get("spearman") is None:
        return "undefined"
    low, high = cell.get("low"), cell.get("high")
    if cell["p"] < SIGNIFICANCE and (low is None or low > 0):
        return "agrees"
    if cell["p_below"] < SIGNIFICANCE and (high is None or high < 0):
        return "disagrees"
    return "uncertain"


def _top(values: dict[str, float], k: int = 3) -> list[str]:
    """The k regions with the largest finite values, largest first, among those above the
    lowest value (a FACS prototype's regions without an action unit are never "top", and a
    constant ranking has none)."""
    finite = [(v, r) for r, v in values.items() if v is not None and np.isfinite(v)]
    floor = min((v for v, _ in finite), default=0.0)
    return [r for v, r in sorted(finite, key=lambda t: -t[0]) if v > floor][:k]


def network_rankings(result: dict, knock: dict, emotion: str) -> dict:
    """{measure: (values (R,), per-face values (R, n) or None)} over ``KNOCKOUT_REGIONS`` for
    one emotion; attribution's per-face values exist only when stage 1 ran with the
    knock-outs (``knock["occlusion_shares"]``): an analysis keeps class means only."""
    area = (result.get("regions") or {}).get("area") or region_layout().area
    dens = np.array([1 / area[r] for r in KNOCKOUT_REGIONS])
    sens = result.get("region_sensitivity", {})
    faces = knock["labels"] == result["classes"].index(emotion)
    rows = [REGIONS.index(r) for r in KNOCKOUT_REGIONS]
    out = {}
    shares = sens.get("occlusion", {}).get(emotion)
    if shares:
        per_face = knock.get("occlusion_shares")
        per_face = per_face[rows][:, faces] * dens[:, None] if per_face is not None else None
        out["attribution"] = (np.array([shares[r] for r in KNOCKOUT_REGIONS]) * dens, per_face)
    per_face = knock["stn_shares"][rows][:, faces] * dens[:, None]
    out["attention"] = (per_face.mean(1), per_face)
    # (p0 - p) - (p0 - p_random): the primary fill's drop beyond the random region's
    per_face = knock["p_random"][:, faces] - knock["p"][0][:, faces]
    out["knockout"] = (per_face.mean(1), per_face)
    return out


def _cell(values: np.ndarray, boot: np.ndarray | None, people: np.ndarray) -> dict:
    cell = rank_agreement(values, people)
    cell["low"], cell["high"] = _interval(boot, people) if cell["spearman"] is not None \
        else (None, None)
    return cell | {"verdict": verdict(cell)}


def human_agreement(result: dict, knock: dict, seed: int = 0) -> dict:
    """Per reference and emotion, the agreement of each network ranking with the people's.

    Args:
        result: the analysis so far (``classes``, ``regions``, ``region_sensitivity``).
        knock: the per-face knock-out arrays (``stages.knockout_chunk``, joined).

    Returns:
        {source: {emotion: {spearman, low, high, p, p_below, chance_95, verdict (of the
        knock-out ranking, the causal one), measures {measure: the same keys},
        network_top {measure: 3 regions}, people_top (3 regions)}}} for the emotions the
        network and the reference share and the faces have.
    """
    out: dict = {}
    counts = np.bincount(knock["labels"], minlength=len(result["classes"]))
    emotions = [e for i, e in enumerate(result["classes"]) if counts[i] > 1]
    for e_i, emotion in enumerate(emotions):
        rankings = network_rankings(result, knock, emotion)
        boots = {m: _boot_rankings(pf, seed + e_i) if pf is not None else None
                 for m, (_, pf) in rankings.items()}
        for key, ref in load_references().items():
            if emotion not in ref.emotions:
                continue
            people = np.array([ref.emotions[emotion][r] for r in KNOCKOUT_REGIONS])
            measures = {m: _cell(v, boots[m], people) for m, (v, _) in rankings.items()}
            out.setdefault(key, {})[emotion] = {
                **measures["knockout"], "measures": measures,
                "network_top": {m: _top(dict(zip(KNOCKOUT_REGIONS, v)))
                                for m, (v, _) in rankings.items()},
                "people_top": _top(ref.emotions[emotion])}
    return out


def references_about() -> dict:
    """Each reference's provenance, for the analysis file and the page."""
    return {key: ref.about for key, ref in load_references().items()}


READINGS = {"agrees": "agreement", "disagrees": "disagreement", "uncertain": "too uncertain to say"}


def emotion_reading(emotion: str, cells: dict[str, dict], names: dict[str, str]) -> tuple[str, str]:
    """One plain sentence on one emotion, and its reading ("agreement", "disagreement" or
    "too uncertain to say"), from the knock-out agreement with each source.

    Disagreement with any source wins over agreement with another: the sources are shown
    separately and a clash is the thing to look at.  A source without a ranking for the
    emotion (a FACS prototype of neutral has no action unit) is left out.

    Args:
        cells: {source: ``human_agreement[source][emotion]``}.
        names: {source: its name} (``human_references[source]["name"]``).
    """
    defined = {s: c for s, c in cells.items() if c.get("verdict", "undefined") != "undefined"}
    verdicts = [c["verdict"] for c in defined.values()]
    reading = READINGS["disagrees" if "disagrees" in verdicts else
                       "agrees" if "agrees" in verdicts else "uncertain"]
    any_cell = next(iter(cells.values()), {})
    needs = (any_cell.get("network_top", {}).get("knockout") or ["?"])[0]
    people = [f"{names.get(s, s)} puts the {c['people_top'][0]} first "
              f"(rank correlation {c['spearman']:+.2f}{_range(c)})"
              for s, c in defined.items() if c.get("people_top")]
    sentence = (f"{emotion.capitalize()}: {reading}. Hiding the {needs} costs the network "
                f"most beyond a random patch of its size; "
                + ("; ".join(people) if people else "no human ranking to compare") + ".")
    return sentence, reading


def _range(cell: dict) -> str:
    if cell.get("low") is None:
        return ""
    return f", 95% interval {cell['low']:+.2f} to {cell['high']:+.2f}"
