"""FaceTracker: identities through a crossing, flow between detections, IoU matching."""

from __future__ import annotations

import numpy as np
import pytest

from deep_emotion.faces import Face
from deep_emotion.video import FaceTracker, VideoReader, box_iou


def _track_paths(path, detect_every):
    """{track id: [(frame index, box x), ...]} and the number of detector runs."""
    tracker = FaceTracker(detect_every=detect_every)
    paths: dict[int, list[tuple[int, int]]] = {}
    with VideoReader(path) as video:
        for frame in video.frames():
            for track in tracker.update(frame.rgb, frame.time):
                paths.setdefault(track.id, []).append((frame.index, track.face.box[0]))
    return paths, tracker.detections


@pytest.mark.parametrize("detect_every", [1, 5])
def test_two_faces_keep_their_identities_as_they_cross(clips, detect_every):
    paths, detections = _track_paths(clips["crossing"], detect_every)
    assert sorted(paths) == [1, 2], "no identity lost or made up during the crossing"
    # Each track must move steadily one way across the whole clip (the faces travel ~9 px a
    # frame), never jump to the other face's side; the face behind is out of sight for a few
    # frames while the other passes in front.
    for seen in paths.values():
        frames, xs = np.array(seen).T
        speed = np.diff(xs) / np.diff(frames)  # pixels per frame
        assert abs(xs[-1] - xs[0]) > 150
        assert (np.sign(speed) == np.sign(xs[-1] - xs[0])).mean() > 0.8
        assert np.abs(speed).max() < 20
    # Flow carries the frames between; the detector also runs every DETECT_GAP s (4 frames at
    # 10 frames/s) and while the two faces overlap.
    assert detections < 30 if detect_every == 5 else detections == 30


def test_flow_moves_the_box_and_landmarks_with_the_face(clips):
    tracker = FaceTracker(detect_every=1000, detect_gap=1e9)  # detect on the first frame only
    with VideoReader(clips["one"]) as video:
        frames = list(video.frames())
    seen = [tracker.update(f.rgb, f.time) for f in frames]
    assert tracker.detections == 1 and all(len(s) == 1 for s in seen)
    first = FaceTracker(detect_every=1).update(frames[-1].rgb, frames[-1].time)[0].face
    flowed = seen[-1][0].face
    assert box_iou(first.box, flowed.box) > 0.7
    for name, (x, y) in first.landmarks.items():
        assert np.hypot(x - flowed.landmarks[name][0], y - flowed.landmarks[name][1]) < 4, name


def _face(x, y, w=50, h=60):
    return Face(box=(x, y, w, h), landmarks={}, score=0.99)


def test_detections_continue_the_track_they_overlap_most_and_new_faces_get_new_ids():
    found = iter([[_face(10, 10), _face(200, 10)], [_face(205, 12), _face(14, 11)],
                  [_face(18, 12), _face(210, 14), _face(400, 50)]])
    tracker = FaceTracker(detect_every=1, detector=lambda rgb: next(found))
    blank = np.zeros((300, 500, 3), np.uint8)
    ids = [[(t.id, t.face.box[0]) for t in tracker.update(blank, i / 10)] for i in range(3)]
    assert ids == [[(1, 10), (2, 200)], [(1, 14), (2, 205)], [(1, 18), (2, 210), (3, 400)]]


@pytest.mark.parametrize("x, iou, same_track", [(20, 0.429, True), (26, 0.316, True),
                                                 (27, 0.299, False), (40, 0.111, False)])
def test_a_detection_continues_a_track_only_from_the_minimum_overlap_up(x, iou, same_track):
    """A detection overlapping the track's box by less than MIN_IOU (0.3), though more than
    nothing, is another face: it starts a new track and the old one goes out of sight."""
    found = iter([[_face(0, 0)], [_face(x, 0)]])
    tracker = FaceTracker(detect_every=1, detector=lambda rgb: next(found))
    blank = np.zeros((300, 500, 3), np.uint8)
    tracker.update(blank, 0.0)
    assert box_iou((0, 0, 50, 60), (x, 0, 50, 60)) == pytest.approx(iou, abs=0.001)
    assert [t.id for t in tracker.update(blank, 0.1)] == ([1] if same_track else [2])


def test_a_face_out_of_sight_is_predicted_at_its_speed_and_gets_its_id_back():
    found = iter([[_face(0, 0)], [_face(20, 0)], [], [], [_face(80, 0)], [_face(400, 0)]])
    tracker = FaceTracker(detect_every=1, max_lost=1.0, detector=lambda rgb: next(found))
    blank = np.zeros((300, 500, 3), np.uint8)
    ids = [[t.id for t in tracker.update(blank, i * 0.1)] for i in range(6)]
    assert ids == [[1], [1], [], [], [1], [2]]  # 200 px/s: (80, 0) is where it was due


def test_resumed_tracks_pick_up_their_ids_and_new_ids_start_above():
    found = iter([[_face(140, 50), _face(300, 40)]])
    tracker = FaceTracker(detector=lambda rgb: next(found))
    # Track 4 moved 100 px/s to the right until 1.0 s; at 1.4 s it is due at x = 140.
    tracker.seed({2: [(0.2, (0, 0, 50, 60))],
                  4: [(0.5, (50, 50, 50, 60)), (0.8, (80, 50, 50, 60)), (1.0, (100, 50, 50, 60))]})
    visible = tracker.update(np.zeros((300, 500, 3), np.uint8), 1.4)
    assert [t.id for t in visible] == [4, 5]
    assert [t.id for t in tracker.tracks] == [4, 5], "track 2, lost over a second ago, is gone"


def _count_detections(**kwargs) -> list[int]:
    tracker = FaceTracker(detector=lambda rgb: [], **kwargs)
    blank = np.zeros((48, 64, 3), np.uint8)
    runs = []
    for i in range(12):
        tracker.update(blank, i * 0.1)
        runs.append(tracker.detections)
    return runs


def test_the_detector_runs_every_k_frames_or_after_the_time_gap_whichever_comes_first():
    assert _count_detections(detect_every=5, detect_gap=10.0) == \
        [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3]
    assert _count_detections(detect_every=5, detect_gap=0.3) == \
        [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]


def test_box_iou_is_the_overlap_over_the_union():
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
