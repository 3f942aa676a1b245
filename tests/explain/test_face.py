"""``explain_face``: the dashboard's one call per face."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.explain import METHODS, explain_face

FAST = {"occlusion": {"stride": 8}, "flip": {"stride": 8}, "ig": {"n_steps": 8},
        "smoothgrad": {"samples": 2}}


@pytest.fixture
def face() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)


def test_every_method_gives_a_float_map_and_json_ready_metadata(random_checkpoint, face):
    ckpt = load_checkpoint(random_checkpoint)
    out = explain_face(ckpt, face, methods=list(METHODS), params=FAST)
    assert list(out) == list(METHODS)
    predicted = {e.meta["target"] for e in out.values()}
    assert len(predicted) == 1 and predicted <= set(ckpt.classes)
    for method, ex in out.items():
        assert ex.map.shape == (48, 48) and ex.map.dtype == np.float32
        assert json.loads(json.dumps(ex.meta))["method"] == method
        assert 0 <= ex.meta["probability"] <= 1
    stn = out["stn"].meta
    assert np.asarray(stn["theta"]).shape == (2, 3)
    assert np.asarray(stn["grid_outline"]).shape == (5, 2)
    assert np.asarray(stn["view"]).shape == (36, 36)  # the paper layout's sampled frame
    assert isinstance(out["ig"].meta["delta"], float)


def test_a_class_can_be_chosen_by_name_or_index(random_checkpoint, face):
    ckpt = load_checkpoint(random_checkpoint)
    by_name = explain_face(ckpt, face, ["saliency"], target="fear")["saliency"]
    by_index = explain_face(ckpt, face, ["saliency"], target=2)["saliency"]
    assert by_name.meta["target"] == by_index.meta["target"] == "fear"
    np.testing.assert_array_equal(by_name.map, by_index.map)


def test_bad_requests_are_refused(random_checkpoint, face):
    ckpt = load_checkpoint(random_checkpoint)
    with pytest.raises(ValueError, match="unknown methods"):
        explain_face(ckpt, face, ["lime"])
    with pytest.raises(ValueError, match="unknown class 'joy'"):
        explain_face(ckpt, face, ["stn"], target="joy")
    with pytest.raises(ValueError, match="uint8"):
        explain_face(ckpt, face.astype(np.float32), ["stn"])
