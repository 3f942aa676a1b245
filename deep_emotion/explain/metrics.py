"""How far an attribution map can be trusted: agreement, faithfulness, sanity.

* **Agreement** between two maps of the same faces: Spearman rank correlation over pixels and
  the IoU of their top-k% pixels.
* **Faithfulness** (Petsiuk et al. 2018, RISE): delete pixels from the face in the order the
  map ranks them and watch the target's *probability* fall (deletion: the lower the area under
  the curve, the better), or reveal them on a blurred face and watch it rise (insertion: the
  higher, the better).  A random map gives the reference.
* **Sanity** (Adebayo et al. 2018): randomise the network's layers from the output down,
  recompute the map each time, and measure its rank correlation with the original.  A map that
  stays the same while the model is destroyed explains the image, not the model.
  A map that is constant on a face (before or after randomisation) has no ranking, so that face
  is undefined for the method and left out; it never counts towards a pass.
* **Uncertainty**: every mean over faces comes with a 95% percentile-bootstrap interval over
  the faces (``mean_interval``), and verdicts are read off the interval, not the mean alone.

All functions take maps as float (B, S, S) or (B, 1, S, S) tensors and return per-face values,
so callers can average, take quantiles or draw distributions.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata
from torch import nn

from deep_emotion.explain.attributions import Explainer
from deep_emotion.model import ResidualBlock

__all__ = ["spearman", "topk_iou", "random_maps", "Curves", "deletion_curve", "insertion_curve",
           "SanityCheck", "sanity_check", "randomisation_order", "mean_interval",
           "faithfulness_summary", "SANITY_THRESHOLD", "MIN_DEFINED_FACES", "CONFIDENCE",
           "AGREEMENT_TOP"]

# A map passes the randomisation check when, with every layer randomised, its mean Spearman
# correlation with the original map is below this (Adebayo et al. read "substantially
# different" off their plots; we fix a number so a table can say pass/fail).
SANITY_THRESHOLD = 0.5
# Fewer faces with a defined similarity than this and the method gets no verdict: an interval
# from a handful of faces says nothing (the blank "flip" map is defined on almost none).
MIN_DEFINED_FACES = 10
CONFIDENCE = 0.95  # of every interval the analyses report
# The share of pixels whose overlap measures agreement of two maps (``topk_iou``): the top 10%
# of a 48x48 face is 230 pixels, about the area of one eye and brow.
AGREEMENT_TOP = 0.1


def _flat(maps: torch.Tensor) -> torch.Tensor:
    """(B, S, S) or (B, 1, S, S) -> float64 (B, S*S) on the CPU."""
    return maps.detach().reshape(len(maps), -1).double().cpu()


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-face Spearman rank correlation between two maps over pixels, ties ranked by mean.

    Returns:
        float64 (B,) in [-1, 1]; NaN where either map is constant (no ranking to compare).
    """
    ra = torch.from_numpy(rankdata(_flat(a).numpy(), axis=1))
    rb = torch.from_numpy(rankdata(_flat(b).numpy(), axis=1))
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    den = (ra.norm(dim=1) * rb.norm(dim=1))
    return torch.where(den > 0, (ra * rb).sum(1) / den.clamp_min(1e-300), torch.nan)


def _top_mask(maps: torch.Tensor, k: int) -> torch.Tensor:
    flat = _flat(maps)
    # stable sort: ties are broken by pixel index, so masks are deterministic
    order = torch.sort(-flat, dim=1, stable=True).indices[:, :k]
    return torch.zeros_like(flat, dtype=torch.bool).scatter_(1, order, True)


def topk_iou(a: torch.Tensor, b: torch.Tensor, fraction: float = 0.1) -> torch.Tensor:
    """Per-face intersection over union of the top ``fraction`` of pixels of two maps.

    Pixels are ranked by value (pass ``abs()`` maps to rank by magnitude).  Two random maps
    score about ``fraction / (2 - fraction)`` (0.053 for 10%).

    Returns:
        float64 (B,) in [0, 1].
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    k = max(1, round(fraction * _flat(a).shape[1]))
    ma, mb = _top_mask(a, k), _top_mask(b, k)
    return (ma & mb).sum(1).double() / (ma | mb).sum(1).double()


def random_maps(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Uniform random maps, the reference a useful map must beat (reproducible from ``seed``)."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


class Curves(NamedTuple):
    """Faithfulness curves of B faces.

    fractions: float (T,) share of pixels deleted / inserted at each step, 0 to 1.
    scores:    float (B, T) target probability at each step.
    auc:       float (B,) area under each curve (trapezoid over ``fractions``), in [0, 1].
    """

    fractions: torch.Tensor
    scores: torch.Tensor
    auc: torch.Tensor


def deletion_curve(model: nn.Module, images: torch.Tensor, maps: torch.Tensor,
                   target: torch.Tensor, *, baseline: float, steps: int = 24,
                   batch_size: int = 512) -> Curves:
    """Replace the highest-ranked pixels by ``baseline`` step by step (Petsiuk et al. 2018).

    Args:
        model: the network whose decisions the maps explain.
        images: float (B, 1, S, S) normalised faces.
        maps: (B, S, S) or (B, 1, S, S) attributions; higher means more important.
        target: int64 (B,) the class each map explains.
        baseline: the normalised input value of a deleted pixel (e.g. black through
            ``Preprocessing.pixel_value(0)``).
        steps: number of deletion steps after the intact face (24 steps of 96 pixels).
        batch_size: modified faces per forward pass.
    """
    return _curve(model, changed=torch.full_like(images, baseline), unchanged=images, maps=maps,
                  target=target, steps=steps, batch_size=batch_size)


def insertion_curve(model: nn.Module, images: torch.Tensor, maps: torch.Tensor,
                    target: torch.Tensor, *, blur_sigma: float = 4.0, steps: int = 24,
                    batch_size: int = 512) -> Curves:
    """Reveal the highest-ranked pixels on a blurred copy of the face, step by step.

    Starting from a blur rather than a constant keeps the image in the range the network knows
    (Petsiuk et al. use a blurred canvas for insertion).  Arguments as ``deletion_curve``;
    ``blur_sigma`` is the Gaussian's standard deviation in pixels.
    """
    return _curve(model, changed=images, unchanged=_blur(images, blur_sigma), maps=maps,
                  target=target, steps=steps, batch_size=batch_size)


def _curve(model: nn.Module, *, changed: torch.Tensor, unchanged: torch.Tensor,
           maps: torch.Tensor, target: torch.Tensor, steps: int, batch_size: int) -> Curves:
    """At step t the map's top ``t/steps`` pixels come from ``changed``, the rest from
    ``unchanged`` (deletion: baseline over the face; insertion: the face over its blur)."""
    b, n = len(maps), _flat(maps).shape[1]
    if len(changed) != b or len(target) != b:
        raise ValueError(f"{len(changed)} faces, {b} maps and {len(target)} targets")
    counts = torch.linspace(0, n, steps + 1).round().long()  # pixels changed at each step
    order = torch.sort(-_flat(maps), dim=1, stable=True).indices  # ties: lower pixel index first
    ranks = torch.empty(b, n, dtype=torch.long).scatter_(1, order, torch.arange(n).expand(b, n))
    was_training = model.training
    model.eval()
    scores = torch.empty(b, steps + 1)
    per_batch = max(1, batch_size // (steps + 1))  # faces per forward pass
    try:
        with torch.no_grad():
            for i in range(0, b, per_batch):
                sl = slice(i, i + per_batch)
                mask = (ranks[sl, None, :] < counts[None, :, None])  # (b', T, n)
                mask = mask.view(-1, 1, *changed.shape[-2:])  # (b' * T, 1, S, S)
                x = torch.where(mask, changed[sl].repeat_interleave(steps + 1, 0),
                                unchanged[sl].repeat_interleave(steps + 1, 0))
                probs = torch.softmax(model(x), 1).view(-1, steps + 1, model.config.num_classes)
                scores[sl] = probs.gather(2, target[sl, None, None].expand(-1, steps + 1, 1))[..., 0]
    finally:
        model.train(was_training)
    fractions = counts.double() / n
    return Curves(fractions, scores.double(), torch.trapezoid(scores.double(), fractions, dim=1))


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, 1, S, S), edges replicated."""
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=images.dtype)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    x = F.pad(images, (radius,) * 4, mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def mean_interval(values, *, confidence: float = CONFIDENCE, seed: int = 0,
                  resamples: int = 2000) -> tuple[float, float, float] | None:
    """Mean of the finite ``values`` and its percentile-bootstrap interval over them.

    Faces are the unit resampled (``scipy.stats.bootstrap``, percentile method, seeded), so the
    interval says how far the mean could move on another sample of faces of the same kind.

    Returns:
        (mean, low, high), or None with fewer than two finite values.
    """
    from scipy.stats import bootstrap

    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return None
    if np.ptp(v) == 0:  # every face the same: the bootstrap has nothing to resample
        return float(v[0]), float(v[0]), float(v[0])
    ci = bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=resamples,
                   method="percentile", rng=np.random.default_rng(seed)).confidence_interval
    return float(v.mean()), float(ci.low), float(ci.high)


def _rounded(interval: tuple[float, float, float] | None) -> list[float] | None:
    return None if interval is None else [round(v, 4) for v in interval]


def faithfulness_summary(auc: torch.Tensor, random_auc: torch.Tensor, *, lower_is_better: bool,
                         seed: int = 0) -> dict:
    """A method's AUCs on B faces against a random map's on the same faces.

    Args:
        auc, random_auc: float (B,) per-face areas under the curve (deletion or insertion).
        lower_is_better: True for deletion, False for insertion.

    Returns:
        ``interval`` [mean, low, high] of the AUC, ``vs_random`` the same for the paired
        difference (method - random), and ``beats_random``: True when the whole interval of the
        difference lies on the better side of 0, False when the whole of it lies on the other,
        None when it straddles 0 (no verdict either way).
    """
    diff = mean_interval((auc - random_auc).numpy(), seed=seed)
    beats = None
    if diff is not None:
        better, worse = (diff[2] < 0, diff[1] > 0) if lower_is_better else (diff[1] > 0, diff[2] < 0)
        beats = True if better else (False if worse else None)
    return {"interval": _rounded(mean_interval(auc.numpy(), seed=seed)),
            "vs_random": _rounded(diff), "beats_random": beats}


class SanityCheck(NamedTuple):
    """Cascading model-randomisation result for one method on B faces.

    layers:     names of the layers randomised, in order (step i randomises layers[:i+1]).
    similarity: float (L, B) Spearman correlation of |map| with the original at each step;
                NaN where the original or the randomised map is constant on that face (no
                ranking to compare: the face is undefined for this method and left out).
    threshold:  a method passes when, with every layer random, the whole interval of its mean
                similarity lies below this; it fails when the whole interval lies at or above.
    """

    layers: list[str]
    similarity: torch.Tensor
    threshold: float

    @property
    def last(self) -> torch.Tensor:
        """float (B,) similarity with every layer randomised."""
        return self.similarity[-1] if len(self.layers) else torch.empty(0)

    @property
    def verdict(self) -> str:
        """"passes", "fails", "unclear" (the interval straddles the threshold) or "undefined"
        (fewer than ``MIN_DEFINED_FACES`` faces have a similarity)."""
        interval = mean_interval(self.last.numpy())
        if int(torch.isfinite(self.last).sum()) < MIN_DEFINED_FACES or interval is None:
            return "undefined"
        _, low, high = interval
        return "passes" if high < self.threshold else ("fails" if low >= self.threshold else "unclear")

    @property
    def passed(self) -> bool:
        return self.verdict == "passes"

    def summary(self) -> dict:
        """Per-step mean over defined faces (None where none is), the faces defined at the last
        step, the interval [mean, low, high] there and the verdict, as plain JSON values."""
        mean = torch.nanmean(self.similarity, dim=1)
        return {"layers": self.layers,
                "mean_spearman": [round(float(v), 4) if torch.isfinite(v) else None for v in mean],
                "faces": int(self.similarity.shape[1]),
                "faces_defined": int(torch.isfinite(self.last).sum()),
                "interval": _rounded(mean_interval(self.last.numpy())),
                "confidence": CONFIDENCE, "verdict": self.verdict, "passed": self.passed,
                "threshold": self.threshold}


def randomisation_order(model: nn.Module) -> list[str]:
    """Names of the layers to randomise, from the output back to the input.

    For the paper network: classifier, localization FC, localization convs, then the feature
    branch (batch norm, convs) down to the first conv: its parameterised leaf layers,
    registration order reversed.  A ``ResidualBlock`` is one step, as Adebayo et al. (2018)
    randomise Inception's blocks: its two paths only mean something together, and ten steps
    instead of twenty-five keep the residual family's check as long as the paper network's.
    """
    blocks = [n for n, m in model.named_modules() if isinstance(m, ResidualBlock)]
    names = [n for n, m in model.named_modules()
             if isinstance(m, ResidualBlock) or (
                 not list(m.children()) and any(True for _ in m.parameters(recurse=False))
                 and not any(n.startswith(b + ".") for b in blocks))]
    return names[::-1]


def sanity_check(explainer: Explainer, images: torch.Tensor,
                 target: torch.Tensor | None = None, *, seed: int = 0,
                 threshold: float = SANITY_THRESHOLD) -> SanityCheck:
    """Cascading randomisation (Adebayo et al. 2018) of ``explainer``'s network.

    Args:
        explainer: an ``Explainer``; it is rebuilt with the same parameters on copies of its
            network whose layers are re-initialised (``reset_parameters``) one more at a time.
        images: float (B, 1, S, S) normalised faces.
        target: the classes to explain; None uses the *original* network's predictions, kept
            fixed while the network is randomised.
        seed: seeds the re-initialisation of each layer.

    Returns:
        SanityCheck; the original network is never modified.
    """
    model = explainer.model
    original = explainer.attribute(images, target)
    target = original.target
    reference = original.maps.abs()
    randomised = copy.deepcopy(model)
    modules = dict(randomised.named_modules())
    layers = randomisation_order(model)
    sims = []
    for i, name in enumerate(layers):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + i)
            modules[name].reset_parameters()
        maps = explainer.rebuild(randomised).attribute(images, target).maps.abs()
        # NaN where either map is constant: that face says nothing about this method
        sims.append(spearman(reference, maps))
    sim = torch.stack(sims).float() if sims else torch.empty(0, len(images))
    return SanityCheck(layers, sim, threshold)
