"""The shipped checkpoints load from their cards alone, and (real-data tier) reproduce the test
accuracy their cards claim."""

import pytest

from deep_emotion.catalog import checkpoint_dir, list_checkpoints
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.experiment import evaluate_checkpoint

SHIPPED = list_checkpoints(checkpoint_dir())


def test_a_fresh_clone_ships_a_fer2013_checkpoint():
    assert "fer2013" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_checkpoint_loads_and_its_card_has_what_the_dashboard_shows(name):
    ckpt = load_checkpoint(name)
    card = ckpt.card
    for key in ("dataset", "protocol", "metrics", "training", "history", "code_commit", "date"):
        assert key in card, key
    test = card["metrics"]["test"]
    assert {"none", "flip"} <= set(test)
    n = len(ckpt.classes)
    assert len(test["none"]["confusion"]) == n and len(test["none"]["confusion"][0]) == n
    assert "selection" in card["protocol"]


@pytest.mark.realdata
@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_checkpoint_reproduces_its_card_on_the_real_data(name, data_root):
    result = evaluate_checkpoint(load_checkpoint(name), data_root, ("none", "flip"))
    assert result["dataset_sha256_matches"]
    assert result["matches_card"], (result["test"]["none"]["accuracy"], result["card"])
