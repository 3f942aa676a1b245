"""``explain_face``: the one call per face behind ``deep-emotion explain`` and the Explain page."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.explain import BASELINES, METHODS, explain_face

FAST = {"occlusion": {"stride": 8}, "flip": {"stride": 8}, "ig": {"n_steps": 8},
        "smoothgrad": {"samples": 2}}


@pytest.fixture
def face() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)


@pytest.fixture
def ckpt(random_checkpoint):
    return load_checkpoint(random_checkpoint)


def test_every_method_gives_a_float_map_and_json_ready_metadata(ckpt, face):
    out = explain_face(ckpt, face, methods=list(METHODS), params=FAST)
    assert list(out.maps) == list(METHODS)
    assert out.classes == ckpt.classes and out.target == out.prediction
    assert out.probs.shape == (7,) and abs(float(out.probs.sum()) - 1) < 1e-5
    assert {e.meta["target"] for e in out.maps.values()} == {ckpt.classes[out.prediction]}
    for method, ex in out.maps.items():
        assert ex.map.shape == (48, 48) and ex.map.dtype == np.float32
        assert np.isfinite(ex.map).all()
        assert json.loads(json.dumps(ex.meta))["method"] == method
        assert 0 <= ex.meta["probability"] <= 1
    # The untrained network's theta is the identity, so its sampled frame is the central 36 px
    # the paper layout's feature maps cover (pixel edges 5.5..41.5), and the view is that crop.
    stn = out.maps["stn"].meta
    np.testing.assert_array_equal(stn["theta"], [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_allclose(stn["grid_outline"], [[5.5, 5.5], [41.5, 5.5], [41.5, 41.5],
                                                     [5.5, 41.5], [5.5, 5.5]], atol=1e-4)
    view = np.asarray(stn["view"], dtype=np.float64)
    assert view.shape == (36, 36) and np.abs(view - face[6:42, 6:42]).max() <= 1
    # IG's delta is its completeness error: the map's sum less the logit difference between
    # the face and the black baseline face.
    pre = ckpt.preprocessing
    with torch.no_grad():
        logits = ckpt.model(torch.cat([pre.to_input(torch.from_numpy(face)[None]),
                                       torch.full((1, 1, 48, 48), pre.pixel_value(0))]))
    gap = float(logits[0, out.target] - logits[1, out.target])
    ig = out.maps["ig"]
    assert ig.meta["delta"] == pytest.approx(float(ig.map.sum()) - gap, abs=1e-3 * (1 + abs(gap)))
    assert out.trust is None


def test_a_class_can_be_chosen_by_name_or_index_and_the_prediction_stays_apart(ckpt, face):
    by_name = explain_face(ckpt, face, ["saliency"], target="fear")
    by_index = explain_face(ckpt, face, ["saliency"], target=2)
    assert by_name.maps["saliency"].meta["target"] == by_index.maps["saliency"].meta["target"] \
        == "fear"
    np.testing.assert_array_equal(by_name.maps["saliency"].map, by_index.maps["saliency"].map)
    other = (by_name.prediction + 1) % 7
    chosen = explain_face(ckpt, face, ["saliency"], target=other)
    assert chosen.target == other and chosen.prediction == by_name.prediction


def test_occlusion_settings_reach_both_occluding_methods(ckpt, face):
    out = explain_face(ckpt, face, ["occlusion", "flip"], window=12, stride=6, baseline="gray")
    for m in ("occlusion", "flip"):
        assert out.maps[m].meta["params"] | {"batch_size": 0} == {
            "window": 12, "stride": 6, "baseline": 128.0, "batch_size": 0}


@pytest.mark.parametrize("baseline", BASELINES)
def test_every_baseline_gives_a_finite_map(ckpt, face, baseline):
    out = explain_face(ckpt, face, ["occlusion"], window=12, stride=6, baseline=baseline)
    assert np.isfinite(out.maps["occlusion"].map).all()


def test_tta_changes_the_probabilities_not_the_maps(ckpt, face):
    plain = explain_face(ckpt, face, ["saliency"])
    flipped = explain_face(ckpt, face, ["saliency"], tta="flip")
    assert not np.allclose(plain.probs, flipped.probs)
    np.testing.assert_array_equal(plain.maps["saliency"].map, flipped.maps["saliency"].map)


def test_trust_compares_stn_with_occlusion_and_scores_faithfulness(ckpt, face):
    out = explain_face(ckpt, face, ["stn", "occlusion"], stride=8, trust=True)
    assert 0.0 <= out.trust.agreement <= 1.0 and -1.0 <= out.trust.spearman <= 1.0
    assert 0.0 <= float(out.trust.deletion.auc[0]) <= 1.0
    assert 0.0 <= float(out.trust.insertion.auc[0]) <= 1.0
    with pytest.raises(ValueError, match="ask for both"):
        explain_face(ckpt, face, ["occlusion"], trust=True)


def test_bad_requests_are_refused(ckpt, face):
    with pytest.raises(ValueError, match="unknown methods"):
        explain_face(ckpt, face, ["lime"])
    with pytest.raises(ValueError, match="unknown class 'joy'"):
        explain_face(ckpt, face, ["stn"], target="joy")
    with pytest.raises(ValueError, match="target must be in 0..6"):
        explain_face(ckpt, face, ["stn"], target=7)
    with pytest.raises(ValueError, match="uint8"):
        explain_face(ckpt, face.astype(np.float32), ["stn"])
    with pytest.raises(ValueError, match="baseline must be one of"):
        explain_face(ckpt, face, ["occlusion"], baseline="white")


def test_a_stride_longer_than_the_window_is_a_clear_error_not_captums_assertion(ckpt, face):
    with pytest.raises(ValueError, match="1 <= stride <= window"):
        explain_face(ckpt, face, ["occlusion"], window=2, stride=4)
