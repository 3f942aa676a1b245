"""Widgets shared by the pages: each draws its controls and returns their values.

Keys are fixed strings so a choice made on one page (the checkpoint, the dataset) is still
there on the next; the checkpoint picker lives in the frame's sidebar (``dashboard/app.py``).
The model stack (``resources``, ``reports``: torch) is imported inside the widgets that need
it, so the frame and the photo picker draw before torch has loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from dashboard import wording
from deep_emotion.catalog import checkpoint_dir, list_checkpoints

__all__ = ["checkpoint_picker", "current_checkpoint", "dataset_picker", "photo_source",
           "cell_from_selection", "confusion_cell", "cell_clicked", "chart_key", "hand_over_face",
           "handed_over_face", "card_summary", "method_titles",
           "occlusion_controls", "method_picker", "tta_picker", "face_picker", "no_checkpoint",
           "target_picker", "face_threshold", "upload_limit_mb"]

TTA_LABELS = {"none": "none", "flip": "mirror (2 views)", "tencrop": "ten crops"}


@st.cache_data(show_spinner=False, max_entries=64)
def _card_json(path: str, stamp: float) -> dict:
    """A card read as plain JSON (no torch): enough to describe the checkpoint."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def card_summary(name: str) -> dict:
    """The card of checkpoint ``name`` without loading its weights ({} when unreadable)."""
    path = checkpoint_dir() / f"{name}.json"
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    return _card_json(str(path), stamp)


def checkpoint_picker() -> str | None:
    """Sidebar select box over the checkpoints on disk, the recommended one first, each with
    its one-line description and, for unusual training data, a caution; None when none."""
    cards = {n: card_summary(n) for n in list_checkpoints()}
    if not cards:
        return None
    names = wording.checkpoint_order(cards)
    if st.session_state.get("checkpoint") not in names:
        st.session_state["checkpoint"] = names[0]
    name = st.sidebar.selectbox(
        "Network", names, key="checkpoint", format_func=lambda n: wording.checkpoint_line(n, cards[n]),
        help="The trained network (checkpoint) every page uses. The recommended one comes "
             "first, then networks trained on everyday photos, then those trained on posed ones.")
    st.sidebar.caption(wording.checkpoint_description(name, cards[name]))
    caution = wording.training_caution(cards[name])
    if caution:
        st.sidebar.warning(caution, icon="⚠️")
    return name


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


def dataset_picker(label: str, key: str, trained_on: str | None) -> str:
    """The dataset to evaluate on: the checkpoint's own (its card holds the numbers, so no
    photos are needed) first, then every other dataset whose photos this server holds."""
    from dashboard import resources

    names = [n for n in [trained_on] if n] + [n for n in resources.datasets_on_disk()
                                              if n != trained_on]
    if not names:
        names = resources.dataset_names()[:1]
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    return st.selectbox(label, names, key=key, format_func=resources.label,
                        help="The checkpoint's own test photos, and any other dataset whose "
                             "photos are on this server (compared over the emotions both share).")


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


def confusion_cell(classes: list[str]) -> tuple[str, str]:
    """The (true, predicted) cell chosen by a click on the confusion chart or by the two
    select boxes it draws; one stored pair feeds both, so it survives leaving the page.

    Every click counts, the same cell again included: ``cell_clicked`` consumes the click and
    gives the chart a fresh key, so the next click is a new selection, never a toggle of the
    old one.
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


def cell_clicked(chart_key: str, classes: list[str]):
    """An ``on_select`` callback for the confusion chart: store the clicked cell and renew the
    chart's key (see ``confusion_cell``)."""
    def callback() -> None:
        event = st.session_state.get(st.session_state.get(chart_key + "_key", chart_key))
        points = (event or {}).get("selection", {}).get("points", [])
        cell = cell_from_selection(points, classes)
        if cell:
            st.session_state["cell"] = cell
        st.session_state[chart_key + "_n"] = st.session_state.get(chart_key + "_n", 0) + 1
    return callback


def chart_key(base: str) -> str:
    """The current key of a chart whose selection is consumed on every click."""
    key = f"{base}_{st.session_state.get(base + '_n', 0)}"
    st.session_state[base + "_key"] = key
    return key


HANDED_FACE = "handed_face"


def hand_over_face(face, label: str) -> None:
    """Open *Explain a face* on ``face``, an aligned dataset face (uint8 (S, S) array).

    ``label`` must contain " test face: ", which tells the photo cache the face is aligned
    already (``resources.photo``).  The face travels as PNG bytes in this session only.
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="PNG")
    st.session_state[HANDED_FACE] = (buf.getvalue(), label)
    st.switch_page(_page("explain.py"))


def _page(file: str):
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "pages" / file)


def handed_over_face(data: bytes | None, label: str, name: str) -> tuple[bytes | None, str, str]:
    """The face another page handed over, when there is one, instead of the picked photo:
    returns (bytes, label, name for the photo cache); otherwise the arguments unchanged."""
    handed = st.session_state.get(HANDED_FACE)
    if not handed:
        return data, label, name
    png, face_label = handed
    st.info(f"Explaining **{face_label}**, opened from the Confusion matrices page.")
    if st.button("Use the photo picker instead", key="drop_handed_face"):
        del st.session_state[HANDED_FACE]
        st.rerun()
    return png, face_label, face_label


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


def _analyses_of(ckpt_name: str) -> dict | None:
    from dashboard import resources

    analyses, _ = resources.analysis(ckpt_name)
    return analyses


def method_picker(ckpt_name: str) -> tuple[str, ...]:
    """The extra attribution methods to draw; by default those that pass both trust checks
    for this checkpoint (``tables.trusted_methods``), keyed per checkpoint so that switching
    network brings its own defaults."""
    from dashboard import tables
    from deep_emotion.explain import METHODS

    others = [m for m in METHODS if m not in ("occlusion", "stn")]  # those two are always shown
    trusted = tables.trusted_methods(_analyses_of(ckpt_name), others)
    chosen = st.multiselect("Other methods", others, default=trusted, key=f"methods_{ckpt_name}",
                            format_func=METHOD_LABELS.get,
                            help="Chosen at first: the methods that pass both checks on the "
                                 "Trust page for this network (none when its analysis has no "
                                 "verdicts).")
    return tuple(m for m in others if m in chosen)


def method_titles(ckpt_name: str) -> dict[str, str]:
    """Method labels for the maps, each followed by its trust verdict when it did not pass
    both checks (e.g. "Grad-CAM<br>(fails the sanity check)")."""
    from dashboard import tables

    analyses = _analyses_of(ckpt_name)
    titles = {}
    for m, label in METHOD_LABELS.items():
        note = tables.verdict_note(analyses, m)
        titles[m] = f"{label}<br>({note})" if note else label
    return titles
