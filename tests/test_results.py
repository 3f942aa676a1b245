"""The generated ablation table: what changed from the baseline, read from run cards."""

import json

from deep_emotion.results import ablation_markdown


def _card(path, training: dict, config: dict, val: float) -> None:
    history = [{"epoch": 1, "val_acc": val}]
    path.write_text(json.dumps({"training": training, "config": config, "history": history,
                                "best_epoch": 1}))


def test_each_row_names_only_what_differs_and_older_cards_count_at_defaults(tmp_path):
    base = {"epochs": 6, "model": {"dropout": 0.2}}  # an older card: no "precision" field
    _card(tmp_path / "abl_base.json", base, {"use_stn": True}, 0.52)
    _card(tmp_path / "abl_no_stn.json", {**base, "precision": "fp32"}, {"use_stn": False}, 0.49)
    _card(tmp_path / "abl_bf16.json", {**base, "precision": "bf16"}, {"use_stn": True}, 0.53)
    rows = {line.split("|")[1].strip(): line for line in ablation_markdown(tmp_path).splitlines()
            if line.startswith("| `")}
    assert "— (baseline)" in rows["`abl_base`"]
    assert "| use_stn=False |" in rows["`abl_no_stn`"]  # precision=fp32 is the default: not a change
    assert "| precision=bf16 |" in rows["`abl_bf16`"]
    assert "49.00" in rows["`abl_no_stn`"]


def test_the_epoch_shown_is_the_one_training_kept_when_accuracies_tie(tmp_path):
    history = [{"epoch": 1, "val_acc": 0.6, "val_loss": 1.1}, {"epoch": 2, "val_acc": 0.6, "val_loss": 1.0}]
    (tmp_path / "abl_base.json").write_text(json.dumps(
        {"training": {}, "config": {}, "history": history, "best_epoch": 2}))
    row = next(line for line in ablation_markdown(tmp_path).splitlines() if line.startswith("| `"))
    assert row.endswith("| 60.00 | 2 |")
