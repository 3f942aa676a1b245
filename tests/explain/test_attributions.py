"""Attribution methods: one signature, Captum's numbers, aligned maps, no side effects."""

from __future__ import annotations

import captum.attr
import pytest
import torch

from deep_emotion.explain.attributions import (METHODS, IntegratedGradients, Occlusion,
                                               OcclusionFlip, make_explainer)
from deep_emotion.preprocess import DEFAULT_PREPROCESSING, Preprocessing

from tests.explain.conftest import PATCH, PATCH_AT, faces_at_the_decision_boundary, patch_faces

# cheap settings so every method runs in well under a second on 2 faces
FAST = {"occlusion": {"window": 12, "stride": 6}, "flip": {"window": 12, "stride": 6},
        "ig": {"n_steps": 8}, "smoothgrad": {"samples": 4}}


class _LinearNet(torch.nn.Module):
    """Logit 0 = sum of the input, logit 1 = minus it: attributions are hand-computable."""

    config = type("Config", (), {"image_size": 48, "num_classes": 2})()

    def forward(self, x):
        s = x.flatten(1).sum(1, keepdim=True)
        return torch.cat([s, -s], 1)


class _PatchNet(torch.nn.Module):
    """Logit k = mean input over the square where class k's patch is drawn (``patch_faces``):
    a face's class is its bright patch, and blacking out enough of it flips the decision."""

    config = type("Config", (), {"image_size": 48, "num_classes": len(PATCH_AT)})()

    def forward(self, x):
        return torch.stack([x[:, 0, r:r + PATCH, c:c + PATCH].mean((1, 2)) for r, c in PATCH_AT], 1)


def not_blank(maps: torch.Tensor) -> torch.Tensor:
    """bool (B,): the map varies over the face, so it says something about where."""
    flat = maps.flatten(1)
    return (flat != flat[:, :1]).any(1)


def flip_shares_by_hand(model, x: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """The flip map computed window by window: per pixel, the share of the windows covering
    it whose black-out makes the predicted class lose."""
    black = DEFAULT_PREPROCESSING.pixel_value(0)
    pred = model(x).argmax(1)
    flips, covers = torch.zeros_like(x), torch.zeros_like(x)
    for top in range(0, 48 - window + 1, stride):
        for left in range(0, 48 - window + 1, stride):
            hidden = x.clone()
            hidden[..., top:top + window, left:left + window] = black
            lost = (model(hidden).argmax(1) != pred).float().view(-1, 1, 1, 1)
            covers[..., top:top + window, left:left + window] += 1
            flips[..., top:top + window, left:left + window] += lost
    return flips / covers


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_returns_a_finite_map_the_size_of_the_input(random_model, method):
    x = faces_at_the_decision_boundary(random_model)
    result = make_explainer(method, random_model, **FAST.get(method, {})).attribute(x)
    assert result.maps.shape == (2, 1, 48, 48) and result.maps.dtype == torch.float32
    assert torch.isfinite(result.maps).all()
    assert not_blank(result.maps).all()
    torch.testing.assert_close(result.target, random_model(x).argmax(1))
    assert result.meta["method"] == method and result.meta["attributes"] == "logit"


@pytest.mark.parametrize("method", sorted(METHODS))
def test_methods_are_deterministic_and_leave_the_network_untouched(random_model, method):
    x = faces_at_the_decision_boundary(random_model)
    target = random_model(x).argmax(1)
    before = {k: v.clone() for k, v in random_model.state_dict().items()}
    random_model.train()
    explainer = make_explainer(method, random_model, **FAST.get(method, {}))
    first, second = explainer.attribute(x, target), explainer.attribute(x, target)
    assert not_blank(first.maps).all()
    torch.testing.assert_close(first.maps, second.maps, rtol=0, atol=0)
    assert random_model.training  # mode restored
    for k, v in random_model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    assert not any(m._backward_hooks or m._forward_hooks for m in random_model.modules())


def test_occlusion_equals_captums_own_output_for_the_same_arguments(patch_model, patch_batch):
    x, labels = patch_batch
    ours = Occlusion(patch_model, window=8, stride=2).attribute(x, labels).maps
    black = DEFAULT_PREPROCESSING.pixel_value(0)
    captums = captum.attr.Occlusion(patch_model).attribute(
        x, sliding_window_shapes=(1, 8, 8), strides=(1, 2, 2), baselines=black, target=labels,
        perturbations_per_eval=1)
    torch.testing.assert_close(ours, captums, atol=1e-5, rtol=1e-4)


def test_occlusion_baseline_is_a_pixel_intensity_converted_by_the_checkpoint():
    pre = Preprocessing(mean=0.2, std=0.5)
    # one window covering the whole face: the map is the logit drop everywhere
    model = _LinearNet()
    x = torch.full((1, 1, 48, 48), 1.0)
    maps = Occlusion(model, pre, window=48, stride=1, baseline=255).attribute(x, 0).maps
    expected = 48 * 48 * (1.0 - pre.pixel_value(255))  # logit 0 = sum of inputs
    torch.testing.assert_close(maps, torch.full_like(maps, expected))


def test_integrated_gradients_of_a_linear_net_are_input_minus_baseline():
    x = torch.randn(2, 1, 48, 48)
    result = IntegratedGradients(_LinearNet(), n_steps=4).attribute(x, 1)
    torch.testing.assert_close(result.maps, -(x - DEFAULT_PREPROCESSING.pixel_value(0)))
    assert max(abs(d) for d in result.meta["delta"]) < 1e-3


def test_occlusion_finds_the_patch_the_network_reads(patch_model, patch_batch):
    x, labels = patch_batch
    maps = Occlusion(patch_model).attribute(x, labels).maps[:, 0]
    for m, k in zip(maps, labels.tolist()):
        r, c = PATCH_AT[k]
        inside = m[r:r + PATCH, c:c + PATCH].mean()
        assert inside > 3 * m.abs().mean()


@pytest.mark.parametrize("window, expected", [(8, 0.0), (12, 1.0)])
def test_flip_marks_windows_whose_occlusion_changes_the_decision(window, expected):
    # constant face of 0.1: logit 0 (= sum) wins with 230.4; a black window of w x w pixels
    # (-2 each) lowers the sum by 2.1 w^2: 134 for 8x8 (still wins), 302 for 12x12 (flips)
    x = torch.full((1, 1, 48, 48), 0.1)
    explain = OcclusionFlip(_LinearNet(), window=window, stride=window)
    torch.testing.assert_close(explain.attribute(x).maps, torch.full_like(x, expected))
    # for the class that is not predicted, occluding makes it win: minus the share
    torch.testing.assert_close(explain.attribute(x, 1).maps, torch.full_like(x, -expected))


def test_flip_values_are_shares_of_windows():
    # four faces of alternating classes, explained in one batch of stacked perturbations
    images, labels = patch_faces(4, seed=5)
    x = DEFAULT_PREPROCESSING.to_input(images)
    net = _PatchNet()
    assert net(x).argmax(1).tolist() == labels.tolist()
    maps = OcclusionFlip(net, window=12, stride=4).attribute(x).maps
    torch.testing.assert_close(maps, flip_shares_by_hand(net, x, window=12, stride=4))
    for m, k in zip(maps[:, 0], labels.tolist()):
        r, c = PATCH_AT[k]
        assert m[r:r + PATCH, c:c + PATCH].min() > 0  # hiding the patch flips the decision
        far = torch.ones_like(m, dtype=torch.bool)
        far[max(0, r - 11):r + PATCH + 11, max(0, c - 11):c + PATCH + 11] = False
        assert m[far].abs().max() == 0  # no window that misses the patch flips it


def test_gradcam_is_placed_where_the_last_conv_sees(patch_model, patch_batch):
    x, labels = patch_batch
    maps = make_explainer("gradcam", patch_model).attribute(x, labels).maps[:, 0]
    # the last conv's 18x18 cells are centred on input pixels 6.5 .. 40.5, 2 px apart
    assert maps[:, :5].abs().max() == 0 and maps[:, 43:].abs().max() == 0
    assert maps[:, :, :5].abs().max() == 0 and maps[:, :, 43:].abs().max() == 0
    # and inside that frame the map peaks at the edge of the patch the network reads
    for m, k in zip(maps, labels.tolist()):
        r, c = PATCH_AT[k]
        row, col = divmod(int(m.argmax()), 48)
        assert m.max() > 0
        assert r - 2 <= row <= r + PATCH + 2 and c - 2 <= col <= c + PATCH + 2, (k, row, col)


def test_smoothgrad_is_seeded_and_leaves_the_global_rng_alone(random_model):
    x = torch.randn(1, 1, 48, 48)
    torch.manual_seed(7)
    state = torch.get_rng_state()
    a = make_explainer("smoothgrad", random_model, samples=3, seed=1).attribute(x).maps
    assert torch.equal(torch.get_rng_state(), state)
    b = make_explainer("smoothgrad", random_model, samples=3, seed=1).attribute(x).maps
    c = make_explainer("smoothgrad", random_model, samples=3, seed=2).attribute(x).maps
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_invalid_arguments_are_refused(random_model):
    occ = Occlusion(random_model)
    with pytest.raises(ValueError, match="expected normalised faces"):
        occ.attribute(torch.randn(2, 48, 48))
    with pytest.raises(ValueError, match="target must be in 0..6"):
        occ.attribute(torch.randn(1, 1, 48, 48), 7)
    with pytest.raises(ValueError, match="3 targets for 2 faces"):
        occ.attribute(torch.randn(2, 1, 48, 48), [0, 1, 2])
    with pytest.raises(ValueError, match="window"):
        Occlusion(random_model, window=0)
    with pytest.raises(ValueError, match="pixel intensity"):
        Occlusion(random_model, baseline=-1)
    with pytest.raises(ValueError, match="unknown method 'lime'"):
        make_explainer("lime", random_model)
