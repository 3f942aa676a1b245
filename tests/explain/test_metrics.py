"""Trust metrics: agreement, faithfulness (deletion/insertion), model-randomisation sanity."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from deep_emotion.explain.attributions import Explainer, Occlusion
from deep_emotion.explain.metrics import (SanityCheck, deletion_curve, faithfulness_summary,
                                          insertion_curve, mean_interval, random_maps,
                                          randomisation_order, sanity_check, spearman, topk_iou)
from deep_emotion.preprocess import DEFAULT_PREPROCESSING
from tests.explain.conftest import patch_faces

BLACK = DEFAULT_PREPROCESSING.pixel_value(0)


class EdgeDetector(Explainer):
    """Sobel gradient magnitude of the face: a map that ignores the network entirely."""

    name = "edges"
    values = "image gradient magnitude"

    def _attribute(self, x, target):
        kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)
        gx, gy = F.conv2d(x, kx, padding=1), F.conv2d(x, kx.transpose(2, 3), padding=1)
        return (gx ** 2 + gy ** 2).sqrt().detach(), {}


class OnlyTheOriginal(Explainer):
    """The face for the network it was built on, an all-zero map for any other."""

    name = "only-the-original"
    values = "|x| or 0"
    original = None

    def _attribute(self, x, target):
        return (x.abs() if self.model is OnlyTheOriginal.original else torch.zeros_like(x)), {}


def test_spearman_is_one_for_monotone_maps_and_minus_one_for_reversed():
    a = torch.rand(3, 48, 48)
    torch.testing.assert_close(spearman(a, a.exp() * 5), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(spearman(a, -a), -torch.ones(3, dtype=torch.float64))
    assert math.isnan(spearman(a[:1], torch.zeros(1, 48, 48))[0])


def test_topk_iou_counts_shared_top_pixels():
    a = torch.arange(100.0).view(1, 10, 10)
    torch.testing.assert_close(topk_iou(a, a, 0.1), torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close(topk_iou(a, -a, 0.1), torch.zeros(1, dtype=torch.float64))
    b = a.clone().flatten()
    b[[99, 98]] = -1  # top-10 of b = pixels 88..97: 8 shared with a's 90..99
    assert topk_iou(a, b.view(1, 10, 10), 0.1).item() == pytest.approx(8 / 12)
    with pytest.raises(ValueError):
        topk_iou(a, a, 0)


def test_random_maps_are_reproducible():
    assert torch.equal(random_maps((2, 48, 48), 3), random_maps((2, 48, 48), 3))
    assert not torch.equal(random_maps((2, 48, 48), 3), random_maps((2, 48, 48), 4))


def test_curves_run_from_the_intact_face_to_the_fully_changed_one(patch_model, patch_batch):
    x, labels = patch_batch
    maps = random_maps((len(x), 48, 48))
    probs = lambda z: torch.softmax(patch_model(z), 1)[torch.arange(len(z)), labels].double()  # noqa: E731
    with torch.no_grad():
        intact, black = probs(x), probs(torch.full_like(x, BLACK))
    dele = deletion_curve(patch_model, x, maps, labels, baseline=BLACK, steps=6)
    assert dele.scores.shape == (len(x), 7) and dele.fractions[[0, -1]].tolist() == [0, 1]
    torch.testing.assert_close(dele.scores[:, 0], intact, atol=1e-6, rtol=0)
    torch.testing.assert_close(dele.scores[:, -1], black, atol=1e-6, rtol=0)
    ins = insertion_curve(patch_model, x, maps, labels, steps=6)
    torch.testing.assert_close(ins.scores[:, -1], intact, atol=1e-6, rtol=0)
    assert ((dele.auc >= 0) & (dele.auc <= 1)).all()


def test_occlusion_deletes_faster_than_a_random_map_on_a_trained_network(patch_model, patch_batch):
    x, labels = patch_batch
    occlusion = Occlusion(patch_model).attribute(x, labels).maps
    ours = deletion_curve(patch_model, x, occlusion, labels, baseline=BLACK).auc.mean()
    rand = deletion_curve(patch_model, x, random_maps(occlusion.shape), labels,
                          baseline=BLACK).auc.mean()
    assert ours < rand - 0.1
    ins_ours = insertion_curve(patch_model, x, occlusion, labels).auc.mean()
    ins_rand = insertion_curve(patch_model, x, random_maps(occlusion.shape), labels).auc.mean()
    assert ins_ours > ins_rand


def test_randomisation_goes_from_the_output_down_to_the_first_conv(random_model):
    order = randomisation_order(random_model)
    assert order[:2] == ["classifier.2", "classifier.0"] and order[-1] == "features.0"
    assert len(order) == 11  # 2 classifier FC, 2 loc FC, 2 loc conv, BN, 4 feature conv


def test_sanity_check_fails_a_map_that_ignores_the_model(patch_model):
    result = sanity_check(EdgeDetector(patch_model), sixteen_faces())
    assert result.verdict == "fails" and not result.passed
    torch.testing.assert_close(result.similarity, torch.ones_like(result.similarity))


def sixteen_faces() -> torch.Tensor:
    """More faces than ``MIN_DEFINED_FACES``, so a verdict can be given: (16, 1, 48, 48)."""
    return DEFAULT_PREPROCESSING.to_input(patch_faces(16, seed=321)[0])


def test_a_map_that_goes_blank_on_a_random_network_is_undefined_never_a_pass(patch_model):
    OnlyTheOriginal.original = patch_model
    result = sanity_check(OnlyTheOriginal(patch_model), sixteen_faces())
    assert torch.isnan(result.similarity).all()
    summary = result.summary()
    assert summary["faces_defined"] == 0 and summary["interval"] is None
    assert summary["verdict"] == "undefined" and not summary["passed"]


def test_a_map_constant_on_some_faces_leaves_those_faces_out(patch_model):
    """Faces whose map is constant are excluded; the rest are judged on their own."""

    class BlankOnSomeFaces(Occlusion):
        def _attribute(self, x, target):
            maps, extra = super()._attribute(x, target)
            maps = maps.clone()
            maps[:3] = 0.0  # the first three faces get a blank map on every network
            return maps, extra

    result = sanity_check(BlankOnSomeFaces(patch_model, window=8, stride=8), sixteen_faces()[:14],
                          seed=0)
    assert torch.isnan(result.similarity[:, :3]).all()
    assert torch.isfinite(result.similarity[:, 3:]).all()
    summary = result.summary()
    assert summary["faces"] == 14 and summary["faces_defined"] == 11
    mean, low, high = summary["interval"]
    assert low <= mean <= high
    assert mean == pytest.approx(float(result.similarity[-1, 3:].mean()), abs=1e-4)


def test_too_few_defined_faces_give_no_verdict(patch_model, patch_batch):
    x, _ = patch_batch
    result = sanity_check(Occlusion(patch_model, window=8, stride=8), x[:4], seed=0)
    assert result.verdict == "undefined" and not result.passed


def test_mean_interval_is_a_seeded_bootstrap_interval_around_the_mean():
    values = [0.1, 0.2, 0.3, 0.4, float("nan"), 0.5, 0.6]
    mean, low, high = mean_interval(values)
    assert mean == pytest.approx(0.35) and low < mean < high
    assert mean_interval(values) == (mean, low, high)
    assert mean_interval([0.3, float("nan")]) is None
    assert mean_interval([0.2, 0.2, 0.2]) == (0.2, 0.2, 0.2)


@pytest.mark.parametrize("confidence, z", [(0.95, 1.960), (0.5, 0.674)])
def test_mean_interval_matches_the_normal_interval_of_the_mean_on_many_faces(confidence, z):
    """With 201 faces the bootstrap distribution of the mean is close to normal: the interval
    is the mean +- z standard errors (population sd / sqrt(n)), within a tenth of its width."""
    values = torch.linspace(0, 1, 201).double()
    se = float(values.std(unbiased=False)) / math.sqrt(len(values))  # 0.0204
    mean, low, high = mean_interval(values.numpy(), confidence=confidence)
    assert mean == pytest.approx(0.5)
    assert mean - low == pytest.approx(z * se, rel=0.1)
    assert high - mean == pytest.approx(z * se, rel=0.1)


def _check(similarity: list[float]) -> SanityCheck:
    return SanityCheck(["classifier"], torch.tensor([similarity], dtype=torch.float64), 0.5)


@pytest.mark.parametrize("centre, spread, verdict", [
    (0.45, 0.5, "unclear"),   # mean below the threshold, interval across it: no pass
    (0.55, 0.5, "unclear"),   # mean above, interval across: no fail either
    (0.45, 0.05, "passes"),   # the whole interval below
    (0.55, 0.05, "fails"),    # the whole interval above
])
def test_a_sanity_verdict_is_read_off_the_whole_interval_never_the_mean(centre, spread, verdict):
    check = _check((centre + spread * torch.linspace(-1, 1, 40)).tolist())
    _, low, high = check.summary()["interval"]
    assert (low < 0.5 < high) == (verdict == "unclear")
    assert check.verdict == verdict and check.passed == (verdict == "passes")


def test_faithfulness_summary_gives_a_verdict_only_when_the_interval_allows_one():
    random = torch.linspace(0.4, 0.6, 50)
    better = faithfulness_summary(random - 0.2, random, lower_is_better=True)
    assert better["beats_random"] is True and better["vs_random"][2] < 0
    worse = faithfulness_summary(random + 0.2, random, lower_is_better=True)
    assert worse["beats_random"] is False
    noise = torch.tensor([0.05, -0.05] * 25)
    assert faithfulness_summary(random + noise, random, lower_is_better=True)["beats_random"] is None
    assert faithfulness_summary(random + 0.2, random, lower_is_better=False)["beats_random"] is True


def test_sanity_check_passes_occlusion_and_leaves_the_network_alone(patch_model):
    x = sixteen_faces()
    before = {k: v.clone() for k, v in patch_model.state_dict().items()}
    result = sanity_check(Occlusion(patch_model, window=8, stride=8), x[:12], seed=0)
    assert result.passed, result.summary()
    assert result.similarity.shape == (11, 12)
    for k, v in patch_model.state_dict().items():
        assert torch.equal(v, before[k])
    again = sanity_check(Occlusion(patch_model, window=8, stride=8), x[:12], seed=0)
    torch.testing.assert_close(again.similarity, result.similarity, rtol=0, atol=0)


@pytest.mark.realdata
def test_on_the_shipped_fer2013_checkpoint_occlusion_beats_a_random_map(data_root):
    from deep_emotion.checkpoints import CheckpointError, load_checkpoint
    from deep_emotion.data import load_dataset

    try:
        ckpt = load_checkpoint("fer2013")
    except CheckpointError:
        pytest.skip("no shipped fer2013 checkpoint")
    faces = load_dataset("fer2013", data_root, split="PrivateTest").images[:32]
    x = ckpt.preprocessing.to_input(faces)
    black = ckpt.preprocessing.pixel_value(0)
    occ = Occlusion(ckpt.model, ckpt.preprocessing).attribute(x)
    ours = deletion_curve(ckpt.model, x, occ.maps, occ.target, baseline=black).auc.mean()
    rand = deletion_curve(ckpt.model, x, random_maps(occ.maps.shape), occ.target,
                          baseline=black).auc.mean()
    assert ours < rand
