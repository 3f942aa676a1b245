"""Plotly figures of a clip's timeline (data in, figure out; no ``st.*``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = ["emotion_timeline", "click_columns", "nearest_moment", "CLASS_COLOURS"]

# One colour per canonical emotion, so a class keeps its colour across faces and clips.
CLASS_COLOURS = {"anger": "#d62728", "contempt": "#8c564b", "disgust": "#2ca02c",
                 "fear": "#9467bd", "happiness": "#ff7f0e", "neutral": "#7f7f7f",
                 "sadness": "#1f77b4", "surprise": "#e377c2"}


def click_columns(times: np.ndarray, span: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Centres and widths of columns that tile ``span`` (s), one per moment in ``times`` (sorted),
    each reaching halfway to its neighbours: a click anywhere lands in the nearest moment's."""
    times = np.asarray(times, float)
    edges = np.concatenate([[min(span[0], times[0])], (times[1:] + times[:-1]) / 2,
                            [max(span[1], times[-1])]])
    return (edges[1:] + edges[:-1]) / 2, np.maximum(np.diff(edges), 1e-3)


def emotion_timeline(times: np.ndarray, frames: np.ndarray, probs: np.ndarray,
                     classes: Sequence[str], title: str = "",
                     marker: float | None = None,
                     span: tuple[float, float] | None = None) -> go.Figure:
    """One line per class: its probability over clip time for one face.

    Args:
        times: (n,) seconds; frames: (n,) frame indices (shown on hover); probs: (n, C) in
            [0, 1].
        marker: a time (s) to mark with a vertical line (the moment shown below the chart).
        span: the clip's first and last sampled time (s): the x axis covers the whole clip,
            not only the moments with this face.

    Invisible full-height columns (``click_columns``), one per moment, carry the clicks: a
    click anywhere on the chart selects the column of the nearest moment, whose ``customdata``
    is that moment's time.
    """
    span = span or ((float(times[0]), float(times[-1])) if len(times) else (0.0, 1.0))
    fig = go.Figure()
    if len(times):
        centres, widths = click_columns(times, span)
        fig.add_trace(go.Bar(x=centres, y=np.ones(len(times)), width=widths,
                             # "none" hides the hover label; "skip" would drop the clicks too
                             marker=dict(color="rgba(0,0,0,0)"), hoverinfo="none",
                             showlegend=False, name="moments"))
    for c, name in enumerate(classes):
        fig.add_trace(go.Scatter(
            x=times, y=probs[:, c], name=name, mode="lines+markers", marker=dict(size=4),
            line=dict(color=CLASS_COLOURS.get(name), width=2), customdata=frames,
            hovertemplate=f"{name}: %{{y:.0%}}<br>%{{x:.2f}} s · frame %{{customdata}}<extra></extra>"))
    if marker is not None:
        fig.add_vline(x=marker, line=dict(color="black", width=1, dash="dot"))
    fig.update_layout(title=title, height=340, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      hovermode="closest", legend=dict(orientation="h", y=-0.25),
                      clickmode="event+select", bargap=0)
    pad = 0.02 * max(span[1] - span[0], 1e-3)
    fig.update_xaxes(title="time (s)", range=[span[0] - pad, span[1] + pad])
    fig.update_yaxes(title="probability", range=[0, 1], tickformat=".0%")
    return fig


def nearest_moment(times: Sequence[float], points: Sequence[dict]) -> float | None:
    """The moment of ``times`` nearest to a click on ``emotion_timeline`` (Plotly's selected
    points as Streamlit returns them), or None when nothing was selected.  A line's point has
    its moment as ``x``; a column's ``x`` is its centre, which is nearer its own moment than
    any other (``click_columns``)."""
    for point in points or []:
        x = point.get("x")
        if x is not None and len(times):
            return float(min(times, key=lambda t: abs(t - float(x))))
    return None
