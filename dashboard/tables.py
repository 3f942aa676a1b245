"""Pure table builders (pandas) for the pages: metrics from matrices and cards, no ``st.*``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["per_class_from_confusion", "per_class_table", "metric_views", "results_table",
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
    order = {"PrivateTest": 0, "test": 0, "cv": 1, "PublicTest": 2}
    return sorted(views, key=lambda v: (order.get(v[0], 1), v[1] != "none"))


def results_table(cards: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per checkpoint and (split, tta): our accuracy beside the paper's number."""
    rows = []
    for name, card in cards.items():
        ds = (card.get("dataset") or {}).get("name", "?")
        protocol = card.get("protocol") or {}
        for split, by_tta in card.get("metrics", {}).items():
            if not isinstance(by_tta, Mapping):
                continue
            for tta, m in by_tta.items():
                if not isinstance(m, Mapping) or m.get("accuracy") is None:
                    continue
                rows.append({"checkpoint": name, "dataset": ds,
                             "protocol": protocol.get("name", "") if isinstance(protocol, Mapping)
                             else str(protocol),
                             "split": split, "TTA": tta, "accuracy": m["accuracy"],
                             "± std": m.get("accuracy_std"),
                             "paper": PAPER_RESULTS.get(ds)})
    return pd.DataFrame(rows)
