"""Explain a face: photo -> faces -> prediction -> STN attention beside occlusion and friends.

The model stack (torch) is imported inside ``render`` after the photo picker is drawn, so
the page's controls reach the browser before torch has loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard import widgets, wording

__all__ = ["render", "score_text"]


@dataclass(frozen=True)
class Photo:
    """The picked photo: bytes kept in memory, what the page calls it, the file name for the
    decoder's messages (None for the camera), and whether it is a dataset face aligned already
    (no detection runs then)."""

    data: bytes | None
    label: str
    file_name: str | None = None
    aligned: bool = False


def render() -> None:
    st.title("Explain a face")
    st.caption("Upload a photo, take one, or pick a sample: the network predicts the "
               "expression, and the maps show which parts of the face it looked at.")
    ckpt_name = widgets.checkpoint_or_stop()
    picked = _handed_over(_photo_source())

    from dashboard import resources  # the model stack (torch) loads here

    try:
        ckpt = resources.checkpoint(ckpt_name)
    except resources.CheckpointError as e:
        st.error(f"Checkpoint **{ckpt_name}** cannot be loaded: {e}. Pick another in the sidebar.")
        st.stop()
    if picked.data is None:
        _introduction(ckpt)
        st.stop()
    try:
        photo = resources.photo(picked.data, picked.file_name, ckpt.preprocessing.size,
                                picked.aligned)
    except resources.FaceImageError as e:
        st.error(f"This photo cannot be used: {e}")
        st.stop()
    left, right = st.columns([3, 2])
    with left:
        face, framing, number = _choose_face(photo, picked)
    _explain(ckpt_name, ckpt, photo, face, framing, number, picked.label, right)


def _introduction(ckpt) -> None:
    from dashboard import figures

    st.info("Choose a photo above to begin (JPEG, PNG, WebP, BMP, GIF or TIFF, up to "
            f"{upload_limit_mb()} MB). Nothing you upload is stored.")
    st.markdown("**How the network reads a face:** a small localization branch predicts an "
                "affine transform (the spatial transformer) that decides which part of the "
                "feature maps the classifier sees; the maps below a prediction show where it looked.")
    st.plotly_chart(figures.architecture_diagram(ckpt.card.get("config", {})), key="intro_fig", config=figures.PLOTLY_CONFIG)


# --- the photo --------------------------------------------------------------------------------

def _photo_source() -> Photo:
    """Upload, camera or a sample; the photo's bytes stay in memory."""
    source = st.radio("Photo", ["Upload", "Camera", "Sample"], horizontal=True, key="source")
    if source == "Upload":
        # No ``type=`` filter: the decoder sniffs the content, so a JPEG named .heic is read as
        # the JPEG it is, and a refusal is our own visible message, not a tooltip on the chip.
        up = st.file_uploader(f"Upload a photo with a face (up to {upload_limit_mb()} MB)",
                              key="upload",
                              help="JPEG, PNG, WebP, BMP, GIF or TIFF, up to "
                                   f"{upload_limit_mb()} MB. Kept in memory only.")
        return Photo(up.getvalue(), up.name, up.name) if up is not None else Photo(None, "")
    if source == "Camera":
        shot = st.camera_input("Take a photo", key="camera")
        return Photo(shot.getvalue(), "camera") if shot is not None else Photo(None, "")
    from dashboard import resources

    names = resources.samples()
    if not names:
        st.info("No sample photos: install scikit-image (`pip install scikit-image`) or set "
                "`DEEP_EMOTION_DATA` to the datasets folder.")
        return Photo(None, "")
    name = st.selectbox("Sample", names, key="sample")
    return Photo(resources.sample_bytes(name), name, name, resources.is_dataset_sample(name))


def _handed_over(picked: Photo) -> Photo:
    """The face the Confusion page handed over (``widgets.hand_over_face``), until the person
    picks another photo here: the newest choice wins, so a new upload, camera shot or sample
    drops the handed face."""
    handed = st.session_state.get(widgets.HANDED_FACE)
    if not handed:
        return picked
    pick = (st.session_state.get("source"), picked.label, hash(picked.data))
    seen = st.session_state.setdefault(widgets.HANDED_FACE + "_pick", pick)
    if seen != pick:
        del st.session_state[widgets.HANDED_FACE]
        return picked
    png, label = handed
    st.info(f"Explaining **{label}**, opened from the Confusion matrices page.")
    if st.button("Use the photo picker instead", key="drop_handed_face"):
        del st.session_state[widgets.HANDED_FACE]
        st.rerun()
    return Photo(png, label, label, aligned=True)


def upload_limit_mb() -> int:
    """The decoder's byte limit in MB (``deep_emotion.faces.MAX_BYTES``), which every upload
    is checked against; Streamlit's own ``server.maxUploadSize`` is set above it so that the
    refusal of a too-large photo is a message on the page."""
    from deep_emotion.faces.decode import MAX_BYTES  # no torch: the decoder is Pillow only

    return MAX_BYTES // 2**20


def _face_threshold(min_score: float) -> float:
    """The detector score below which face boxes are hidden."""
    return st.slider("Hide faces scoring below", min_score, 1.0, min_score, step=0.01,
                     key="face_threshold", format="%.2f",
                     help="The detector's confidence that a box holds a face. Raise it to hide "
                          "boxes on things that are not faces.")


def _face_picker(shown: list[int], scores: list[float]) -> int:
    """Radio over the shown faces when there are several, numbered as on the photo (largest
    face is face 1); returns the index of the chosen face among all detected faces."""
    if len(shown) == 1:
        return shown[0]
    if st.session_state.get("face_index") not in shown:
        st.session_state["face_index"] = shown[0]  # the chosen face was hidden by the threshold
    return st.radio("Face", shown, horizontal=True, key="face_index",
                    format_func=lambda i: f"face {i + 1} (score {score_text(scores[i])})")


def score_text(score: float) -> str:
    """A detector score with two decimals, rounded down: a face shown as "1.00" must pass the
    threshold slider at its end (1.00), so 0.996 reads "0.99", never "1.00"."""
    return f"{math.floor(score * 100) / 100:.2f}"


def _choose_face(photo, picked: Photo) -> tuple[np.ndarray, str, int | None]:
    """The photo with its faces drawn, and the face to explain: (crop, framing, number)."""
    from dashboard import figures, resources

    if not photo.detection_ran:
        st.plotly_chart(figures.photo_with_faces(photo.image.rgb, []), key="photo_fig", config=figures.PLOTLY_CONFIG)
        st.caption(f"{picked.label} · a dataset face, already aligned: used as it is "
                   "(no face detection)")
        return photo.crops[0], "dataset face (already aligned)", None
    scores = [f.score for f in photo.faces]
    threshold = _face_threshold(resources.MIN_SCORE) if photo.faces else 1.0
    shown = [i for i, s in enumerate(scores) if s >= threshold]
    index = _face_picker(shown, scores) if shown else None
    st.plotly_chart(figures.photo_with_faces(
        photo.image.rgb, [photo.faces[i].box for i in shown],
        shown.index(index) if index is not None else None,
        labels=[f"face {i + 1} · {score_text(scores[i])}" for i in shown]), key="photo_fig", config=figures.PLOTLY_CONFIG)
    hidden = len(photo.faces) - len(shown)
    found = f"{len(photo.faces)} face{'s' if len(photo.faces) != 1 else ''} found" + (
        f", {hidden} hidden below score {threshold:.2f}" if hidden else "")
    st.caption(f"{picked.label} · {found} · detector: {resources.DETECTOR_NAME}")
    for note in photo.image.notes:
        st.caption(f"Note: {note}")
    if index is not None:
        return photo.crops[index], "detected face", index + 1
    _no_face_warning(photo, threshold)
    if photo.too_small:  # a few pixels blown up to a face say nothing: nothing to explain
        st.stop()
    whole = st.checkbox("Explain the whole image anyway", key=f"whole_image_{hash(picked.data)}",
                        help="Reads the centre square of the image as if it were a face; "
                             "the prediction then says nothing about a person.")
    if not whole:
        st.stop()
    return photo.whole_image(), "whole image, no face found", None


def _no_face_warning(photo, threshold: float) -> None:
    width, height = photo.image.size
    if photo.too_small:
        st.warning(f"This image is {width}×{height} pixels: too small to hold a face, and too "
                   "small to explain.")
    elif photo.faces:
        st.warning(f"No face scores {threshold:.2f} or more: lower the threshold to see them.")
    else:
        st.warning("No face was found in this photo. A frontal, well-lit face works best.")


# --- the explanation ------------------------------------------------------------------------

def _settings(ckpt_name: str, classes) -> dict:
    """The explanation settings, in an expander: TTA, occlusion, other methods, class."""
    with st.expander("Explanation settings", expanded=False):
        tta = widgets.tta_picker()
        window, stride, baseline = _occlusion_controls()
        methods = _method_picker(ckpt_name)
        target = st.selectbox("Explain the class", [None, *range(len(classes))],
                              key=f"target_{ckpt_name}",  # per checkpoint: heads differ
                              format_func=lambda i: "the predicted one" if i is None else classes[i])
    return {"tta": tta, "window": window, "stride": stride, "baseline": baseline,
            "methods": methods, "target": target}


def _occlusion_controls() -> tuple[int, int, str]:
    """Occlusion window, stride and baseline, with the core's defaults.

    A stride longer than the window would leave pixels no window covers (Captum refuses it),
    so the stride used is lowered to the window, and a note on the page says so.
    """
    from deep_emotion.explain import BASELINES, OCCLUSION_STRIDE, OCCLUSION_WINDOW

    c1, c2, c3 = st.columns(3)
    window = c1.slider("Window (px)", 2, 24, OCCLUSION_WINDOW, step=1, key="occ_window",
                       help="Side of the square patch hidden at each step.")
    stride = c2.slider("Stride (px)", 1, 12, OCCLUSION_STRIDE, step=1, key="occ_stride",
                       help="How far the patch moves between steps; at most the window.")
    baseline = c3.selectbox("Baseline", list(BASELINES), key="occ_baseline",
                            help="What the hidden patch is replaced with.")
    if stride > window:
        st.info(f"The stride ({stride} px) is longer than the window ({window} px), which "
                f"would leave pixels no patch covers: occlusion uses a stride of {window} px.")
        stride = window
    return window, stride, baseline


def _method_picker(ckpt_name: str) -> tuple[str, ...]:
    """The extra attribution methods to draw; by default those that pass both trust checks
    for this checkpoint, keyed per checkpoint so that switching network brings its own
    defaults."""
    from deep_emotion.explain import METHODS
    from deep_emotion.explain.verdicts import trusted_methods

    others = [m for m in METHODS if m not in ("occlusion", "stn")]  # those two are always shown
    trusted = trusted_methods(_analyses_of(ckpt_name), others)
    chosen = st.multiselect("Other methods", others, default=trusted, key=f"methods_{ckpt_name}",
                            format_func=wording.method_labels().get,
                            help="Chosen at first: the methods that pass both checks on the "
                                 "Trust page for this network (none when its analysis has no "
                                 "verdicts).")
    return tuple(m for m in others if m in chosen)


def _analyses_of(ckpt_name: str) -> dict | None:
    from dashboard import resources

    analyses, _ = resources.analysis(ckpt_name)
    return analyses


def _method_titles(ckpt_name: str) -> dict[str, str]:
    """Method labels for the maps, each followed by its trust verdict when it did not pass
    both checks (e.g. "Grad-CAM<br>(fails the sanity check)")."""
    from deep_emotion.explain.verdicts import verdict_note

    analyses = _analyses_of(ckpt_name)
    titles = {}
    for m, label in wording.method_labels().items():
        note = verdict_note(analyses, m)
        titles[m] = f"{label}<br>({note})" if note else label
    return titles


def _explain(ckpt_name: str, ckpt, photo, face, framing: str, number: int | None, label: str,
             right) -> None:
    from dashboard import resources

    s = _settings(ckpt_name, ckpt.classes)
    result = resources.explanation(ckpt, face, ("stn", "occlusion", *s["methods"]), s["target"],
                                   tta=s["tta"], window=s["window"], stride=s["stride"],
                                   baseline=s["baseline"], trust=True)
    with right:
        _prediction(ckpt_name, result, framing, number, len(photo.faces), s["tta"])
    _maps(ckpt_name, face, result, s)
    context = {"checkpoint": ckpt_name, "source": label, "face": number, "framing": framing,
               "tta": s["tta"], "occlusion": {k: s[k] for k in ("window", "stride", "baseline")}}
    _downloads(face, result, context)


def _prediction(ckpt_name: str, result, framing: str, number: int | None, faces: int,
                tta: str) -> None:
    from dashboard import figures

    predicted = result.classes[result.prediction]
    if framing.startswith("whole image"):
        st.subheader(f"Whole image, no face: {predicted}")
        st.caption("Explained on request: this image holds no detected face, so the reading "
                   "below is of its centre square, not of a person's expression.")
    else:
        which = f" (face {number})" if number and faces > 1 else ""
        st.subheader(f"Prediction: {predicted}{which}")
    st.plotly_chart(figures.probability_bars(result.classes, result.probs), key="probs_fig", config=figures.PLOTLY_CONFIG)
    st.caption(f"Checkpoint **{ckpt_name}** · TTA: {wording.TTA_LABELS[tta]}")


def _maps(ckpt_name: str, face: np.ndarray, result, s: dict) -> None:
    from dashboard import figures, reports

    explained, predicted = result.classes[result.target], result.classes[result.prediction]
    st.subheader(f"Why “{explained}”: the network's own attention beside occlusion")
    if result.target != result.prediction:
        st.caption(f"The maps explain “{explained}” as chosen in the settings; the prediction "
                   f"is “{predicted}”.")
    stn = reports.stn_parts(result)
    st.plotly_chart(figures.stn_panels(face, stn["warped"], stn["outline"], stn["heatmap"]),
                    key="stn_fig", config=figures.PLOTLY_CONFIG)
    st.caption("The aligned face the network reads, with the region its spatial transformer "
               "samples; the warped view is that region as the classifier sees it.")
    o1, o2 = st.columns([1, 1])
    with o1:
        st.plotly_chart(figures.map_overlay(
            face, result.maps["occlusion"].map,
            f"Occlusion ({s['window']}px window, stride {s['stride']}, {s['baseline']})",
            signed=True, colorbar_title=figures.COLORBAR_TITLES["occlusion"]), key="occlusion_fig", config=figures.PLOTLY_CONFIG)
    with o2:
        _trust(result.trust)
    others = {m: ex.map for m, ex in result.maps.items() if m not in ("stn", "occlusion")}
    if others:
        st.subheader("Other attribution methods")
        for start in range(0, len(others), 3):  # at most three maps per row, so each stays readable
            row = dict(list(others.items())[start:start + 3])
            st.plotly_chart(figures.method_grid(face, row, _method_titles(ckpt_name),
                                                signed=figures.SIGNED_METHODS),
                            key=f"methods_fig_{start}", config=figures.PLOTLY_CONFIG)


def _trust(trust) -> None:
    """Agreement of the STN and occlusion maps, and occlusion's deletion and insertion curves."""
    from dashboard import figures

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
    curves = {"deletion": trust.deletion.scores[0].numpy(),
              "insertion": trust.insertion.scores[0].numpy()}
    st.plotly_chart(figures.deletion_curves(curves, kind="faithfulness",
                                            title="Occlusion map: delete / insert its top pixels"),
                    key="deletion_fig", config=figures.PLOTLY_CONFIG)


def _downloads(face: np.ndarray, result, context: dict) -> None:
    from dashboard import reports

    d1, d2, d3 = st.columns(3)
    # PNG and NPZ are built on click (in Streamlit's download thread), not on every rerun.
    d1.download_button("Maps (PNG)", lambda: reports.maps_png(face, result, context,
                                                              wording.method_labels()),
                       "deep-emotion-maps.png", "image/png", key="dl_png")
    d2.download_button("Maps (NPZ)", lambda: reports.maps_npz(face, result, context),
                       "deep-emotion-maps.npz", "application/octet-stream", key="dl_npz")
    d3.download_button("Report (JSON)", reports.report_json(result, context),
                       "deep-emotion-report.json", "application/json", key="dl_json")
