"""Augmentation of whole batches of in-memory faces, on the device the batch lives on.

Per-image PIL transforms in a DataLoader cost more than the network itself on two cores (see
``bench/train_throughput.py``); here one ``affine_grid``/``grid_sample`` call applies flip,
rotation, scale and shift to a whole batch, and random erasing is one masked fill.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from deep_emotion.model import ALIGN_CORNERS

__all__ = ["AugmentConfig", "augment_batch"]


@dataclass(frozen=True)
class AugmentConfig:
    """Random transforms applied independently to every image of a training batch."""

    flip: float = 0.5                  # probability of a horizontal flip
    rotate_deg: float = 10.0           # rotation drawn from U(-r, r) degrees
    scale: tuple[float, float] = (0.9, 1.1)  # zoom factor drawn uniformly
    shift_px: float = 4.0              # translation drawn from U(-s, s) pixels on each axis
    erase: float = 0.5                 # probability of random erasing (Zhong et al. 2020)
    erase_area: tuple[float, float] = (0.02, 0.2)  # erased fraction of the image
    erase_ratio: tuple[float, float] = (0.3, 3.3)  # aspect ratio of the erased box

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "AugmentConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    @property
    def geometric(self) -> bool:
        return bool(self.flip or self.rotate_deg or self.shift_px or self.scale != (1.0, 1.0))


def _uniform(n: int, low: float, high: float, gen: torch.Generator | None, device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) * (high - low) + low


def augment_batch(x: torch.Tensor, cfg: AugmentConfig,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment a normalised batch (B, 1, S, S); returns a new tensor of the same shape.

    Geometry is one affine map per image (flip * rotation * scale, plus shift), resampled with
    border padding so no black corners appear; erased boxes are filled with noise ~N(0, 1),
    which is the input distribution after normalisation.
    """
    b, _, h, w = x.shape
    dev = x.device
    if cfg.geometric:
        angle = _uniform(b, -cfg.rotate_deg, cfg.rotate_deg, generator, dev) * (math.pi / 180)
        # theta maps output coords to input coords, so zooming in by s divides by s.
        inv_scale = 1.0 / _uniform(b, cfg.scale[0], cfg.scale[1], generator, dev)
        flip = torch.where(torch.rand(b, generator=generator, device=dev) < cfg.flip, -1.0, 1.0)
        cos, sin = torch.cos(angle) * inv_scale, torch.sin(angle) * inv_scale
        tx = _uniform(b, -cfg.shift_px, cfg.shift_px, generator, dev) * (2.0 / w)
        ty = _uniform(b, -cfg.shift_px, cfg.shift_px, generator, dev) * (2.0 / h)
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                             torch.stack([sin * flip, cos, ty], 1)], 1)  # (B, 2, 3)
        grid = F.affine_grid(theta.to(x.dtype), [b, 1, h, w], align_corners=ALIGN_CORNERS)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                          align_corners=ALIGN_CORNERS)
    if cfg.erase > 0:
        x = _erase(x, cfg, generator)
    return x


def _erase(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None) -> torch.Tensor:
    b, _, h, w = x.shape
    dev = x.device
    area = _uniform(b, *cfg.erase_area, gen, dev) * (h * w)
    log_r = _uniform(b, math.log(cfg.erase_ratio[0]), math.log(cfg.erase_ratio[1]), gen, dev)
    ratio = torch.exp(log_r)
    eh = torch.sqrt(area * ratio).clamp(1, h).floor()
    ew = torch.sqrt(area / ratio).clamp(1, w).floor()
    top = (torch.rand(b, generator=gen, device=dev) * (h - eh + 1)).floor()
    left = (torch.rand(b, generator=gen, device=dev) * (w - ew + 1)).floor()
    apply = torch.rand(b, generator=gen, device=dev) < cfg.erase
    rows = torch.arange(h, device=dev).view(1, h, 1)
    cols = torch.arange(w, device=dev).view(1, 1, w)
    inside = ((rows >= top.view(b, 1, 1)) & (rows < (top + eh).view(b, 1, 1))
              & (cols >= left.view(b, 1, 1)) & (cols < (left + ew).view(b, 1, 1)))
    mask = (inside & apply.view(b, 1, 1)).unsqueeze(1)  # (B, 1, H, W)
    noise = torch.randn(x.shape, generator=gen, device=dev, dtype=x.dtype)
    return torch.where(mask, noise, x)
