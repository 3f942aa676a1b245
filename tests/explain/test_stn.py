"""STN attention: theta drawn in the input frame, for both layouts."""

from __future__ import annotations

import pytest
import torch

from deep_emotion.explain.stn import (FrameGeometry, feature_geometry, layer_to_input,
                                      sampled_frame, stn_attention)
from deep_emotion.model import DeepEmotion, DeepEmotionConfig

# (layout, first and last input pixel of the sampled field, the field's outer edges)
FIELDS = {"paper": (6, 41, (5.5, 41.5)), "input_warp": (0, 47, (-0.5, 47.5))}


def with_theta(model: DeepEmotion, theta: list[list[float]]) -> DeepEmotion:
    """The network with its localization head forced to output ``theta`` for every face."""
    model.fc_loc[-1].weight.data.zero_()
    model.fc_loc[-1].bias.data = torch.tensor(theta).flatten()
    return model


def test_feature_frame_of_the_paper_layout_is_the_central_36_pixels():
    model = DeepEmotion()
    assert feature_geometry(model.features, 9) == FrameGeometry(9, 4.0, 7.5)
    assert sampled_frame(model) == FrameGeometry(9, 4.0, 7.5)
    assert sampled_frame(DeepEmotion(DeepEmotionConfig(layout="input_warp"))) == \
        FrameGeometry(48, 1.0, 0.0)


def test_identity_theta_gives_a_uniform_heatmap_over_the_sampled_field(random_model):
    first, last, _ = FIELDS[random_model.config.layout]
    heat = stn_attention(random_model, torch.randn(2, 1, 48, 48)).heatmap
    inside = torch.zeros(48, 48, dtype=torch.bool)
    inside[first:last + 1, first:last + 1] = True
    torch.testing.assert_close(heat[:, inside], torch.ones(2, int(inside.sum())))
    assert (heat[:, ~inside] == 0).all()


def test_identity_outline_is_the_sampled_frame(random_model):
    _, _, (lo, hi) = FIELDS[random_model.config.layout]
    outline = stn_attention(random_model, torch.randn(1, 1, 48, 48)).grid_outline[0]
    expected = torch.tensor([[lo, lo], [hi, lo], [hi, hi], [lo, hi], [lo, lo]])
    torch.testing.assert_close(outline, expected)


def test_a_zoom_concentrates_the_same_samples_on_a_quarter_of_the_field(random_model):
    first, last, (lo, hi) = FIELDS[random_model.config.layout]
    model = with_theta(random_model, [[0.5, 0, 0], [0, 0.5, 0]])
    att = stn_attention(model, torch.randn(1, 1, 48, 48))
    side = last - first + 1
    assert att.heatmap.sum() == pytest.approx(side * side, rel=1e-5)
    assert att.heatmap.max() == pytest.approx(4.0, rel=1e-4)
    centre = (lo + hi) / 2
    quarter = torch.tensor([centre - (hi - lo) / 4, centre + (hi - lo) / 4])
    torch.testing.assert_close(att.grid_outline[0, [0, 2], 0], quarter)


def test_a_shift_moves_the_outline_by_half_the_field_per_unit(random_model):
    _, _, (lo, hi) = FIELDS[random_model.config.layout]
    model = with_theta(random_model, [[1, 0, 0.5], [0, 1, 0]])
    outline = stn_attention(model, torch.randn(1, 1, 48, 48)).grid_outline[0]
    torch.testing.assert_close(outline[:4, 0], torch.tensor([lo, hi, hi, lo]) + (hi - lo) / 4)


def test_view_shows_the_face_the_classifier_reads(random_model):
    x = torch.randn(2, 1, 48, 48)
    att = stn_attention(random_model, x)
    if random_model.config.layout == "input_warp":
        torch.testing.assert_close(att.view, att.warped)
    else:
        torch.testing.assert_close(att.view, x[:, :, 6:42, 6:42], atol=1e-5, rtol=0)


def test_attention_matches_the_forward_pass_and_restores_the_mode(random_model):
    x = torch.randn(3, 1, 48, 48)
    random_model.train()
    att = stn_attention(random_model, x)
    assert random_model.training
    random_model.eval()
    torch.testing.assert_close(att.logits, random_model(x))
    assert att.theta.shape == (3, 2, 3) and att.heatmap.shape == (3, 48, 48)


def test_layer_to_input_places_a_cell_on_its_receptive_field_centre():
    cells = torch.zeros(1, 1, 9, 9)
    cells[0, 0, 2, 5] = 1.0
    placed = layer_to_input(cells, FrameGeometry(9, 4.0, 7.5), 48)[0, 0]
    ys, xs = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
    centroid = ((placed * ys).sum() / placed.sum(), (placed * xs).sum() / placed.sum())
    assert centroid == (pytest.approx(4 * 2 + 7.5), pytest.approx(4 * 5 + 7.5))
    assert placed[:, :20].sum() == 0 and placed[:, 32:].sum() == 0  # one cell: 4 px either side
