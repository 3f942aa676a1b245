"""The deep-emotion command: --json output parses, and bad input is a message, not a traceback."""

import json
import subprocess
import sys

import pytest

from tests.test_train import write_ck_root


def cli(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "deep_emotion.cli", *map(str, args)],
                            capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_info_json_describes_a_checkpoint(random_checkpoint):
    out = json.loads(cli("info", random_checkpoint, "--json").stdout)
    assert out["parameters"] == 76_797 and out["classes"][0] == "anger"
    assert out["config"]["layout"] == "paper"


def test_info_lists_the_shipped_checkpoints_and_the_default_when_given_no_name(
        random_checkpoint, monkeypatch):
    from deep_emotion.catalog import DEFAULT_CHECKPOINT
    monkeypatch.setenv("DEEP_EMOTION_CHECKPOINTS", str(random_checkpoint.parent))
    assert json.loads(cli("info", "--json").stdout) == {"checkpoints": ["random_fer"],
                                                        "default": DEFAULT_CHECKPOINT}


def test_the_default_is_a_shipped_seven_emotion_network_and_the_listing_marks_it():
    from deep_emotion.catalog import DEFAULT_CHECKPOINT, list_checkpoints
    from deep_emotion.checkpoints import read_card
    assert DEFAULT_CHECKPOINT in list_checkpoints()
    assert len(read_card(DEFAULT_CHECKPOINT)["classes"]) == 7
    lines = cli("info").stdout.splitlines()
    assert f"{DEFAULT_CHECKPOINT}  (default)" in lines
    assert sum(line.endswith("(default)") for line in lines) == 1


def test_evaluate_json_reproduces_the_number_in_the_card(tmp_path):
    root = write_ck_root(tmp_path / "data")
    cli("train", "--data-dir", root, "--dataset", "ckplus", "--protocol", "subject-kfold",
        "--folds", "3", "--epochs", "1", "--threads", "1", "--batch-size", "16",
        "--out", tmp_path / "ck", "--run-dir", tmp_path / "run", "--quiet")
    out = json.loads(cli("evaluate", "--checkpoint", tmp_path / "ck", "--data-dir", root,
                         "--json").stdout)
    assert out["matches_card"] is True and out["dataset_sha256_matches"] is True
    assert out["test"]["none"]["folds"] == 3
    assert sum(map(sum, out["test"]["none"]["confusion"])) == 42


@pytest.mark.parametrize("args, message", [
    (["info", "no_such_checkpoint"], "no checkpoint 'no_such_checkpoint'"),
    (["evaluate", "--checkpoint", "no_such_checkpoint"], "no checkpoint"),
    (["train", "--dataset", "fer2013", "--out", "/tmp/x", "--data-dir", "/nonexistent"],
     "datasets root /nonexistent is not a folder"),
    (["train", "--dataset", "mnist", "--out", "/tmp/x", "--data-dir", "."], "unknown dataset 'mnist'"),
])
def test_user_errors_exit_2_with_one_line_and_json_error(args, message):
    result = cli(*args, check=False)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    as_json = cli(*args, "--json", check=False)
    assert message in json.loads(as_json.stdout)["error"]


def test_train_help_shows_the_comment_written_beside_each_training_field():
    from dataclasses import fields

    from deep_emotion.cli.train import field_comments
    from deep_emotion.train import TrainConfig

    comments = field_comments(TrainConfig)
    flags = [f.name for f in fields(TrainConfig) if f.name not in ("model", "augment", "eval_tta")]
    assert [name for name in flags if not comments.get(name)] == []
    # a comment spread over three lines is joined, and stops where the next field starts
    assert comments["conv_weight_decay"] == (
        "on convolution kernels (batch norm and biases never): 0 for the paper's recipe; the "
        "residual family's recipes set it, as mini-Xception decays its kernels")
    assert comments["precision"].endswith("weights, optimizer, evaluation stay fp32")
    text = " ".join(cli("train", "--help").stdout.split())
    assert "--conv-weight-decay CONV_WEIGHT_DECAY on convolution kernels (batch norm" in text
    assert "shipped: 0.99-0.999 (fewer steps, lower decay), or 0 (default: 0.0)" in text


@pytest.mark.parametrize("command", ["evaluate", "analyze", "predict", "explain", "export"])
def test_every_command_without_a_checkpoint_uses_the_default_network(command):
    from deep_emotion.catalog import DEFAULT_CHECKPOINT
    from deep_emotion.cli import build_parser

    needs = {"predict": ["photo.jpg"], "explain": ["photo.jpg"], "export": ["--out", "m.onnx"]}
    args = build_parser().parse_args([command, *needs.get(command, [])])
    assert args.checkpoint == DEFAULT_CHECKPOINT
