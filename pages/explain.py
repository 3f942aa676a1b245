"""Explain a face: photo -> faces -> prediction -> STN attention beside occlusion and friends."""

import streamlit as st

from dashboard import widgets

st.title("Explain a face")
st.caption("Upload a photo, take one, or pick a sample: the network predicts the expression, "
           "and the maps show which parts of the face it looked at.")

ckpt_name = widgets.current_checkpoint()
if ckpt_name is None:
    widgets.no_checkpoint()
    st.stop()
data, source_label = widgets.photo_source()
upload_name = source_label if st.session_state.get("source") in ("Upload", "Sample") else ""
data, source_label, upload_name = widgets.handed_over_face(data, source_label, upload_name)

# The model stack (torch) loads here, after the photo picker is on screen.
from dashboard import figures, pipeline, resources  # noqa: E402

try:
    ckpt = resources.checkpoint(ckpt_name)
except resources.CheckpointError as e:
    st.error(f"Checkpoint **{ckpt_name}** cannot be loaded: {e}. Pick another in the sidebar.")
    st.stop()
if data is None:
    st.info("Choose a photo above to begin. Nothing you upload is stored.")
    st.markdown("**How the network reads a face:** a small localization branch predicts an "
                "affine transform (the spatial transformer) that decides which part of the "
                "feature maps the classifier sees; the maps below a prediction show where it looked.")
    st.plotly_chart(figures.architecture_diagram(ckpt.card.get("config", {})), key="intro_fig")
    st.stop()

try:
    photo = resources.photo(data, upload_name)
except pipeline.PhotoError as e:
    st.error(f"This photo cannot be used: {e}")
    st.stop()

left, right = st.columns([3, 2])
with left:
    index = widgets.face_picker(len(photo.faces))
    st.plotly_chart(figures.photo_with_faces(photo.rgb, [f.box for f in photo.faces], index),
                    key="photo_fig")
    found = f"{len(photo.faces)} face{'s' if len(photo.faces) != 1 else ''} found"
    st.caption(f"{source_label} · {found} · detector: {photo.detector}")
    for note in photo.notes:
        st.caption(f"Note: {note}")
    if not photo.faces:
        st.warning("No face was found, so the centre of the photo is explained. For a better "
                   "reading use a photo where the face is frontal and well lit.")
try:
    face = resources.face(data, index, upload_name)
except pipeline.PhotoError as e:
    st.error(f"This face cannot be aligned: {e}")
    st.stop()

with st.expander("Explanation settings", expanded=False):
    tta = widgets.tta_picker()
    window, stride, baseline = widgets.occlusion_controls()
    methods = widgets.method_picker(ckpt_name)
    target = widgets.target_picker(ckpt_name, ckpt.classes)

result = resources.explanation(ckpt_name, face, tta, window, stride, baseline, methods, target)
classes = result["classes"]
predicted = classes[int(result["probs"].argmax())]

with right:
    st.subheader(f"Prediction: {predicted}")
    st.plotly_chart(figures.probability_bars(classes, result["probs"]), key="probs_fig")
    st.caption(f"Checkpoint **{ckpt_name}** · TTA: {widgets.TTA_LABELS[tta]}")

explained = classes[result["target"]]
st.subheader(f"Why “{explained}”: the network's own attention beside occlusion")
stn = result["stn"]
st.plotly_chart(figures.stn_panels(face, stn["warped"], stn["outline"], stn["heatmap"]), key="stn_fig")
st.caption("The aligned 48×48 face the network reads, with the region its spatial transformer "
           "samples; the warped view is that region as the classifier sees it.")

o1, o2 = st.columns([1, 1])
with o1:
    st.plotly_chart(figures.map_overlay(face, result["maps"]["occlusion"],
                                        f"Occlusion ({window}px window, stride {stride}, {baseline})",
                                        signed=True, colorbar_title="logit drop"), key="occlusion_fig")
with o2:
    m1, m2, m3 = st.columns(3)
    m1.metric("STN ↔ occlusion", f"{result['agreement']:.2f}",
              help=f"Agreement, {result['agreement_name']}: 1 means both maps pick the same "
                   "pixels, 0 none.")
    m2.metric("Rank correlation", f"{result['spearman']:+.2f}",
              help="Spearman correlation of the STN and occlusion maps over all pixels.")
    m3.metric("Deletion AUC", f"{result['deletion']['auc']:.2f}",
              help="Faithfulness of the occlusion map: the class's probability as the pixels it "
                   "ranks highest are deleted first, averaged over the curve. Lower means the "
                   "map found what matters.")
    curves = {"deletion": result["deletion"]["curve"], "insertion": result["insertion"]["curve"]}
    st.plotly_chart(figures.deletion_curves(curves, kind="faithfulness",
                                            title="Occlusion map: delete / insert its top pixels"),
                    key="deletion_fig")

others = {m: v for m, v in result["maps"].items() if m != "occlusion"}
if others:
    st.subheader("Other attribution methods")
    for start in range(0, len(others), 3):  # at most three maps per row, so each stays readable
        row = dict(list(others.items())[start:start + 3])
        st.plotly_chart(figures.method_grid(face, row, widgets.method_titles(ckpt_name),
                                            signed=("ig", "guided-gradcam")),
                        key=f"methods_fig_{start}")

context = {"checkpoint": ckpt_name, "source": source_label, "face": index, "tta": tta,
           "occlusion": {"window": window, "stride": stride, "baseline": baseline}}
d1, d2, d3 = st.columns(3)
# PNG and NPZ are built on click (in Streamlit's download thread), not on every rerun.
d1.download_button("Maps (PNG)", lambda: pipeline.maps_png(face, result, widgets.METHOD_LABELS),
                   "deep-emotion-maps.png", "image/png", key="dl_png")
d2.download_button("Maps (NPZ)", lambda: pipeline.maps_npz(face, result), "deep-emotion-maps.npz",
                   "application/octet-stream", key="dl_npz")
d3.download_button("Report (JSON)", pipeline.report_json(result, context), "deep-emotion-report.json",
                   "application/json", key="dl_json")
