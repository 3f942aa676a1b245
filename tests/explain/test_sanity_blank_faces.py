"""The randomisation check on maps that go blank: a blank face is undefined, never a pass."""

from __future__ import annotations

import torch

from deep_emotion.explain import metrics
from deep_emotion.explain.attributions import Explainer
from deep_emotion.model import DeepEmotion, DeepEmotionConfig
from deep_emotion.preprocess import DEFAULT_PREPROCESSING, Preprocessing


class BlankOnceRandomised(Explainer):
    """|face| on the network it was first built on; on any other network (the randomised
    copies) the same map on the first face and a blank one on every other face."""

    name = "blank-once-randomised"
    values = "|normalised pixel| or 0"

    def __init__(self, model: DeepEmotion, preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
                 *, original: DeepEmotion | None = None) -> None:
        super().__init__(model, preprocessing, original=model if original is None else original)

    def _attribute(self, x, target):
        maps = x.abs().detach().clone()
        if self.model is not self.params["original"]:
            maps[1:] = 0.0
        return maps, {}


def test_a_method_blank_on_most_faces_does_not_pass_on_its_one_defined_face():
    torch.manual_seed(0)
    model = DeepEmotion(DeepEmotionConfig()).eval()
    faces = torch.randn(12, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    result = metrics.sanity_check(BlankOnceRandomised(model), faces)
    # the first face keeps its map on every network: similarity 1 at every step
    torch.testing.assert_close(result.similarity[:, 0], torch.ones(len(result.layers)))
    assert torch.isnan(result.similarity[:, 1:]).all()  # blank: undefined, not 0
    summary = result.summary()
    assert summary["faces_defined"] == 1  # blank faces are not counted as defined
    assert not result.passed and not summary["passed"]
