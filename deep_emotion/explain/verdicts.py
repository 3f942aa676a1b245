"""Verdicts on explanation methods, read from an analysis (``deep-emotion analyze``), in words.

Each method meets two checks in ``explain/stages.py``: faithfulness (does deleting the pixels
its map ranks first lower the class's probability faster than a random map does, face by
face, with the whole 95% interval?) and the model-randomisation sanity check (does its map
change when the network is scrambled?).  This module turns the recorded intervals into
verdicts, into one plain sentence per method that combines both, and into the sentences that
summarise a whole analysis; the dashboard's Trust and Explain pages show them as they are.

Pure functions of the analysis dict (the JSON ``analyze`` writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from deep_emotion.explain.metrics import MIN_DEFINED_FACES

__all__ = ["BEATS_RANDOM", "faithfulness_verdict", "sanity_verdict", "method_verdicts",
           "trusted_methods", "verdict_note", "method_sentence", "stn_finding", "trust_reading"]

BEATS_RANDOM = {True: "better than a random map", False: "no better than a random map",
                None: "no verdict (interval includes a random map's)"}
NOT_CHECKED = "not checked"


def faithfulness_verdict(result: Mapping, kind: str = "deletion") -> str:
    """How a method's deletion (or insertion) area compares with a random map's on the same
    faces; "no verdict" when the analysis recorded no interval."""
    if kind not in result:
        return "no verdict (no interval recorded)"
    return BEATS_RANDOM[result[kind].get("beats_random")]


def sanity_verdict(check: Mapping) -> str:
    """passes / fails / unclear / undefined, as the analysis recorded it from the interval of
    the similarity (``deep_emotion.explain.metrics.SanityCheck``); "undefined" when it
    recorded none."""
    return check.get("verdict", "undefined")


def method_verdicts(analyses: Mapping, method: str) -> tuple[str, str]:
    """(sanity verdict, deletion verdict) of ``method`` in these analyses."""
    check = (analyses.get("sanity") or {}).get("methods", {}).get(method)
    faith = (analyses.get("faithfulness") or {}).get("methods", {}).get(method)
    return (sanity_verdict(check) if check else NOT_CHECKED,
            faithfulness_verdict(faith) if faith else NOT_CHECKED)


def trusted_methods(analyses: Mapping | None, candidates: Sequence[str]) -> list[str]:
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


def _no_sanity_reason(check: Mapping, min_faces: int = MIN_DEFINED_FACES) -> str:
    """Why a method has no sanity verdict: too few faces checked, a map blank on too many of
    them, or an interval that straddles the threshold."""
    defined = check.get("faces_defined")
    if check.get("verdict") == "unclear":
        return "its sanity interval straddles the threshold"
    if defined is not None and defined < min_faces:
        faces = check.get("faces", defined)
        if faces < min_faces:
            return (f"the sanity check ran on {faces} faces and a verdict needs at least "
                    f"{min_faces}")
        return (f"its map is blank on all but {defined} of {faces} faces, and a verdict needs "
                f"{min_faces} with a map")
    return "the sanity check recorded no interval"


def method_sentence(analyses: Mapping, method: str) -> str:
    """One plain sentence on ``method`` that combines both checks, or says truly why there is
    no verdict."""
    sanity, faith = method_verdicts(analyses, method)
    if NOT_CHECKED in (sanity, faith):
        return "Not checked by this analysis."
    beats = {BEATS_RANDOM[True]: True, BEATS_RANDOM[False]: False}.get(faith)
    if sanity in ("passes", "fails") and beats is not None:
        return {
            ("passes", True): "Trustworthy here: its map depends on what the network learned, "
                              "and the pixels it ranks first matter to the network.",
            ("passes", False): "Read with care: its map depends on what the network learned, "
                               "but the pixels it ranks first matter no more than random ones.",
            ("fails", True): "Read with care: the pixels it ranks first matter, but its map "
                             "barely changes on a scrambled network, so it may show the face's "
                             "edges rather than the network's reasons.",
            ("fails", False): "Not to be trusted here: its map barely changes on a scrambled "
                              "network and its top pixels matter no more than random ones.",
        }[sanity, beats]
    reasons = []
    if sanity not in ("passes", "fails"):
        reasons.append(_no_sanity_reason(analyses["sanity"]["methods"][method]))
    if beats is None:
        reasons.append("the interval of its difference from a random map at deletion includes "
                       "zero" if faith == BEATS_RANDOM[None] else "no deletion interval was recorded")
    return "No overall verdict: " + "; ".join(reasons) + "."


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
        out += _sanity_reading(checks, labels)
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


def _sanity_reading(checks: Mapping, labels: Mapping) -> list[str]:
    by, reasons = {}, {}
    for m, v in checks.items():
        verdict = sanity_verdict(v)
        by.setdefault(verdict, []).append(m)
        if verdict == "undefined":
            reasons.setdefault(_no_sanity_reason(v), []).append(m)
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
    for reason, methods in reasons.items():
        out.append(f"No sanity verdict for {_names(methods, labels)}: {reason}.")
    return out
