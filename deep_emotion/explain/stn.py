"""What the spatial transformer looks at, drawn in the 48x48 input frame.

The localization branch predicts an affine ``theta`` (B, 2, 3) that maps each point of the
warp's *output* frame to the point of its *input* frame it samples from (``affine_grid``
convention, coordinates in [-1, 1]).  What that input frame is depends on the layout:

* ``input_warp``: the input image itself, so frame coordinates are image coordinates;
* ``paper``: the 10x9x9 feature maps.  Each feature cell sees a patch of the face; its centre
  sits at ``stride * index + offset`` input pixels (stride 4, offset 7.5 for the default
  network), so the feature frame covers the central 36x36 input pixels (6..41).

Everything here is expressed in **input pixel coordinates**: ``(x, y)`` with pixel ``(i, j)``
centred at ``x = j, y = i`` and pixel edges at half-integers, the convention of
``imshow``/Plotly heatmaps, so outlines and heatmaps overlay the face directly.

The heatmap is the density of the points the warp samples, at one point per input pixel of
the sampled frame, splatted onto input pixels with the same bilinear weights ``grid_sample``
reads them with (it is the adjoint of the warp applied to ones).  With the identity theta it
is exactly 1 over the sampled frame and 0 elsewhere; a zoom by 2 gives 4 on a region a quarter
the size.  Samples falling outside the frame read padding, not the face, and are not counted.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from deep_emotion.model import ALIGN_CORNERS, DeepEmotion

__all__ = ["StnAttention", "FrameGeometry", "stn_attention", "feature_geometry", "sampled_frame",
           "frame_to_pixels", "layer_to_input"]

# The frame's corners in affine_grid coordinates, as a closed polygon (first corner repeated).
_CORNERS = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]])


class FrameGeometry(NamedTuple):
    """Where the cells of a (side x side) map sit in the input: cell k's centre is at input
    pixel coordinate ``stride * k + offset`` along both axes."""

    side: int
    stride: float
    offset: float


class StnAttention(NamedTuple):
    """What the spatial transformer did to a batch of B faces.

    theta:        float (B, 2, 3) affine matrices (output frame -> sampled frame, [-1, 1]).
    warped:       what the classifier reads: (B, C, 9, 9) feature maps for the paper layout,
                  (B, 1, S, S) image for the input-warp layout.
    grid_outline: float (B, 5, 2) the sampled region's corners as (x, y) input pixel
                  coordinates, a closed polygon (the warp is affine, so straight edges).
    heatmap:      float (B, S, S) sampled points per input pixel (see module docstring).
    view:         float (B, 1, R, R) the input face resampled through theta over the sampled
                  frame (R = 48 for input_warp, 36 for paper): the part of the face the
                  classifier's warped input stands for, as a picture (for input_warp it equals
                  ``warped``; for the paper layout ``warped`` is 10 feature maps).
    logits:       float (B, classes) the network's output for the same forward pass.
    """

    theta: torch.Tensor
    warped: torch.Tensor
    grid_outline: torch.Tensor
    heatmap: torch.Tensor
    view: torch.Tensor
    logits: torch.Tensor


def feature_geometry(layers: nn.Module, side: int) -> FrameGeometry:
    """Receptive-field centres of the output of ``layers`` (convs and pools applied in order).

    A conv or pool with kernel k, stride s and padding p centres its output cell j on input
    cell ``s * j - p + (k - 1) / 2``; composing these along the stack gives the affine map.
    Other modules (ReLU, batch norm, dropout) keep positions.  Nested modules are walked in
    registration order, which is the order they run for the paper's flat branch and for
    ``model.ResidualBlock`` (whose padded convs and 1x1 shortcut keep positions).

    Args:
        layers: a module whose submodules run in registration order (e.g. ``model.features``).
        side: side of the map ``layers`` produces (for ``FrameGeometry.side``).
    """
    stride, offset = 1.0, 0.0
    for layer in layers.modules():
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = (_first(getattr(layer, name)) for name in ("kernel_size", "stride", "padding"))
            offset += stride * ((k - 1) / 2 - p)
            stride *= s
    return FrameGeometry(side, stride, offset)


def sampled_frame(model: DeepEmotion) -> FrameGeometry:
    """Geometry of the frame theta samples from: the input image, or the paper's feature maps."""
    cfg = model.config
    if cfg.layout == "input_warp":
        return FrameGeometry(cfg.image_size, 1.0, 0.0)
    return feature_geometry(model.features, cfg.feature_size)


def frame_to_pixels(points: torch.Tensor, frame: FrameGeometry) -> torch.Tensor:
    """``affine_grid`` coordinates (..., 2) in ``frame`` -> (x, y) input pixel coordinates.

    With ``align_corners=False`` coordinate -1 is the outer edge of cell 0, so cell index
    ``u = ((c + 1) * side - 1) / 2``; the geometry then places cell centres in the input.
    """
    assert not ALIGN_CORNERS, "frame_to_pixels assumes align_corners=False (model.ALIGN_CORNERS)"
    cells = ((points + 1) * frame.side - 1) / 2
    return frame.stride * cells + frame.offset


@torch.no_grad()
def stn_attention(model: DeepEmotion, x: torch.Tensor) -> StnAttention:
    """Theta, warped view, sampled outline and sampling density for normalised faces.

    Args:
        model: a DeepEmotion network of either layout; run in eval mode, its mode restored.
            Without a localization branch (``use_stn=False``) theta is the identity.
        x: float (B, 1, S, S) normalised faces (``Preprocessing.to_input``).

    Returns:
        StnAttention; take ``[0]`` of each field for a single face.

    Example::

        >>> att = stn_attention(ckpt.model, ckpt.preprocessing.to_input(faces))
        >>> att.heatmap.shape, att.grid_outline.shape
        (torch.Size([B, 48, 48]), torch.Size([B, 5, 2]))
    """
    was_training = model.training
    model.eval()
    try:
        att = model.attend(x)
    finally:
        model.train(was_training)
    theta = att.theta.float()
    frame = sampled_frame(model)
    corners = _CORNERS.to(theta.device).expand(theta.shape[0], -1, -1)  # (B, 5, 2)
    sampled = corners @ theta[:, :, :2].transpose(1, 2) + theta[:, None, :, 2]
    outline = frame_to_pixels(sampled, frame)
    size = x.shape[-1]
    res = round(frame.side * frame.stride)
    grid = F.affine_grid(theta, [theta.shape[0], 1, res, res], align_corners=ALIGN_CORNERS)
    points = (2 * frame_to_pixels(grid, frame) + 1) / size - 1  # input-image grid coordinates
    view = F.grid_sample(x.float(), points, mode="bilinear", padding_mode="zeros",
                         align_corners=ALIGN_CORNERS)
    return StnAttention(att.theta, att.warped, outline, _density(grid, frame, size), view,
                        att.logits)


def _density(grid: torch.Tensor, frame: FrameGeometry, size: int) -> torch.Tensor:
    """(B, size, size) bilinear splat of ``grid`` (B, R, R, 2), the one-point-per-input-pixel
    grid warped by theta, in the sampled frame's coordinates.

    The splat is computed on a canvas at input resolution covering the sampled frame
    (``side * stride`` pixels), as the gradient of ``grid_sample`` on a canvas of ones: that
    gradient is, per canvas pixel, the sum of the bilinear weights every sample puts on it.
    The canvas is then placed at its position in the input frame.
    """
    b, res = grid.shape[0], grid.shape[1]
    shift = frame.offset + 0.5 - frame.stride / 2  # input pixel of canvas pixel 0 (see frame_to_pixels)
    if abs(shift - round(shift)) > 1e-6 or not 0 <= round(shift) <= size - res:
        raise ValueError(f"sampled frame {frame} does not sit on whole input pixels")
    with torch.enable_grad():
        canvas = torch.zeros(b, 1, res, res, device=grid.device, requires_grad=True)
        out = F.grid_sample(canvas + 1, grid, mode="bilinear", padding_mode="zeros",
                            align_corners=ALIGN_CORNERS)
        (density,) = torch.autograd.grad(out.sum(), canvas)
    lo = round(shift)
    return F.pad(density[:, 0], (lo, size - res - lo, lo, size - res - lo))


def layer_to_input(maps: torch.Tensor, geometry: FrameGeometry, size: int,
                   theta: torch.Tensor | None = None) -> torch.Tensor:
    """Resample layer maps (B, C, h, w) into the (size x size) input frame they describe.

    Plain upsampling would stretch an 18x18 map over all 48 pixels although unpadded convs
    make it cover only the centre; here each input pixel reads the layer cell centred on it
    (bilinear, zero outside the layer's extent).  When the layer runs on a warped image
    (``input_warp`` layout), pass that warp's ``theta``: an input pixel is then first carried
    to the warped-image position that sampled it, through the inverse affine map.

    Returns:
        float (B, C, size, size).
    """
    b = maps.shape[0]
    pix = torch.arange(size, dtype=maps.dtype, device=maps.device)
    yy, xx = torch.meshgrid(pix, pix, indexing="ij")
    points = torch.stack([xx, yy], -1).reshape(1, -1, 2).expand(b, -1, -1)  # (B, S*S, 2) pixels
    if theta is not None:
        normed = (2 * points + 1) / size - 1
        a, t = theta[:, :, :2].to(maps.dtype), theta[:, None, :, 2].to(maps.dtype)
        # q = A^-1 (p - t); pinv keeps a degenerate theta from raising
        normed = (normed - t) @ torch.linalg.pinv(a).transpose(1, 2)
        points = ((normed + 1) * size - 1) / 2
    cells = (points - geometry.offset) / geometry.stride
    grid = ((2 * cells + 1) / geometry.side - 1).reshape(b, size, size, 2)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=ALIGN_CORNERS)


def _first(value) -> float:
    return float(value[0] if isinstance(value, tuple) else value)
