"""Emotions over a video: upload a clip, follow each face's probabilities over time, open any
moment with the STN attention and occlusion map of the Explain page."""

from __future__ import annotations

import hashlib

import streamlit as st

from dashboard import widgets

__all__ = ["render"]


def render() -> None:
    st.title("Emotions over a video")
    ckpt_name = widgets.checkpoint_or_stop()
    from dashboard import video  # the model stack (torch) loads here

    limits = video.PAGE_LIMITS
    st.caption(f"Upload a clip (MP4, MOV, WebM or AVI; at most {limits.describe()}). It stays "
               "in memory and is never written to disk. Every face is followed through the clip.")
    # No ``type=`` filter and Streamlit's own cap above ours: Streamlit refuses silently (a
    # tooltip), while the clip reader judges the content and says why on the page.
    upload = st.file_uploader("Video clip", key="video_upload",
                              max_upload_size=limits.max_bytes // 2**20 + 16)
    rate = st.radio("Frames to read", list(video.SAMPLE_RATES), index=1, horizontal=True,
                    help="Fewer frames read sooner; the timeline is sampled by clip time, so a "
                         "variable frame rate is read evenly.")
    if upload is None:
        st.info("Choose a clip above to begin. `deep-emotion predict clip.mp4 --out timeline.csv` "
                "does the same from the command line.")
        st.stop()
    timeline = _timeline(ckpt_name, upload, rate)
    info = timeline.info
    st.caption(f"{upload.name} · {info.width}×{info.height} {info.container} ({info.codec}) · "
               f"{len(timeline.moments)} frames read ({timeline.sampling}) · "
               f"{len(timeline.tracks)} face{'s' if len(timeline.tracks) != 1 else ''} followed")
    st.download_button("Timeline (CSV)", lambda: video.timeline_csv(timeline), "timeline.csv",
                       "text/csv", key="dl_timeline")
    if not timeline.tracks:
        st.warning("No face was found in the frames read. Faces should be frontal, well lit and "
                   "at least 32 pixels tall.")
        st.stop()
    _drawn_clip(ckpt_name, upload, timeline)
    track = st.selectbox("Face", timeline.tracks, format_func=lambda t: f"face {t}",
                         key="video_track")
    moment_time = _moment_picker(timeline, track)
    _moment(ckpt_name, timeline, track, moment_time)


def _timeline(ckpt_name: str, upload, rate: str):
    """The clip's timeline at ``rate``, read once per clip, rate and checkpoint: every rate read
    of the current clip is kept in this browser session, so going back to a rate already read
    is instant."""
    from dashboard import resources, video

    data = upload.getvalue()
    key = (hashlib.sha1(data).hexdigest(), rate, ckpt_name)
    st.session_state["video_key"] = key  # the clip, rate and network shown now
    kept = st.session_state.setdefault("video_timelines", {})
    if key not in kept:
        ckpt = resources.checkpoint(ckpt_name)
        bar = st.progress(0.0, text="Reading the clip…")

        def report(done: int, expected: int | None, speed: float) -> None:
            share = min(1.0, done / expected) if expected else 0.0
            left = f" · about {(expected - done) / speed:.0f} s left" if expected and speed else ""
            bar.progress(share, text=f"Frame {done}{f' of ~{expected}' if expected else ''} · "
                                     f"{speed:.1f} frames/s{left}")

        try:
            with resources.model_lock(ckpt_name):
                timeline = video.read_clip(data, upload.name, ckpt, fps=video.SAMPLE_RATES[rate],
                                           detect_every=video.DETECT_EVERY, progress=report)
        except video.VideoError as e:
            bar.empty()
            st.error(f"This clip cannot be used: {e}")
            st.stop()
        bar.empty()
        for old in [k for k in kept if k[0] != key[0] or k[2] != ckpt_name]:
            del kept[old]  # another clip or network: let it go
        kept[key] = timeline
    return kept[key]


def _moment_picker(timeline, track: int) -> float:
    """The slider over the face's moments and the chart over the whole clip; any click on the
    chart moves the slider to the nearest moment, the same moment again included."""
    from dashboard import figures, video, video_figures

    times, frames, probs = video.track_series(timeline, track)
    options = times.tolist()
    if st.session_state.get("video_time") not in set(options):
        st.session_state["video_time"] = float(times[0])
    moment_time = st.select_slider("Moment (s)", options=options, key="video_time",
                                   format_func=lambda t: f"{t:.2f}")

    def picked(points) -> None:
        nearest = video_figures.nearest_moment(options, points)
        if nearest is not None:
            st.session_state["video_time"] = nearest

    span = (timeline.moments[0].time, timeline.moments[-1].time)
    st.plotly_chart(video_figures.emotion_timeline(times, frames, probs, timeline.classes,
                                                   f"Face {track}: probabilities over time",
                                                   marker=moment_time, span=span),
                    key=widgets.chart_key("video_chart"),
                    on_select=widgets.on_click("video_chart", picked), selection_mode="points", config=figures.PLOTLY_CONFIG)
    absent = sum(1 for m in timeline.moments if not any(f.track == track for f in m.faces))
    if absent:
        st.caption(f"Face {track} is not in {absent} of the {len(timeline.moments)} frames read; "
                   "the chart spans the whole clip.")
    return moment_time


def _moment(ckpt_name: str, timeline, track: int, moment_time: float) -> None:
    """The frame at ``moment_time`` with its faces, and the chosen face's maps."""
    from dashboard import figures, reports, resources

    moment = next(m for m in timeline.moments if m.time == moment_time)
    face = next(f for f in moment.faces if f.track == track)
    left, right = st.columns([3, 2])
    with left:
        boxes = [[round(v * moment.scale) for v in f.face.box] for f in moment.faces]
        chosen = [f.track for f in moment.faces].index(track)
        st.plotly_chart(figures.photo_with_faces(moment.picture(), boxes, chosen),
                        key="video_frame", config=figures.PLOTLY_CONFIG)
        st.caption(f"Frame {moment.index} at {moment.time:.2f} s · boxes numbered in frame "
                   f"order; face {track} is drawn in green")
    result = resources.explanation(resources.checkpoint(ckpt_name), face.crop, ("stn", "occlusion"))
    with right:
        st.subheader(f"Face {track}: {result.classes[result.prediction]}")
        st.plotly_chart(figures.probability_bars(result.classes, result.probs), key="video_probs", config=figures.PLOTLY_CONFIG)
    stn = reports.stn_parts(result)
    st.plotly_chart(figures.stn_panels(face.crop, stn["warped"], stn["outline"], stn["heatmap"]),
                    key="stn_fig", config=figures.PLOTLY_CONFIG)
    occlusion = result.maps["occlusion"]
    settings = occlusion.meta["params"]
    st.plotly_chart(figures.map_overlay(face.crop, occlusion.map,
                                        f"Occlusion ({settings['window']}px window, stride "
                                        f"{settings['stride']}, black)", signed=True,
                                        colorbar_title="logit drop"), key="occlusion_fig", config=figures.PLOTLY_CONFIG)
    st.caption("As on the Explain page: the aligned face the network reads, the region its "
               "spatial transformer samples, and how much hiding each patch lowers the "
               "predicted class.")


def _drawn_clip(ckpt_name: str, upload, timeline) -> None:
    """The clip with every face's box, label and attention drawn (as ``deep-emotion predict
    CLIP --annotate``), made on request, in memory, and kept for this clip and rate."""
    from dashboard import resources, video
    from deep_emotion.video.annotate import draw_clip

    key = st.session_state.get("video_key")
    if st.button("Draw the faces on the clip", key="video_draw",
                 help="Every frame again, with each face's box, label and the spatial "
                      "transformer's attention; then a download."):
        with st.spinner("Drawing every frame…"), resources.model_lock(ckpt_name):
            data = draw_clip(upload.getvalue(), upload.name, timeline.moments,
                             resources.checkpoint(ckpt_name), limits=video.PAGE_LIMITS)
        st.session_state["video_drawn"] = (key, data)
    drawn = st.session_state.get("video_drawn")
    if drawn and drawn[0] == key:
        stem = upload.name.rsplit(".", 1)[0]
        st.download_button("Clip with the faces drawn (MP4)", drawn[1], f"{stem}_faces.mp4",
                           "video/mp4", key="dl_drawn")
