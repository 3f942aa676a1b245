"""Confusion matrices: per checkpoint and dataset, raw or row-normalised, across datasets, and
the faces of any cell, each one click away from the Explain page."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard import figures, resources, tables, userdata_view, widgets
from dashboard.wording import dataset_label

__all__ = ["render", "cell_from_selection"]


@dataclass
class Matrix:
    """What the page draws: the classes, the counts (rows true), per-class metrics, the split
    and, across datasets, the per-row result the example faces come from."""

    classes: list[str]
    confusion: np.ndarray
    per_class: dict
    split: str
    cross: dict | None = None


def render() -> None:
    st.title("Confusion matrices")
    st.caption("Rows are the true emotion, columns what the network said. Hover a cell for the count.")
    ckpt_name = widgets.checkpoint_or_stop()
    if userdata_view.confusion(ckpt_name):
        st.stop()
    card = resources.card(ckpt_name)
    trained_on = (card.get("dataset") or {}).get("name")
    c1, c2, c3 = st.columns([2, 2, 2])
    with c1:
        ds_name = widgets.dataset_picker("Evaluated on", key="cm_dataset", trained_on=trained_on)
    with c2:
        normalise = st.radio("Show", ["raw counts", "row-normalised"], horizontal=True,
                             key="cm_norm") == "row-normalised"
    own = ds_name == trained_on
    if own:
        matrix, tta = _from_card(ckpt_name, card, ds_name, c3)
    else:
        matrix, tta = _across(ckpt_name, trained_on, ds_name, c3)
    _draw(ckpt_name, ds_name, matrix, normalise)
    _cell_faces(ckpt_name, ds_name, matrix, own, tta)


def _from_card(ckpt_name: str, card: dict, ds_name: str, column) -> tuple[Matrix, str]:
    """The checkpoint's own numbers, as its card records them (no photos needed)."""
    views = tables.metric_views(card)
    if not views:
        st.info(f"The card of **{ckpt_name}** holds no confusion matrix. Re-run "
                f"`deep-emotion evaluate {ckpt_name}` to add one.")
        st.stop()
    with column:
        split, tta = st.selectbox("Split and TTA", views, key="cm_view",
                                  format_func=lambda v: f"{v[0]} · TTA {v[1]}")
    m = card["metrics"][split][tta]
    classes = list(card["classes"])
    confusion = np.asarray(m["confusion"])
    per_class = m.get("per_class") or tables.per_class_from_confusion(confusion, classes)
    st.metric("Accuracy", f"{m['accuracy']:.2%}" if m.get("accuracy") is not None else "—",
              help=f"{ckpt_name} on {dataset_label(ds_name)} {split}, TTA {tta}, from the card.")
    return Matrix(classes, confusion, per_class, split), tta


def _across(ckpt_name: str, trained_on: str | None, ds_name: str, column) -> tuple[Matrix, str]:
    """The checkpoint judged on another dataset over the classes both share."""
    st.markdown(f"**Cross-dataset view:** `{ckpt_name}` was trained on "
                f"{dataset_label(trained_on) if trained_on else 'an unnamed dataset'} and is "
                f"evaluated here on {dataset_label(ds_name)}, over the classes both share.")
    problem = resources.dataset_status(ds_name)
    if problem:
        widgets.dataset_missing(problem, ds_name,
                                "Pick the checkpoint's own dataset above to see its numbers.")
        st.stop()
    with column:
        tta = widgets.tta_picker(key="cm_tta")
    try:
        cross = resources.cross_dataset(ckpt_name, ds_name, tta)
    except resources.DatasetError as e:
        st.info(f"No cross-dataset view: {e}.")
        st.stop()
    classes, confusion = cross["classes"], np.asarray(cross["confusion"])
    st.metric("Accuracy on the shared classes", f"{cross['accuracy']:.1%}",
              help=f"{cross['n']} faces of {dataset_label(ds_name)} ({cross['split']}); "
                   f"shared classes: {', '.join(classes)}")
    if cross["networks"] > 1:
        st.caption(f"{ckpt_name} holds one network per cross-validation fold; the first fold's "
                   "network is evaluated here.")
    matrix = Matrix(classes, confusion, tables.per_class_from_confusion(confusion, classes),
                    cross["split"], cross)
    return matrix, tta


def _draw(ckpt_name: str, ds_name: str, matrix: Matrix, normalise: bool) -> None:
    title = f"{ckpt_name} on {dataset_label(ds_name)} ({matrix.split})"
    cm_key = widgets.chart_key("cm_fig")
    cm_fig = figures.confusion_matrix(matrix.confusion, matrix.classes, normalise=normalise,
                                      title=title)
    cm_fig.update_layout(selectionrevision=cm_key)  # a new key clears Plotly's own selection too
    st.plotly_chart(cm_fig, key=cm_key, on_select=widgets.on_click("cm_fig", _cell_clicked(matrix.classes)),
                    selection_mode="points", config=figures.PLOTLY_CONFIG)
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(figures.per_class_bars(matrix.per_class,
                                               "Per-class precision, recall and F1"),
                        key="per_class_fig", config=figures.PLOTLY_CONFIG)
    with right:
        st.dataframe(tables.per_class_table(matrix.per_class).style.format(
            {"precision": "{:.1%}", "recall": "{:.1%}", "F1": "{:.1%}", "support": "{:d}"}))


# --- choosing a cell ----------------------------------------------------------------------

def cell_from_selection(points, classes) -> tuple[str, str] | None:
    """(true, predicted) of the confusion-matrix cell a click selected, or None.

    ``points`` is Plotly's selection as Streamlit returns it (dicts with ``x`` the predicted
    and ``y`` the true class); a point outside ``classes`` (a stale chart) is ignored.
    """
    for point in points or []:
        true, pred = point.get("y"), point.get("x")
        if true in classes and pred in classes:
            return true, pred
    return None


def _confusion_cell(classes: list[str]) -> tuple[str, str]:
    """The (true, predicted) cell chosen by a click on the confusion chart or by the two
    select boxes it draws; one stored pair feeds both, so it survives leaving the page.

    Every click counts, the same cell again included: ``widgets.on_click`` consumes the click
    and gives the chart a fresh key, so the next click is a new selection, never a toggle of
    the old one.
    """
    true, pred = st.session_state.get("cell") or (classes[0], classes[0])
    if true not in classes or pred not in classes:
        true, pred = classes[0], classes[0]
    st.session_state["cell"] = (true, pred)
    st.session_state["cell_true"], st.session_state["cell_pred"] = true, pred

    def chosen() -> None:
        st.session_state["cell"] = (st.session_state["cell_true"], st.session_state["cell_pred"])

    e1, e2 = st.columns(2)
    e1.selectbox("True emotion", classes, key="cell_true", on_change=chosen)
    e2.selectbox("Predicted emotion", classes, key="cell_pred", on_change=chosen)
    return st.session_state["cell"]


def _cell_clicked(classes: list[str]):
    """The confusion chart's click handler: store the clicked cell (``_confusion_cell``)."""
    def handle(points) -> None:
        cell = cell_from_selection(points, classes)
        if cell:
            st.session_state["cell"] = cell
    return handle


# --- the faces of a cell --------------------------------------------------------------------

def _cell_faces(ckpt_name: str, ds_name: str, matrix: Matrix, own: bool, tta: str) -> None:
    st.subheader("Faces from one cell")
    st.caption("Click a cell of the matrix, or choose the pair here.")
    true_c, pred_c = _confusion_cell(matrix.classes)
    problem = resources.dataset_status(ds_name)
    if problem:
        widgets.dataset_missing(problem, ds_name, "The numbers above come from the checkpoint's "
                                "card; example faces need the photos themselves.")
        st.stop()
    classes = matrix.classes
    if own:
        ds = resources.dataset(ds_name)
        preds = resources.predictions(ckpt_name, ds_name, tta)
        if preds["classes"] != classes:
            st.info(f"{dataset_label(ds_name)} on this server has the emotions {preds['classes']}, "
                    f"the checkpoint {classes}: example faces need the dataset it was trained on.")
            st.stop()
        true_idx = preds["labels"] == classes.index(true_c)
        pred_idx = preds["pred"] == preds["model_classes"].index(pred_c)
        rows = preds["rows"][true_idx & pred_idx]
        st.caption(f"Faces from the {preds['split']}.")
    else:
        ds, _ = resources.evaluation_split(resources.dataset(ds_name))
        cross = matrix.cross
        rows = cross["rows"][(cross["true"] == classes.index(true_c))
                             & (cross["pred"] == classes.index(pred_c))]
    st.caption(f"{len(rows)} faces of {dataset_label(ds_name)} are **{true_c}** and predicted "
               f"**{pred_c}**; the first 16 are shown.")
    if len(rows):
        _show_faces(ds, [int(r) for r in rows[:16]], ds_name, true_c, pred_c)


def _show_faces(ds, shown: list[int], ds_name: str, true_c: str, pred_c: str) -> None:
    names = [str(ds.names[r]) if ds.names is not None else str(r) for r in shown]
    st.image([ds.images[r].numpy() for r in shown], width=96, caption=names, clamp=True)
    f1, f2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = f1.selectbox("Face to explain", range(len(shown)), format_func=names.__getitem__,
                        key="cell_face")
    if f2.button("Open in Explain a face", key="explain_cell_face", type="primary"):
        widgets.hand_over_face(ds.images[shown[pick]].numpy(),
                               f"{dataset_label(ds_name)} test face: {names[pick]} "
                               f"(true {true_c}, predicted {pred_c})")
