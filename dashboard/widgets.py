"""Widgets shared by the pages: each draws its controls and returns their values.

Keys are fixed strings so a choice made on one page (the checkpoint, the dataset) is still
there on the next; the checkpoint picker lives in the frame's sidebar (``dashboard/app.py``).
The model stack (``resources``, ``reports``: torch) is imported inside the widgets that need
it, so the frame and the photo picker draw before torch has loaded.
"""

from __future__ import annotations

import streamlit as st

from deep_emotion.catalog import checkpoint_dir, list_checkpoints

__all__ = ["checkpoint_picker", "current_checkpoint", "dataset_picker", "photo_source",
           "occlusion_controls", "method_picker", "tta_picker", "face_picker", "no_checkpoint",
           "target_picker", "face_threshold", "upload_limit_mb"]

TTA_LABELS = {"none": "none", "flip": "mirror (2 views)", "tencrop": "ten crops"}


def checkpoint_picker() -> str | None:
    """Sidebar select box over the checkpoints on disk; None when there are none."""
    names = list_checkpoints()
    if not names:
        return None
    if st.session_state.get("checkpoint") not in names:
        st.session_state["checkpoint"] = "fer2013" if "fer2013" in names else names[0]
    return st.sidebar.selectbox("Checkpoint", names, key="checkpoint",
                                help="The trained network every page uses.")


def current_checkpoint() -> str | None:
    names = list_checkpoints()
    name = st.session_state.get("checkpoint")
    return name if name in names else (names[0] if names else None)


def no_checkpoint() -> None:
    st.info(f"No checkpoint found in `{checkpoint_dir()}`. Train one with `deep-emotion train` "
            "or copy a `NAME.json` + `NAME.safetensors` pair there, then reload the page.")


def analyses_or_stop() -> tuple[str, dict]:
    """The current checkpoint and its precomputed analyses; stops the page with a next step
    when there is no checkpoint or no analysis, and warns when the analysis is stale."""
    from dashboard import resources  # imports torch; only pages that show analyses need it

    ckpt_name = current_checkpoint()
    if ckpt_name is None:
        no_checkpoint()
        st.stop()
    analyses, problem = resources.analysis(ckpt_name)
    if analyses is None:
        st.info(problem)
        st.stop()
    if resources.analysis_is_stale(ckpt_name, analyses):
        st.warning(f"These analyses were computed for earlier weights of **{ckpt_name}**. Run "
                   f"`deep-emotion analyze --checkpoint {ckpt_name}` again to match the checkpoint.")
    return ckpt_name, analyses


def dataset_picker(label: str = "Dataset", key: str = "dataset", default: str | None = None) -> str:
    from dashboard import resources

    names = resources.dataset_names()
    if st.session_state.get(key) not in names:
        st.session_state[key] = default if default in names else names[0]
    return st.selectbox(label, names, key=key, format_func=resources.label)


def tta_picker(key: str = "tta") -> str:
    from deep_emotion.predict import TTA_MODES

    return st.selectbox("Test-time augmentation", list(TTA_MODES), key=key,
                        format_func=TTA_LABELS.get,
                        help="Average the prediction over mirrored or cropped views of the face.")


def photo_source() -> tuple[bytes | None, str]:
    """Upload, camera or a sample; returns the photo's bytes (in memory) and a label for it."""
    source = st.radio("Photo", ["Upload", "Camera", "Sample"], horizontal=True, key="source")
    if source == "Upload":
        # No ``type=`` filter: the decoder sniffs the content, so a JPEG named .heic is read as
        # the JPEG it is, and a refusal is our own visible message, not a tooltip on the chip.
        up = st.file_uploader("Upload a photo with a face", key="upload",
                              help="JPEG, PNG, WebP, BMP, GIF or TIFF, up to "
                                   f"{upload_limit_mb()} MB. Kept in memory only.")
        return (up.getvalue(), up.name) if up is not None else (None, "")
    if source == "Camera":
        shot = st.camera_input("Take a photo", key="camera")
        return (shot.getvalue(), "camera") if shot is not None else (None, "")
    from dashboard import resources

    names = resources.samples()
    if not names:
        st.info("No sample photos: install scikit-image (`pip install scikit-image`) or set "
                "`DEEP_EMOTION_DATA` to the datasets folder.")
        return None, ""
    name = st.selectbox("Sample", names, key="sample")
    return resources.sample_bytes(name), name


def upload_limit_mb() -> int:
    """The decoder's byte limit in MB (``deep_emotion.faces.MAX_BYTES``), which every upload
    is checked against; Streamlit's own ``server.maxUploadSize`` is set above it so that the
    refusal of a too-large photo is a message on the page."""
    from deep_emotion.faces.decode import MAX_BYTES  # no torch: the decoder is Pillow only

    return MAX_BYTES // 2**20


def face_threshold(min_score: float) -> float:
    """The detector score below which face boxes are hidden."""
    return st.slider("Hide faces scoring below", min_score, 1.0, min_score, step=0.01,
                     key="face_threshold", format="%.2f",
                     help="The detector's confidence that a box holds a face. Raise it to hide "
                          "boxes on things that are not faces.")


def face_picker(shown: list[int], scores: list[float]) -> int:
    """Radio over the shown faces when there are several, numbered as on the photo (largest
    face is face 1); returns the index of the chosen face among all detected faces."""
    if len(shown) == 1:
        return shown[0]
    if st.session_state.get("face_index") not in shown:
        st.session_state["face_index"] = shown[0]  # the chosen face was hidden by the threshold
    return st.radio("Face", shown, horizontal=True, key="face_index",
                    format_func=lambda i: f"face {i + 1} (score {scores[i]:.2f})")


def occlusion_controls() -> tuple[int, int, str]:
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


def target_picker(ckpt_name: str, classes) -> int | None:
    """The class to explain (None: the predicted one); keyed per checkpoint, whose heads differ."""
    return st.selectbox("Explain the class", [None, *range(len(classes))], key=f"target_{ckpt_name}",
                        format_func=lambda i: "the predicted one" if i is None else classes[i])


METHOD_LABELS = {"occlusion": "Occlusion", "flip": "Occlusion flips (the paper's test)",
                 "saliency": "Saliency (|gradient|)",
                 "ig": "Integrated gradients", "smoothgrad": "SmoothGrad",
                 "gradcam": "Grad-CAM", "guided-gradcam": "Guided Grad-CAM"}


def method_picker() -> tuple[str, ...]:
    from deep_emotion.explain import METHODS

    others = [m for m in METHODS if m not in ("occlusion", "stn")]  # those two are always shown
    chosen = st.multiselect("Other methods", others, default=["ig", "gradcam"], key="methods",
                            format_func=METHOD_LABELS.get)
    return tuple(m for m in others if m in chosen)
