"""Explain a face: photo -> faces -> prediction -> STN attention beside occlusion and friends."""

import math

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
from dashboard import figures, reports, resources  # noqa: E402

try:
    ckpt = resources.checkpoint(ckpt_name)
except resources.CheckpointError as e:
    st.error(f"Checkpoint **{ckpt_name}** cannot be loaded: {e}. Pick another in the sidebar.")
    st.stop()
if data is None:
    st.info("Choose a photo above to begin (JPEG, PNG, WebP, BMP, GIF or TIFF, up to "
            f"{widgets.upload_limit_mb()} MB). Nothing you upload is stored.")
    st.markdown("**How the network reads a face:** a small localization branch predicts an "
                "affine transform (the spatial transformer) that decides which part of the "
                "feature maps the classifier sees; the maps below a prediction show where it looked.")
    st.plotly_chart(figures.architecture_diagram(ckpt.card.get("config", {})), key="intro_fig")
    st.stop()

try:
    photo = resources.photo(data, upload_name, ckpt.preprocessing.size)
except resources.FaceImageError as e:
    st.error(f"This photo cannot be used: {e}")
    st.stop()

left, right = st.columns([3, 2])
with left:
    scores = [f.score for f in photo.faces]
    threshold = widgets.face_threshold(resources.MIN_SCORE) if photo.faces else 1.0
    shown = [i for i, s in enumerate(scores) if s >= threshold]
    index = widgets.face_picker(shown, scores) if shown else None
    st.plotly_chart(figures.photo_with_faces(
        photo.image.rgb, [photo.faces[i].box for i in shown],
        shown.index(index) if index is not None else None,
        labels=[f"face {i + 1} · {scores[i]:.2f}" for i in shown]), key="photo_fig")
    hidden = len(photo.faces) - len(shown)
    found = f"{len(photo.faces)} face{'s' if len(photo.faces) != 1 else ''} found" + (
        f", {hidden} hidden below score {threshold:.2f}" if hidden else "")
    detector = resources.DETECTOR_NAME if photo.detected else "none (an aligned dataset face)"
    st.caption(f"{source_label} · {found} · detector: {detector}")
    for note in ([] if photo.detected else ["a dataset face, already aligned: used as it is"]) \
            + photo.image.notes:
        st.caption(f"Note: {note}")

if not photo.detected:
    face, framing, number = photo.crops[0], "dataset face (already aligned)", None
elif index is not None:
    face, framing, number = photo.crops[index], "detected face", index + 1
else:
    width, height = photo.image.size
    with left:
        if photo.too_small:
            st.warning(f"This image is {width}×{height} pixels: too small to hold a face.")
        elif photo.faces:
            st.warning(f"No face scores {threshold:.2f} or more: lower the threshold to see them.")
        else:
            st.warning("No face was found in this photo. A frontal, well-lit face works best.")
        whole = st.checkbox("Explain the whole image anyway", key=f"whole_image_{hash(data)}",
                            help="Reads the centre square of the image as if it were a face; "
                                 "the prediction then says nothing about a person.")
    if not whole:
        st.stop()
    face, framing, number = photo.whole_image(), "whole image, no face found", None

with st.expander("Explanation settings", expanded=False):
    tta = widgets.tta_picker()
    window, stride, baseline = widgets.occlusion_controls()
    methods = widgets.method_picker(ckpt_name)
    target = widgets.target_picker(ckpt_name, ckpt.classes)

result = resources.explanation(ckpt, face, ("stn", "occlusion", *methods), target, tta=tta,
                               window=window, stride=stride, baseline=baseline, trust=True)
classes = result.classes
predicted = classes[result.prediction]

with right:
    if framing.startswith("whole image"):
        st.subheader(f"Whole image, no face: {predicted}")
        st.caption("Explained on request: this image holds no detected face, so the reading "
                   "below is of its centre square, not of a person's expression.")
    else:
        which = f" (face {number})" if number and len(photo.faces) > 1 else ""
        st.subheader(f"Prediction: {predicted}{which}")
    st.plotly_chart(figures.probability_bars(classes, result.probs), key="probs_fig")
    st.caption(f"Checkpoint **{ckpt_name}** · TTA: {widgets.TTA_LABELS[tta]}")

explained = classes[result.target]
st.subheader(f"Why “{explained}”: the network's own attention beside occlusion")
if result.target != result.prediction:
    st.caption(f"The maps explain “{explained}” as chosen in the settings; the prediction is "
               f"“{predicted}”.")
stn = reports.stn_view(result)
st.plotly_chart(figures.stn_panels(face, stn["warped"], stn["outline"], stn["heatmap"]), key="stn_fig")
st.caption("The aligned face the network reads, with the region its spatial transformer "
           "samples; the warped view is that region as the classifier sees it.")

o1, o2 = st.columns([1, 1])
with o1:
    st.plotly_chart(figures.map_overlay(face, result.maps["occlusion"].map,
                                        f"Occlusion ({window}px window, stride {stride}, {baseline})",
                                        signed=True, colorbar_title="logit drop"), key="occlusion_fig")
with o2:
    trust = result.trust
    m1, m2, m3 = st.columns(3)
    m1.metric("STN ↔ occlusion", f"{trust.agreement:.2f}",
              help="Agreement, the overlap (IoU) of the two maps' top pixels: 1 means both maps "
                   "pick the same pixels, 0 none.")
    m2.metric("Rank correlation", "n/a" if math.isnan(trust.spearman) else f"{trust.spearman:+.2f}",
              help="Spearman correlation of the STN and occlusion maps over all pixels (n/a when "
                   "a map is constant: nothing to rank).")
    m3.metric("Deletion AUC", f"{float(trust.deletion.auc[0]):.2f}",
              help="Faithfulness of the occlusion map: the class's probability as the pixels it "
                   "ranks highest are deleted first, averaged over the curve. Lower means the "
                   "map found what matters.")
    curves = {"deletion": trust.deletion.scores[0].numpy(), "insertion": trust.insertion.scores[0].numpy()}
    st.plotly_chart(figures.deletion_curves(curves, kind="faithfulness",
                                            title="Occlusion map: delete / insert its top pixels"),
                    key="deletion_fig")

others = {m: ex.map for m, ex in result.maps.items() if m not in ("stn", "occlusion")}
if others:
    st.subheader("Other attribution methods")
    for start in range(0, len(others), 3):  # at most three maps per row, so each stays readable
        row = dict(list(others.items())[start:start + 3])
        st.plotly_chart(figures.method_grid(face, row, widgets.method_titles(ckpt_name),
                                            signed=("ig", "guided-gradcam")),
                        key=f"methods_fig_{start}")

context = {"checkpoint": ckpt_name, "source": source_label, "face": number, "framing": framing,
           "tta": tta, "occlusion": {"window": window, "stride": stride, "baseline": baseline}}
d1, d2, d3 = st.columns(3)
# PNG and NPZ are built on click (in Streamlit's download thread), not on every rerun.
d1.download_button("Maps (PNG)", lambda: reports.maps_png(face, result, context, widgets.METHOD_LABELS),
                   "deep-emotion-maps.png", "image/png", key="dl_png")
d2.download_button("Maps (NPZ)", lambda: reports.maps_npz(face, result, context),
                   "deep-emotion-maps.npz", "application/octet-stream", key="dl_npz")
d3.download_button("Report (JSON)", reports.report_json(result, context), "deep-emotion-report.json",
                   "application/json", key="dl_json")
