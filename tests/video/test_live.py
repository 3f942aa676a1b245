"""LiveAnnotator: every face boxed and labelled, the STN attention inside its crop, the rate."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.live import TRACK_COLOURS, LiveAnnotator, paste_map
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.faces import Face
from deep_emotion.video.synthetic import render_frame, scene
from tests.faces.corners import crop_corners


def _colour_pixels(frame: np.ndarray, colour) -> int:
    return int((np.abs(frame.astype(int) - colour).max(-1) == 0).sum())


def test_each_face_is_boxed_labelled_and_the_rate_is_counted(random_checkpoint):
    ckpt = load_checkpoint(random_checkpoint)
    annotator = LiveAnnotator(ckpt)
    frames = [render_frame((480, 320), p) for p in list(scene("crossing", (480, 320), 30))[:6]]
    for i, rgb in enumerate(frames):
        out = annotator.annotate(rgb, i / 10)
    assert out.shape == frames[-1].shape and not np.array_equal(out, frames[-1])
    assert [t for t, _, _ in annotator.faces] == [1, 2]
    assert {label for _, label, _ in annotator.faces} <= set(ckpt.classes)
    assert all(0 < p <= 1 for _, _, p in annotator.faces)
    for colour in TRACK_COLOURS[:2]:  # face 1's and face 2's boxes and label tabs
        assert _colour_pixels(out, colour) > 100
    assert "face 1: " in annotator.summary()


def test_the_rate_is_frames_per_second_over_the_last_30_frames(random_checkpoint, monkeypatch):
    """Frames annotated 0.1 s apart, then 0.05 s apart: 10 frames/s, then 20 once the last
    30 frames are all fast ones."""
    import dashboard.live as live

    clock = {"now": 0.0}
    monkeypatch.setattr(live.time, "perf_counter", lambda: clock["now"])
    annotator = LiveAnnotator(load_checkpoint(random_checkpoint))
    blank = np.zeros((120, 160, 3), np.uint8)  # no face: only the rate is drawn
    assert annotator.fps == 0.0
    for i in range(6):
        clock["now"] = i * 0.1
        annotator.annotate(blank, clock["now"])
    assert annotator.fps == pytest.approx(10.0)
    assert annotator.summary() == "10.0 frames/s · no face in view"
    for i in range(1, 31):
        clock["now"] = 0.5 + i * 0.05
        annotator.annotate(blank, clock["now"])
    assert annotator.fps == pytest.approx(20.0)


def test_the_gradient_switch_adds_an_inset_per_face(random_checkpoint):
    ckpt = load_checkpoint(random_checkpoint)
    rgb = render_frame((480, 320), next(scene("one", (480, 320), 1)))
    plain, with_map = LiveAnnotator(ckpt), LiveAnnotator(ckpt)
    with_map.gradient = True
    a, b = plain.annotate(rgb, 0.0), with_map.annotate(rgb, 0.0)
    x, y, w, h = plain.tracker.tracks[0].face.box
    inset = (slice(y, y + 40), slice(x + w + 10, x + w + 50))  # right of the box
    assert np.array_equal(a[inset], rgb[inset]) and not np.array_equal(b[inset], rgb[inset])


def test_a_map_is_pasted_only_where_the_crop_came_from():
    frame = np.zeros((200, 300, 3), np.uint8)
    face = Face(box=(100, 50, 80, 100), score=1.0, landmarks={
        "left_eye": (120.0, 80.0), "right_eye": (160.0, 80.0), "nose": (140.0, 100.0),
        "mouth_left": (125.0, 125.0), "mouth_right": (155.0, 125.0)})
    heat = np.zeros((48, 48), np.float32)
    heat[20:28, 20:28] = 1.0
    paste_map(frame, face, heat)
    changed = np.argwhere(frame.any(-1))
    corners = crop_corners(face, 48)
    assert len(changed)
    assert (changed[:, 1] >= corners[:, 0].min() - 1).all() and \
        (changed[:, 1] <= corners[:, 0].max() + 1).all()
    # The hot square sits at the crop's centre, so the change does too.
    centre = changed.mean(0)[::-1]  # (x, y)
    assert np.linalg.norm(centre - corners.mean(0)) < 10
