"""Region knock-outs: a network that reads only the mouth needs only the mouth."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deep_emotion.explain.knockout import (KNOCKOUT_REGIONS, knockout_faces, knockout_summary,
                                           random_masks, region_masks)
from deep_emotion.explain.regions import region_layout
from deep_emotion.preprocess import DEFAULT_PREPROCESSING

CLASSES = ("neutral", "happiness")
MOUTH = region_layout().mask("mouth")


class MouthReader(nn.Module):
    """Two classes read off the mean input inside the mouth region and nothing else:
    happiness when the mouth is brighter than mid-gray, neutral when darker."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mouth", torch.from_numpy(MOUTH).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = (x[:, 0] * self.mouth).sum((1, 2)) / self.mouth.sum()
        return torch.stack([-m, m], 1) * 10


def mouth_faces(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (n, 48, 48) noise faces whose mouth is bright (happiness) or dark (neutral)."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(90, 110, (n, 48, 48), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 2
    for i, k in enumerate(labels.tolist()):
        images[i][torch.from_numpy(MOUTH)] = 220 if k else 30
    return images, labels


@pytest.fixture(scope="module")
def mouth_knockout() -> tuple[dict, np.ndarray]:
    images, labels = mouth_faces(24)
    res = knockout_faces(MouthReader(), images, labels, DEFAULT_PREPROCESSING,
                         rows=np.arange(24), masks=region_masks(), seed=0)
    return res, labels.numpy()


def test_a_mouth_reader_loses_mouth_recall_and_nothing_elsewhere(mouth_knockout):
    res, labels = mouth_knockout
    summary = knockout_summary(res, labels, CLASSES)
    assert list(summary) == list(KNOCKOUT_REGIONS)
    assert res["hit0"].all()  # the intact faces are all read correctly
    # a black mouth reads as a dark one: every happy face is lost, no neutral one
    assert summary["mouth"]["happiness"]["recall_drop"] == 1.0
    assert summary["mouth"]["happiness"]["probability_drop"] > 0.99
    assert summary["mouth"]["neutral"]["recall_drop"] == 0.0
    for region in KNOCKOUT_REGIONS:
        if region == "mouth":
            continue
        for emotion in CLASSES:
            cell = summary[region][emotion]
            assert cell["recall_drop"] == 0.0 and cell["probability_drop"] == 0.0, region
            assert cell["low"] == cell["high"] == 0.0
            for other in cell["baselines"].values():
                assert other["recall_drop"] == 0.0 and other["probability_drop"] == 0.0


def test_the_fill_changes_what_a_knocked_out_mouth_reads_as(mouth_knockout):
    res, labels = mouth_knockout
    mouth = knockout_summary(res, labels, CLASSES)["mouth"]
    # mid-gray (128) is just above the reader's threshold: the neutral faces flip instead
    assert mouth["neutral"]["baselines"]["gray"]["recall_drop"] == 1.0
    assert mouth["happiness"]["baselines"]["gray"]["recall_drop"] == 0.0
    assert mouth["neutral"]["baseline_sensitive"] and mouth["happiness"]["baseline_sensitive"]


def test_the_mouth_beats_a_random_region_of_its_size(mouth_knockout):
    res, labels = mouth_knockout
    happy = knockout_summary(res, labels, CLASSES)["mouth"]["happiness"]
    assert happy["random_recall_drop"] < happy["recall_drop"]
    assert happy["exceeds_random"] is True


def test_random_regions_keep_the_area_and_are_seeded_by_the_row():
    masks = region_masks()
    a = random_masks(masks, np.array([5, 6]), seed=0)
    b = random_masks(masks, np.array([6]), seed=0)
    assert a.shape == (2, len(KNOCKOUT_REGIONS), 48, 48)
    assert (a.sum((2, 3)) == masks.sum((1, 2))).all()
    assert (a[1] == b[0]).all() and not (a[0] == a[1]).all()
