"""Regenerate the tables of README.md and docs/RESULTS.md from the shipped cards and the studies.

    python scripts/report.py          # rewrite both files in place
    python scripts/report.py --check  # exit 1 when either is stale (tests/test_results.py)

No number in those tables is typed by hand: each comes from a checkpoint card
(``checkpoints/NAME.json``, reproduced by ``deep-emotion evaluate --checkpoint NAME``) or from
a study's run cards under ``docs/`` (each run reproduced by ``python scripts/replay.py CARD``).
A generated table sits between ``<!-- generated:SECTION:start -->`` and ``...:end -->``
markers; the prose around it is the files' own.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from dashboard.studies import (changes, faces_right, read_cards, recipe_study, recipe_study_of,
                               seed_study, selected_epoch)
from dashboard.wording import describe
from dashboard.tables import PAPER_RESULTS
from deep_emotion.catalog import checkpoint_dir, list_checkpoints
from deep_emotion.checkpoints import read_card
from deep_emotion.model import build_model, count_parameters

ROOT = Path(__file__).resolve().parent.parent
DATASET_TITLES = {"fer2013": "FER2013", "ferplus": "FER+", "ckplus": "CK+48", "jaffe": "JAFFE",
                  "ferg": "FERG"}
# The README's short table: the paper network per dataset, on a paper-style split and
# subject-independently where the dataset allows it.
HEADLINE = ("fer2013_res_sqrt", "fer2013_res", "fer2013", "ferplus_res", "ferplus", "ckplus", "ckplus_cv10", "jaffe", "jaffe_loso")
NOT_A_CHANGE = ("threads", "eval_tta", "channels_last")  # where a run ran, not what it learnt


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def _table(columns: list[str], rows: list[list], align: str = "l") -> str:
    """A Markdown table; ``align`` gives each column's side (``l`` text, ``r`` numbers), the
    last letter repeating for the columns after it."""
    sides = [{"l": "---", "r": "---:"}[align[min(i, len(align) - 1)]] for i in range(len(columns))]
    return "\n".join("| " + " | ".join(str(c) for c in cells) + " |"
                     for cells in [columns, sides, *rows])


def _diff(card: dict, base: dict) -> str:
    diff = changes(card, base)
    return describe({k: v for k, v in diff.items() if k not in NOT_A_CHANGE})


def _variant(card: dict) -> str:
    """A label for rows that are not the plain paper network trained from scratch."""
    training = card.get("training", {})
    parts = [f"{what} {Path(training[key]).name}" for key, what in
             (("init", "fine-tuned from"), ("teacher", "distilled from")) if training.get(key)]
    paper_size = count_parameters(build_model(num_classes=len(card.get("classes", [])) or 7))
    if card.get("parameters") and card["parameters"] != paper_size:
        parts.append(f"{card['parameters']:,} parameters")
    return f" ({', '.join(parts)})" if parts else ""


def _seed_studies() -> dict[str, dict]:
    return {p.name: seed_study(p) for p in sorted((ROOT / "docs" / "seeds").glob("*"))
            if p.is_dir()}


def results_rows(folder: Path | None = None) -> list[dict]:
    """One row per shipped checkpoint with test metrics: dataset, protocol, test size, accuracy
    per TTA mode, the fold spread, the paper's number and the seed study it belongs to."""
    by_weights = {r["weights_sha256"]: s for s in _seed_studies().values() for r in s["runs"]}
    rows = []
    for name in list_checkpoints(folder):
        card = read_card((folder or checkpoint_dir()) / name)
        test = card.get("metrics", {}).get("test", {})
        if not test:
            continue
        dataset, none = card.get("dataset", {}).get("name", "?"), test.get("none", {})
        sizes = card.get("protocol", {}).get("split_sizes", {})
        rows.append({
            "checkpoint": name, "dataset": dataset,
            "title": DATASET_TITLES.get(dataset, dataset) + _variant(card),
            "protocol": card.get("protocol", {}).get("name", "?"),
            "test_size": sum(s["test"] for s in sizes) if isinstance(sizes, list) else sizes.get("test"),
            "accuracy": {mode: m["accuracy"] for mode, m in test.items()},
            "fold_mean": none.get("fold_accuracy_mean"), "fold_std": none.get("fold_accuracy_std"),
            "paper": PAPER_RESULTS.get(dataset), "seeds": by_weights.get(card.get("weights_sha256")),
        })
    order = list(DATASET_TITLES)
    return sorted(rows, key=lambda r: (order.index(r["dataset"]) if r["dataset"] in order else 99,
                                       r["checkpoint"]))


def results_markdown(rows: list[dict]) -> str:
    """Every shipped checkpoint: test accuracy without and with TTA, fold spread, paper."""
    body = [[r["title"], r["protocol"], f"`{r['checkpoint']}`", r["test_size"],
             _pct(r["accuracy"].get("none")), _pct(r["accuracy"].get("flip")),
             _pct(r["accuracy"].get("tencrop")),
             "—" if r["fold_mean"] is None else f"{_pct(r['fold_mean'])} ± {_pct(r['fold_std'])}",
             _pct(r["paper"])] for r in rows]
    return _table(["dataset", "protocol", "checkpoint", "test faces", "ours, no TTA",
                   "ours, flip TTA", "ours, ten-crop TTA", "fold mean ± sd (no TTA)", "paper"],
                  body, align="lllr")


def headline_markdown(rows: list[dict]) -> str:
    """The README's table: the ``HEADLINE`` checkpoints, with the spread over training seeds
    where a seed study holds the checkpoint."""
    body = []
    for r in sorted((r for r in rows if r["checkpoint"] in HEADLINE),
                    key=lambda r: HEADLINE.index(r["checkpoint"])):
        seeds = r["seeds"]
        body.append([DATASET_TITLES.get(r["dataset"], r["dataset"]), r["protocol"],
                     f"`{r['checkpoint']}`", _pct(r["accuracy"].get("none")),
                     f"{_pct(seeds['mean'])} ± {_pct(seeds['std'])} ({len(seeds['runs'])})"
                     if seeds else "—", _pct(r["paper"])])
    return _table(["dataset", "protocol", "checkpoint", "ours", "same recipe over seeds (n)",
                   "paper"], body, align="lllr")


def ablation_markdown(folder: Path, baseline: str = "abl_base") -> str:
    """The ablation cards in ``folder``: what each changes from ``baseline`` and the selected
    epoch's validation accuracy (PublicTest for FER2013).  No test numbers: these runs chose."""
    cards = read_cards(folder)
    if baseline not in cards:
        return f"(no ablation cards in {folder})"
    rows = []
    for name, card in cards.items():
        best = selected_epoch(card)
        rows.append([f"`{name}`", card.get("training", {}).get("epochs"),
                     _diff(card, cards[baseline]) if name != baseline else "— (baseline)",
                     _pct(best["val_acc"]) if best else "—", best["epoch"] if best else "—"])
    return _table(["run", "epochs", "change from the baseline", "best validation accuracy",
                   "at epoch"], rows, align="lrlr")


def family_markdown(folder: Path, baseline: str) -> str:
    """The residual family's full runs in ``folder``: size, what each changes from
    ``baseline``, training speed and the selected epoch's validation accuracy and macro recall
    (PublicTest for FER2013).  No test numbers: these runs chose; the shipped one's test
    numbers are in the results table."""
    cards = read_cards(folder)
    if baseline not in cards:
        return f"(no family cards in {folder.relative_to(ROOT)})"
    rows = []
    for name, card in cards.items():
        best, val = selected_epoch(card), card.get("metrics", {}).get("val", {}).get("none", {})
        recalls = [c["recall"] for c in val.get("per_class", {}).values()]
        rows.append([f"`{name}`", f"{card.get('parameters', 0):,}",
                     card.get("training", {}).get("epochs"),
                     _diff(card, cards[baseline]) if name != baseline else "— (baseline)",
                     f"{card['images_per_s']:.0f}" if card.get("images_per_s") else "—",
                     _pct(best["val_acc"]) if best else "—",
                     _pct(sum(recalls) / len(recalls)) if recalls else "—",
                     best["epoch"] if best else "—"])
    return _table(["run", "parameters", "epochs", "change from the baseline",
                   "training images/s", "best validation accuracy", "its macro recall",
                   "at epoch"], rows, align="lrrlr")


def _run_label(name: str, selected: str) -> str:
    return f"`{name}`" + (" (selected)" if name == selected else "")


def seed_study_markdown(folder: Path) -> str:
    """One row per seed of a study (``seed_study``), then the mean ± sd of test accuracy.

    Raises:
        ValueError: as ``seed_study``.
    """
    study = seed_study(folder)
    rows = [[_run_label(r["name"], study["selected"]), r["seed"], r["epoch"], _pct(r["val_acc"]),
             "—" if r["val_loss"] is None else f"{r['val_loss']:.4f}", _pct(r["test_acc"]),
             f"{r['test_right']} / {r['test_n']}"] for r in study["runs"]]
    rows.append([f"mean ± sd over {len(study['runs'])} seeds", "", "", "", "",
                 f"{_pct(study['mean'])} ± {_pct(study['std'])}", ""])
    return _table(["run", "training seed", "selected epoch", "validation accuracy",
                   "validation loss", "test, no TTA", "test faces right"], rows, align="lr")


def seed_summary_markdown(folder: Path | None = None) -> str:
    """One row per seed study: the spread of test accuracy, the seed validation chose, and the
    shipped checkpoint that is that seed (if any)."""
    shipped = {read_card(checkpoint_dir() / n).get("weights_sha256"): n
               for n in list_checkpoints(folder)}
    rows = []
    for name, study in _seed_studies().items():
        chosen = next(r for r in study["runs"] if r["name"] == study["selected"])
        ships = [shipped[r["weights_sha256"]] for r in study["runs"] if r["weights_sha256"] in shipped]
        rows.append([f"`{name}`", len(study["runs"]),
                     f"{_pct(study['mean'])} ± {_pct(study['std'])}",
                     f"{_pct(study['min'])} to {_pct(study['max'])}",
                     f"seed {chosen['seed']}: {_pct(chosen['test_acc'])}",
                     ", ".join(f"`{s}`" for s in ships) or "—"])
    return _table(["study", "seeds", "test, mean ± sd", "test, min to max",
                   "chosen by validation", "shipped as"], rows, align="lrrrl")


def recipe_study_markdown(folder: Path) -> str:
    """One row per recipe of a study (``recipe_study``), the selected one marked.

    Raises:
        ValueError: as ``recipe_study``.
    """
    study = recipe_study(folder)
    rows = [[_run_label(r["name"], study["selected"]), r["change"], f"{r['right']} / {r['n']}",
             _pct(r["accuracy"]), f"{_pct(r['fold_mean'])} ± {_pct(r['fold_std'])}",
             _pct(r["macro_f1"])] for r in study["runs"]]
    return _table(["run", "change from the recipe shipped before", "held-out faces right",
                   "held-out accuracy", "fold mean ± sd", "macro-F1"], rows, align="llr")


def replication_markdown(folder: Path, study: Path) -> str:
    """Recipe-study runs trained again with another seed (``folder``), beside the study's own
    run of the same recipe (``study``): held-out faces right with each seed and pooled."""
    first = {r["name"]: r for r in recipe_study(study)["runs"]}
    rows = []
    for name, card in read_cards(folder).items():
        original = first[name.rsplit("_seed", 1)[0]]
        again = card["metrics"]["test"]["none"]
        right = faces_right(again)
        rows.append([f"`{original['name']}`", original["change"], f"{original['right']} / "
                     f"{original['n']}", card["training"]["seed"], f"{right} / {again['n']}",
                     f"{original['right'] + right} / {original['n'] + again['n']}"])
    return _table(["recipe", "change", "held-out right, seed 0", "other seed",
                   "held-out right, other seed", "pooled"], rows, align="llr")


def shipped_markdown(folder: Path | None = None) -> str:
    """How each shipped network came to be: the study runs it is (an ablation run, a seed of
    a seed study), the recipe study that chose its recipe, and the command that trains it."""
    seeds = _seed_studies()
    ablations = read_cards(ROOT / "docs" / "ablations")
    rows = []
    for name in list_checkpoints(folder):
        card = read_card((folder or checkpoint_dir()) / name)
        sha = card.get("weights_sha256")
        parts = [f"ablation run `{a}`" for a, c in ablations.items()
                 if c.get("weights_sha256") == sha]
        for study_name, study in seeds.items():
            mine = next((r for r in study["runs"] if r["weights_sha256"] == sha), None)
            if mine:
                parts.append(f"seed {mine['seed']} of {len(study['runs'])} in `{study_name}`"
                             + (", chosen by validation" if mine["name"] == study["selected"]
                                else ""))
        recipes = recipe_study_of(card, ROOT / "docs" / "recipes")
        if recipes:
            parts.append(f"recipe chosen by the {DATASET_TITLES[recipes['dataset']]} recipe study")
        rows.append([f"`{name}`", card.get("training", {}).get("epochs"),
                     "; ".join(parts) or "one run",
                     f"`python scripts/replay.py {name}`"])
    return _table(["checkpoint", "epochs", "study", "trains it again"], rows, align="lrl")


def readme_sections(folder: Path | None = None) -> dict[str, str]:
    return {"headline": headline_markdown(results_rows(folder))}


def results_sections(folder: Path | None = None) -> dict[str, str]:
    """Every generated table of ``docs/RESULTS.md``, by section name."""
    docs = ROOT / "docs"
    sections = {"results": results_markdown(results_rows(folder)),
                "shipped": shipped_markdown(folder),
                "ablations": ablation_markdown(docs / "ablations"),
                "family": family_markdown(docs / "family", "fer2013_res_plain"),
                "seeds": seed_summary_markdown(folder)}
    for study in sorted(p for p in (docs / "seeds").glob("*") if p.is_dir()):
        sections[f"seeds:{study.name}"] = seed_study_markdown(study)
    for study in sorted(p for p in (docs / "recipes").glob("*") if p.is_dir()):
        sections[f"recipes:{study.name}"] = recipe_study_markdown(study)
    for again in sorted(p for p in (docs / "replications").glob("*") if p.is_dir()):
        sections[f"replications:{again.name}"] = replication_markdown(
            again, docs / "recipes" / again.name)
    return sections


def markers(section: str) -> tuple[str, str]:
    return f"<!-- generated:{section}:start -->", f"<!-- generated:{section}:end -->"


def render(text: str, sections: dict[str, str], where: str = "the file") -> str:
    """``text`` with each section's table written between its markers.

    Raises:
        ValueError: a section's markers are missing, so its table has nowhere to go.
    """
    for section, body in sections.items():
        start, end = markers(section)
        if start not in text or end not in text:
            raise ValueError(f"{where} has no {start} ... {end} markers")
        text = re.sub(re.escape(start) + ".*?" + re.escape(end),
                      lambda _: f"{start}\n{body}\n{end}", text, flags=re.S)
    return text


def documents(folder: Path | None = None) -> dict[Path, str]:
    """Each generated file and the text it should have."""
    readme, results = ROOT / "README.md", ROOT / "docs" / "RESULTS.md"
    return {readme: render(readme.read_text(), readme_sections(folder), "README.md"),
            results: render(results.read_text(), results_sections(folder), "docs/RESULTS.md")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = p.parse_args(argv)
    wanted = documents()
    stale = [path for path, text in wanted.items() if path.read_text() != text]
    for path in stale:
        print(f"{path.relative_to(ROOT)} is stale" if args.check
              else f"{path.relative_to(ROOT)} updated")
        if not args.check:
            path.write_text(wanted[path])
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
