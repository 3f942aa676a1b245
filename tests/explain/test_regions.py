"""Named face regions of the FER2013 frame and the region scores of maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deep_emotion.explain.regions import (REGIONS, class_mean_maps, region_layout,
                                          region_scores)
from deep_emotion.faces.framing import FER2013_LANDMARKS


@pytest.fixture(scope="module")
def layout():
    return region_layout()


def test_layout_comes_from_the_measured_fer2013_landmarks(layout):
    assert layout.landmarks == {k: tuple(v) for k, v in FER2013_LANDMARKS.items()}
    assert layout.names == REGIONS and layout.labels.shape == (48, 48)


def test_every_pixel_has_exactly_one_region_and_every_region_has_pixels(layout):
    assert set(np.unique(layout.labels)) == set(range(len(REGIONS)))
    assert sum(layout.area.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("landmark, region", [
    ("left_eye", "eyes"), ("right_eye", "eyes"), ("nose", "nose")])
def test_landmarks_fall_in_their_region(layout, landmark, region):
    x, y = FER2013_LANDMARKS[landmark]
    assert layout.names[layout.labels[round(y), round(x)]] == region


def test_regions_stack_from_forehead_to_chin_down_the_midline(layout):
    (lx, ly), (rx, _) = FER2013_LANDMARKS["left_eye"], FER2013_LANDMARKS["right_eye"]
    mouth_y = (FER2013_LANDMARKS["mouth_left"][1] + FER2013_LANDMARKS["mouth_right"][1]) / 2
    column = [layout.names[v] for v in layout.labels[:, round((lx + rx) / 2)]]
    order = [r for i, r in enumerate(column) if i == 0 or column[i - 1] != r]
    assert order == ["forehead", "brows", "nose", "cheeks", "mouth", "chin"]
    assert column[round(mouth_y)] == "mouth"
    assert layout.names[layout.labels[round(ly) - 5, round(lx)]] == "brows"


def test_region_scores_sum_to_one_per_face(layout):
    maps = torch.randn(5, 1, 48, 48)
    scores = region_scores(maps, layout)
    assert set(scores) == set(REGIONS)
    np.testing.assert_allclose(sum(scores.values()), np.ones(5))


def test_a_uniform_map_scores_each_region_by_its_area(layout):
    scores = region_scores(np.ones((48, 48)), layout)
    for name in REGIONS:
        assert scores[name] == pytest.approx(layout.area[name])


def test_a_map_inside_one_region_scores_it_one_and_sign_does_not_matter(layout):
    mouth = np.where(layout.mask("mouth"), -3.0, 0.0)
    scores = region_scores(mouth, layout)
    assert scores["mouth"] == 1.0 and scores["eyes"] == 0.0
    assert np.isnan(region_scores(np.zeros((48, 48)), layout)["mouth"])


def test_class_mean_maps_weigh_faces_equally_and_match_mean_region_scores(layout):
    rng = np.random.default_rng(0)
    maps = rng.random((6, 48, 48)) * np.array([1, 10, 100, 1, 1, 5])[:, None, None]
    labels = np.array([0, 0, 0, 2, 2, 2])
    means, counts = class_mean_maps(maps, labels, 3)
    assert counts.tolist() == [3, 0, 3]
    np.testing.assert_allclose(means[[0, 2]].sum((1, 2)), [1, 1])
    assert np.isnan(means[1]).all()
    per_face = region_scores(maps, layout)
    of_mean = region_scores(means[0], layout)
    for name in REGIONS:
        assert of_mean[name] == pytest.approx(per_face[name][:3].mean())


def test_missing_landmarks_are_named():
    with pytest.raises(ValueError, match="mouth_left"):
        region_layout({"left_eye": (14, 18), "right_eye": (33, 18), "nose": (24, 28)})
