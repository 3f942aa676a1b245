"""Pure table builders (pandas) for the pages: metrics from matrices and cards, the trust
checks per method; no ``st.*``.  Verdicts and their sentences come from the core
(``deep_emotion.explain.verdicts``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from deep_emotion.evaluate import metrics_from_confusion
from deep_emotion.experiment import OFFICIAL_SPLITS
from deep_emotion.explain.verdicts import faithfulness_verdict, method_sentence, sanity_verdict

__all__ = ["per_class_from_confusion", "per_class_table", "metric_views", "results_table",
           "seed_study_table", "recipe_study_table", "split_sizes_table", "faithfulness_table",
           "sanity_table", "PAPER_RESULTS", "TTA_COLUMNS"]

# Accuracies the paper reports (Minaee & Abdolrashidi, Sensors 2021, Table 1-4), for the
# model-card comparison.  FER+ is not evaluated in the paper.
PAPER_RESULTS = {"fer2013": 0.7002, "ferg": 0.993, "jaffe": 0.928, "ckplus": 0.980}


def per_class_from_confusion(confusion: np.ndarray, classes: Sequence[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support per class from a confusion matrix (rows true), as
    evaluation computes them (``deep_emotion.evaluate.metrics_from_confusion``)."""
    return metrics_from_confusion(confusion, classes)["per_class"]


def per_class_table(per_class: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    rows = [{"class": c, "precision": v.get("precision"), "recall": v.get("recall"),
             "F1": v.get("f1"), "support": v.get("support")} for c, v in per_class.items()]
    return pd.DataFrame(rows).set_index("class")


def metric_views(card: Mapping) -> list[tuple[str, str]]:
    """(split, tta) pairs in a card's metrics that hold a confusion matrix, test split first."""
    views = [(split, tta) for split, by_tta in card.get("metrics", {}).items()
             if isinstance(by_tta, Mapping)
             for tta, m in by_tta.items() if isinstance(m, Mapping) and "confusion" in m]
    order = {"test": 0, "val": 2}  # by the split's role (``experiment.OFFICIAL_SPLITS``)
    return sorted(views, key=lambda v: (order.get(OFFICIAL_SPLITS.get(v[0]), 1), v[1] != "none"))


TTA_COLUMNS = {"none": "accuracy", "flip": "+ flip TTA", "tencrop": "+ ten-crop TTA"}


def results_table(cards: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per checkpoint: test accuracy without and with TTA beside the paper's number.

    ``± std`` is the spread over cross-validation folds (blank for a single split); ``Δ vs
    paper`` compares the accuracy without TTA.  Validation numbers are left out: they chose
    the epoch, so they are not results.
    """
    rows = []
    for name, card in cards.items():
        test = (card.get("metrics") or {}).get("test")
        if not isinstance(test, Mapping):
            continue
        ds = (card.get("dataset") or {}).get("name", "?")
        protocol = card.get("protocol") or {}
        row = {"checkpoint": name, "dataset": ds,
               "protocol": protocol.get("name", "") if isinstance(protocol, Mapping) else str(protocol)}
        for tta, column in TTA_COLUMNS.items():
            m = test.get(tta)
            row[column] = m.get("accuracy") if isinstance(m, Mapping) else float("nan")
        none = test.get("none") if isinstance(test.get("none"), Mapping) else {}
        row["± std"] = none.get("fold_accuracy_std", float("nan"))
        row["paper"] = PAPER_RESULTS.get(ds, float("nan"))
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.astype({c: float for c in (*TTA_COLUMNS.values(), "± std", "paper")})
    df["Δ vs paper"] = df["accuracy"] - df["paper"]
    if df["± std"].isna().all():  # no cross-validated checkpoint: nothing to show
        df = df.drop(columns="± std")
    return df


def seed_study_table(study: Mapping) -> pd.DataFrame:
    """One row per training seed of a study (``studies.seed_study``): the epoch
    validation selected, its accuracy and loss, and test accuracy; the chosen seed is marked."""
    return pd.DataFrame([{"seed": r["seed"],
                          "chosen": "✓" if r["name"] == study["selected"] else "",
                          "epoch": r["epoch"], "validation": r["val_acc"],
                          "validation loss": r["val_loss"], "test": r["test_acc"],
                          "test faces right": f"{r['test_right']} / {r['test_n']}"}
                         for r in study["runs"]])


def recipe_study_table(study: Mapping) -> pd.DataFrame:
    """One row per recipe of a study (``studies.recipe_study``): what it changes,
    its held-out faces right and accuracy pooled over the folds, the spread over folds and the
    macro-F1; the chosen recipe is marked."""
    return pd.DataFrame([{"recipe": r["change"],
                          "chosen": "✓" if r["name"] == study["selected"] else "",
                          "held-out faces right": f"{r['right']} / {r['n']}",
                          "held-out": r["accuracy"], "fold mean": r["fold_mean"],
                          "± std": r["fold_std"], "macro-F1": r["macro_f1"]}
                         for r in study["runs"]])


def split_sizes_table(sizes, folds=None) -> pd.DataFrame:
    """Rows per split: one row for a single split dict, one per fold for a list of dicts."""
    if isinstance(sizes, Mapping):
        return pd.DataFrame([sizes], index=[(folds or ["all"])[0]])
    names = list(folds or [f"fold {i}" for i in range(len(sizes))])
    return pd.DataFrame(list(sizes), index=names[:len(sizes)])


def _interval_text(interval) -> str:
    """[mean, low, high] -> "0.31 (0.28 to 0.34)"; "—" when there is none."""
    if not interval:
        return "—"
    mean, low, high = interval
    return f"{mean:.2f} ({low:.2f} to {high:.2f})"


def faithfulness_table(methods: Mapping[str, Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Deletion and insertion area per method with its 95% interval and its comparison with a
    random map; best deletion first."""
    labels = labels or {}
    rows = [{"method": labels.get(m, m), "deletion area ↓": v.get("deletion_auc"),
             "deletion, 95% interval": _interval_text((v.get("deletion") or {}).get("interval")),
             "deletion verdict": "reference" if m == "random" else faithfulness_verdict(v),
             "insertion area ↑": v.get("insertion_auc"),
             "insertion, 95% interval": _interval_text((v.get("insertion") or {}).get("interval")),
             "insertion verdict": "reference" if m == "random" else faithfulness_verdict(v, "insertion")}
            for m, v in methods.items()]
    return pd.DataFrame(rows).sort_values("deletion area ↓").set_index("method")


def _last_similarity(check: Mapping) -> float:
    values = check.get("mean_spearman") or [None]
    return float("nan") if values[-1] is None else float(values[-1])


def sanity_table(analyses: Mapping, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per method: its similarity to the original map once every layer is random (with its
    interval), the faces with a defined map, the threshold, its sanity verdict and the one
    sentence (``verdicts.method_sentence``) that combines both checks."""
    labels = labels or {}
    checks = analyses.get("sanity", {}).get("methods", {})
    rows = [{"method": labels.get(m, m),
             "similarity to the original, all layers random": _interval_text(v.get("interval"))
             if v.get("interval") else _last_similarity(v),
             "faces with a defined map": f"{v['faces_defined']} of {v['faces']}" if "faces" in v
             else v.get("faces_defined", "—"),
             "pass below": v.get("threshold"), "verdict": sanity_verdict(v),
             "both checks together": method_sentence(analyses, m)}
            for m, v in checks.items()]
    return pd.DataFrame(rows)
