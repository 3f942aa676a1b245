"""The results table (ours beside the paper's numbers), generated from checkpoint cards only.

The README table and the dashboard's model card both come from ``results_rows``, so no number
is ever typed by hand; ``tests/test_results.py`` fails when the README is stale.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from deep_emotion.augment import AugmentConfig
from deep_emotion.catalog import checkpoint_dir, list_checkpoints
from deep_emotion.checkpoints import read_card
from deep_emotion.model import DeepEmotionConfig, build_model, count_parameters
from deep_emotion.protocols import SEEDED_PROTOCOLS
from deep_emotion.train import TrainConfig, improves

__all__ = ["PAPER_ACCURACY", "results_rows", "results_markdown", "update_readme",
           "ablation_markdown", "seed_study", "seed_study_markdown", "seed_study_of",
           "seed_markers", "recipe_study", "recipe_study_markdown", "recipe_markers",
           "recipe_studies_dir", "recipe_study_of",
           "render_readme"]

# Minaee & Abdolrashidi, Deep-Emotion (2019/2021), reported test accuracy in %.
PAPER_ACCURACY = {"fer2013": 70.02, "ckplus": 98.0, "jaffe": 92.8, "ferg": 99.3, "ferplus": None}
DATASET_TITLES = {"fer2013": "FER2013", "ferplus": "FER+", "ckplus": "CK+48", "jaffe": "JAFFE",
                  "ferg": "FERG"}
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def _variant(card: dict) -> str:
    """A label for rows that are not the plain paper network trained from scratch."""
    training = card.get("training", {})
    parts = []
    if training.get("init"):
        parts.append(f"fine-tuned from {Path(training['init']).name}")
    if training.get("teacher"):
        parts.append(f"distilled from {Path(training['teacher']).name}")
    paper_size = count_parameters(build_model(num_classes=len(card.get("classes", [])) or 7))
    if card.get("parameters") and card["parameters"] != paper_size:
        parts.append(f"{card['parameters']:,} parameters")
    return f" ({', '.join(parts)})" if parts else ""


def results_rows(folder: Path | None = None) -> list[dict]:
    """One row per shipped checkpoint: dataset, protocol, test size, accuracy per TTA mode."""
    rows = []
    for name in list_checkpoints(folder):
        card = read_card((folder or checkpoint_dir()) / name)
        test = card.get("metrics", {}).get("test", {})
        if not test:
            continue
        dataset = card.get("dataset", {}).get("name", "?")
        none = test.get("none", {})
        sizes = card.get("protocol", {}).get("split_sizes", {})
        n_test = sum(s["test"] for s in sizes) if isinstance(sizes, list) else sizes.get("test")
        rows.append({
            "checkpoint": name, "dataset": dataset,
            "title": DATASET_TITLES.get(dataset, dataset) + _variant(card),
            "protocol": card.get("protocol", {}).get("name", "?"), "test_size": n_test,
            "accuracy": {mode: m["accuracy"] for mode, m in test.items()},
            "fold_mean": none.get("fold_accuracy_mean"), "fold_std": none.get("fold_accuracy_std"),
            "paper": PAPER_ACCURACY.get(dataset), "parameters": card.get("parameters"),
        })
    order = list(DATASET_TITLES)
    return sorted(rows, key=lambda r: (order.index(r["dataset"]) if r["dataset"] in order else 99,
                                       r["checkpoint"]))


def results_markdown(rows: list[dict]) -> str:
    lines = ["| dataset | protocol | checkpoint | test faces | ours, no TTA | ours, flip TTA | "
             "ours, ten-crop TTA | fold mean ± std (no TTA) | paper |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        acc = r["accuracy"]
        folds = (f"{100 * r['fold_mean']:.2f} ± {100 * r['fold_std']:.2f}"
                 if r["fold_mean"] is not None else "—")
        paper = "—" if r["paper"] is None else f"{r['paper']:.2f}"
        lines.append(f"| {r['title']} | {r['protocol']} | `{r['checkpoint']}` | {r['test_size']} | "
                     f"{_pct(acc.get('none'))} | {_pct(acc.get('flip'))} | "
                     f"{_pct(acc.get('tencrop'))} | {folds} | {paper} |")
    return "\n".join(lines)


def render_readme(readme: Path, folder: Path | None = None) -> str:
    """The README's text with every generated table rewritten: results (from the shipped
    cards), ablations (``docs/ablations``), the seed studies (``docs/seeds/<dataset>``) and the
    recipe studies (``docs/recipes/<dataset>``).

    Raises:
        ValueError: the README lacks the results markers.
    """
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} markers")
    new = replace_between(text, START, END, results_markdown(results_rows(folder)))
    ablations = readme.parent / "docs" / "ablations"
    if ABLATION_START in new and ablations.is_dir():
        new = replace_between(new, ABLATION_START, ABLATION_END, ablation_markdown(ablations))
    for study in sorted(p for p in (readme.parent / "docs" / "seeds").glob("*") if p.is_dir()):
        start, end = seed_markers(study.name)
        if start in new:
            new = replace_between(new, start, end, seed_study_markdown(study))
    for study in sorted(p for p in (readme.parent / "docs" / "recipes").glob("*") if p.is_dir()):
        start, end = recipe_markers(study.name)
        if start in new:
            new = replace_between(new, start, end, recipe_study_markdown(study))
    return new


def update_readme(readme: Path, folder: Path | None = None) -> bool:
    """Rewrite the generated tables in place; returns True when the file changed."""
    new = render_readme(readme, folder)
    changed = new != readme.read_text()
    if changed:
        readme.write_text(new)
    return changed


ABLATION_START, ABLATION_END = "<!-- ablations:start -->", "<!-- ablations:end -->"


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _config_diff(card: dict, base: dict) -> str:
    """What differs between two cards' training and model configs, e.g. ``model.use_stn=False``.

    A training or model field an older card lacks (added to ``TrainConfig`` or
    ``DeepEmotionConfig`` later) counts at its default.
    """
    train_defaults = TrainConfig().to_dict()
    model_defaults = DeepEmotionConfig().to_dict()
    ours = _flatten({"training": train_defaults | card.get("training", {}),
                     "model": model_defaults | card.get("config", {})})
    theirs = _flatten({"training": train_defaults | base.get("training", {}),
                       "model": model_defaults | base.get("config", {})})
    skip = ("training.model.", "training.augment.")  # already visible as model.* / resolved below
    changes = [f"{k.split('.', 1)[1]}={ours[k]}" for k in sorted(ours)
               if not k.startswith(skip) and ours.get(k) != theirs.get(k)]
    aug_ours = card.get("training", {}).get("augment", {})
    aug_base = base.get("training", {}).get("augment", {})
    defaults = AugmentConfig().to_dict()
    changes += [f"augment.{k}={aug_ours.get(k, defaults[k])}"
                for k in sorted(set(aug_ours) | set(aug_base)) if aug_ours.get(k) != aug_base.get(k)]
    return ", ".join(changes) or "— (baseline)"


def _faces_right(metrics: dict) -> int:
    """Faces classified correctly: the trace of the metrics' confusion matrix."""
    return sum(row[i] for i, row in enumerate(metrics["confusion"]))


def _selected_epoch(card: dict) -> dict | None:
    """The history entry of the epoch training kept (``best_epoch``), or None if there is none."""
    return next((h for h in card.get("history", []) if h.get("epoch") == card.get("best_epoch")),
                None)


def ablation_markdown(folder: Path, baseline: str = "abl_base") -> str:
    """Table of the ablation cards in ``folder``: what changed from ``baseline`` and the
    selected epoch's validation accuracy (PublicTest for FER2013).  No test numbers.

    The epoch is the card's ``best_epoch`` (the one training kept: ties on accuracy go to the
    lower validation loss); older cards without it fall back to the first best accuracy.
    """
    cards = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    if baseline not in cards:
        return f"(no ablation cards in {folder})"
    base = cards[baseline]
    lines = ["| run | epochs | change from the baseline | best validation accuracy | at epoch |",
             "| --- | ---: | --- | ---: | ---: |"]
    for name, card in cards.items():
        history = card.get("history", [])
        best = _selected_epoch(card)
        if best is None and history:
            best = max(history, key=lambda h: h["val_acc"])
        lines.append(f"| `{name}` | {card.get('training', {}).get('epochs')} | "
                     f"{_config_diff(card, base) if name != baseline else '— (baseline)'} | "
                     f"{_pct(best['val_acc']) if best else '—'} | {best['epoch'] if best else '—'} |")
    return "\n".join(lines)


def seed_markers(study: str) -> tuple[str, str]:
    """README markers around the table of seed study ``study`` (a folder of ``docs/seeds``)."""
    return f"<!-- seeds:{study}:start -->", f"<!-- seeds:{study}:end -->"


def seed_study(folder: Path) -> dict:
    """The runs of one seed study: ``{"runs": [...], "selected": name, "mean": acc, "std": acc}``.

    A study is a folder of run cards that differ only in their training seed, on one shared
    split.  Why: on a split whose validation rows are all classified correctly (CK+: 98 faces),
    validation accuracy cannot tell two recipes apart and one test face is half a point, so
    the spread over training seeds is the honest error bar.  The run marked ``selected`` is
    chosen by validation alone, with the rule training uses for epochs (``train.improves``:
    accuracy, then the lower validation loss); test accuracy never enters the choice.

    Each run is ``{"name", "seed", "epoch", "val_acc", "val_loss", "test_acc", "test_right",
    "test_n", "weights_sha256"}``, sorted by seed; accuracies are fractions.  ``val_loss`` is
    None for a card trained before the loss was logged (``fer2013_240_bf16``, seed 0 of its
    study): such a run can still be chosen on accuracy, but not through a tie.

    Raises:
        ValueError: the folder holds no cards, or they do not share one dataset, protocol and
            split seed (the seed only where the protocol's rows depend on it: on FER2013's
            published split, runs with different training seeds share one split), or the best
            validation accuracy is tied by a run whose loss is unknown.
    """
    cards = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    if not cards:
        raise ValueError(f"no seed-study cards in {folder}")
    splits = {(c["dataset"]["name"], c["protocol"]["name"],
               c["protocol"]["seed"] if c["protocol"]["name"] in SEEDED_PROTOCOLS else None)
              for c in cards.values()}
    if len(splits) != 1:
        raise ValueError(f"the cards in {folder} do not share one split: {sorted(splits)}")
    runs = []
    for name, card in cards.items():
        epoch, test = _selected_epoch(card), card["metrics"]["test"]["none"]
        if epoch is None:
            raise ValueError(f"{folder / name}.json names no selected epoch in its history")
        runs.append({"name": name, "seed": card["training"]["seed"], "epoch": epoch["epoch"],
                     "val_acc": epoch["val_acc"], "val_loss": epoch.get("val_loss"),
                     "test_acc": test["accuracy"], "test_n": test["n"],
                     "test_right": _faces_right(test),
                     "weights_sha256": card.get("weights_sha256")})
    top = max(r["val_acc"] for r in runs)
    tied = [r for r in runs if r["val_acc"] == top]
    if len(tied) > 1 and any(r["val_loss"] is None for r in tied):
        raise ValueError(f"{folder}: {', '.join(r['name'] for r in tied)} tie on validation "
                         "accuracy and a validation loss to break the tie is missing from a card")
    selected, best = None, (-1.0, float("inf"))
    for run in runs:
        loss = float("inf") if run["val_loss"] is None else run["val_loss"]
        if improves(run["val_acc"], loss, *best):
            selected, best = run["name"], (run["val_acc"], loss)
    tests = [r["test_acc"] for r in runs]
    return {"runs": sorted(runs, key=lambda r: r["seed"]), "selected": selected,
            "mean": statistics.mean(tests),
            "std": statistics.stdev(tests) if len(tests) > 1 else 0.0}


def seed_study_markdown(folder: Path) -> str:
    """The README table of a seed study (``seed_study``): one row per seed, then mean ± std.

    Raises:
        ValueError: as ``seed_study``.
    """
    study = seed_study(folder)
    rows = [[_run_label(r, study), r["seed"], r["epoch"], _pct(r["val_acc"]),
             "—" if r["val_loss"] is None else f"{r['val_loss']:.4f}", _pct(r["test_acc"]),
             f"{r['test_right']} / {r['test_n']}"]
            for r in study["runs"]]
    rows.append([f"mean ± std over {len(study['runs'])} seeds", "", "", "", "",
                 f"{_pct(study['mean'])} ± {_pct(study['std'])}", ""])
    return _markdown_table(["run", "training seed", "selected epoch", "validation accuracy",
                            "validation loss", "test, no TTA", "test faces right"], rows)


def _run_label(run: dict, study: dict) -> str:
    """A study's run name in code style, marked when it is the one the study selects."""
    return f"`{run['name']}`" + (" (selected)" if run["name"] == study["selected"] else "")


def _markdown_table(columns: list[str], rows: list[list], text_columns: int = 1) -> str:
    """A Markdown table; the first ``text_columns`` columns align left, the rest (numbers) right."""
    align = ["---"] * text_columns + ["---:"] * (len(columns) - text_columns)
    return "\n".join("|" + "|".join(f" {c} " if c != "" else " " for c in cells) + "|"
                     for cells in [columns, align, *rows])


def seed_studies_dir() -> Path:
    """``docs/seeds`` beside the shipped checkpoints folder: one subfolder per study."""
    return checkpoint_dir().parent / "docs" / "seeds"


def seed_study_of(weights_sha256: str, root: Path | None = None) -> dict | None:
    """The seed study (``seed_study``) one of whose runs has these weights, or None.

    Why by weights: a study describes the recipe of one shipped checkpoint, and only the exact
    network says which seed it is (a re-trained or fixture checkpoint matches no study).
    """
    root = root or seed_studies_dir()
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        study = seed_study(folder)
        if any(r["weights_sha256"] == weights_sha256 for r in study["runs"]):
            return study
    return None


def recipe_markers(study: str) -> tuple[str, str]:
    """README markers around the table of recipe study ``study`` (a folder of ``docs/recipes``)."""
    return f"<!-- recipes:{study}:start -->", f"<!-- recipes:{study}:end -->"


RECIPE_BASELINE_SUFFIX = "_v3"  # a recipe study's baseline card: the shipped small_v3 recipe
# A study's later rule, when it has one: {"incumbent": card name, "margin_faces": int}.
RECIPE_RULE = "rule.json"
# Training fields that say where and how often a recipe ran, not what the recipe is.
NOT_RECIPE = ("seed", "split_seed", "protocol", "folds", "fold", "threads", "eval_tta")


def _recipe(card: dict) -> dict:
    """The card's training config at defaults, without the fields that are not the recipe."""
    training = TrainConfig().to_dict() | card.get("training", {})
    return {k: v for k, v in training.items() if k not in NOT_RECIPE}


def recipe_study(folder: Path, baseline: str | None = None) -> dict:
    """Recipes scored without the test rows: ``{"runs": [...], "selected": name}``.

    A study is a folder of cards trained under the ``stratified-inner`` protocol on one split:
    each recipe's networks are scored on held-out folds of the paper-style split's train and
    validation rows (its test rows are never used).  Why: when the validation rows are all
    classified correctly (CK+: 98 faces) they cannot rank recipes; the pooled held-out folds
    (785 faces) can, still without looking at the test split.  The rule: the most held-out
    faces right; a tie with ``baseline`` (the shipped recipe) keeps it, a tie between other
    recipes goes to the higher macro-F1.  A study that goes on after a winner has shipped holds
    a ``rule.json`` naming that winner (``incumbent``) and a ``margin_faces``: from then on a
    recipe replaces it only with more than ``margin_faces`` more held-out faces right (one
    standard error of the difference, so that a lead within noise no longer decides; among
    several such recipes the most faces right, then macro-F1).

    Args:
        folder: the study's cards.
        baseline: the shipped recipe's card name; default the card named ``*_v3``.

    Each run is ``{"name", "change", "right", "n", "accuracy", "macro_f1", "fold_mean",
    "fold_std", "recipe"}``, in file-name order with the baseline first; accuracies are
    fractions.  The study also gives its ``dataset``, ``split_seed``, ``folds`` and
    ``margin_faces`` (0 without a rule).

    Raises:
        ValueError: no cards, no ``baseline`` card, a card of another protocol, cards that do
            not share one dataset and split seed, or a rule whose incumbent has no card.
    """
    cards = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
             if p.name != RECIPE_RULE}
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
    runs = []
    for name in [baseline] + [n for n in cards if n != baseline]:
        held_out = cards[name]["metrics"]["test"]["none"]
        runs.append({"name": name,
                     "change": _config_diff(cards[name], cards[baseline]),
                     "right": _faces_right(held_out),
                     "n": held_out["n"], "accuracy": held_out["accuracy"],
                     "macro_f1": held_out["macro_f1"],
                     "fold_mean": held_out["fold_accuracy_mean"],
                     "fold_std": held_out["fold_accuracy_std"],
                     "recipe": _recipe(cards[name])})
    margin = 0
    if (folder / RECIPE_RULE).exists():
        rule = json.loads((folder / RECIPE_RULE).read_text())
        margin = int(rule["margin_faces"])
        incumbent = next((r for r in runs if r["name"] == rule["incumbent"]), None)
        if incumbent is None:
            raise ValueError(f"{folder / RECIPE_RULE} names the incumbent {rule['incumbent']!r}, "
                             "which has no card there")
        ahead = [r for r in runs if r["right"] > incumbent["right"] + margin]
        selected = (max(ahead, key=lambda r: (r["right"], r["macro_f1"]))["name"] if ahead
                    else incumbent["name"])
    else:
        # max() keeps the first of equal keys, and the baseline comes first.
        selected = max(runs, key=lambda r: (r["right"], r["name"] == baseline,
                                            r["macro_f1"]))["name"]
    (dataset, split_seed), = splits
    return {"runs": runs, "selected": selected, "dataset": dataset, "split_seed": split_seed,
            "folds": len(cards[baseline]["protocol"].get("folds", [])), "margin_faces": margin}


def recipe_study_markdown(folder: Path, baseline: str | None = None) -> str:
    """The README table of a recipe study (``recipe_study``): one row per recipe.

    Raises:
        ValueError: as ``recipe_study``.
    """
    study = recipe_study(folder, baseline)
    rows = [[_run_label(r, study), r["change"], f"{r['right']} / {r['n']}", _pct(r["accuracy"]),
             f"{_pct(r['fold_mean'])} ± {_pct(r['fold_std'])}", _pct(r["macro_f1"])]
            for r in study["runs"]]
    return _markdown_table(["run", "change from the shipped recipe", "held-out faces right",
                            "held-out accuracy", "fold mean ± std", "macro-F1"], rows,
                           text_columns=2)


def recipe_studies_dir() -> Path:
    """``docs/recipes`` beside the shipped checkpoints folder: one subfolder per study."""
    return checkpoint_dir().parent / "docs" / "recipes"


def recipe_study_of(card: dict, root: Path | None = None) -> dict | None:
    """The recipe study that chose this checkpoint's recipe, or None.

    A checkpoint belongs to a study when it was trained on the study's paper-style split
    (``stratified``, same dataset and split seed) with the study's selected recipe: the same
    training config except the seed and where it ran (``NOT_RECIPE``).
    """
    root = root or recipe_studies_dir()
    protocol = card.get("protocol", {})
    if protocol.get("name") != "stratified":
        return None
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        study = recipe_study(folder)
        selected = next(r for r in study["runs"] if r["name"] == study["selected"])
        if (study["dataset"] == card.get("dataset", {}).get("name")
                and study["split_seed"] == protocol.get("seed")
                and selected["recipe"] == _recipe(card)):
            return study
    return None


def replace_between(text: str, start: str, end: str, body: str) -> str:
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{body}\n{end}",
                  text, flags=re.S)
