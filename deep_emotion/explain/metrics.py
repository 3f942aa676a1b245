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

__all__ = ["spearman", "topk_iou", "random_maps", "Curves", "deletion_curve", "insertion_curve",
           "SanityCheck", "sanity_check", "randomisation_order", "SANITY_THRESHOLD",
           "AGREEMENT_TOP"]

# A map passes the randomisation check when, with every layer randomised, its mean Spearman
# correlation with the original map is below this (Adebayo et al. read "substantially
# different" off their plots; we fix a number so a table can say pass/fail).
SANITY_THRESHOLD = 0.5
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


def _constant(maps: torch.Tensor) -> torch.Tensor:
    """bool (B,) maps whose pixels are all equal."""
    flat = maps.flatten(1)
    return (flat == flat[:, :1]).all(1)


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


class SanityCheck(NamedTuple):
    """Cascading model-randomisation result for one method on B faces.

    layers:     names of the layers randomised, in order (step i randomises layers[:i+1]).
    similarity: float (L, B) Spearman correlation of |map| with the original at each step;
                0 where the randomised map became constant (it keeps none of the ranking),
                NaN where the original map is constant (nothing to compare).
    passed:     mean similarity at the last step (all layers random) < ``threshold``; False
                when it is undefined (a constant map on every face, e.g. a flip map where no
                window changes the decision).
    threshold:  the threshold used.
    """

    layers: list[str]
    similarity: torch.Tensor
    passed: bool
    threshold: float

    def summary(self) -> dict:
        """Per-step mean (None where undefined), faces with a defined similarity at the last
        step, and the verdict, as plain JSON values."""
        mean = torch.nanmean(self.similarity, dim=1)
        defined = int(torch.isfinite(self.similarity[-1]).sum()) if len(self.layers) else 0
        return {"layers": self.layers,
                "mean_spearman": [round(float(v), 4) if torch.isfinite(v) else None for v in mean],
                "faces_defined": defined, "passed": self.passed, "threshold": self.threshold}


def randomisation_order(model: nn.Module) -> list[str]:
    """Names of the parameterised leaf layers, from the output back to the input.

    For DeepEmotion: classifier, localization FC, localization convs, then the feature branch
    (batch norm, convs) down to the first conv: registration order reversed.
    """
    names = [n for n, m in model.named_modules()
             if not list(m.children()) and any(True for _ in m.parameters(recurse=False))]
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
        sim = spearman(reference, maps)
        # a randomised map that became constant keeps no ranking of the original: 0, not NaN
        became_constant = _constant(maps) & ~_constant(reference)
        sims.append(torch.where(became_constant, 0.0, sim))
    sim = torch.stack(sims).float()
    last = float(torch.nanmean(sim[-1])) if len(sims) else float("nan")
    return SanityCheck(layers, sim, bool(np.isfinite(last) and last < threshold), threshold)
