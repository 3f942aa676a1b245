"""Attribution maps for DeepEmotion, one class per method, all computed by Captum.

Every explainer is built from a network (and the checkpoint's preprocessing, for baselines in
pixel terms) and answers ``.attribute(images, target=None) -> Attribution``: float maps
(B, 1, S, S) the size of the input, the targets used, and metadata.  ``target=None`` explains
the predicted class.

**What is attributed: the target's logit**, not its probability.  Softmax couples the classes
(a patch that raises "surprise" lowers P(fear) without saying anything about fear) and
saturates on confident faces, where gradients of the probability vanish.  The faithfulness
curves in ``metrics.py`` then score maps by the probability, as Petsiuk et al. do.  The one
exception is ``OcclusionFlip``, whose output is a decision (does the target still win?).

Methods (``METHODS`` maps the CLI names to classes):

================  =====================================================  ===============
name              what a pixel's value means                             Captum class
================  =====================================================  ===============
occlusion         mean logit drop when a window around it is black       Occlusion
flip              share of covering windows whose occlusion changes      Occlusion
                  whether the target wins (the paper's test)
ig                integrated gradients from a black face                 IntegratedGradients
saliency          absolute logit gradient                                Saliency
smoothgrad        absolute gradient averaged over noisy copies           NoiseTunnel
gradcam           Grad-CAM of the last conv, placed in the input frame   LayerGradCam
guided-gradcam    guided backprop times that Grad-CAM                    GuidedBackprop
stn               where the spatial transformer samples (class-blind)    (stn.py)
================  =====================================================  ===============
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

import captum.attr as ca
import torch
from torch import nn

from deep_emotion.explain.stn import feature_geometry, layer_to_input, stn_attention
from deep_emotion.model import DeepEmotion, ResidualBlock
from deep_emotion.preprocess import DEFAULT_PREPROCESSING, Preprocessing

__all__ = ["Attribution", "Explainer", "Occlusion", "OcclusionFlip", "IntegratedGradients",
           "Saliency", "SmoothGrad", "GradCam", "GuidedGradCam", "StnHeatmap", "METHODS",
           "ATTRIBUTED_OUTPUT", "make_explainer", "OCCLUSION_WINDOW", "OCCLUSION_STRIDE"]

ATTRIBUTED_OUTPUT = "logit"  # see the module docstring
# Occlusion defaults for one face, shared by ``deep-emotion explain`` and the dashboard.  An 8 px
# window is an eye or a mouth corner at FER2013's framing.  Stride 4, not 2: 100 windows instead
# of 441 make it 3.1x faster (174 against 537 ms per face on one thread, 16 FER2013 test faces),
# while the map ranks pixels as stride 2's does (median Spearman 0.94) and is nearly as faithful
# (deletion AUC 0.167 against 0.159); ``python bench/occlusion_stride.py`` measures all three.
OCCLUSION_WINDOW = 8
OCCLUSION_STRIDE = 4
BLACK = 0.0  # pixel intensity of the default baseline, converted by the checkpoint's normalisation
# Images per forward+backward pass in IG and SmoothGrad: activations and their gradients take
# about 0.5 MB per image, so whole test batches (256 faces x 50 steps) would need gigabytes.
GRAD_BATCH = 512

Target = int | Sequence[int] | torch.Tensor | None


class Attribution(NamedTuple):
    """The output of every explainer.

    maps:   float32 (B, 1, S, S), aligned pixel for pixel with the input faces.
    target: int64 (B,) the class each map explains.
    meta:   method name, its parameters, what is attributed and the value range, plus
            per-method extras (IG's convergence delta).
    """

    maps: torch.Tensor
    target: torch.Tensor
    meta: dict


class Explainer:
    """Common frame: argument checks, target resolution, eval mode, metadata.

    Subclasses set ``name``, ``label`` and ``values`` (what the map's numbers mean) and implement
    ``_attribute(x, target)``; constructor keywords become ``params`` so that the same method
    can be rebuilt on another network (the randomisation sanity check does).
    """

    name: ClassVar[str]
    label: ClassVar[str]  # what a person reads: in the dashboard's titles, tables and downloads
    values: ClassVar[str]

    def __init__(self, model: DeepEmotion, preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
                 **params) -> None:
        self.model = model
        self.preprocessing = preprocessing
        self.params = params

    def rebuild(self, model: DeepEmotion) -> "Explainer":
        """The same method with the same parameters on another network."""
        return type(self)(model, self.preprocessing, **self.params)

    def attribute(self, images: torch.Tensor, target: Target = None) -> Attribution:
        """Explain ``target`` for normalised faces.

        Args:
            images: float (B, 1, S, S) network inputs (``Preprocessing.to_input``).
            target: class index for all faces, one per face, or None for the predicted class.

        Returns:
            Attribution with maps (B, 1, S, S).

        Raises:
            ValueError: on a wrong image shape or a target outside the head.
        """
        size = self.model.config.image_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (1, size, size):
            raise ValueError(f"expected normalised faces (B, 1, {size}, {size}), "
                             f"got {tuple(images.shape)}")
        # a leaf that requires grad, so gradient methods don't warn (perturbation ones ignore it)
        images = images.detach().float().requires_grad_()
        was_training = self.model.training
        self.model.eval()
        try:
            target = self._resolve_target(images, target)
            maps, extra = self._attribute(images, target)
        finally:
            self.model.train(was_training)
        meta = {"method": self.name, "params": dict(self.params), "attributes": ATTRIBUTED_OUTPUT,
                "values": self.values, **extra}
        return Attribution(maps.detach().float(), target, meta)

    def _resolve_target(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        n, classes = len(images), self.model.config.num_classes
        if target is None:
            with torch.no_grad():
                return self.model(images).argmax(1)
        t = torch.as_tensor(target, dtype=torch.long).flatten()
        if t.numel() == 1:
            t = t.expand(n)
        if t.numel() != n:
            raise ValueError(f"{t.numel()} targets for {n} faces")
        if ((t < 0) | (t >= classes)).any():
            raise ValueError(f"target must be in 0..{classes - 1}, got {t.tolist()}")
        return t.clone()

    def _attribute(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError


def inference_copy(model: nn.Module) -> nn.Module:
    """A frozen eval-mode copy in channels-last layout, for forward-only perturbation methods.

    Channels-last convolutions run the same arithmetic 2-3x faster on CPU for this small
    network; copying keeps the caller's (possibly shared, cached) model untouched.
    """
    fast = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast


class Occlusion(Explainer):
    """Occlusion (Zeiler & Fergus 2014): slide a baseline patch over the face and record the
    drop of the target logit; a pixel gets the mean drop over the windows covering it.

    Args:
        model: the network.
        preprocessing: converts ``baseline`` from pixel intensity to network input.
        window: side of the square patch in pixels (``OCCLUSION_WINDOW``).
        stride: step between patches in pixels (``OCCLUSION_STRIDE``), at most the window:
            a longer step would leave pixels that no patch covers.
        baseline: intensity 0..255 the patch is filled with (0, black).
        batch_size: faces-times-perturbations per forward pass (128); Captum's
            ``perturbations_per_eval`` is derived from it.

    Example::

        >>> occ = Occlusion(ckpt.model, ckpt.preprocessing, window=8, stride=2)
        >>> occ.attribute(ckpt.preprocessing.to_input(faces)).maps.shape
        torch.Size([B, 1, 48, 48])
    """

    name = "occlusion"
    label = "Occlusion"
    values = "target logit drop when occluded (positive: the region supports the target)"

    def __init__(self, model: DeepEmotion, preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
                 *, window: int = OCCLUSION_WINDOW, stride: int = OCCLUSION_STRIDE,
                 baseline: float = BLACK, batch_size: int = 128) -> None:
        if not 1 <= window <= model.config.image_size or not 1 <= stride <= window \
                or batch_size < 1:
            raise ValueError(f"need 1 <= window <= {model.config.image_size}, "
                             f"1 <= stride <= window and batch_size >= 1; got window {window}, "
                             f"stride {stride}, batch_size {batch_size}")
        if not 0 <= baseline <= 255:
            raise ValueError(f"baseline is a pixel intensity in 0..255, got {baseline}")
        super().__init__(model, preprocessing, window=window, stride=stride, baseline=baseline,
                         batch_size=batch_size)

    def _forward(self, target: torch.Tensor):
        """The function Captum perturbs; the target is given to Captum, not used here."""
        return inference_copy(self.model)

    def _target_for_captum(self, target: torch.Tensor) -> torch.Tensor | None:
        return target

    def _attribute(self, x, target):
        w, s = self.params["window"], self.params["stride"]
        per_eval = max(1, self.params["batch_size"] // len(x))
        maps = ca.Occlusion(self._forward(target)).attribute(
            x, sliding_window_shapes=(1, w, w), strides=(1, s, s),
            baselines=self.preprocessing.pixel_value(self.params["baseline"]),
            target=self._target_for_captum(target), perturbations_per_eval=per_eval)
        return maps, {}


class OcclusionFlip(Occlusion):
    """The paper's occlusion test: does hiding this patch change the decision?

    Captum's Occlusion runs on the indicator "the target class wins"; a pixel's value is then
    the share of the windows covering it whose occlusion makes the target lose (when the
    target is the prediction), in [0, 1].  For a target that is not the prediction the values
    are in [-1, 0]: minus the share of windows whose occlusion makes it win.  Same parameters
    as ``Occlusion``.
    """

    name = "flip"
    label = "Occlusion flips (the paper's test)"
    values = "share of covering windows whose occlusion changes whether the target wins"

    def _forward(self, target):
        net = inference_copy(self.model)

        def wins(x: torch.Tensor) -> torch.Tensor:
            # Captum stacks perturbations perturbation-major: [face 0..B-1, face 0..B-1, ...]
            t = target.repeat(len(x) // len(target))
            return (net(x).argmax(1) == t).float()

        return wins

    def _target_for_captum(self, target):
        return None


class IntegratedGradients(Explainer):
    """Integrated gradients (Sundararajan et al. 2017) from a constant baseline face.

    Args:
        n_steps: points of the Gauss-Legendre path integral (50).
        baseline: intensity 0..255 of the baseline face (0, black).

    ``meta["delta"]`` holds the per-face completeness error (sum of the map minus the logit
    difference between face and baseline); near 0 means enough steps.  Values are signed.
    """

    name = "ig"
    label = "Integrated gradients"
    values = "signed contribution to the target logit relative to a black face"

    def __init__(self, model: DeepEmotion, preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
                 *, n_steps: int = 50, baseline: float = BLACK) -> None:
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        super().__init__(model, preprocessing, n_steps=n_steps, baseline=baseline)

    def _attribute(self, x, target):
        n = self.params["n_steps"]
        maps, delta = ca.IntegratedGradients(self.model).attribute(
            x, baselines=self.preprocessing.pixel_value(self.params["baseline"]), target=target,
            n_steps=n, internal_batch_size=max(len(x), min(len(x) * n, GRAD_BATCH)),
            return_convergence_delta=True)
        return maps, {"delta": delta.detach().tolist()}


class Saliency(Explainer):
    """Gradient magnitude (Simonyan et al. 2014): |d logit / d pixel|."""

    name = "saliency"
    label = "Saliency (|gradient|)"
    values = "absolute gradient of the target logit"

    def _attribute(self, x, target):
        return ca.Saliency(self.model).attribute(x, target=target, abs=True), {}


class SmoothGrad(Explainer):
    """SmoothGrad (Smilkov et al. 2017): saliency averaged over noisy copies of the face.

    Args:
        samples: noisy copies per face (25).
        noise: noise standard deviation as a fraction of the input's value range (0.15; the
            paper recommends 10-20%).
        seed: seeds the noise so maps are reproducible; the global RNG is left untouched.
    """

    name = "smoothgrad"
    label = "SmoothGrad"
    values = "mean absolute gradient of the target logit under input noise"

    def __init__(self, model: DeepEmotion, preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
                 *, samples: int = 25, noise: float = 0.15, seed: int = 0) -> None:
        if samples < 1 or noise < 0:
            raise ValueError(f"need samples >= 1 and noise >= 0, got {samples}, {noise}")
        super().__init__(model, preprocessing, samples=samples, noise=noise, seed=seed)

    def _attribute(self, x, target):
        pre = self.preprocessing
        stdev = self.params["noise"] * (pre.pixel_value(255) - pre.pixel_value(0))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.params["seed"])
            maps = ca.NoiseTunnel(ca.Saliency(self.model)).attribute(
                x, nt_type="smoothgrad", nt_samples=self.params["samples"],
                nt_samples_batch_size=max(1, min(self.params["samples"], GRAD_BATCH // len(x))),
                stdevs=stdev, target=target,
                abs=True)
        return maps, {"stdev": stdev}


def _last_conv(model: DeepEmotion) -> tuple[int, nn.Module]:
    """The feature branch's last convolution, or last residual block (whose output is the
    sum of its two paths, so no single conv inside it stands for it)."""
    index = max(i for i, m in enumerate(model.features)
                if isinstance(m, (nn.Conv2d, ResidualBlock)))
    return index, model.features[index]


def _grad_cam(model: DeepEmotion, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Grad-CAM of the last feature conv (ReLU'd), resampled into the input frame (B, 1, S, S).

    Placed by receptive-field geometry (``stn.layer_to_input``) rather than Captum's plain
    upsampling, which would stretch the 18x18 map over the whole face although it covers the
    central 40x40 pixels; in the input-warp layout the conv sees the warped face, so the map
    is also carried back through theta.
    """
    index, conv = _last_conv(model)
    cam = ca.LayerGradCam(model, conv).attribute(x, target=target, relu_attributions=True)
    geometry = feature_geometry(model.features[:index + 1], cam.shape[-1])
    theta = None
    if model.config.layout == "input_warp" and model.config.use_stn:
        with torch.no_grad():
            theta = model.theta(x)
    return layer_to_input(cam.detach(), geometry, x.shape[-1], theta)


class GradCam(Explainer):
    """Grad-CAM (Selvaraju et al. 2017) on the last convolution of the feature branch."""

    name = "gradcam"
    label = "Grad-CAM"
    values = "ReLU of gradient-weighted last-conv activations (coarse, >= 0)"

    def _attribute(self, x, target):
        return _grad_cam(self.model, x, target), {"layer": f"features.{_last_conv(self.model)[0]}"}


class GuidedGradCam(Explainer):
    """Guided Grad-CAM: Captum's guided backprop times our aligned Grad-CAM.

    Captum's ``GuidedGradCam`` multiplies the same two factors but upsamples the CAM by
    stretching it; we reuse its guided backprop and place the CAM as ``GradCam`` does.
    """

    name = "guided-gradcam"
    label = "Guided Grad-CAM"
    values = "guided-backprop gradient times Grad-CAM (signed, fine-grained)"

    def _attribute(self, x, target):
        with warnings.catch_warnings():  # Captum announces its (temporary) ReLU hooks
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
            guided = ca.GuidedBackprop(self.model).attribute(x, target=target)
        return guided * _grad_cam(self.model, x, target), {
            "layer": f"features.{_last_conv(self.model)[0]}"}


class StnHeatmap(Explainer):
    """Where the spatial transformer samples, as a map (``stn.stn_attention().heatmap``).

    Theta does not depend on the class, so ``target`` only labels the result.  Values are
    sampled points per input pixel (1 everywhere in the sampled frame for the identity).
    ``meta`` adds, per face, ``theta`` (2x3), ``grid_outline`` (5 (x, y) corners) and ``view``
    (R x R pixel intensities 0..255 of the face as the sampled frame shows it).
    """

    name = "stn"
    label = "STN attention"
    values = "sampled points per input pixel (class-independent)"

    def _attribute(self, x, target):
        att = stn_attention(self.model, x)
        view = self.preprocessing.to_pixels(att.view)[:, 0].round().to(torch.uint8)
        return att.heatmap.unsqueeze(1), {"theta": att.theta.tolist(),
                                          "grid_outline": att.grid_outline.tolist(),
                                          "view": view.tolist()}


METHODS: dict[str, type[Explainer]] = {cls.name: cls for cls in (
    Occlusion, OcclusionFlip, IntegratedGradients, Saliency, SmoothGrad, GradCam, GuidedGradCam,
    StnHeatmap)}


def make_explainer(method: str, model: DeepEmotion,
                   preprocessing: Preprocessing = DEFAULT_PREPROCESSING, **params) -> Explainer:
    """The explainer registered as ``method`` (a key of ``METHODS``) with its parameters."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {sorted(METHODS)}")
    return METHODS[method](model, preprocessing, **params)
