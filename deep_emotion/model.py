"""The Deep-Emotion attentional convolutional network.

Reference: S. Minaee and A. Abdolrashidi, "Deep-Emotion: Facial Expression Recognition Using
Attentional Convolutional Network", Sensors 21(9), 2021 (arXiv:1902.01019, 2019).

Two branches read the same 48x48 grayscale face:

* the **feature branch**: four 3x3 convolutions with 10 filters, a max-pool and a ReLU after
  every second one, batch norm before the last pool, then dropout, giving 10x9x9 maps;
* the **localization branch** (a spatial transformer, Jaderberg et al. 2015): two convolutions
  each followed by max-pool and ReLU, then two fully connected layers that regress the 2x3
  affine matrix ``theta``; the last layer starts at the identity transform.

In the paper layout (the default, ``layout="paper"``) theta warps the 10x9x9 feature maps after
dropout, and the classifier (FC 810 -> 50 -> classes) reads the warped maps.  The common
unofficial variant warps the *input image* instead and runs the feature branch on the warped
image (``layout="input_warp"``); both share every module, only ``forward`` differs.

Why the localization FC reads 1000 and not the paper's "90 -> 32": with 3x3 kernels on a 48x48
input the localization maps are 10x10x10 (48 -> 46 -> pool 23 -> 21 -> pool 10), so the flattened
vector has 1000 entries.  "90" cannot come from a 48x48 input with any kernel sizes the paper
names; we keep the paper's 32 hidden units and take the flatten size from the geometry, which
``DeepEmotionConfig.loc_kernels`` controls ((7, 5) gives the 640 of the popular
reimplementation).
With the defaults the network has 76,797 parameters (``count_parameters``): this is the
paper's network, the reproduction (``backbone="paper"``).

**The residual family** (``backbone="residual"``) keeps the paper's idea, a spatial transformer
that chooses where to look, and gives the feature branch more to learn with per parameter:

* the transformer warps the **input image** (``layout="input_warp"``), so every page draws the
  face the classifier actually reads;
* the feature branch is a 3x3 stem (batch norm, ReLU, max-pool to 24x24), then one residual
  block per entry of ``widths``: two padded 3x3 convolutions with batch norm, a 1x1 projection
  shortcut where the width changes, ReLU after the sum, and a 2x2 max-pool after every block
  but the last (24 -> 12 -> 6);
* the classifier averages the last block's maps over space and applies one linear layer
  (global average pooling, as mini-Xception does), after dropout.

Why dense 3x3 blocks and not depthwise-separable ones: on the two AVX-512 cores this project
trains on, a mini-Xception-shaped separable network of 138k parameters trained about 3x slower
per step than dense blocks of 172k (docs/RESULTS.md, "The residual family"), so at a fixed
time budget dense blocks see more epochs.  ``describe_stages`` names the stages for the Model
card's diagram.

``input_norm="per_image"`` standardises each face to zero mean and unit variance before both
branches (no parameters).  The preprocessing maps pixels with one fixed mean and standard
deviation, so a dim, low-contrast photo reaches the first convolution with less signal than a
bright one, and the augmentation varies geometry, never contrast; per-image standardisation
makes the network blind to brightness and contrast by construction.  Inside the network it
travels with the checkpoint, so every caller (evaluation, the dashboard, the attributions) gets
it without a change to the preprocessing.  No shipped network uses it: it did not raise
validation accuracy on FER2013, CK+ or JAFFE (docs/RESULTS.md, ablations and recipe studies).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DeepEmotionConfig", "DeepEmotion", "Attention", "ResidualBlock", "Ensemble",
           "build_model", "count_parameters", "describe_stages", "BACKBONES", "LAYOUTS",
           "PADDING_MODES", "INPUT_NORMS"]

BACKBONES = ("paper", "residual")
LAYOUTS = ("paper", "input_warp")
PADDING_MODES = ("zeros", "border", "reflection")
INPUT_NORMS = ("dataset", "per_image")

# grid_sample/affine_grid treat pixels as areas, not points (the PyTorch default since 1.3);
# named once so the warp and every explanation of it agree.
ALIGN_CORNERS = False


@dataclass(frozen=True)
class DeepEmotionConfig:
    """Everything needed to rebuild a network; stored verbatim in checkpoint cards.

    The defaults are the paper's network.  Shipped paper networks change only
    ``num_classes``, ``channels``, ``hidden`` and ``dropout``; the fields marked *ablation*
    exist for the ablation studies (docs/RESULTS.md) and for comparing with other
    reimplementations.  The residual family sets ``backbone``, ``stem``, ``widths`` and
    ``layout="input_warp"`` (module docstring).
    """

    num_classes: int = 7            # size of the head; the card stores the class names
    backbone: Literal["paper", "residual"] = "paper"  # feature branch (module docstring)
    stem: int = 16                  # residual: filters of the 3x3 stem
    widths: tuple[int, ...] = (24, 48, 72)  # residual: filters of each residual block
    image_size: int = 48            # square grayscale input, FER2013 framing
    layout: Literal["paper", "input_warp"] = "paper"  # ablation: what theta warps (module doc)
    use_stn: bool = True            # ablation: False drops the localization branch
    channels: int = 10              # filters in each of the 4 feature convolutions
    loc_channels: tuple[int, int] = (8, 10)  # filters of the 2 localization convolutions
    # ablation: localization kernels; (3, 3) -> flatten 1000, (7, 5) -> the popular
    # reimplementation's 640
    loc_kernels: tuple[int, int] = (3, 3)
    loc_hidden: int = 32            # hidden units of the localization FC (paper: 32)
    hidden: int = 50                # hidden units of the classifier FC (paper: 50)
    dropout: float = 0.5            # after the feature branch, as in the paper's code; the
                                    # shipped recipes use 0.1-0.3
    # ablation: how the warp fills pixels it pulls from outside the frame
    padding_mode: Literal["zeros", "border", "reflection"] = "zeros"
    # ablation: "dataset" = the preprocessing's fixed mean/std only; "per_image" = also
    # standardise each face (module docstring)
    input_norm: Literal["dataset", "per_image"] = "dataset"

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.backbone == "residual" and self.layout != "input_warp":
            raise ValueError("the residual backbone pools its maps away, so its transformer "
                             "warps the input: set layout='input_warp'")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {self.padding_mode!r}")
        if self.input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {INPUT_NORMS}, got {self.input_norm!r}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {self.num_classes}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.feature_size < 1 or self.loc_size < 1:
            raise ValueError(f"image_size {self.image_size} is too small for this network")

    @property
    def feature_size(self) -> int:
        """Side of the feature maps the classifier reads.

        paper: two (conv, conv, pool) stages of unpadded 3x3 convs (48 -> 9); residual: the
        stem's pool and one pool after every block but the last (48 -> 24 -> 12 -> 6).
        """
        side = self.image_size
        if self.backbone == "residual":
            return side // 2 ** len(self.widths)
        for _ in range(2):
            side = (side - 4) // 2
        return side

    @property
    def loc_size(self) -> int:
        """Side of the localization maps: two (conv, pool) stages."""
        side = self.image_size
        for k in self.loc_kernels:
            side = (side - k + 1) // 2
        return side

    def to_dict(self) -> dict:
        return {**asdict(self), "loc_channels": list(self.loc_channels),
                "loc_kernels": list(self.loc_kernels), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, data: dict) -> "DeepEmotionConfig":
        """Rebuild from a card; unknown keys are an error, not silently dropped."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known: {sorted(known)}")
        data = dict(data)
        for key in ("loc_channels", "loc_kernels", "widths"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


class Attention(NamedTuple):
    """What the spatial transformer did to a batch.

    theta:  (B, 2, 3) affine matrices mapping output grid coords to input coords in [-1, 1].
    warped: what the classifier reads after the warp: (B, C, 9, 9) feature maps for the paper
            layout, (B, 1, H, W) image (after ``input_norm``) for the input-warp layout.
    logits: (B, num_classes) pre-softmax scores.
    """

    theta: torch.Tensor
    warped: torch.Tensor
    logits: torch.Tensor


def warp(x: torch.Tensor, theta: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Resample ``x`` (B, C, H, W) through the affine ``theta`` (B, 2, 3); output keeps x's size."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=ALIGN_CORNERS)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode,
                         align_corners=ALIGN_CORNERS)


class ResidualBlock(nn.Module):
    """Two padded 3x3 conv + batch norm layers and a shortcut, ReLU after the sum, then an
    optional 2x2 max-pool: (B, C_in, H, W) -> (B, C_out, H', W') with H' = H // 2 if ``pool``.

    The shortcut is the identity when the width stays, else a 1x1 conv + batch norm.  Modules
    are registered in the order they run and the padded convs keep positions, so walking the
    leaves (``explain.stn.feature_geometry``) places the block's output cells correctly; every
    ReLU is its own module so Captum's guided backprop can hook it.
    """

    def __init__(self, c_in: int, c_out: int, pool: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = (nn.Identity() if c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out)))
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.body(x) + self.shortcut(x)))

    def reset_parameters(self) -> None:
        """Re-initialise every layer of both paths (the sanity check randomises whole blocks)."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()


def _paper_features(config: DeepEmotionConfig) -> nn.Sequential:
    """The paper's feature branch: (B, 1, 48, 48) -> (B, C, 9, 9)."""
    c = config.channels
    # One nn.ReLU per site so Captum's guided backprop can hook each one.
    return nn.Sequential(
        nn.Conv2d(1, c, 3), nn.Conv2d(c, c, 3), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(c, c, 3), nn.Conv2d(c, c, 3), nn.BatchNorm2d(c), nn.MaxPool2d(2), nn.ReLU(),
        nn.Dropout(config.dropout),
    )


def _paper_classifier(config: DeepEmotionConfig) -> nn.Sequential:
    """The paper's classifier: FC (C * 9 * 9) -> hidden -> classes over the flattened maps."""
    return nn.Sequential(
        nn.Linear(config.channels * config.feature_size ** 2, config.hidden), nn.ReLU(),
        nn.Linear(config.hidden, config.num_classes),
    )


def _residual_features(config: DeepEmotionConfig) -> nn.Sequential:
    """The residual family's feature branch: (B, 1, 48, 48) -> (B, widths[-1], 6, 6)."""
    layers: list[nn.Module] = [nn.Conv2d(1, config.stem, 3, padding=1, bias=False),
                               nn.BatchNorm2d(config.stem), nn.ReLU(), nn.MaxPool2d(2)]
    c_in = config.stem
    for i, width in enumerate(config.widths):
        layers.append(ResidualBlock(c_in, width, pool=i < len(config.widths) - 1))
        c_in = width
    layers.append(nn.Dropout(config.dropout))
    return nn.Sequential(*layers)


def _residual_classifier(config: DeepEmotionConfig) -> nn.Sequential:
    """Global average pooling, then one linear layer: (B, widths[-1], 6, 6) -> (B, classes)."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(config.widths[-1], config.num_classes))


def describe_stages(config: dict) -> list[str]:
    """One short label per stage of the feature branch of a card's ``config`` (for diagrams)."""
    cfg = DeepEmotionConfig.from_dict(config)
    if cfg.backbone == "paper":
        c = cfg.channels
        return [f"2 conv 3x3 ({c}), pool, ReLU", f"2 conv 3x3 ({c}), BN, pool, ReLU",
                f"dropout, {c}x{cfg.feature_size}x{cfg.feature_size}"]
    stages = [f"conv 3x3 ({cfg.stem}), BN, ReLU, pool"]
    for i, width in enumerate(cfg.widths):
        last = i == len(cfg.widths) - 1
        stages.append(f"residual block ({width}){'' if last else ', pool'}")
    side = cfg.feature_size
    stages.append(f"dropout, average {cfg.widths[-1]}x{side}x{side}")
    return stages


class DeepEmotion(nn.Module):
    """The attentional network; input (B, 1, S, S) normalised floats, output (B, classes) logits."""

    def __init__(self, config: DeepEmotionConfig = DeepEmotionConfig()) -> None:
        super().__init__()
        self.config = config
        paper = config.backbone == "paper"
        self.features = _paper_features(config) if paper else _residual_features(config)
        if config.use_stn:
            l1, l2 = config.loc_channels
            k1, k2 = config.loc_kernels
            self.localization = nn.Sequential(
                nn.Conv2d(1, l1, k1), nn.MaxPool2d(2), nn.ReLU(),
                nn.Conv2d(l1, l2, k2), nn.MaxPool2d(2), nn.ReLU(),
            )
            self.fc_loc = nn.Sequential(
                nn.Linear(l2 * config.loc_size ** 2, config.loc_hidden), nn.ReLU(),
                nn.Linear(config.loc_hidden, 6),
            )
        # Built after the localization branch, so a seeded paper network draws the same
        # initial weights as it always has (and registration order, which the sanity check's
        # randomisation order follows, stays features, localization, classifier).
        self.classifier = _paper_classifier(config) if paper else _residual_classifier(config)
        self.reset_theta()

    def reset_theta(self) -> None:
        """Start the localization head at the identity transform (zero weights, identity bias)."""
        if not self.config.use_stn:
            return
        last = self.fc_loc[-1]
        nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """What both branches read: ``x`` (B, 1, S, S), per-image standardised if configured.

        The statistics run over each face's pixels; the small floor keeps a blank image finite.
        """
        if self.config.input_norm == "dataset":
            return x
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (x - mean) / std.clamp_min(1e-3)

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """The affine matrices (B, 2, 3) the localization branch predicts for ``x``."""
        return self._localize(self.normalise(x))

    def _localize(self, x: torch.Tensor) -> torch.Tensor:
        """theta (B, 2, 3) for an already normalised ``x``."""
        if not self.config.use_stn:
            eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=x.dtype, device=x.device)
            return eye.expand(x.shape[0], 2, 3)
        loc = self.localization(x).flatten(1)  # (B, l2 * loc_size^2)
        return self.fc_loc(loc).view(-1, 2, 3)

    def attend(self, x: torch.Tensor) -> Attention:
        """Run the network and return theta, the warped view and the logits together."""
        x = self.normalise(x)
        theta = self._localize(x)
        pad = self.config.padding_mode
        if self.config.layout == "paper":
            maps = self.features(x)  # (B, C, 9, 9)
            warped = warp(maps, theta, pad) if self.config.use_stn else maps
            logits = self.classifier(warped.flatten(1))
        else:
            warped = warp(x, theta, pad) if self.config.use_stn else x
            maps = self.features(warped)
            # The residual classifier pools the maps itself; the paper's reads them flat.
            logits = self.classifier(maps if self.config.backbone == "residual" else maps.flatten(1))
        return Attention(theta, warped, logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attend(x).logits


def build_model(**overrides) -> DeepEmotion:
    """A fresh, untrained network; ``overrides`` are fields of ``DeepEmotionConfig``.

    A trained network comes with its card from ``deep_emotion.checkpoints.load_checkpoint``
    (``load_checkpoint("fer2013").model``): the checkpoint code builds on this module, never
    the other way round.
    """
    return DeepEmotion(DeepEmotionConfig.from_dict(overrides))


class Ensemble(nn.Module):
    """The mean logits of several networks with the same classes: (B, 1, S, S) -> (B, C).

    Used as a distillation teacher (``TrainConfig.teacher = "a+b"``); averaging logits keeps
    the members' relative confidence, which the student's temperature-softened targets read.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
