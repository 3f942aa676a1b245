"""Plotly figures of a clip's timeline (data in, figure out; no ``st.*``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = ["emotion_timeline", "CLASS_COLOURS"]

# One colour per canonical emotion, so a class keeps its colour across faces and clips.
CLASS_COLOURS = {"anger": "#d62728", "contempt": "#8c564b", "disgust": "#2ca02c",
                 "fear": "#9467bd", "happiness": "#ff7f0e", "neutral": "#7f7f7f",
                 "sadness": "#1f77b4", "surprise": "#e377c2"}


def emotion_timeline(times: np.ndarray, frames: np.ndarray, probs: np.ndarray,
                     classes: Sequence[str], title: str = "",
                     marker: float | None = None) -> go.Figure:
    """One line per class: its probability over clip time for one face.

    Args:
        times: (n,) seconds; frames: (n,) frame indices (shown on hover, and returned as
            ``customdata`` when a point is clicked); probs: (n, C) in [0, 1].
        marker: a time (s) to mark with a vertical line (the moment shown below the chart).
    """
    fig = go.Figure()
    for c, name in enumerate(classes):
        fig.add_trace(go.Scatter(
            x=times, y=probs[:, c], name=name, mode="lines+markers", marker=dict(size=4),
            line=dict(color=CLASS_COLOURS.get(name), width=2), customdata=frames,
            hovertemplate=f"{name}: %{{y:.0%}}<br>%{{x:.2f}} s · frame %{{customdata}}<extra></extra>"))
    if marker is not None:
        fig.add_vline(x=marker, line=dict(color="black", width=1, dash="dot"))
    fig.update_layout(title=title, height=340, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      hovermode="closest", legend=dict(orientation="h", y=-0.25),
                      clickmode="event+select")
    fig.update_xaxes(title="time (s)")
    fig.update_yaxes(title="probability", range=[0, 1], tickformat=".0%")
    return fig
