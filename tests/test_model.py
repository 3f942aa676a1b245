"""The network: shapes, initial identity transform, determinism, gradients, configuration."""

import json

import pytest
import torch

from deep_emotion.model import (LAYOUTS, DeepEmotion, DeepEmotionConfig, build_model,
                                count_parameters)

IDENTITY = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("num_classes", [7, 8])
def test_both_layouts_map_a_batch_of_faces_to_class_logits(layout, num_classes):
    model = build_model(layout=layout, num_classes=num_classes).eval()
    out = model.attend(torch.randn(5, 1, 48, 48))
    assert out.logits.shape == (5, num_classes)
    assert out.theta.shape == (5, 2, 3)
    expected_view = (5, 10, 9, 9) if layout == "paper" else (5, 1, 48, 48)
    assert out.warped.shape == expected_view


def test_the_paper_network_has_76797_parameters():
    # localization flatten 1000 (3x3 kernels), batch norm after the 4th conv; see model.py.
    assert count_parameters(build_model()) == 76_797
    assert count_parameters(build_model(use_stn=False)) == 76_797 - 33_040


@pytest.mark.parametrize("layout", LAYOUTS)
def test_theta_is_the_identity_at_initialisation(layout):
    model = build_model(layout=layout).eval()
    theta = model.theta(torch.randn(3, 1, 48, 48))
    assert torch.allclose(theta, IDENTITY.expand(3, 2, 3))


def test_input_warp_with_identity_theta_leaves_the_image_unchanged():
    model = build_model(layout="input_warp").eval()
    x = torch.randn(2, 1, 48, 48)
    assert torch.allclose(model.attend(x).warped, x, atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_eval_is_deterministic(layout):
    model = build_model(layout=layout).eval()
    x = torch.randn(4, 1, 48, 48)
    assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_parameter_gets_a_gradient_and_nothing_is_nan(layout):
    model = build_model(layout=layout).train()
    # Perturb the identity so the localization convolutions see a non-zero gradient too.
    with torch.no_grad():
        model.fc_loc[-1].weight.normal_(0, 0.01)
    loss = model(torch.randn(4, 1, 48, 48)).logsumexp(1).sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("layout", LAYOUTS)
def test_per_image_norm_makes_the_network_blind_to_brightness_and_contrast(layout):
    torch.manual_seed(0)
    x = torch.randn(4, 1, 48, 48)
    dimmer = 0.3 * x - 1.5  # a darker face with a third of the contrast
    per_image = build_model(layout=layout, input_norm="per_image").eval()
    assert torch.allclose(per_image(dimmer), per_image(x), atol=1e-4)
    assert torch.allclose(per_image.theta(dimmer), per_image.theta(x), atol=1e-5)
    dataset = build_model(layout=layout).eval()  # the default sees the change
    assert not torch.allclose(dataset(dimmer), dataset(x), atol=1e-2)


def test_per_image_norm_adds_no_parameters_and_keeps_a_blank_face_finite():
    model = build_model(input_norm="per_image").eval()
    assert count_parameters(model) == 76_797
    assert torch.isfinite(model(torch.full((2, 1, 48, 48), 0.7))).all()


def test_dropout_is_a_module_so_captum_and_eval_mode_see_it():
    model = build_model()
    assert any(isinstance(m, torch.nn.Dropout) for m in model.modules())
    relus = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == len({id(r) for r in relus}) == 6  # one module per site


def test_config_round_trips_through_a_dict_and_rejects_unknown_keys():
    cfg = DeepEmotionConfig(layout="input_warp", dropout=0.2, loc_channels=(4, 6))
    assert DeepEmotionConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model config keys"):
        DeepEmotionConfig.from_dict({"layers": 3})


@pytest.mark.parametrize("bad", [{"layout": "sideways"}, {"padding_mode": "wrap"},
                                 {"num_classes": 1}, {"dropout": 1.0}, {"image_size": 8},
                                 {"input_norm": "minmax"}])
def test_invalid_configs_are_refused_with_a_message(bad):
    with pytest.raises(ValueError):
        DeepEmotionConfig(**bad)


def test_loc_kernels_7_5_give_the_popular_reimplementations_640_flatten():
    model = DeepEmotion(DeepEmotionConfig(loc_kernels=(7, 5)))
    assert model.fc_loc[0].in_features == 640



def test_shipped_networks_change_only_widths_classes_and_dropout_so_ablations_stay_default():
    """Paper networks vary their widths; the residual family also sets its own shape fields."""
    from deep_emotion.catalog import checkpoint_dir, list_checkpoints
    default = DeepEmotionConfig().to_dict()
    names = list_checkpoints()
    assert names
    for name in names:
        card = json.loads((checkpoint_dir() / f"{name}.json").read_text())
        config = DeepEmotionConfig.from_dict(card["config"]).to_dict()
        varied = {"num_classes", "channels", "hidden", "dropout"}
        if config["backbone"] == "residual":
            varied |= {"backbone", "layout", "stem", "widths", "loc_hidden"}
        assert {k: v for k, v in config.items() if k not in varied} == {
            k: v for k, v in default.items() if k not in varied}, name
