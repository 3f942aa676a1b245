"""Controls shared by several pages: each draws its widgets and returns their values.

A control used by one page only lives in that page's module (``dashboard/views/``).  Keys are
fixed strings so a choice made on one page (the checkpoint, the dataset) is still there on
the next; the checkpoint picker lives in the frame's sidebar (``dashboard/app.py``).  The
model stack (``resources``: torch) is imported inside the functions that need it, so the frame
and the first controls draw before torch has loaded.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard import wording
from deep_emotion.catalog import CheckpointError, checkpoint_dir, list_checkpoints, read_card

__all__ = ["checkpoint_picker", "current_checkpoint", "checkpoint_or_stop", "no_checkpoint",
           "card_summary", "dataset_picker", "tta_picker", "hand_over_face", "HANDED_FACE",
           "page_path", "analyses_or_stop", "chart_key", "on_click"]

HANDED_FACE = "handed_face"  # session key: (PNG bytes, label) of a face another page hands over


@st.cache_data(show_spinner=False, max_entries=64)
def _card(path: str, stamp: float) -> dict:
    try:
        return read_card(path)
    except CheckpointError:
        return {}


def card_summary(name: str) -> dict:
    """The card of checkpoint ``name`` without loading its weights or torch ({} when
    unreadable), cached per file version."""
    path = checkpoint_dir() / f"{name}.json"
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    return _card(str(path), stamp)


def checkpoint_picker() -> str | None:
    """Sidebar select box over the checkpoints on disk, the recommended one first, each with
    its one-line description and, for unusual training data, a caution; None when none."""
    cards = {n: card_summary(n) for n in list_checkpoints()}
    if not cards:
        return None
    names, best = wording.checkpoint_order(cards), wording.recommended(cards)
    if st.session_state.get("checkpoint") not in names:
        st.session_state["checkpoint"] = names[0]
    name = st.sidebar.selectbox(
        "Network", names, key="checkpoint", format_func=lambda n: wording.checkpoint_line(n, cards[n], n == best),
        help=wording.CHECKPOINT_HELP)
    st.sidebar.caption(f"{wording.checkpoint_group(cards[name]).capitalize()}: "
                       + wording.checkpoint_description(name, cards[name]))
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


def checkpoint_or_stop() -> str:
    """The chosen checkpoint's name; without any, says how to get one and stops the page."""
    name = current_checkpoint()
    if name is None:
        no_checkpoint()
        st.stop()
    return name


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
    return st.selectbox(label, names, key=key, format_func=wording.dataset_label,
                        help="The checkpoint's own test photos, and any other dataset whose "
                             "photos are on this server (compared over the emotions both share).")


def dataset_missing(problem: str, name: str, what_else: str) -> None:
    """Say that a dataset's photos are missing and what the page shows instead; folded away
    below, for whoever runs the server, where the files go and which variable to set."""
    st.info(f"{problem} {what_else}")
    with st.expander("Running this server? Where the photos go"):
        st.markdown(wording.dataset_setup(name))


def tta_picker(key: str = "tta") -> str:
    from deep_emotion.predict import TTA_MODES

    return st.selectbox("Test-time augmentation", list(TTA_MODES), key=key,
                        format_func=wording.TTA_LABELS.get,
                        help="Average the prediction over mirrored or cropped views of the face.")


def chart_key(base: str) -> str:
    """The current key of a chart whose clicks are consumed (``on_click``): a fresh key after
    every click, so the next click is a new selection, never a toggle of the old one."""
    key = f"{base}_{st.session_state.get(base + '_n', 0)}"
    st.session_state[base + "_key"] = key
    return key


def on_click(base: str, handle):
    """An ``on_select`` callback for the chart keyed ``chart_key(base)``: hands the clicked
    points (Plotly's selection as Streamlit returns it) to ``handle`` and renews the key."""
    def callback() -> None:
        event = st.session_state.get(st.session_state.get(base + "_key", base))
        handle((event or {}).get("selection", {}).get("points", []))
        st.session_state[base + "_n"] = st.session_state.get(base + "_n", 0) + 1
    return callback


def page_path(name: str) -> str:
    """The script of page ``name`` as ``st.switch_page`` wants it (``page_scripts/NAME.py``)."""
    return str(Path(__file__).resolve().parent / "page_scripts" / f"{name}.py")


def hand_over_face(face: np.ndarray, label: str) -> None:
    """Open *Explain a face* on ``face``, an aligned dataset face (uint8 (S, S) array); the
    face travels as PNG bytes in this session only."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="PNG")
    st.session_state[HANDED_FACE] = (buf.getvalue(), label)
    st.session_state.pop(HANDED_FACE + "_pick", None)
    st.switch_page(page_path("explain"))


def analyses_or_stop() -> tuple[str, dict, str | None]:
    """The chosen checkpoint and the analyses to draw, and the label of the person's own
    dataset when one is chosen in the sidebar (None: the checkpoint's own test faces, from
    ``checkpoints/NAME.analysis.json``).  Stops the page with a next step when there is no
    checkpoint or no analysis yet; warns when a precomputed analysis is stale."""
    from dashboard import resources, userdata_view

    ckpt_name = checkpoint_or_stop()
    job = userdata_view.current_job(ckpt_name)
    if job is not None:
        return ckpt_name, userdata_view.analyses_or_wait(job), job.label
    analyses, problem = resources.analysis(ckpt_name)
    if analyses is None:
        st.info(problem)
        st.stop()
    if resources.analysis_is_stale(ckpt_name, analyses):
        st.warning(f"These analyses were computed for earlier weights of **{ckpt_name}**. Run "
                   f"`deep-emotion analyze --checkpoint {ckpt_name}` again to match the checkpoint.")
    return ckpt_name, analyses, None
