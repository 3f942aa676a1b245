"""Live camera: the browser's camera comes back with each face boxed, labelled, and the STN's
attention drawn on every frame."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import widgets

__all__ = ["render"]


def render() -> None:
    st.title("Live camera")
    ckpt_name = widgets.checkpoint_or_stop()

    import av
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    from dashboard import live, resources

    st.caption("Press START and allow the camera. Frames go from this browser to this "
               "dashboard's own server and back (no outside server is asked for anything); none "
               "is stored. Each face gets a box, the predicted emotion with its confidence, the "
               "spatial transformer's sampling density as a heat map and the region it samples "
               "as a white outline.")
    gradient = st.toggle(f"Add a gradient map ({live.GRADIENT_METHOD}, refreshed every "
                         f"{live.GRADIENT_EVERY} frames)", key="live_gradient",
                         help="Shown as an inset beside each face: the pixels whose change would "
                              "most change the predicted emotion. It costs a backward pass, so "
                              "it is refreshed at a lower rate than the attention.")
    resources.configure_torch()
    annotator = st.session_state.get("live_annotator")
    if annotator is None or annotator.checkpoint is not resources.checkpoint(ckpt_name):
        annotator = live.LiveAnnotator(resources.checkpoint(ckpt_name),
                                       lock=resources.model_lock(ckpt_name))
        st.session_state["live_annotator"] = annotator
    annotator.gradient = gradient

    def on_frame(frame: av.VideoFrame) -> av.VideoFrame:
        """Runs in the WebRTC worker thread, once per camera frame."""
        out = annotator.annotate(frame.to_ndarray(format="rgb24"))
        return av.VideoFrame.from_ndarray(out, format="rgb24")

    ctx = webrtc_streamer(key="live", mode=WebRtcMode.SENDRECV,
                          rtc_configuration={"iceServers": []},  # loopback: no STUN/TURN host
                          media_stream_constraints={"video": {"width": 640, "height": 480},
                                                    "audio": False},
                          video_frame_callback=on_frame, async_processing=True)
    status = st.empty()
    while ctx.state.playing:
        status.markdown(f"**{annotator.summary()}**")
        time.sleep(0.5)
    status.caption("The camera is off.")
