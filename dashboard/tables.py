"""Pure table builders (pandas) for the pages: metrics from matrices and cards, no ``st.*``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["per_class_from_confusion", "per_class_table", "metric_views", "results_table",
           "faithfulness_table", "sanity_table", "sanity_verdict", "trust_reading", "split_sizes_table",
           "PAPER_RESULTS"]

# Accuracies the paper reports (Minaee & Abdolrashidi, Sensors 2021, Table 1-4), for the
# model-card comparison.  FER+ is not evaluated in the paper.
PAPER_RESULTS = {"fer2013": 0.7002, "ferg": 0.993, "jaffe": 0.928, "ckplus": 0.980}


def per_class_from_confusion(confusion: np.ndarray, classes: Sequence[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support per class from a confusion matrix (rows true)."""
    m = np.asarray(confusion, dtype=float)
    out = {}
    for i, c in enumerate(classes):
        tp, pred, true = m[i, i], m[:, i].sum(), m[i].sum()
        p = tp / pred if pred else 0.0
        r = tp / true if true else 0.0
        out[c] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                  "support": int(true)}
    return out


def per_class_table(per_class: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    rows = [{"class": c, "precision": v.get("precision"), "recall": v.get("recall"),
             "F1": v.get("f1"), "support": v.get("support")} for c, v in per_class.items()]
    return pd.DataFrame(rows).set_index("class")


def metric_views(card: Mapping) -> list[tuple[str, str]]:
    """(split, tta) pairs in a card's metrics that hold a confusion matrix, test split first."""
    views = [(split, tta) for split, by_tta in card.get("metrics", {}).items()
             if isinstance(by_tta, Mapping)
             for tta, m in by_tta.items() if isinstance(m, Mapping) and "confusion" in m]
    order = {"test": 0, "PrivateTest": 0, "val": 2, "PublicTest": 2}
    return sorted(views, key=lambda v: (order.get(v[0], 1), v[1] != "none"))


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


def faithfulness_table(methods: Mapping[str, Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Deletion and insertion AUC (mean and std) per method, best deletion first."""
    labels = labels or {}
    rows = [{"method": labels.get(m, m), "deletion AUC ↓": v.get("deletion_auc"),
             "± (del.)": v.get("deletion_auc_std"), "insertion AUC ↑": v.get("insertion_auc"),
             "± (ins.)": v.get("insertion_auc_std")} for m, v in methods.items()]
    return pd.DataFrame(rows).sort_values("deletion AUC ↓").set_index("method")


def _last_similarity(check: Mapping) -> float:
    values = check.get("mean_spearman") or [None]
    return float("nan") if values[-1] is None else float(values[-1])


def sanity_verdict(check: Mapping) -> str:
    """passes / fails, or undefined when the last similarity is NaN (a constant map, e.g.
    occlusion flips on a network whose decision no patch changes)."""
    if not np.isfinite(_last_similarity(check)):
        return "undefined"
    return "passes" if check.get("passed") else "fails"


def sanity_table(checks: Mapping[str, Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    labels = labels or {}
    rows = [{"method": labels.get(m, m), "similarity, all layers random": _last_similarity(v),
             "threshold": v.get("threshold"), "verdict": sanity_verdict(v)}
            for m, v in checks.items()]
    return pd.DataFrame(rows)


def trust_reading(analyses: Mapping, labels: Mapping[str, str] | None = None) -> list[str]:
    """Plain-language sentences summarising faithfulness and sanity results."""
    labels = labels or {}
    out = []
    methods = dict(analyses.get("faithfulness", {}).get("methods", {}))
    random = methods.pop("random", None)
    if methods:
        best = min(methods, key=lambda m: methods[m].get("deletion_auc", float("inf")))
        b = methods[best]
        ref = (f", against {random['deletion_auc']:.2f} for a random map" if random else "")
        out.append(f"**{labels.get(best, best)}** is the most faithful by deletion: removing the "
                   f"pixels it ranks first drops the class's probability fastest (area "
                   f"{b['deletion_auc']:.2f}{ref}).")
        if random:
            worse = [labels.get(m, m) for m, v in methods.items()
                     if v.get("deletion_auc", 0) >= random["deletion_auc"]]
            if worse:
                out.append("No better than random at deletion: " + ", ".join(worse) +
                           ". Their maps do not point at what the network needs.")
            else:
                out.append("Every method beats a random map at deletion.")
    checks = analyses.get("sanity", {}).get("methods", {})
    if checks:
        verdicts = {m: sanity_verdict(v) for m, v in checks.items()}
        passed = [labels.get(m, m) for m, v in verdicts.items() if v == "passes"]
        failed = [labels.get(m, m) for m, v in verdicts.items() if v == "fails"]
        undefined = [labels.get(m, m) for m, v in verdicts.items() if v == "undefined"]
        if passed:
            out.append("Change when the network is randomised, so they depend on what it learned: "
                       + ", ".join(passed) + ".")
        if failed:
            out.append("Barely change on a randomised network (read them with care: they may "
                       "show the face's edges rather than the model's reasons): "
                       + ", ".join(failed) + ".")
        if undefined:
            out.append("No verdict for " + ", ".join(undefined) + ": on a randomised network "
                       "the map is constant (nothing it does changes the decision), so its "
                       "similarity to the original cannot be measured.")
    return out or ["These analyses hold no faithfulness or sanity results yet."]
