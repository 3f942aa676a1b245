"""Builders for "Does the network look where people look?" on the Face regions page.

Pure functions of an analysis dict (``knockout``, ``human_agreement``, ``human_references``
from ``deep-emotion analyze``): tables, a Plotly figure and the PNG/CSV downloads; no
``st.*``.  The words per emotion come from ``deep_emotion.explain.human.emotion_reading``.
"""

from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go

from deep_emotion.explain.human import MEASURES, emotion_reading
from deep_emotion.explain.knockout import KNOCKOUT_REGIONS

__all__ = ["has_people", "source_names", "top_regions_table", "rankings_table", "readings",
           "failure_cases", "knockout_figure", "table_csv", "table_png"]

MEASURE_WORDS = {"attribution": "attribution (occlusion)", "attention": "attention (STN)",
                 "knockout": "knock-out (beyond a random region)"}


def has_people(analyses: dict) -> bool:
    return bool(analyses.get("human_agreement")) and bool(analyses.get("knockout"))


def source_names(analyses: dict) -> dict[str, str]:
    return {s: about.get("name", s) for s, about in analyses.get("human_references", {}).items()}


def _emotions(analyses: dict) -> list[str]:
    """The analysis's emotions that some source compares, in the network's class order."""
    compared = {e for cells in analyses.get("human_agreement", {}).values() for e in cells}
    return [e for e in analyses.get("classes", []) if e in compared]


def _rho(cell: dict | None) -> str:
    if not cell or cell.get("spearman") is None:
        return "no ranking"
    interval = "" if cell.get("low") is None else f" [{cell['low']:+.2f}, {cell['high']:+.2f}]"
    return f"{cell['spearman']:+.2f}{interval}, p {cell['p']:.3f}"


def top_regions_table(analyses: dict) -> pd.DataFrame:
    """One row per emotion: the network's top three regions by each measure, the people's
    top three per source, the knock-out ranking's agreement with each source, the reading."""
    agreement, names = analyses.get("human_agreement", {}), source_names(analyses)
    rows = []
    for emotion in _emotions(analyses):
        cells = {s: a[emotion] for s, a in agreement.items() if emotion in a}
        first = next(iter(cells.values()))
        row = {"Emotion": emotion}
        row |= {f"Network: {MEASURE_WORDS[m]}": ", ".join(first["network_top"].get(m, []))
                for m in MEASURES}
        for s, name in names.items():
            cell = cells.get(s, {})
            row[f"People: {name}"] = ", ".join(cell.get("people_top", [])) or "-"
        for s, name in names.items():
            row[f"Agreement with {name} (knock-out)"] = _rho(cells.get(s))
        row["Reading"] = emotion_reading(emotion, cells, names)[1]
        rows.append(row)
    return pd.DataFrame(rows)


def rankings_table(analyses: dict) -> pd.DataFrame:
    """Every comparison: emotion, source, network ranking, rank correlation, its interval,
    the permutation p and the chance level (95th percentile of random orderings)."""
    names = source_names(analyses)
    rows = [{"Emotion": e, "Source": names.get(s, s), "Network ranking": MEASURE_WORDS[m],
             "Rank correlation": c.get("spearman"), "Low": c.get("low"), "High": c.get("high"),
             "p": c.get("p"), "Chance (95%)": c.get("chance_95"), "Verdict": c.get("verdict")}
            for s, per in analyses.get("human_agreement", {}).items()
            for e, cell in per.items() for m, c in cell.get("measures", {}).items()]
    return pd.DataFrame(rows)


def readings(analyses: dict) -> list[tuple[str, str]]:
    """(sentence, reading) per emotion, in class order."""
    agreement, names = analyses.get("human_agreement", {}), source_names(analyses)
    return [emotion_reading(e, {s: a[e] for s, a in agreement.items() if e in a}, names)
            for e in _emotions(analyses)]


def failure_cases(analyses: dict) -> list[str]:
    """Where the region the network needs most is not the one observers rely on most, for a
    source of observers (not a template) whose ranking the network's does not agree with:
    e.g. fear read from the mouth where people read the eyes."""
    out = []
    refs = analyses.get("human_references", {})
    for s, per in analyses.get("human_agreement", {}).items():
        if refs.get(s, {}).get("kind") != "observers":
            continue
        for e in _emotions(analyses):
            cell = per.get(e)
            if not cell or cell.get("verdict") == "agrees" or not cell.get("people_top"):
                continue
            needs = (cell["network_top"].get("knockout") or [None])[0]
            if needs and needs != cell["people_top"][0]:
                out.append(f"{e.capitalize()}: the network needs the {needs} most, while "
                           f"people in {refs[s].get('name', s)} read it first from the "
                           f"{cell['people_top'][0]} ({_rho(cell)}).")
    return out


def knockout_figure(analyses: dict, emotion: str) -> go.Figure:
    """Bars: the drop of the true emotion's probability when each region is filled (primary
    baseline, 95% interval), beside the drop for a random region of the same area."""
    ko = analyses.get("knockout", {})
    regions = [r for r in KNOCKOUT_REGIONS if emotion in ko.get(r, {})]
    cells = [ko[r][emotion] for r in regions]
    primary = analyses.get("knockout_settings", {}).get("primary", "black")
    fig = go.Figure()
    fig.add_bar(x=regions, y=[c["probability_drop"] for c in cells], name=f"region ({primary} fill)",
                error_y={"type": "data", "symmetric": False,
                         "array": [(c["probability_high"] or c["probability_drop"]) - c["probability_drop"] for c in cells],
                         "arrayminus": [c["probability_drop"] - (c["probability_low"] or c["probability_drop"]) for c in cells]})
    fig.add_scatter(x=regions, y=[c["random_probability_drop"] for c in cells], mode="markers",
                    marker={"symbol": "line-ew-open", "size": 28, "line": {"width": 3}},
                    name="random region, same area")
    fig.update_layout(title=f"{emotion}: probability lost when a region is hidden",
                      yaxis_title="drop of the true emotion's probability", height=340,
                      margin={"t": 50, "b": 40, "l": 60, "r": 10}, legend={"orientation": "h"})
    return fig


def table_csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode()


def table_png(table: pd.DataFrame, title: str) -> bytes:
    """The table drawn as one PNG (matplotlib, headless)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0 + 1.9 * len(table.columns), 0.9 + 0.45 * (len(table) + 1)))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.set_title(title, fontsize=11, loc="left")
    cells = ax.table(cellText=table.astype(str).values,
                     colLabels=[c.replace(": ", ":\n").replace(" (", "\n(") for c in table.columns],
                     loc="upper left", cellLoc="left")
    cells.auto_set_font_size(False)
    cells.set_fontsize(8)
    cells.scale(1, 2.2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=130)
    return buf.getvalue()
