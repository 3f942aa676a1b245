"""Pure table builders (pandas) for the pages: metrics from matrices and cards, no ``st.*``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["per_class_from_confusion", "per_class_table", "metric_views", "results_table",
           "faithfulness_table", "faithfulness_verdict", "sanity_table", "sanity_verdict",
           "method_verdicts", "trusted_methods", "verdict_note", "stn_finding", "trust_reading",
           "split_sizes_table",
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


def _interval_text(interval) -> str:
    """[mean, low, high] -> "0.31 (0.28 to 0.34)"; "—" when there is none."""
    if not interval:
        return "—"
    mean, low, high = interval
    return f"{mean:.2f} ({low:.2f} to {high:.2f})"


BEATS_RANDOM = {True: "better than a random map", False: "no better than a random map",
                None: "no verdict (interval includes a random map's)"}


def faithfulness_verdict(result: Mapping, kind: str = "deletion") -> str:
    """How a method's deletion (or insertion) area compares with a random map's on the same
    faces; "no verdict" for analyses made before intervals were recorded."""
    if kind not in result:
        return "no verdict (no interval recorded)"
    return BEATS_RANDOM[result[kind].get("beats_random")]


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


def sanity_verdict(check: Mapping) -> str:
    """passes / fails / unclear / undefined, as the analysis recorded it from the interval of
    the similarity (``deep_emotion.explain.metrics.SanityCheck``).  Analyses made before
    intervals were recorded get "undefined": a mean of a few faces, some of them constant maps
    counted as 0, is no verdict."""
    return check.get("verdict", "undefined")


def sanity_table(checks: Mapping[str, Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    labels = labels or {}
    rows = [{"method": labels.get(m, m),
             "similarity to the original, all layers random": _interval_text(v.get("interval"))
             if v.get("interval") else _last_similarity(v),
             "faces with a defined map": f"{v['faces_defined']} of {v['faces']}" if "faces" in v
             else v.get("faces_defined", "—"),
             "pass below": v.get("threshold"), "verdict": sanity_verdict(v)}
            for m, v in checks.items()]
    return pd.DataFrame(rows)


def method_verdicts(analyses: Mapping, method: str) -> tuple[str, str]:
    """(sanity verdict, deletion verdict) of ``method`` in these analyses."""
    check = (analyses.get("sanity") or {}).get("methods", {}).get(method)
    faith = (analyses.get("faithfulness") or {}).get("methods", {}).get(method)
    return (sanity_verdict(check) if check else "not checked",
            faithfulness_verdict(faith) if faith else "not checked")


def trusted_methods(analyses: Mapping | None, candidates) -> list[str]:
    """The ``candidates`` that pass the sanity check and beat a random map at deletion, both
    with their whole 95% interval: the methods the Explain page shows by default."""
    if not analyses:
        return []
    return [m for m in candidates
            if method_verdicts(analyses, m) == ("passes", BEATS_RANDOM[True])]


def verdict_note(analyses: Mapping | None, method: str) -> str | None:
    """A short warning to print beside a method's map when it did not pass both checks."""
    if not analyses:
        return None
    sanity, faith = method_verdicts(analyses, method)
    notes = []
    if sanity != "passes":
        notes.append({"fails": "fails the sanity check", "unclear": "sanity check unclear",
                      "undefined": "no sanity verdict"}.get(sanity, f"sanity: {sanity}"))
    if faith != BEATS_RANDOM[True]:
        notes.append(faith)
    return "; ".join(notes) or None


def stn_finding(analyses: Mapping, threshold: float = 0.9) -> str | None:
    """One plain sentence when the STN's class-mean maps look alike for every emotion (all
    pairwise correlations at least ``threshold``), computed from the analysis, with occlusion's
    lowest correlation for contrast; None when they differ or are missing."""
    means = analyses.get("class_mean_maps", {})
    stn = [np.asarray(v, dtype=float).ravel() for v in means.get("stn", {}).values()]
    if len(stn) < 2:
        return None

    def lowest(maps):
        c = np.corrcoef(np.stack(maps))
        return float(c[~np.eye(len(c), dtype=bool)].min())

    low = lowest(stn)
    if not np.isfinite(low) or low < threshold:
        return None
    inside = np.mean([(m > 0.5 * m.max()).mean() for m in stn])
    occ = [np.asarray(v, dtype=float).ravel() for v in means.get("occlusion", {}).values()]
    contrast = f" (occlusion's maps: as low as {lowest(occ):.2f})" if len(occ) > 1 else ""
    return (f"The network's own attention (STN) is nearly the same box on every face, covering "
            f"about {inside:.0%} of it evenly: its average maps for the {len(stn)} emotions "
            f"correlate at least {low:.2f} with each other{contrast}, so it does not show which "
            "part of the face tells one emotion from another.")


def trust_reading(analyses: Mapping, labels: Mapping[str, str] | None = None) -> list[str]:
    """Plain-language sentences summarising faithfulness and sanity results."""
    labels = labels or {}
    methods = dict(analyses.get("faithfulness", {}).get("methods", {}))
    random = methods.pop("random", None)
    out = _faithfulness_reading(methods, random, labels) if methods else []
    checks = analyses.get("sanity", {}).get("methods", {})
    if checks:
        out += _sanity_reading(checks, labels, analyses.get("sanity", {}).get("faces"))
    return out or ["These analyses hold no faithfulness or sanity results yet."]


def _names(methods, labels) -> str:
    return ", ".join(labels.get(m, m) for m in methods)


def _faithfulness_reading(methods: Mapping, random: Mapping | None, labels: Mapping) -> list[str]:
    best = min(methods, key=lambda m: methods[m].get("deletion_auc", float("inf")))
    b = methods[best]
    ref = f", against {random['deletion_auc']:.2f} for a random map" if random else ""
    out = [f"**{labels.get(best, best)}** is the most faithful by deletion: removing the pixels "
           f"it ranks first drops the class's probability fastest (area {b['deletion_auc']:.2f}{ref})."]
    if not random:
        return out
    verdicts = {m: faithfulness_verdict(v) for m, v in methods.items()}
    worse = [m for m, v in verdicts.items() if v == BEATS_RANDOM[False]]
    open_ = [m for m, v in verdicts.items() if v not in (BEATS_RANDOM[True], BEATS_RANDOM[False])]
    if worse:
        out.append(f"No better than a random map at deletion: {_names(worse, labels)}. Their maps "
                   "do not point at what the network needs.")
    if open_:
        out.append(f"No faithfulness verdict for {_names(open_, labels)}: the 95% interval of "
                   "the difference from a random map includes zero, or none was recorded.")
    if not worse and not open_:
        out.append("Every method beats a random map at deletion, with its whole 95% interval.")
    return out


def _sanity_reading(checks: Mapping, labels: Mapping, faces) -> list[str]:
    by = {}
    for m, v in checks.items():
        by.setdefault(sanity_verdict(v), []).append(m)
    out = []
    if by.get("passes"):
        out.append("Change when the network is randomised, so they depend on what it learned "
                   f"(the whole 95% interval below the threshold): {_names(by['passes'], labels)}.")
    if by.get("fails"):
        out.append("Barely change on a randomised network (read them with care: they may show "
                   f"the face's edges rather than the model's reasons): {_names(by['fails'], labels)}.")
    if by.get("unclear"):
        out.append(f"Sanity check unclear (the 95% interval straddles the threshold): "
                   f"{_names(by['unclear'], labels)}.")
    legacy = [m for m in by.get("undefined", []) if "verdict" not in checks[m]]
    blank = [m for m in by.get("undefined", []) if m not in legacy]
    if blank:
        out.append(f"No verdict for {_names(blank, labels)}: its map is constant (blank) on "
                   "almost every face, before or after randomisation, and a blank map can "
                   "neither pass nor fail; those faces are left out, never counted as a pass.")
    if legacy:
        out.append(f"No verdict for {_names(legacy, labels)}: these checks ran on {faces or 'a few'} "
                   "faces, before confidence intervals were recorded. The analysis of this "
                   "checkpoint has not been refreshed yet.")
    return out
