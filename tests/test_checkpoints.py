"""Checkpoints: weights + card round-trip, every mismatch refused with a clear message, and
fine-tuning from one checkpoint's weights."""

import json

import pytest
import torch
from safetensors.torch import save_file

from deep_emotion.checkpoints import CheckpointError, init_from, load_checkpoint, save_checkpoint
from deep_emotion.model import DeepEmotion, DeepEmotionConfig, build_model
from deep_emotion.preprocess import DEFAULT_PREPROCESSING
from tests.conftest import FER_CLASSES


def test_round_trip_rebuilds_the_same_network_from_the_card_alone(random_checkpoint):
    ckpt = load_checkpoint(random_checkpoint)
    torch.manual_seed(0)
    original = DeepEmotion(DeepEmotionConfig()).eval()
    x = torch.randn(2, 1, 48, 48)
    assert torch.equal(ckpt.model(x), original(x))
    assert not ckpt.model.training
    assert ckpt.classes == tuple(FER_CLASSES)
    assert ckpt.preprocessing == DEFAULT_PREPROCESSING
    card = json.loads(random_checkpoint.with_suffix(".json").read_text())
    for key in ("config", "classes", "preprocessing", "parameters", "weights_sha256",
                "code_commit", "date", "architecture"):
        assert key in card


def test_several_fold_networks_share_one_file(tmp_path):
    models = [DeepEmotion(DeepEmotionConfig(num_classes=7)).eval() for _ in range(3)]
    path = save_checkpoint(tmp_path / "cv", models, {
        "classes": FER_CLASSES, "preprocessing": DEFAULT_PREPROCESSING.to_dict()})
    ckpt = load_checkpoint(path)
    assert len(ckpt.models) == 3
    x = torch.randn(1, 1, 48, 48)
    assert torch.equal(ckpt.models[2](x), models[2](x))


def _edit_card(stem, **changes):
    card_path = stem.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card.update(changes)
    card_path.write_text(json.dumps(card))


@pytest.mark.parametrize("changes, message", [
    ({"architecture": "ResNet"}, "unknown architecture 'ResNet'"),
    ({"format": "something/9"}, "format 'something/9'"),
    ({"classes": FER_CLASSES[:6]}, "6 class names but the config has a 7-way head"),
    ({"classes": ["joy"] * 7}, "unknown emotion names"),
    ({"config": {"layers": 5}}, "unknown model config keys"),
])
def test_a_card_that_does_not_fit_is_refused(random_checkpoint, changes, message):
    _edit_card(random_checkpoint, **changes)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(random_checkpoint)


def test_weights_of_another_shape_are_refused_even_without_the_hash(random_checkpoint):
    config = DeepEmotionConfig(channels=12).to_dict()
    _edit_card(random_checkpoint, config=config)
    with pytest.raises(CheckpointError, match="weights do not match the card's config"):
        load_checkpoint(random_checkpoint, verify_hash=False)


def test_a_corrupted_or_swapped_weights_file_is_refused(random_checkpoint):
    weights = random_checkpoint.with_suffix(".safetensors")
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 differs"):
        load_checkpoint(random_checkpoint)
    weights.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(random_checkpoint, verify_hash=False)
    save_file({"x": torch.zeros(1)}, str(weights))
    with pytest.raises(CheckpointError, match="weights do not match"):
        load_checkpoint(random_checkpoint, verify_hash=False)


def test_an_unknown_name_lists_what_is_available(tmp_path, monkeypatch, random_checkpoint):
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(random_checkpoint.parent))
    with pytest.raises(CheckpointError, match=r"available: \['random_fer'\]"):
        load_checkpoint("nope")
    assert load_checkpoint("random_fer").name == "random_fer"


def test_the_catalog_lists_cards_with_weights_and_follows_the_environment(tmp_path, monkeypatch):
    from deep_emotion.catalog import checkpoint_dir, list_checkpoints

    for name in ("fer2013.json", "fer2013.safetensors", "fer2013.analysis.json", "orphan.json"):
        (tmp_path / name).write_text("{}")
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(tmp_path))
    assert checkpoint_dir() == tmp_path
    assert list_checkpoints() == ["fer2013"]  # analyses and cards without weights are not listed
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(tmp_path / "missing"))
    assert list_checkpoints() == []


def test_listing_checkpoints_does_not_import_torch():
    """The dashboard draws its picker before the model stack loads (torch takes seconds)."""
    import subprocess
    import sys

    code = "import sys, deep_emotion.catalog as c; c.list_checkpoints(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fine_tuning_copies_the_body_and_maps_head_rows_by_class_name():
    source = build_model(num_classes=3)
    target = build_model(num_classes=3)
    missing = init_from(target, source, ("anger", "fear", "happiness"),
                        ("happiness", "contempt", "anger"))
    assert missing == ["contempt"]
    assert torch.equal(target.features[0].weight, source.features[0].weight)
    assert torch.equal(target.classifier[2].weight[0], source.classifier[2].weight[2])
    assert torch.equal(target.classifier[2].weight[2], source.classifier[2].weight[0])


def test_the_package_builds_fresh_networks_and_loads_trained_ones(random_checkpoint):
    import deep_emotion
    trained = deep_emotion.load_checkpoint(random_checkpoint).model
    fresh = deep_emotion.build_model()
    assert not trained.training and fresh.training
    assert trained.config == fresh.config
    with pytest.raises(ValueError, match=r"unknown model config keys \['checkpoint'\]"):
        deep_emotion.build_model(checkpoint="fer2013")  # fields of the config only
