"""The studies behind the shipped recipes, read from their run cards, and the generated tables
of README.md and docs/RESULTS.md, which must never be stale."""

import json
import subprocess
from pathlib import Path

import pytest

from dashboard.studies import recipe_study, recipe_study_of, seed_study_of
from dashboard.wording import readable
from scripts.report import ablation_markdown, documents, markers, render, seed_study_markdown


def test_readme_and_results_hold_exactly_what_the_cards_and_studies_generate():
    for path, text in documents().items():
        assert path.read_text() == text, f"{path.name} is stale: run python scripts/report.py"


def test_a_document_without_a_section_s_markers_is_refused_not_silently_left_stale():
    start, end = markers("results")
    assert render(f"a\n{start}\nold\n{end}\nb", {"results": "new"}) == f"a\n{start}\nnew\n{end}\nb"
    with pytest.raises(ValueError, match="generated:results:start"):
        render("no markers here", {"results": "new"})


def test_a_config_change_reads_in_words_never_as_a_raw_key():
    assert readable("class_weighting", "sqrt") == "class weights: square root of inverse frequency"
    assert readable("augment.erase", 0) == "random erasing: off"
    assert readable("augment.erase", 0.5) == "random erasing: 50% of the faces"
    assert readable("augment.scale", [0.85, 1.15]) == "zoom: 0.85 to 1.15"
    assert readable("use_stn", False) == "attention branch: off"
    assert readable("teacher", "checkpoints/ferplus_wide") == "distilled from: ferplus_wide"


def _card(path, training: dict, config: dict, val: float) -> None:
    history = [{"epoch": 1, "val_acc": val}]
    path.write_text(json.dumps({"training": training, "config": config, "history": history,
                                "best_epoch": 1}))


def test_each_row_names_only_what_differs_and_older_cards_count_at_defaults(tmp_path):
    base = {"epochs": 6, "model": {"dropout": 0.2}}  # an older card: no "precision" field
    _card(tmp_path / "abl_base.json", base, {"use_stn": True}, 0.52)
    _card(tmp_path / "abl_no_stn.json", {**base, "precision": "fp32"}, {"use_stn": False}, 0.49)
    # a newer card: a model field the baseline's card predates, at its default
    _card(tmp_path / "abl_bf16.json", {**base, "precision": "bf16"},
          {"use_stn": True, "input_norm": "dataset"}, 0.53)
    rows = {line.split("|")[1].strip(): line for line in ablation_markdown(tmp_path).splitlines()
            if line.startswith("| `")}
    assert "— (baseline)" in rows["`abl_base`"]
    assert "| attention branch: off |" in rows["`abl_no_stn`"]  # fp32 is the default: no change
    assert "| training precision: bfloat16 |" in rows["`abl_bf16`"]
    assert "49.00" in rows["`abl_no_stn`"]


def test_the_epoch_shown_is_the_one_training_kept_when_accuracies_tie(tmp_path):
    history = [{"epoch": 1, "val_acc": 0.6, "val_loss": 1.1}, {"epoch": 2, "val_acc": 0.6, "val_loss": 1.0}]
    (tmp_path / "abl_base.json").write_text(json.dumps(
        {"training": {}, "config": {}, "history": history, "best_epoch": 2}))
    row = next(line for line in ablation_markdown(tmp_path).splitlines() if line.startswith("| `"))
    assert row.endswith("| 60.00 | 2 |")


def _seed_card(path, seed: int, val_loss: float, right: int, split_seed: int = 0,
               val_acc: float = 1.0, weights: str = "", protocol: str = "stratified") -> None:
    """A CK+-like card: 2 classes, 4 test faces of which ``right`` are classified correctly."""
    history = [{"epoch": 1, "val_acc": 0.5, "val_loss": 2.0},
               {"epoch": 2, "val_acc": val_acc, "val_loss": val_loss}]
    first, second = min(right, 2), max(right - 2, 0)  # correct faces of each class (2 each)
    confusion = [[first, 2 - first], [2 - second, second]]
    path.write_text(json.dumps({
        "dataset": {"name": "ckplus"}, "protocol": {"name": protocol, "seed": split_seed},
        "training": {"seed": seed}, "history": history, "best_epoch": 2, "weights_sha256": weights,
        "metrics": {"test": {"none": {"accuracy": right / 4, "n": 4, "confusion": confusion}}}}))


def test_the_seed_study_selects_on_validation_loss_when_accuracy_ties_never_on_test(tmp_path):
    _seed_card(tmp_path / "s0.json", 0, val_loss=0.30, right=4)
    _seed_card(tmp_path / "s1.json", 1, val_loss=0.20, right=2)  # lowest loss, worst test
    _seed_card(tmp_path / "s2.json", 2, val_loss=0.10, right=3, val_acc=0.9)  # lower accuracy
    rows = [line for line in seed_study_markdown(tmp_path).splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == ["`s0`", "`s1` (selected)", "`s2`"]
    assert "| 2 / 4 |" in rows[1]
    mean = seed_study_markdown(tmp_path).splitlines()[-1]
    assert mean.startswith("| mean ± sd over 3 seeds") and "75.00 ± 25.00" in mean


def _drop_val_loss(path) -> None:
    """Make a card like those written before validation loss was logged."""
    card = json.loads(path.read_text())
    card["history"] = [{k: v for k, v in h.items() if k != "val_loss"} for h in card["history"]]
    path.write_text(json.dumps(card))


def test_a_card_older_than_the_validation_loss_is_chosen_on_accuracy_and_shows_no_loss(tmp_path):
    _seed_card(tmp_path / "s0.json", 0, val_loss=0.3, right=3, val_acc=1.0)
    _drop_val_loss(tmp_path / "s0.json")
    _seed_card(tmp_path / "s1.json", 1, val_loss=0.1, right=4, val_acc=0.9)
    rows = [line for line in seed_study_markdown(tmp_path).splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `s0` (selected) | 0 | 2 | 100.00 | — |")


def test_a_tie_below_the_best_accuracy_does_not_need_the_missing_loss(tmp_path):
    _seed_card(tmp_path / "s0.json", 0, val_loss=0.3, right=3, val_acc=0.9)
    _drop_val_loss(tmp_path / "s0.json")
    _seed_card(tmp_path / "s1.json", 1, val_loss=0.2, right=3, val_acc=0.9)
    _seed_card(tmp_path / "s2.json", 2, val_loss=0.4, right=2, val_acc=1.0)
    assert "| `s2` (selected) |" in seed_study_markdown(tmp_path)


def test_a_tie_that_only_a_missing_validation_loss_could_break_is_refused(tmp_path):
    _seed_card(tmp_path / "s0.json", 0, val_loss=0.3, right=3)
    _drop_val_loss(tmp_path / "s0.json")
    _seed_card(tmp_path / "s1.json", 1, val_loss=0.1, right=4)
    with pytest.raises(ValueError, match="tie on validation accuracy"):
        seed_study_markdown(tmp_path)


def test_a_seed_study_refuses_cards_from_different_splits(tmp_path):
    _seed_card(tmp_path / "s0.json", 0, val_loss=0.3, right=4)
    _seed_card(tmp_path / "s1.json", 1, val_loss=0.2, right=4, split_seed=1)
    with pytest.raises(ValueError, match="do not share one split"):
        seed_study_markdown(tmp_path)


def test_a_seed_study_on_a_published_split_ignores_the_seed_its_cards_record(tmp_path):
    # FER2013's official split is the same rows for every seed, but each card records its
    # training seed as the protocol's seed.
    _seed_card(tmp_path / "s0.json", 0, val_loss=0.3, right=4, protocol="official")
    _seed_card(tmp_path / "s1.json", 1, val_loss=0.2, right=3, split_seed=1, protocol="official")
    assert "mean ± sd over 2 seeds" in seed_study_markdown(tmp_path)


def test_a_checkpoint_finds_its_seed_study_by_its_exact_weights(tmp_path):
    for seed, name in enumerate(["aa", "bb"]):
        (tmp_path / "ckplus").mkdir(exist_ok=True)
        _seed_card(tmp_path / "ckplus" / f"ckplus_seed{seed}.json", seed, 0.3 - seed / 10, 4,
                   weights=name)
    study = seed_study_of("bb", tmp_path)
    assert study["selected"] == "ckplus_seed1" and len(study["runs"]) == 2
    assert seed_study_of("cc", tmp_path) is None  # a re-trained network is in no study


def _recipe_card(path, right: int, training: dict | None = None, macro_f1: float = 0.5,
                 protocol: str = "stratified-inner", split_seed: int = 0) -> None:
    """A recipe scored on 4 held-out faces of 2 classes (2 each), ``right`` of them correctly."""
    first, second = min(right, 2), max(right - 2, 0)
    held_out = {"accuracy": right / 4, "n": 4, "macro_f1": macro_f1,
                "confusion": [[first, 2 - first], [2 - second, second]],
                "fold_accuracy_mean": right / 4, "fold_accuracy_std": 0.1}
    path.write_text(json.dumps({
        "dataset": {"name": "ckplus"}, "protocol": {"name": protocol, "seed": split_seed},
        "training": {"epochs": 150, **(training or {})}, "config": {},
        "metrics": {"test": {"none": held_out}}}))


def test_a_recipe_study_picks_the_most_held_out_faces_right_and_a_tie_keeps_the_shipped_recipe(
        tmp_path):
    _recipe_card(tmp_path / "ck_v3.json", right=3)
    _recipe_card(tmp_path / "ck_sqrt.json", right=3, training={"class_weighting": "sqrt"},
                 macro_f1=0.9)
    assert recipe_study(tmp_path, "ck_v3")["selected"] == "ck_v3"
    _recipe_card(tmp_path / "ck_strong.json", right=4, training={"augment": {"rotate_deg": 15}})
    _recipe_card(tmp_path / "ck_nosmooth.json", right=4, training={"label_smoothing": 0.0},
                 macro_f1=0.8)
    study = recipe_study(tmp_path, "ck_v3")
    assert study["selected"] == "ck_nosmooth"  # four right, as ck_strong, with the higher macro-F1
    assert [r["name"] for r in study["runs"]][0] == "ck_v3"
    assert {r["name"]: r["change"] for r in study["runs"]}["ck_strong"] == "rotation (degrees): 15"
    assert study["runs"][0]["change"] == "— (baseline)"


def test_after_a_winner_ships_a_rule_file_asks_challengers_to_lead_it_by_the_margin(tmp_path):
    _recipe_card(tmp_path / "ck_v3.json", right=1)
    _recipe_card(tmp_path / "ck_drop03.json", right=2, training={"model": {"dropout": 0.3}})
    (tmp_path / "rule.json").write_text(json.dumps({"incumbent": "ck_drop03", "margin_faces": 1}))
    _recipe_card(tmp_path / "ck_norm.json", right=3, training={"label_smoothing": 0.0})
    study = recipe_study(tmp_path, "ck_v3")
    assert study["selected"] == "ck_drop03"  # one face ahead is within the margin
    assert study["margin_faces"] == 1 and len(study["runs"]) == 3  # the rule is not a card
    _recipe_card(tmp_path / "ck_sqrt.json", right=4, training={"class_weighting": "sqrt"})
    assert recipe_study(tmp_path, "ck_v3")["selected"] == "ck_sqrt"
    (tmp_path / "rule.json").write_text(json.dumps({"incumbent": "ck_gone", "margin_faces": 1}))
    with pytest.raises(ValueError, match="ck_gone"):
        recipe_study(tmp_path, "ck_v3")


def test_a_recipe_study_is_only_made_of_cards_that_never_used_the_test_rows(tmp_path):
    _recipe_card(tmp_path / "ck_v3.json", right=3)
    _recipe_card(tmp_path / "ck_sqrt.json", right=4, protocol="stratified")
    with pytest.raises(ValueError, match="stratified-inner"):
        recipe_study(tmp_path, "ck_v3")
    _recipe_card(tmp_path / "ck_sqrt.json", right=4, split_seed=1)
    with pytest.raises(ValueError, match="do not share one split"):
        recipe_study(tmp_path, "ck_v3")


def test_a_paper_style_checkpoint_finds_the_study_that_chose_its_recipe(tmp_path):
    study = tmp_path / "ckplus"
    study.mkdir()
    _recipe_card(study / "ckplus_inner_v3.json", right=3)
    _recipe_card(study / "ckplus_inner_sqrt.json", right=4, training={"class_weighting": "sqrt"})
    shipped = {"dataset": {"name": "ckplus"}, "protocol": {"name": "stratified", "seed": 0},
               "training": {"epochs": 150, "class_weighting": "sqrt", "seed": 3, "split_seed": 0}}
    assert recipe_study_of(shipped, tmp_path)["selected"] == "ckplus_inner_sqrt"
    # The recipe the study did not choose, another split or another protocol: no study.
    assert recipe_study_of({**shipped, "training": {"epochs": 150}}, tmp_path) is None
    assert recipe_study_of({**shipped, "protocol": {"name": "stratified", "seed": 1}}, tmp_path) is None
    assert recipe_study_of({**shipped, "protocol": {"name": "subject-kfold", "seed": 0}}, tmp_path) is None


def test_a_study_card_keeps_the_selected_epoch_summary_in_place_of_its_curves(tmp_path):
    _seed_card(tmp_path / "s0.json", 0, val_loss=0.3, right=3)
    card = json.loads((tmp_path / "s0.json").read_text())
    card["selected_epoch"] = card.pop("history")[1]
    (tmp_path / "s0.json").write_text(json.dumps(card))
    assert "| `s0` (selected) | 0 | 2 | 100.00 | 0.3000 |" in seed_study_markdown(tmp_path)


REPO = Path(__file__).resolve().parent.parent


def test_the_studies_keep_summaries_not_curves_and_docs_stays_small():
    cards = [p for p in (REPO / "docs").rglob("*.json") if p.name != "rule.json"]
    assert cards and not [p for p in cards if "history" in json.loads(p.read_text())]
    assert sum(p.stat().st_size for p in (REPO / "docs").rglob("*") if p.is_file()) < 3e6
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if tracked.returncode:
        pytest.skip("not a git checkout: the tracked files are unknown")
    big = [name for name in tracked.stdout.splitlines() if not name.endswith(".safetensors")
           and (REPO / name).is_file() and (REPO / name).stat().st_size > 1.6e6]
    assert not big, big
