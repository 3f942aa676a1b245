"""What the Confusion, Regions and Trust pages draw for your own labelled faces.

``source_box()`` draws the sidebar's "Your data" box (a server folder or list, or a zip
upload; the frame draws it on every page) and ``source()`` returns the chosen one; ``confusion(ckpt)`` and ``analyses_or_wait(job)`` draw a running
job's progress (in a fragment that refreshes itself, so the rest of the page stays usable)
or its result.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from dashboard import userdata, zipfaces

__all__ = ["source_box", "source", "current_job", "confusion", "analyses_or_wait"]

SHIPPED = "shipped datasets"


def source_box() -> None:
    """The sidebar's "Your data" box.  The frame draws it on every page, so a folder typed or
    a zip uploaded here stays chosen from page to page until the person changes it."""
    box = st.sidebar.expander("Your data", expanded=bool(st.session_state.get("user_zip")))
    box.caption("Your own labelled faces, for the Confusion matrices, Face regions and Trust "
                "pages.")
    typed = box.text_input("Folder or list on the server", key="user_data_path",
                           placeholder="folder:/data/faces or csv:/data/labels.csv",
                           on_change=_typed,  # Enter selects what was typed
                           help=f"Also read from ${userdata.USER_DATA_ENV} (several joined by "
                                "':'). One subfolder per emotion, or a CSV with path and label.")
    # No type filter and Streamlit's cap above the zip reader's: the reader judges the content
    # and says why on the page (Streamlit would refuse silently).
    upload = box.file_uploader("or a zip of labelled faces", key="user_zip",
                               max_upload_size=zipfaces.ZipLimits().max_upload // 2**20 + 16,
                               help="happy/001.png, sad/002.jpg, ...: one folder per emotion, "
                                    f"up to {zipfaces.ZipLimits().max_upload // 2**20} MB. "
                                    "Opened in memory only.")
    box.checkbox("The images are face crops (no detection)", key="user_aligned")
    options = [SHIPPED] + userdata.server_sources(typed) + ([upload.name] if upload else [])
    if upload and st.session_state.get("_user_zip_seen") != upload.file_id:
        st.session_state["_user_zip_seen"] = upload.file_id
        st.session_state["user_source"] = upload.name  # a new upload is shown at once
    if st.session_state.get("user_source") not in options:
        st.session_state["user_source"] = SHIPPED
    box.selectbox("Show", options, key="user_source")


def _typed() -> None:
    typed = st.session_state.get("user_data_path", "")
    if typed.strip():
        st.session_state["user_source"] = userdata.as_spec(typed)


def source() -> tuple[str, object] | None:
    """The chosen source in the "Your data" box: ("spec", spec) or ("zip", UploadedFile), or
    None for the shipped datasets."""
    chosen = st.session_state.get("user_source", SHIPPED)
    if chosen == SHIPPED:
        return None
    upload = st.session_state.get("user_zip")
    return ("zip", upload) if upload and chosen == upload.name else ("spec", chosen)


def current_job(ckpt_name: str) -> userdata.Job | None:
    """The job of the checkpoint on the chosen source (None: shipped datasets); a refused
    zip or bad path stops the page with the reason."""
    chosen = source()
    if chosen is None:
        return None
    aligned = bool(st.session_state.get("user_aligned"))
    from dashboard.zipfaces import ZipRefused
    from deep_emotion.data import DatasetError

    try:
        if chosen[0] == "zip":
            return userdata.job_for_zip(ckpt_name, chosen[1].name, chosen[1].getvalue(), aligned)
        return userdata.job_for_spec(ckpt_name, chosen[1], aligned)
    except (ZipRefused, DatasetError) as e:
        st.error(f"Your data was not opened: {e}")
        st.stop()


@st.fragment(run_every=1.0)
def _progress(job: userdata.Job, ready) -> None:
    """Refreshes itself each second; reruns the page once ``ready(job)`` holds."""
    if ready(job) or job.finished:
        st.rerun()
    st.progress(job.fraction, text=f"{job.label}: {job.stage}"
                + (f" ({job.done} of {job.total})" if job.total else "")
                + f", {time.time() - job.started:.0f} s so far")


def _wait_for(job: userdata.Job, ready) -> None:
    if job.error:
        st.error(f"{job.label}: {job.error}")
        st.stop()
    if not ready(job):
        st.caption("This runs in the background: other pages stay usable, and the result is "
                   "kept for the next visit.")
        _progress(job, ready)
        st.stop()


def _manifest_caption(data) -> None:
    m = data.meta.get("manifest", {})
    if m:
        st.caption(f"{m['faces_used']} faces from {m['files']} image files; left out: "
                   f"{m['unreadable']} unreadable, {m['no_face']} without a face, "
                   f"{m['skipped']} other files; {m['several_faces']} showed several faces "
                   "(the largest was used).")
        if m.get("left_out"):
            with st.expander("Files left out or flagged"):
                st.dataframe(m["left_out"], hide_index=True)


def confusion(ckpt_name: str) -> bool:
    """Draw your data's confusion matrix and return True, or return False (shipped data)."""
    from dashboard import figures, tables

    job = current_job(ckpt_name)
    if job is None:
        return False
    st.subheader(f"Your data: {job.label}")
    _wait_for(job, lambda j: j.evaluation is not None)
    cross, data = job.evaluation, job.data
    classes, matrix = cross["classes"], np.asarray(cross["confusion"])
    left = [c for c in data.classes if c not in classes]
    st.metric("Accuracy on the shared classes", f"{cross['accuracy']:.1%}")
    st.caption(f"{ckpt_name} on {len(cross['rows'])} faces over {', '.join(classes)}"
               + (f"; left out (the network lacks them): {', '.join(left)}" if left else ""))
    _manifest_caption(data)
    st.plotly_chart(figures.confusion_matrix(matrix, classes, normalise=False,
                                             title=f"{ckpt_name} on {job.label}"),
                    key="user_cm_fig", config=figures.PLOTLY_CONFIG)
    per_class = tables.per_class_from_confusion(matrix, classes)
    st.dataframe(tables.per_class_table(per_class))
    return True


def analyses_or_wait(job: userdata.Job) -> dict:
    """The analyses of your data (``widgets.analyses_or_stop`` asks for them), under a
    heading; while they are computed, a progress bar, and the page stops there."""
    st.subheader(f"Your data: {job.label}")
    _wait_for(job, lambda j: j.analyses is not None)
    return job.analyses
