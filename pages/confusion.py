"""Confusion matrices: per checkpoint and dataset, raw or row-normalised, across datasets."""

import numpy as np
import streamlit as st

from dashboard import figures, resources, tables, userdata_view, widgets

st.title("Confusion matrices")
st.caption("Rows are the true emotion, columns what the network said. Hover a cell for the count.")

ckpt_name = widgets.current_checkpoint()
if ckpt_name is None:
    widgets.no_checkpoint()
    st.stop()
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
    views = tables.metric_views(card)
    if not views:
        st.info(f"The card of **{ckpt_name}** holds no confusion matrix. Re-run "
                f"`deep-emotion evaluate {ckpt_name}` to add one.")
        st.stop()
    with c3:
        split, tta = st.selectbox("Split and TTA", views, key="cm_view",
                                  format_func=lambda v: f"{v[0]} · TTA {v[1]}")
    m = card["metrics"][split][tta]
    classes = list(card["classes"])
    confusion = np.asarray(m["confusion"])
    per_class = m.get("per_class") or tables.per_class_from_confusion(confusion, classes)
    st.metric("Accuracy", f"{m['accuracy']:.2%}" if m.get("accuracy") is not None else "—",
              help=f"{ckpt_name} on {resources.label(ds_name)} {split}, TTA {tta}, from the card.")
else:
    st.markdown(f"**Cross-dataset view:** `{ckpt_name}` was trained on "
                f"{resources.label(trained_on) if trained_on else 'an unnamed dataset'} and is "
                f"evaluated here on {resources.label(ds_name)}, over the classes both share.")
    problem = resources.dataset_status(ds_name)
    if problem:
        st.info(f"{problem} Pick the checkpoint's own dataset above to see its numbers.")
        st.stop()
    with c3:
        tta = widgets.tta_picker(key="cm_tta")
    try:
        cross = resources.cross_dataset(ckpt_name, ds_name, tta)
    except resources.DatasetError as e:
        st.info(f"No cross-dataset view: {e}.")
        st.stop()
    classes, confusion = cross["classes"], np.asarray(cross["confusion"])
    per_class = tables.per_class_from_confusion(confusion, classes)
    split = cross["split"]
    st.metric("Accuracy on the shared classes", f"{cross['accuracy']:.1%}",
              help=f"{cross['n']} faces of {resources.label(ds_name)} ({split}); "
                   f"shared classes: {', '.join(classes)}")
    if cross["networks"] > 1:
        st.caption(f"{ckpt_name} holds one network per cross-validation fold; the first fold's "
                   "network is evaluated here.")

title = f"{ckpt_name} on {resources.label(ds_name)} ({split})"
cm_key = widgets.chart_key("cm_fig")
cm_fig = figures.confusion_matrix(confusion, classes, normalise=normalise, title=title)
cm_fig.update_layout(selectionrevision=cm_key)  # a new key clears Plotly's own selection too
st.plotly_chart(cm_fig, key=cm_key, on_select=widgets.cell_clicked("cm_fig", classes),
                selection_mode="points", config=figures.PLOTLY_CONFIG)

left, right = st.columns([3, 2])
with left:
    st.plotly_chart(figures.per_class_bars(per_class, "Per-class precision, recall and F1"),
                    key="per_class_fig", config=figures.PLOTLY_CONFIG)
with right:
    st.dataframe(tables.per_class_table(per_class).style.format(
        {"precision": "{:.1%}", "recall": "{:.1%}", "F1": "{:.1%}", "support": "{:d}"}))

st.subheader("Faces from one cell")
st.caption("Click a cell of the matrix, or choose the pair here.")
true_c, pred_c = widgets.confusion_cell(classes)

problem = resources.dataset_status(ds_name)
if problem:
    st.info(f"{problem} The numbers above come from the checkpoint's card; example faces need "
            "the photos themselves.")
    st.stop()
if own:
    ds = resources.dataset(ds_name)
    preds = resources.predictions(ckpt_name, ds_name, tta)
    if preds["classes"] != classes:
        st.info(f"{resources.label(ds_name)} on this server has the emotions {preds['classes']}, "
                f"the checkpoint {classes}: example faces need the dataset it was trained on.")
        st.stop()
    true_idx = preds["labels"] == classes.index(true_c)
    pred_idx = preds["pred"] == preds["model_classes"].index(pred_c)
    rows = preds["rows"][true_idx & pred_idx]
    st.caption(f"Faces from the {preds['split']}.")
else:
    ds, _ = resources.evaluation_split(resources.dataset(ds_name))
    rows = cross["rows"][(cross["true"] == classes.index(true_c)) & (cross["pred"] == classes.index(pred_c))]
st.caption(f"{len(rows)} faces of {resources.label(ds_name)} are **{true_c}** and predicted "
           f"**{pred_c}**; the first 16 are shown.")
if len(rows):
    shown = [int(r) for r in rows[:16]]
    names = [str(ds.names[r]) if ds.names is not None else str(r) for r in shown]
    st.image([ds.images[r].numpy() for r in shown], width=96, caption=names, clamp=True)
    f1, f2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = f1.selectbox("Face to explain", range(len(shown)), format_func=names.__getitem__,
                        key="cell_face")
    if f2.button("Open in Explain a face", key="explain_cell_face", type="primary"):
        widgets.hand_over_face(ds.images[shown[pick]].numpy(),
                               f"{resources.label(ds_name)} test face: {names[pick]} "
                               f"(true {true_c}, predicted {pred_c})")
