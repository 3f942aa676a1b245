"""The residual family: the paper's spatial transformer on the input, dense residual blocks,
a pooled linear head; built from a card like every checkpoint and trained by the same loop."""

import pytest
import torch
from torch import nn

from deep_emotion.checkpoints import load_checkpoint, save_checkpoint
from deep_emotion.explain.attributions import _last_conv
from deep_emotion.explain.stn import FrameGeometry, feature_geometry
from deep_emotion.model import (DeepEmotionConfig, Ensemble, ResidualBlock, build_model,
                                count_parameters, describe_stages)
from deep_emotion.preprocess import DEFAULT_PREPROCESSING
from deep_emotion.train import TrainConfig, build_optimizer, fit
from tests.conftest import FER_CLASSES
from tests.test_train import toy_faces

# The shipped recipe's network (checkpoints/fer2013_res.json, "config").
RESIDUAL = {"backbone": "residual", "layout": "input_warp", "widths": (24, 48, 72),
            "loc_hidden": 16, "dropout": 0.2}
IDENTITY = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def test_it_maps_faces_to_logits_and_reads_6x6_maps_of_its_last_width():
    model = build_model(**RESIDUAL, num_classes=8).eval()
    x = torch.randn(5, 1, 48, 48)
    out = model.attend(x)
    assert out.logits.shape == (5, 8) and out.theta.shape == (5, 2, 3)
    assert out.warped.shape == (5, 1, 48, 48)  # the warped face, which every page draws
    assert model.features(x).shape == (5, 72, 6, 6)
    assert model.config.feature_size == 6


def test_the_shipped_shape_stays_under_150k_parameters():
    # stem 16 + blocks 24/48/72 + the transformer with 16 hidden units; see model.py.
    assert count_parameters(build_model(**RESIDUAL)) == 140_975
    assert count_parameters(build_model(**{**RESIDUAL, "loc_hidden": 32})) == 140_975 + 16_112


def test_the_transformer_starts_at_the_identity_and_leaves_the_face_unchanged():
    model = build_model(**RESIDUAL).eval()
    x = torch.randn(3, 1, 48, 48)
    assert torch.allclose(model.theta(x), IDENTITY.expand(3, 2, 3))
    assert torch.allclose(model.attend(x).warped, x, atol=1e-5)


def test_a_residual_block_adds_its_shortcut_before_the_relu_and_pools_only_when_asked():
    block = ResidualBlock(4, 4, pool=False).eval()
    for p in block.body.parameters():
        nn.init.zeros_(p)  # the body adds nothing: the block is relu(x)
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(block(x), torch.relu(x))
    assert ResidualBlock(4, 8, pool=True)(x).shape == (2, 8, 3, 3)


def test_the_residual_backbone_needs_the_input_warp_layout():
    with pytest.raises(ValueError, match="input_warp"):
        DeepEmotionConfig(backbone="residual", layout="paper")
    with pytest.raises(ValueError, match="backbone"):
        DeepEmotionConfig(backbone="xception", layout="input_warp")


def test_a_card_rebuilds_the_same_network(tmp_path):
    torch.manual_seed(0)
    model = build_model(**RESIDUAL).eval()
    path = save_checkpoint(tmp_path / "res", model, {
        "classes": FER_CLASSES, "preprocessing": DEFAULT_PREPROCESSING.to_dict()})
    loaded = load_checkpoint(path)
    assert loaded.card["config"]["backbone"] == "residual"
    assert loaded.card["config"]["widths"] == [24, 48, 72]
    assert loaded.card["parameters"] == 140_975
    x = torch.randn(4, 1, 48, 48)
    assert torch.equal(loaded.model(x), model(x))


def test_cells_of_the_last_block_sit_8_pixels_apart_from_pixel_3_5():
    # stem pool (x2), two block pools (x4, x8): cell k covers pixels 8k..8k+7, centre 8k+3.5.
    model = build_model(**RESIDUAL)
    assert feature_geometry(model.features, 6) == FrameGeometry(6, 8.0, 3.5)
    assert feature_geometry(build_model().features, 9) == FrameGeometry(9, 4.0, 7.5)


def test_grad_cam_reads_the_last_residual_block_not_a_conv_inside_it():
    model = build_model(**RESIDUAL)
    index, layer = _last_conv(model)
    assert isinstance(layer, ResidualBlock) and layer is model.features[index]
    assert layer.pool.__class__ is nn.Identity  # the 6x6 maps, not pooled further


def test_conv_kernels_decay_at_their_own_rate_and_batch_norm_never():
    model = build_model(**RESIDUAL)
    opt = build_optimizer(model, TrainConfig(weight_decay=0.01, conv_weight_decay=0.05))
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert decay[id(model.features[0].weight)] == 0.05       # stem conv kernel
    assert decay[id(model.features[1].weight)] == 0.0        # its batch norm
    assert decay[id(model.classifier[-1].weight)] == 0.01    # the linear head
    assert decay[id(model.fc_loc[0].weight)] == 0.01
    assert len(decay) == len(list(model.parameters()))


def test_a_few_epochs_of_the_shared_loop_learn_a_separable_toy_problem():
    data = toy_faces(16)
    cfg = TrainConfig(epochs=12, batch_size=16, lr=3e-3, threads=1, label_smoothing=0.0,
                      model=RESIDUAL, augment={"erase": 0.0, "rotate_deg": 0.0, "flip": 0.0})
    result = fit(cfg, data, data, progress=False)
    assert result.model.config.backbone == "residual"
    assert result.best_val_accuracy > 0.9


def test_an_ensemble_teacher_averages_its_members_logits():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    x = torch.randn(4, 3)
    assert torch.allclose(Ensemble([a, b])(x), (a(x) + b(x)) / 2)


def test_the_stage_labels_name_every_block_and_the_pooled_maps():
    stages = describe_stages(build_model(**RESIDUAL).config.to_dict())
    assert stages[0].startswith("conv 3x3 (16)")
    assert stages[1:4] == ["residual block (24), pool", "residual block (48), pool",
                           "residual block (72)"]
    assert stages[-1] == "dropout, average 72x6x6"
    assert describe_stages({})[0] == "2 conv 3x3 (10), pool, ReLU"


def test_a_card_distilled_from_two_teachers_records_both_weight_hashes(tmp_path):
    from deep_emotion.experiment import run_training
    from tests.test_train import write_ck_root
    root = write_ck_root(tmp_path / "data")
    base = dict(epochs=1, batch_size=16, threads=1, dataset="ckplus", protocol="stratified",
                eval_tta=("none",))
    hashes = []
    for seed in (0, 1):
        run_training(TrainConfig(**base, seed=seed), root, tmp_path / f"t{seed}",
                     tmp_path / f"r{seed}", progress=False)
        hashes.append(load_checkpoint(tmp_path / f"t{seed}").card["weights_sha256"])
    teacher = f"{tmp_path / 't0'}+{tmp_path / 't1'}"
    run_training(TrainConfig(**base, model=RESIDUAL, teacher=teacher), root, tmp_path / "s",
                 tmp_path / "rs", progress=False)
    card = load_checkpoint(tmp_path / "s").card
    assert card["training"]["teacher"] == teacher
    assert card["teacher_weights_sha256"] == "+".join(hashes)


def test_the_sanity_check_randomises_whole_residual_blocks_from_the_output_down():
    from deep_emotion.explain.metrics import randomisation_order
    model = build_model(**RESIDUAL)
    assert randomisation_order(model) == [
        "classifier.2", "fc_loc.2", "fc_loc.0", "localization.3", "localization.0",
        "features.6", "features.5", "features.4", "features.1", "features.0"]
    block = model.features[5]
    before = [p.detach().clone() for p in block.parameters()]
    torch.manual_seed(1)
    with torch.no_grad():
        for p in block.parameters():
            p.add_(1.0)  # batch-norm weights and biases too, which a reset sets back
    block.reset_parameters()
    after = list(block.parameters())
    convs = [i for i, p in enumerate(after) if p.dim() == 4]
    assert len(convs) == 3  # two body convs and the 1x1 shortcut
    for i, p in enumerate(after):
        if p.dim() == 4:
            assert not torch.equal(p, before[i] + 1.0)  # re-drawn
        else:
            assert torch.equal(p, before[i])  # batch norm back to weight 1, bias 0
