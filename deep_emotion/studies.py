"""The studies behind the shipped recipes: reading their run cards and choosing their winners.

Three kinds of study sit beside the shipped checkpoints (in ``docs/``), each a folder of
slimmed run cards (training config, test metrics and the selected epoch's summary, no
per-epoch curves):

* seeds: one recipe trained with several seeds on one split (``seed_study``);
* recipes: recipes scored by cross-validation over a paper-style split's train and validation
  rows, never its test rows (``recipe_study``);
* ablations: one change each from a baseline, judged on validation only.

Every function takes the folder it reads: the core never looks for ``docs/`` itself (the
Model card, ``dashboard/studies.py``, and ``scripts/report.py`` say where the studies are).
Which run a study selects is decided here, by the rule training uses for epochs
(``train.improves``) or by held-out faces right; the words for a change live in the dashboard
(``dashboard.wording.describe``).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from deep_emotion.augment import AugmentConfig
from deep_emotion.model import DeepEmotionConfig
from deep_emotion.protocols import SEEDED_PROTOCOLS
from deep_emotion.train import TrainConfig, improves

__all__ = ["read_cards", "changes", "selected_epoch", "faces_right", "seed_study",
           "seed_study_of", "recipe_of", "recipe_study", "recipe_study_of", "RECIPE_RULE",
           "NOT_RECIPE"]

RECIPE_RULE = "rule.json"  # {"incumbent": card name, "margin_faces": int, "why": text}
RECIPE_BASELINE_SUFFIX = "_v3"  # a recipe study's baseline: the recipe shipped before it
# Training fields that say where and how often a recipe ran, not what the recipe is.
NOT_RECIPE = ("seed", "split_seed", "protocol", "folds", "fold", "threads", "eval_tta")


def read_cards(folder: Path) -> dict[str, dict]:
    """Every run card in ``folder`` by name, in file-name order (the rule file is not a card)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
            if p.name != RECIPE_RULE}


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out |= _flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def changes(card: dict, base: dict) -> dict:
    """What ``card`` changes from ``base`` in training, model and augmentation, key -> value
    (model keys bare, augmentation keys as ``augment.KEY``), sorted by key.

    A field an older card lacks (added to ``TrainConfig`` or ``DeepEmotionConfig`` later)
    counts at its default, so a new field at its default is no change.
    """
    def flat(c: dict) -> dict:
        return _flatten({"training": TrainConfig().to_dict() | c.get("training", {}),
                         "model": DeepEmotionConfig().to_dict() | c.get("config", {})})

    ours, theirs = flat(card), flat(base)
    skip = ("training.model.", "training.augment.")  # shown as model.* / augment.* instead
    diff = {k.split(".", 1)[1]: ours[k] for k in sorted(ours)
            if not k.startswith(skip) and ours.get(k) != theirs.get(k)}
    aug_ours = card.get("training", {}).get("augment", {})
    aug_base = base.get("training", {}).get("augment", {})
    defaults = AugmentConfig().to_dict()
    diff |= {f"augment.{k}": aug_ours.get(k, defaults[k])
             for k in sorted(set(aug_ours) | set(aug_base)) if aug_ours.get(k) != aug_base.get(k)}
    return diff


def faces_right(metrics: dict) -> int:
    """Faces classified correctly: the trace of the metrics' confusion matrix."""
    return sum(row[i] for i, row in enumerate(metrics["confusion"]))


def selected_epoch(card: dict) -> dict | None:
    """The summary of the epoch training kept: a study card's ``selected_epoch``, or the entry
    of a full card's ``history`` at its ``best_epoch``; None when the card has neither."""
    if card.get("selected_epoch"):
        return card["selected_epoch"]
    return next((h for h in card.get("history", []) if h.get("epoch") == card.get("best_epoch")),
                None)


def _seed_run(name: str, card: dict, folder: Path) -> dict:
    epoch, test = selected_epoch(card), card["metrics"]["test"]["none"]
    if epoch is None:
        raise ValueError(f"{folder / name}.json names no selected epoch")
    return {"name": name, "seed": card["training"]["seed"], "epoch": epoch["epoch"],
            "val_acc": epoch["val_acc"], "val_loss": epoch.get("val_loss"),
            "test_acc": test["accuracy"], "test_n": test["n"], "test_right": faces_right(test),
            "weights_sha256": card.get("weights_sha256"), "training": card["training"]}


def _chosen_by_validation(runs: list[dict], folder: Path) -> str:
    """The run training's own epoch rule (``train.improves``) prefers: accuracy, then loss."""
    top = max(r["val_acc"] for r in runs)
    tied = [r for r in runs if r["val_acc"] == top]
    if len(tied) > 1 and any(r["val_loss"] is None for r in tied):
        raise ValueError(f"{folder}: {', '.join(r['name'] for r in tied)} tie on validation "
                         "accuracy and a validation loss to break the tie is missing from a card")
    selected, best = "", (-1.0, float("inf"))
    for run in runs:
        loss = float("inf") if run["val_loss"] is None else run["val_loss"]
        if improves(run["val_acc"], loss, *best):
            selected, best = run["name"], (run["val_acc"], loss)
    return selected


def seed_study(folder: Path) -> dict:
    """The runs of one seed study: ``{"runs", "selected", "mean", "std", "min", "max"}``.

    A study is a folder of run cards that differ only in their training seed, on one shared
    split.  Why: on a split whose validation rows are all classified correctly (CK+: 98 faces)
    validation cannot tell two recipes apart and one test face is half a point, so the spread
    over training seeds is the honest error bar.  The run marked ``selected`` is chosen by
    validation alone, with the rule training uses for epochs; test accuracy never enters.

    Each run is ``{"name", "seed", "epoch", "val_acc", "val_loss", "test_acc", "test_right",
    "test_n", "weights_sha256", "training"}``, sorted by seed; accuracies are fractions;
    ``val_loss`` is None for a card written before the loss was logged (such a run can still
    be chosen on accuracy, never through a tie).  Mean, sd, min and max are of test accuracy.

    Raises:
        ValueError: no cards, cards that do not share one dataset, protocol and split seed (the
            seed only where it decides the rows: FER2013's published split ignores it), or a
            tie on the best validation accuracy that only a missing loss could break.
    """
    cards = read_cards(folder)
    if not cards:
        raise ValueError(f"no seed-study cards in {folder}")
    splits = {(c["dataset"]["name"], c["protocol"]["name"],
               c["protocol"]["seed"] if c["protocol"]["name"] in SEEDED_PROTOCOLS else None)
              for c in cards.values()}
    if len(splits) != 1:
        raise ValueError(f"the cards in {folder} do not share one split: {sorted(splits)}")
    runs = sorted((_seed_run(n, c, folder) for n, c in cards.items()), key=lambda r: r["seed"])
    tests = [r["test_acc"] for r in runs]
    return {"runs": runs, "selected": _chosen_by_validation(runs, folder),
            "mean": statistics.mean(tests),
            "std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
            "min": min(tests), "max": max(tests)}


def seed_study_of(weights_sha256: str, root: Path) -> dict | None:
    """The seed study one of whose runs has these exact weights, or None.

    Why by weights: a study describes the recipe of one shipped checkpoint, and only the exact
    network says which seed it is (a re-trained or fixture checkpoint matches no study).
    """
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        study = seed_study(folder)
        if any(r["weights_sha256"] == weights_sha256 for r in study["runs"]):
            return study
    return None


def recipe_of(card: dict) -> dict:
    """The card's training config at defaults, without the fields that are not the recipe."""
    training = TrainConfig().to_dict() | card.get("training", {})
    return {k: v for k, v in training.items() if k not in NOT_RECIPE}


def _recipe_run(name: str, card: dict, base: dict) -> dict:
    held_out = card["metrics"]["test"]["none"]
    diff = changes(card, base)
    return {"name": name, "changes": diff,
            "right": faces_right(held_out), "n": held_out["n"],
            "accuracy": held_out["accuracy"], "macro_f1": held_out["macro_f1"],
            "fold_mean": held_out["fold_accuracy_mean"], "fold_std": held_out["fold_accuracy_std"],
            "recipe": recipe_of(card), "training": card.get("training", {})}


def _recipe_winner(runs: list[dict], rule: dict | None, folder: Path) -> str:
    """Without a rule: the most held-out faces right (the baseline, first, keeps a tie; other
    ties go to macro-F1).  With one: only a lead of more than ``margin_faces`` replaces the
    rule's incumbent (among several such, the most faces right, then macro-F1)."""
    if rule is None:
        return max(runs, key=lambda r: (r["right"], r is runs[0], r["macro_f1"]))["name"]
    incumbent = next((r for r in runs if r["name"] == rule["incumbent"]), None)
    if incumbent is None:
        raise ValueError(f"{folder / RECIPE_RULE} names the incumbent {rule['incumbent']!r}, "
                         "which has no card there")
    ahead = [r for r in runs if r["right"] > incumbent["right"] + int(rule["margin_faces"])]
    return max(ahead, key=lambda r: (r["right"], r["macro_f1"]))["name"] if ahead else incumbent["name"]


def recipe_study(folder: Path, baseline: str | None = None) -> dict:
    """Recipes scored without the test rows: ``{"runs", "selected", "dataset", "split_seed",
    "folds", "margin_faces", "why"}``.

    Each card was trained under the ``stratified-inner`` protocol: cross-validation over the
    train and validation rows of a paper-style split, whose test rows are never used.  Why:
    when all validation rows are right (CK+: 98 faces) they cannot rank recipes; the pooled
    held-out folds (785 faces) can.  Rows are in file-name order with ``baseline`` (default:
    the card named ``*_v3``) first; each is ``{"name", "changes", "right", "n",
    "accuracy", "macro_f1", "fold_mean", "fold_std", "recipe", "training"}``.  A ``rule.json``
    (``RECIPE_RULE``) written after a winner shipped raises the bar (``_recipe_winner``);
    ``margin_faces`` is 0 without one.

    Raises:
        ValueError: no ``baseline`` card, a card of another protocol, cards that do not share
            one dataset and split seed, or a rule whose incumbent has no card.
    """
    cards = read_cards(folder)
    if baseline is None:
        baseline = next((n for n in cards if n.endswith(RECIPE_BASELINE_SUFFIX)), "")
    if baseline not in cards:
        raise ValueError(f"no baseline card {baseline or '*' + RECIPE_BASELINE_SUFFIX}.json "
                         f"in {folder}")
    protocols = {c["protocol"]["name"] for c in cards.values()}
    if protocols != {"stratified-inner"}:
        raise ValueError(f"recipe studies use the stratified-inner protocol, {folder} has "
                         f"{sorted(protocols)}")
    splits = {(c["dataset"]["name"], c["protocol"]["seed"]) for c in cards.values()}
    if len(splits) != 1:
        raise ValueError(f"the cards in {folder} do not share one split: {sorted(splits)}")
    runs = [_recipe_run(n, cards[n], cards[baseline])
            for n in [baseline] + [n for n in cards if n != baseline]]
    rule_path = folder / RECIPE_RULE
    rule = json.loads(rule_path.read_text()) if rule_path.exists() else None
    (dataset, split_seed), = splits
    return {"runs": runs, "selected": _recipe_winner(runs, rule, folder), "dataset": dataset,
            "split_seed": split_seed, "folds": len(cards[baseline]["protocol"].get("folds", [])),
            "margin_faces": int(rule["margin_faces"]) if rule else 0,
            "why": rule.get("why", "") if rule else ""}


def recipe_study_of(card: dict, root: Path) -> dict | None:
    """The recipe study that chose this checkpoint's recipe, or None.

    A checkpoint belongs to a study when it was trained on the study's paper-style split
    (``stratified``, same dataset and split seed) with the study's selected recipe: the same
    training config except the seed and where it ran (``NOT_RECIPE``).
    """
    protocol = card.get("protocol", {})
    if protocol.get("name") != "stratified":
        return None
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        study = recipe_study(folder)
        selected = next(r for r in study["runs"] if r["name"] == study["selected"])
        if (study["dataset"] == card.get("dataset", {}).get("name")
                and study["split_seed"] == protocol.get("seed")
                and selected["recipe"] == recipe_of(card)):
            return study
    return None
