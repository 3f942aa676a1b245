"""The dashboard frame: page config, the shared sidebar, and navigation over ``page_scripts/*.py``.

Run from the repository root: ``streamlit run dashboard/app.py``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import userdata_view, widgets

PAGES = Path(__file__).resolve().parent / "page_scripts"


@st.cache_resource(show_spinner=False)
def _warm_up(checkpoint: str | None):
    """Once per process and checkpoint, in a background thread: import the model stack, load
    the detector and the checkpoint and run one explanation (see ``resources.warm_up``)."""
    import logging
    import threading
    import time

    class _NotWarmUp(logging.Filter):  # cached loaders warn when called outside a script run
        def filter(self, record: logging.LogRecord) -> bool:
            return record.threadName != "dashboard-warm-up"

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NotWarmUp())

    def work() -> None:
        # Let the first page reach the browser before torch's import competes for the CPU.
        time.sleep(1.5)
        from dashboard import resources

        resources.warm_up(checkpoint)

    thread = threading.Thread(target=work, name="dashboard-warm-up", daemon=True)
    thread.start()
    return thread


def main() -> None:
    # An emoji icon: the browser draws it from an inline image.  A ":material/...:" page icon
    # would make every page fetch its favicon from an outside font host.
    st.set_page_config(page_title="Deep-Emotion Lab", page_icon="🙂", layout="wide")
    nav = st.navigation([
        st.Page(PAGES / "explain.py", title="Explain a face", icon=":material/face:", default=True),
        st.Page(PAGES / "video.py", title="Video", icon=":material/movie:"),
        st.Page(PAGES / "live.py", title="Live camera", icon=":material/videocam:"),
        st.Page(PAGES / "confusion.py", title="Confusion matrices", icon=":material/grid_on:"),
        st.Page(PAGES / "regions.py", title="Face regions by emotion", icon=":material/map:"),
        st.Page(PAGES / "trust.py", title="Trust", icon=":material/verified:"),
        st.Page(PAGES / "model_card.py", title="Model card", icon=":material/description:"),
        st.Page(PAGES / "glossary.py", title="Glossary", icon=":material/menu_book:"),
    ])
    # Streamlit writes its own per-file cap under every uploader; ours sit above the limits that
    # apply (so a refusal is our sentence on the page), and each uploader states its real
    # limit in its own words: the cap's number would contradict it.
    st.html("<style>[data-testid='stFileUploaderDropzoneInstructions'] "
            "{display: none;}</style>")
    st.sidebar.title("Deep-Emotion Lab")
    _warm_up(widgets.checkpoint_picker())
    userdata_view.source_box()
    st.sidebar.caption("Uploaded photos stay in memory and are never written to disk.")
    nav.run()


main()
