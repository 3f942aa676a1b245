"""Following faces across frames: detection every k frames, optical flow in between.

A face detection costs ~40 ms on a 640x480 frame here; following a face already found costs
~1 ms: corners inside its box are tracked with pyramidal Lucas-Kanade (Bouguet 2001), kept only
when tracking them back lands where they started (Kalal et al. 2010, forward-backward error),
and a similarity transform fitted to them with RANSAC moves the box and the five landmarks, so
the face can still be aligned exactly as a detected one.  Every ``detect_every`` frames (and
whenever the flow loses a face) the detector runs again and its faces are matched to the
tracks by box overlap (IoU), greedily from the best overlap down, as SORT does (Bewley et al.
2016) without its Kalman filter: a face that is out of sight keeps moving at its last speed
for up to ``max_lost`` seconds, so it gets its old identity back when it is found again.

``bench/video.py`` measures what tracking costs in agreement with detecting every frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from deep_emotion.faces import Face, detect_faces

__all__ = ["Track", "FaceTracker", "box_iou", "DETECT_EVERY", "MIN_IOU", "MAX_LOST_SECONDS"]

DETECT_EVERY = 5         # frames between detections (bench/video.py: agreement held at 5)
MIN_IOU = 0.3            # a detection continues a track when their boxes overlap at least this
MAX_LOST_SECONDS = 1.0   # a face out of sight this long gets a new identity when it returns
_MIN_POINTS = 6          # tracked corners needed to trust a similarity fit
_MAX_FB_ERROR = 1.0      # pixels: forward-backward disagreement above which a corner is dropped
_LK = dict(winSize=(15, 15), maxLevel=2,
           criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))

Box = tuple[int, int, int, int]


@dataclass
class Track:
    """One face followed through the clip.

    id:       1, 2, ... in order of first appearance; never reused within a clip.
    face:     where it is now (or was last seen), landmarks included.
    time:     seconds: when ``face`` was last measured (by detection or flow).
    visible:  found in the current frame.
    anchor:   (time, box) of its last detection: out of sight, the face is predicted from
              there, because flow near an occluding face can drift onto it.
    velocity: (vx, vy) box-centre speed in pixels per second, from detection to detection.
    """

    id: int
    face: Face
    time: float
    visible: bool = True
    anchor: tuple[float, Box] | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def predicted_box(self, time: float) -> Box:
        """Where the box should be at ``time``: where it is if visible, else its last
        detection moved on at its speed."""
        if self.visible or self.anchor is None:
            return self.face.box
        start, (x, y, w, h) = self.anchor
        dx, dy = self.velocity * max(0.0, time - start)
        return (round(x + dx), round(y + dy), w, h)

    def detected(self, face: Face, time: float) -> None:
        """A detection continues this track: update the speed from the previous one."""
        if self.anchor is not None and time > self.anchor[0]:
            speed = (_centre(face.box) - _centre(self.anchor[1])) / (time - self.anchor[0])
            fresh = not self.velocity.any()
            self.velocity = speed if fresh else 0.5 * self.velocity + 0.5 * speed
        self.anchor = (time, face.box)
        self.face, self.time, self.visible = face, time, True


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes, in [0, 1]."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _centre(box: Box) -> np.ndarray:
    return np.array([box[0] + box[2] / 2, box[1] + box[3] / 2], dtype=np.float64)


def flow_face(prev_gray: np.ndarray, gray: np.ndarray, face: Face) -> Face | None:
    """Move ``face`` from one grayscale frame (H, W) to the next by optical flow.

    Returns:
        The face with box and landmarks moved by the fitted similarity transform, or None when
        too few corners survive the forward-backward check (occlusion, a cut, a blur).
    """
    x, y, w, h = face.box
    roi = prev_gray[y:y + h, x:x + w]
    corners = cv2.goodFeaturesToTrack(roi, maxCorners=40, qualityLevel=0.01, minDistance=4) \
        if roi.size else None
    if corners is None or len(corners) < _MIN_POINTS:
        return None
    start = (corners.reshape(-1, 2) + (x, y)).astype(np.float32)[:, None]  # (n, 1, 2)
    moved, ok, _ = cv2.calcOpticalFlowPyrLK(prev_gray, gray, start, None, **_LK)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(gray, prev_gray, moved, None, **_LK)
    good = (ok[:, 0] == 1) & (ok_back[:, 0] == 1) & \
        (np.linalg.norm((back - start)[:, 0], axis=1) < _MAX_FB_ERROR)
    if good.sum() < _MIN_POINTS:
        return None
    m, _ = cv2.estimateAffinePartial2D(start[good], moved[good], method=cv2.RANSAC,
                                       ransacReprojThreshold=2.0)
    if m is None:
        return None
    corners_box = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)
    moved_box = corners_box @ m[:, :2].T + m[:, 2]
    (x0, y0), (x1, y1) = moved_box.min(0), moved_box.max(0)
    H, W = gray.shape
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(W), x1), min(float(H), y1)
    if x1 - x0 < 0.5 * w or y1 - y0 < 0.5 * h:  # mostly out of the frame
        return None
    marks = {k: tuple(float(v) for v in np.array(p) @ m[:, :2].T + m[:, 2])
             for k, p in face.landmarks.items()}
    return Face(box=(round(x0), round(y0), round(x1 - x0), round(y1 - y0)), landmarks=marks,
                score=face.score)


class FaceTracker:
    """Faces of one clip with identities, fed one frame at a time in clip order.

    Args:
        detect_every: run the detector on every k-th frame fed (1: every frame, no flow).
        min_iou: box overlap that lets a detection continue a track.
        max_lost: seconds a track out of sight is kept for matching.
        detector: rgb (H, W, 3) -> faces; ``deep_emotion.faces.detect_faces`` by default.
    """

    def __init__(self, *, detect_every: int = DETECT_EVERY, min_iou: float = MIN_IOU,
                 max_lost: float = MAX_LOST_SECONDS,
                 detector: Callable[[np.ndarray], list[Face]] = detect_faces):
        if detect_every < 1:
            raise ValueError(f"detect_every must be 1 or more, got {detect_every}")
        self.detect_every, self.min_iou, self.max_lost = detect_every, min_iou, max_lost
        self.detector = detector
        self.tracks: list[Track] = []
        self.next_id = 1
        self.detections = 0  # detector runs so far (for benchmarks)
        self._fed = 0
        self._prev_gray: np.ndarray | None = None

    def seed(self, boxes: Mapping[int, Box], time: float) -> None:
        """Restart from known faces (resuming a clip): out-of-sight tracks at ``boxes``
        ({track id: box}) that the next detection can pick up; new ids start above them."""
        for track_id, box in boxes.items():
            face = Face(box=tuple(int(v) for v in box), landmarks={}, score=0.0)
            self.tracks.append(Track(track_id, face, time, visible=False, anchor=(time, face.box)))
        self.next_id = max([self.next_id, *(i + 1 for i in boxes)])
        self._fed = 0

    def update(self, rgb: np.ndarray, time: float) -> list[Track]:
        """Feed the next frame (uint8 (H, W, 3) RGB at ``time`` seconds); returns the tracks
        visible in it, by id."""
        gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        lost_by_flow = False
        if self._prev_gray is not None and self._prev_gray.shape == gray.shape:
            for track in (t for t in self.tracks if t.visible):
                moved = flow_face(self._prev_gray, gray, track.face)
                if moved is None:
                    lost_by_flow = True  # the detector decides, matching the last box
                else:
                    track.face, track.time = moved, time
        if self._fed % self.detect_every == 0 or lost_by_flow or self._prev_gray is None:
            self._match(self.detector(rgb), time)
        self._fed += 1
        self._prev_gray = gray
        self.tracks = [t for t in self.tracks if t.visible or time - t.time <= self.max_lost]
        return sorted((t for t in self.tracks if t.visible), key=lambda t: t.id)

    def _match(self, faces: list[Face], time: float) -> None:
        """Greedy IoU matching of detections to every kept track (visible or predicted)."""
        pairs = sorted(((box_iou(t.predicted_box(time), f.box), ti, fi)
                        for ti, t in enumerate(self.tracks) for fi, f in enumerate(faces)),
                       reverse=True)
        used_tracks, used_faces = set(), set()
        for iou, ti, fi in pairs:
            if iou < self.min_iou:
                break
            if ti in used_tracks or fi in used_faces:
                continue
            used_tracks.add(ti)
            used_faces.add(fi)
            self.tracks[ti].detected(faces[fi], time)
        for ti, track in enumerate(self.tracks):
            if ti not in used_tracks:
                track.visible = False
        for fi, face in enumerate(faces):
            if fi not in used_faces:
                self.tracks.append(Track(self.next_id, face, time, anchor=(time, face.box)))
                self.next_id += 1
        self.detections += 1
