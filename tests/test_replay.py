"""Every shipped checkpoint (and every study run in docs/) is replayed by one command built
from its card's training section, and that command, parsed by ``deep-emotion train`` itself,
is the configuration the card records."""

import functools
import json
from pathlib import Path

import pytest

from deep_emotion.catalog import checkpoint_dir, list_checkpoints
from deep_emotion.cli import build_parser
from deep_emotion.cli.train import config_from_args
from scripts.replay import LEGACY, main, shipped_in_training_order, train_argv

SHIPPED = list_checkpoints(checkpoint_dir())
DOCS = Path(__file__).resolve().parent.parent / "docs"
CARDS = [checkpoint_dir() / f"{name}.json" for name in SHIPPED] + sorted(
    p for p in DOCS.rglob("*.json") if p.name != "rule.json")


@functools.cache
def _parser():
    return build_parser()


def _parsed(argv: list[str]) -> dict:
    """The TrainConfig that ``deep-emotion train`` builds from ``argv``, as a card stores it."""
    return json.loads(json.dumps(config_from_args(_parser().parse_args(argv)).to_dict()))


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.stem)
def test_the_replay_command_trains_exactly_the_recipe_the_card_records(card, tmp_path):
    training = json.loads(card.read_text())["training"]
    parsed = _parsed(train_argv({"training": training}, tmp_path / card.stem))
    for field, value in training.items():
        assert parsed[field] == value, field
    for field, value in LEGACY.items():  # a field the card predates: the value its run had
        assert parsed[field] == training.get(field, value), field


def test_a_replay_spells_out_every_field_so_that_a_changed_default_cannot_change_it(tmp_path):
    argv = train_argv({"training": {"optimizer": "adam", "epochs": 5, "model": {"dropout": 0.3},
                                    "augment": {"scale": [0.85, 1.15]}, "init": None}},
                      tmp_path / "x")
    assert argv[argv.index("--optimizer") + 1] == "adam"
    assert argv[argv.index("--precision") + 1] == "fp32"  # not in the card: its run used fp32
    assert "--init" not in argv
    parsed = _parsed(argv)
    assert parsed["model"] == {"dropout": 0.3} and parsed["augment"] == {"scale": [0.85, 1.15]}


def test_all_trains_a_teacher_or_an_initialisation_before_the_networks_that_use_it():
    order = shipped_in_training_order()
    assert sorted(order) == sorted(SHIPPED)
    for name in order:
        training = json.loads((checkpoint_dir() / f"{name}.json").read_text())["training"]
        for parent in (training.get("init"), training.get("teacher")):
            if parent:
                assert order.index(Path(parent).name) < order.index(name), (parent, name)


def test_a_dry_run_prints_one_command_per_checkpoint_and_an_unknown_name_is_refused(capsys):
    assert main(["ckplus", "--dry-run"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("deep-emotion train --out runs/candidates/ckplus")
    assert main(["no_such_network", "--dry-run"]) == 2
    assert "no card" in capsys.readouterr().err
