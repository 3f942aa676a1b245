"""Plotly figure builders: data in, ``plotly.graph_objects.Figure`` out.

Pure functions (no ``st.*``, no file access) so ``tests/dashboard/test_figures.py`` checks them
directly.  Images are drawn with ``go.Heatmap`` in a gray scale and maps overlaid with a
colour scale and a colour bar, so every picture reads without a legend elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deep_emotion.model import DeepEmotionConfig, describe_stages

__all__ = ["photo_with_faces", "probability_bars", "map_overlay",
           "confusion_matrix", "per_class_bars", "training_curves", "architecture_diagram",
           "region_bars", "class_mean_maps", "deletion_curves", "normalise_rows", "MAP_SCALE",
           "region_matrix", "region_layout", "quantile_bars", "sanity_curves", "stn_panels",
           "method_grid", "wrap_title", "PLOTLY_CONFIG", "SIGNED_METHODS", "COLORBAR_TITLES"]

# Sequential, perceptually uniform, readable over a gray face.  Written out because the
# plotly.js bundled with Streamlit draws Inferno's first stop "#000004" in a theme colour
# (pink) instead of black; "#000000" renders correctly (checked in Chromium).
MAP_SCALE = [[0.0, "#000000"], [0.111, "#1b0c41"], [0.222, "#4a0c6b"], [0.333, "#781c6d"],
             [0.444, "#a52c60"], [0.556, "#cf4446"], [0.667, "#ed6925"], [0.778, "#fb9b06"],
             [0.889, "#f7d13d"], [1.0, "#fcffa4"]]
SIGNED_SCALE = "RdBu_r"    # for attributions with a sign (red: for, blue: against)
# Methods whose maps have a sign, drawn on SIGNED_SCALE centred on zero, on the page and in the
# PNG download alike; and the colour bar titles that say what a map's numbers are.
SIGNED_METHODS = ("occlusion", "ig", "guided-gradcam")
COLORBAR_TITLES = {"occlusion": "logit drop"}
_MARGIN = dict(l=10, r=10, t=40, b=10)
# A legend under the plot, one entry per line: on a phone a legend beside the plot squeezes it
# to a sliver, and one inside it covers the lines.
LEGEND_BELOW = dict(orientation="h", x=0, xanchor="left", y=-0.18, yanchor="top",
                    entrywidth=1, entrywidthmode="fraction")
# What st.plotly_chart should pass as ``config``: no Plotly toolbar over the chart's title (the
# dashboard's own element toolbar still offers full screen; zoom resets on double click).
PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False}
_TITLE_CHARS = 42  # a title line that still fits a 390 px phone screen at 14 px


def wrap_title(text: str, width: int = _TITLE_CHARS) -> str:
    """Break a title into ``<br>``-separated lines of at most ``width`` characters (Plotly never
    wraps titles itself, so a long one is clipped on a phone)."""
    import textwrap

    if "<br>" in text or len(text) <= width:
        return text
    return "<br>".join(textwrap.wrap(text, width))


def _phone_ready(build):
    """Decorator for the builders: titles left-aligned, wrapped and given room above the plot,
    and the Plotly toolbar (when a page shows it) stacked down the right edge, away from them."""
    import functools

    @functools.wraps(build)
    def wrapper(*args, **kwargs) -> go.Figure:
        fig = build(*args, **kwargs)
        title = fig.layout.title.text
        if title:
            lines = wrap_title(title).count("<br>") + 1
            # subplot titles sit just above their panels, inside the top margin: leave them a row
            below = 22 if fig.layout.annotations else 0
            top = max(fig.layout.margin.t or 0, 14 + 18 * lines + below)
            # Plotly anchors a title of several lines about 10 px too high at the top
            # (measured with plotly.js 3.8 in Chromium), so theirs is pushed down further.
            pad = 6 if lines == 1 else 16
            fig.update_layout(title=dict(text=wrap_title(title), x=0.01, xanchor="left",
                                         yref="container", y=1, yanchor="top", pad=dict(t=pad),
                                         font=dict(size=14)), margin=dict(t=top + pad - 6))
        fig.update_layout(modebar=dict(orientation="v"))
        # plain decimals on colour bars: Plotly's default SI ticks write 0.0002 as "200μ"
        fig.update_traces(colorbar_tickformat=".2~g", selector=dict(type="heatmap"))
        return fig
    return wrapper


def _below(domain, y: float = -0.02, length: float | None = None) -> dict:
    """A horizontal colour bar under a panel spanning ``domain`` (paper x from, to)."""
    return dict(orientation="h", x=(domain[0] + domain[1]) / 2, xanchor="center", y=y,
                yanchor="top", len=length or (domain[1] - domain[0]), thickness=8,
                title=dict(side="top"))


def _square(fig: go.Figure, side: int | None = None) -> go.Figure:
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(margin=_MARGIN, height=side or 320, plot_bgcolor="white")
    return fig


def _gray(image: np.ndarray, name: str = "face") -> go.Heatmap:
    return go.Heatmap(z=np.asarray(image, dtype=float), colorscale="Gray", zmin=0, zmax=255,
                      showscale=False, name=name, hovertemplate="x %{x}, y %{y}: %{z:.0f}<extra></extra>")


def _jpeg_uri(rgb: np.ndarray, scale: float = 1.0) -> str:
    import base64
    import io

    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    if scale < 1.0:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                       Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


@_phone_ready
def photo_with_faces(rgb: np.ndarray, boxes: Sequence[Sequence[int]], chosen: int | None = None,
                     max_side: int = 640, labels: Sequence[str] | None = None) -> go.Figure:
    """The photo with a labelled box per face ("face 1", ... unless ``labels`` are given); the
    chosen one (a position in ``boxes``) drawn thicker and in colour."""
    rgb = np.asarray(rgb)
    h, w = rgb.shape[:2]
    # Sent as one JPEG data URI, not a list of pixel triples: ~30x smaller and faster to draw.
    scale = min(1.0, max_side / max(h, w))
    fig = go.Figure(go.Image(source=_jpeg_uri(rgb, scale), dx=1 / scale, dy=1 / scale,
                             hoverinfo="skip"))
    for i, (x, y, bw, bh) in enumerate(boxes):
        colour = "#00e676" if i == chosen else "#ffd600"
        fig.add_shape(type="rect", x0=x, y0=y, x1=x + bw, y1=y + bh,
                      line=dict(color=colour, width=4 if i == chosen else 2))
        text = labels[i] if labels is not None else f"face {i + 1}"
        fig.add_annotation(x=x, y=y, text=text, showarrow=False, xanchor="left",
                           yanchor="bottom", font=dict(color="black", size=13), bgcolor=colour)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=min(420, max(240, int(420 * h / w))))
    return fig


@_phone_ready
def probability_bars(classes: Sequence[str], probs: Sequence[float], highlight: int | None = None,
                     title: str = "Prediction") -> go.Figure:
    """Horizontal bars of class probabilities, the most likely on top."""
    probs = np.asarray(probs, dtype=float)
    order = np.argsort(probs)  # plotly draws the first bar at the bottom
    highlight = int(np.argmax(probs)) if highlight is None else highlight
    colours = ["#d81b60" if i == highlight else "#90a4ae" for i in order]
    fig = go.Figure(go.Bar(x=probs[order], y=[classes[i] for i in order], orientation="h",
                           marker_color=colours, text=[f"{p:.0%}" for p in probs[order]],
                           textposition="outside", hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    fig.update_layout(title=title, margin=_MARGIN, height=60 + 32 * len(classes),
                      xaxis=dict(range=[0, 1.15], tickformat=".0%", title="probability"))
    return fig


@_phone_ready
def map_overlay(face: np.ndarray, heat: np.ndarray, title: str = "", signed: bool = False,
                opacity: float = 0.55, colorbar_title: str = "") -> go.Figure:
    """``heat`` (H, W) drawn over the grayscale ``face`` with a colour scale and colour bar.

    Signed maps get a diverging scale centred on zero; others are scaled to their max.
    """
    heat = np.asarray(heat, dtype=float)
    if signed:
        lim = float(np.abs(heat).max()) or 1.0
        scale, zmin, zmax = SIGNED_SCALE, -lim, lim
    else:
        scale, zmin, zmax = MAP_SCALE, float(heat.min()), float(heat.max())
        if zmax <= zmin:
            zmax = zmin + 1.0
    fig = go.Figure([_gray(face), go.Heatmap(
        z=heat, colorscale=scale, zmin=zmin, zmax=zmax, opacity=opacity, name=title or "map",
        colorbar=dict(title=colorbar_title, thickness=12, len=0.9),
        hovertemplate="x %{x}, y %{y}: %{z:.3g}<extra></extra>")])
    fig.update_layout(title=title)
    return _square(fig)


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows of zeros stay zero)."""
    m = np.asarray(matrix, dtype=float)
    sums = m.sum(axis=1, keepdims=True)
    return np.divide(m, sums, out=np.zeros_like(m), where=sums > 0)


@_phone_ready
def confusion_matrix(matrix: np.ndarray, true_classes: Sequence[str],
                     pred_classes: Sequence[str] | None = None, normalise: bool = False,
                     title: str = "") -> go.Figure:
    """An annotated confusion matrix (rows true, columns predicted); hover shows the counts.

    ``normalise`` colours and labels by row share (recall on the diagonal) but the hover still
    gives the raw count, so both readings are one mouse move away.
    """
    counts = np.asarray(matrix, dtype=float)
    pred_classes = list(pred_classes or true_classes)
    true_classes = list(true_classes)
    shown = normalise_rows(counts) if normalise else counts
    text = [[f"{v:.0%}" if normalise else f"{int(v)}" for v in row] for row in shown]
    share = normalise_rows(counts)
    hover = ("true %{y}<br>predicted %{x}<br>%{customdata[0]:.0f} faces "
             "(%{customdata[1]:.1%} of the row)<extra></extra>")
    fig = go.Figure(go.Heatmap(
        z=shown, x=pred_classes, y=true_classes, colorscale="Blues", text=text,
        texttemplate="%{text}", customdata=np.dstack([counts, share]), hoverinfo="skip",
        colorbar=dict(title="share" if normalise else "faces", thickness=12)))
    # Heatmaps cannot be selected in Plotly, so one invisible square marker per cell carries
    # the hover and the click (st.plotly_chart(on_select=...) reports it as a point).
    rows, cols = np.meshgrid(np.arange(len(true_classes)), np.arange(len(pred_classes)), indexing="ij")
    fig.add_trace(go.Scatter(
        x=[pred_classes[j] for j in cols.ravel()], y=[true_classes[i] for i in rows.ravel()],
        mode="markers", marker=dict(symbol="square", size=36, color="rgba(0,0,0,0)"),
        customdata=np.stack([counts.ravel(), share.ravel()], axis=-1), hovertemplate=hover,
        showlegend=False, name="cells"))
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=50, b=10),
                      height=140 + 48 * len(true_classes), clickmode="event+select",
                      xaxis=dict(title="predicted", side="bottom"), yaxis=dict(title="true"))
    fig.update_yaxes(autorange="reversed")
    return fig


@_phone_ready
def per_class_bars(per_class: Mapping[str, Mapping[str, float]], title: str = "") -> go.Figure:
    """Grouped bars of precision, recall and F1 per class."""
    classes = list(per_class)
    fig = go.Figure([go.Bar(name=k, x=classes, y=[per_class[c].get(k, 0.0) for c in classes],
                            hovertemplate=f"%{{x}} {k}: %{{y:.1%}}<extra></extra>")
                     for k in ("precision", "recall", "f1")])
    fig.update_layout(barmode="group", title=title, margin=_MARGIN, height=320,
                      yaxis=dict(range=[0, 1], tickformat=".0%"))
    return fig


@_phone_ready
def training_curves(history: Sequence[Mapping[str, float]]) -> go.Figure:
    """Loss (left) and accuracies (right) per epoch from a card's ``history``."""
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "accuracy"))
    if any("train_loss" in h for h in history):
        fig.add_trace(go.Scatter(x=epochs, y=[h.get("train_loss") for h in history],
                                 name="train loss", mode="lines"), 1, 1)
    for key, name in (("train_acc", "train"), ("val_acc", "validation")):
        if any(key in h for h in history):
            fig.add_trace(go.Scatter(x=epochs, y=[h.get(key) for h in history], name=name,
                                     mode="lines"), 1, 2)
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_layout(margin=_MARGIN, height=320, legend=dict(orientation="h", y=-0.25))
    return fig


def _diagram_rows(cfg: DeepEmotionConfig) -> tuple[list[tuple[str, str]], list[str], int]:
    """The main row's (label, colour) boxes in running order, the localization row's labels,
    and the index of the warp box in the main row (-1 without a transformer).

    Sizes come from the config's own geometry (``feature_size``, ``loc_size``) and the
    model's stage labels (``describe_stages``), never recomputed here.
    """
    s = cfg.image_size
    first = f"input 1x{s}x{s}<br>standardised" if cfg.input_norm == "per_image" else f"input<br>1x{s}x{s}"
    stages = [(label.replace(", ", "<br>", 1), "#bbdefb") for label in describe_stages(cfg.to_dict())]
    if cfg.backbone == "paper":
        f = cfg.feature_size
        head = [(f"FC {cfg.channels * f * f}->{cfg.hidden}<br>ReLU", "#e1bee7")]
    else:
        head = []
    head.append((f"FC ->{cfg.num_classes}<br>classes", "#e1bee7"))
    if not cfg.use_stn:
        return [(first, "#bbdefb"), *stages, *head], [], -1
    warp = ("affine warp<br>grid_sample", "#c8e6c9")
    (l1, l2), (k1, k2) = cfg.loc_channels, cfg.loc_kernels
    loc = [f"conv {k1}x{k1} ({l1})<br>pool, ReLU", f"conv {k2}x{k2} ({l2})<br>pool, ReLU",
           f"FC {l2 * cfg.loc_size ** 2}->{cfg.loc_hidden}->6<br>warp: shift, scale, turn"]
    if cfg.layout == "paper":  # theta warps the feature maps
        row = [(first, "#bbdefb"), *stages, warp, *head]
        return row, loc, len(stages) + 1
    return [(first, "#bbdefb"), warp, *stages, *head], loc, 1


DIAGRAM_FONT = 10   # px, the diagram's box labels
DIAGRAM_LINE = 14   # characters per label line: ~0.6 em each, a line fits its box on an 800 px
                    # wide chart even with the residual family's eight boxes in a row
DIAGRAM_WIDTH = 900  # px, the width pages draw the diagram at


def _box_label(text: str) -> str:
    """A diagram label with each ``<br>`` line re-wrapped at ``DIAGRAM_LINE`` characters, so a
    label never spills over its box into the next one."""
    import textwrap

    return "<br>".join(line for part in text.split("<br>")
                       for line in textwrap.wrap(part, DIAGRAM_LINE, break_long_words=False))


@_phone_ready
def architecture_diagram(config: Mapping) -> go.Figure:
    """Boxes and arrows of the two branches, the warp and the classifier, sized from ``config``
    (a card's ``config``): the feature branch (blue) in running order, the localization branch
    (orange) above it feeding the warp (green), which reads the input image or the feature
    maps as the layout says, then the classifier (purple)."""
    row, loc, warp_at = _diagram_rows(DeepEmotionConfig.from_dict(dict(config)))
    step = 1.6
    fig = go.Figure()

    def box(x: float, y: float, text: str, colour: str) -> None:
        fig.add_shape(type="rect", x0=x - 0.7, x1=x + 0.7, y0=y - 0.5, y1=y + 0.5,
                      fillcolor=colour, line=dict(color="#455a64"))
        fig.add_annotation(x=x, y=y, text=_box_label(text), showarrow=False,
                           font=dict(size=DIAGRAM_FONT))

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowwidth=1.5, text="")

    for i, (text, colour) in enumerate(row):
        box(i * step, 0.0, text, colour)
        if i:
            arrow((i - 1) * step + 0.7, 0, i * step - 0.7, 0)
    # Paper layout: the localization row ends above the warp of the feature maps; input warp:
    # it starts above the input and its theta comes back down to the warp beside it.
    first = warp_at - len(loc) + 1 if warp_at >= len(loc) else 0
    loc_x = [(first + j) * step for j in range(len(loc))]
    for j, (x, text) in enumerate(zip(loc_x, loc)):
        box(x, 1.6, text, "#ffe0b2")
        if j:
            arrow(loc_x[j - 1] + 0.7, 1.6, x - 0.7, 1.6)
    if loc:
        arrow(0.3, 0.5, loc_x[0] - 0.7, 1.6) if first else arrow(0, 0.5, 0, 1.1)
        arrow(loc_x[-1], 1.1, warp_at * step, 0.5)
    fig.update_xaxes(visible=False, range=[-0.9, (len(row) - 1) * step + 0.9])
    fig.update_yaxes(visible=False, range=[-0.8, 2.3])
    fig.update_layout(margin=dict(l=0, r=0, t=30, b=0), height=260, plot_bgcolor="white",
                      title="Deep-Emotion: feature branch (blue), localization branch (orange)")
    return fig


@_phone_ready
def region_bars(regions: Mapping[str, Mapping[str, float]], title: str = "") -> go.Figure:
    """Grouped bars: share of attribution per face region (x), one bar group per method."""
    fig = go.Figure()
    for method, shares in regions.items():
        fig.add_trace(go.Bar(name=method, x=list(shares), y=list(shares.values()),
                             hovertemplate=f"{method} %{{x}}: %{{y:.1%}}<extra></extra>"))
    fig.update_layout(barmode="group", title=title, margin=_MARGIN, height=320 + 22 * len(regions),
                      yaxis=dict(tickformat=".0%", title="share of the map"), legend=LEGEND_BELOW)
    return fig


@_phone_ready
def class_mean_maps(maps: Mapping[str, np.ndarray], mean_faces: Mapping[str, np.ndarray] | None = None,
                    title: str = "", columns: int = 4) -> go.Figure:
    """One small map per class (optionally over the class's mean face) on a shared colour scale."""
    names = list(maps)
    rows = max(1, int(np.ceil(len(names) / columns)))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=names,
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    lo = min(float(np.min(m)) for m in maps.values()) if maps else 0.0
    hi = max(float(np.max(m)) for m in maps.values()) if maps else 1.0
    for i, name in enumerate(names):
        r, c = i // columns + 1, i % columns + 1
        if mean_faces and name in mean_faces:
            fig.add_trace(_gray(mean_faces[name]), r, c)
        fig.add_trace(go.Heatmap(z=np.asarray(maps[name], float), colorscale=MAP_SCALE, zmin=lo,
                                 zmax=hi if hi > lo else lo + 1, opacity=0.6 if mean_faces else 1.0,
                                 showscale=i == 0, colorbar=_below((0.0, 1.0), y=-0.03, length=0.8),
                                 hovertemplate=f"{name} x %{{x}}, y %{{y}}: %{{z:.3g}}<extra></extra>"),
                      r, c)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(title=title, margin=dict(_MARGIN, b=45), height=85 + 200 * rows)
    return fig


@_phone_ready
def deletion_curves(curves: Mapping[str, Sequence[float]], kind: str = "deletion",
                    title: str = "") -> go.Figure:
    """Target probability against the fraction of pixels deleted (or inserted), per method."""
    fig = go.Figure()
    for method, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        xs = np.linspace(0, 1, len(ys))
        auc = float(np.sum((ys[1:] + ys[:-1]) / 2 * np.diff(xs))) if len(ys) > 1 else float("nan")
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{method} (area {auc:.3f})"))
    axis = {"deletion": "deleted", "insertion": "inserted"}.get(kind, "deleted / inserted")
    fig.update_layout(title=title or f"{kind} curves", margin=_MARGIN, height=340 + 22 * len(curves),
                      xaxis=dict(title=f"fraction of pixels {axis}", tickformat=".0%"),
                      yaxis=dict(title="probability of the class", range=[0, 1]),
                      legend=LEGEND_BELOW)
    return fig


@_phone_ready
def region_matrix(sensitivity: Mapping[str, Mapping[str, float]], regions: Sequence[str],
                  title: str = "") -> go.Figure:
    """Emotions (rows) x regions (columns): each emotion's share of map mass per region."""
    emotions = list(sensitivity)
    z = np.array([[sensitivity[e].get(r, 0.0) for r in regions] for e in emotions], dtype=float)
    fig = go.Figure(go.Heatmap(z=z, x=list(regions), y=emotions, colorscale="Viridis",
                               text=[[f"{v:.0%}" for v in row] for row in z], texttemplate="%{text}",
                               colorbar=dict(title="share", thickness=12),
                               hovertemplate="%{y}, %{x}: %{z:.1%} of the map<extra></extra>"))
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=40, b=10), height=90 + 40 * len(emotions))
    fig.update_yaxes(autorange="reversed")
    return fig


@_phone_ready
def region_layout(labels: np.ndarray, names: Sequence[str], face: np.ndarray | None = None,
                  title: str = "Face regions") -> go.Figure:
    """The named regions of the 48x48 frame as a categorical map (hover names the region)."""
    labels = np.asarray(labels)
    k = len(names)
    palette = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628",
               "#cccccc", "#f781bf", "#999999"]
    scale = []
    for i in range(k):
        c = palette[i % len(palette)]
        scale += [(i / k, c), ((i + 1) / k, c)]
    traces = [_gray(face)] if face is not None else []
    traces.append(go.Heatmap(z=labels, zmin=-0.5, zmax=k - 0.5, colorscale=scale,
                             opacity=0.45 if face is not None else 1.0,
                             customdata=np.asarray(names, dtype=object)[labels],
                             colorbar=dict(tickvals=list(range(k)), ticktext=list(names), thickness=12),
                             hovertemplate="%{customdata}<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(title=title)
    return _square(fig)


@_phone_ready
def quantile_bars(per_group: Mapping[str, Mapping], title: str = "", measure: str = "") -> go.Figure:
    """Median per group with an interquartile whisker, from ``{group: {"quantiles": {...}}}``."""
    groups = [g for g, s in per_group.items() if s.get("quantiles")]
    med = [per_group[g]["quantiles"]["0.5"] for g in groups]
    lo = [per_group[g]["quantiles"]["0.25"] for g in groups]
    hi = [per_group[g]["quantiles"]["0.75"] for g in groups]
    fig = go.Figure(go.Bar(
        x=groups, y=med, marker_color="#5c6bc0",
        error_y=dict(type="data", symmetric=False, array=np.subtract(hi, med),
                     arrayminus=np.subtract(med, lo)),
        customdata=np.stack([lo, hi], axis=-1) if groups else None,
        hovertemplate="%{x}: median %{y:.2f} (quartiles %{customdata[0]:.2f} to "
                      "%{customdata[1]:.2f})<extra></extra>"))
    fig.update_layout(title=title, margin=_MARGIN, height=320, yaxis=dict(title=measure))
    return fig


@_phone_ready
def sanity_curves(methods: Mapping[str, Mapping], threshold: float = 0.5, verdict=None) -> go.Figure:
    """Similarity of each method's map to the original as layers are randomised (top down);
    ``verdict(check) -> str`` names each method's result in the legend."""
    fig = go.Figure()
    for method, s in methods.items():
        ys = s.get("mean_spearman", [])
        layers = s.get("layers", list(range(len(ys))))
        fig.add_trace(go.Scatter(x=list(range(1, len(ys) + 1)), y=ys, mode="lines+markers",
                                 name=f"{method} ({verdict(s) if verdict else ('passes' if s.get('passed') else 'fails')})",
                                 customdata=layers,
                                 hovertemplate=f"{method}: up to %{{customdata}} random, "
                                               "similarity %{y:.2f}<extra></extra>"))
    fig.add_hline(y=threshold, line_dash="dot", line_color="#9e9e9e",
                  annotation_text=f"pass below {threshold}")
    fig.update_layout(title="Sanity check: randomise the network from the output down",
                      margin=_MARGIN, height=340 + 22 * len(methods), legend=LEGEND_BELOW,
                      xaxis=dict(title="layers randomised"),
                      yaxis=dict(title="rank correlation with the original map", range=[-0.2, 1.05]))
    return fig


@_phone_ready
def stn_panels(face: np.ndarray, view: np.ndarray, outline: np.ndarray, heatmap: np.ndarray) -> go.Figure:
    """The spatial transformer in one figure: where it samples (outline on the face), what the
    classifier's warped input stands for (the view), and the sampling density over the face."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.04,
                        subplot_titles=("Where it samples", "What it passes on",
                                        "Sampling density"))
    fig.update_annotations(font_size=12)
    outline = np.asarray(outline, dtype=float)
    closed = np.vstack([outline, outline[:1]])
    fig.add_trace(_gray(face), 1, 1)
    fig.add_trace(go.Scatter(x=closed[:, 0], y=closed[:, 1], mode="lines", hoverinfo="skip",
                             line=dict(color="#00e5ff", width=3), name="sampling grid"), 1, 1)
    fig.add_trace(_gray(view, "warped view"), 1, 2)
    heat = np.asarray(heatmap, dtype=float)
    fig.add_trace(_gray(face), 1, 3)
    fig.add_trace(go.Heatmap(z=heat, colorscale=MAP_SCALE, zmin=0, zmax=float(heat.max()) or 1.0,
                             opacity=0.6, colorbar=_below(fig.get_subplot(1, 3).xaxis.domain),
                             hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>"), 1, 3)
    side = np.asarray(face).shape[0]
    lo, hi = min(-0.5, float(closed.min()) - 1), max(side - 0.5, float(closed.max()) + 1)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for col in (1, 2, 3):
        fig.update_yaxes(scaleanchor=f"x{'' if col == 1 else col}", row=1, col=col)
    fig.update_xaxes(range=[lo, hi], row=1, col=1)
    fig.update_yaxes(range=[hi, lo], autorange=False, row=1, col=1)
    fig.update_layout(showlegend=False, margin=dict(l=10, r=10, t=30, b=40), height=300,
                      plot_bgcolor="white")
    return fig


@_phone_ready
def method_grid(face: np.ndarray, maps: Mapping[str, np.ndarray], titles: Mapping[str, str],
                signed: Sequence[str] = ()) -> go.Figure:
    """Several attribution maps over the face, side by side, each with its own colour bar."""
    names = list(maps)
    n = max(1, len(names))
    fig = make_subplots(rows=1, cols=n, horizontal_spacing=0.06,
                        subplot_titles=[titles.get(m, m) for m in names])
    for i, m in enumerate(names):
        heat = np.asarray(maps[m], dtype=float)
        if m in signed:
            lim = float(np.abs(heat).max()) or 1.0
            scale, zmin, zmax = SIGNED_SCALE, -lim, lim
        else:
            scale, zmin, zmax = MAP_SCALE, float(heat.min()), float(heat.max())
            zmax = zmax if zmax > zmin else zmin + 1.0
        domain = fig.get_subplot(1, i + 1).xaxis.domain
        fig.add_trace(_gray(face), 1, i + 1)
        fig.add_trace(go.Heatmap(z=heat, colorscale=scale, zmin=zmin, zmax=zmax, opacity=0.55,
                                 colorbar=_below(domain),
                                 hovertemplate=f"{m} x %{{x}}, y %{{y}}: %{{z:.3g}}<extra></extra>"),
                      1, i + 1)
        fig.update_yaxes(scaleanchor=f"x{'' if i == 0 else i + 1}", row=1, col=i + 1)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    fig.update_annotations(font_size=12)
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=40), height=300 if n > 2 else 350,
                      plot_bgcolor="white")
    return fig
