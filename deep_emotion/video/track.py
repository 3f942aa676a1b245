"""Following faces across frames: detection every k frames, optical flow in between.

A face detection costs ~40 ms on a 640x480 frame here; following a face already found costs
~1 ms: corners inside its box are tracked with pyramidal Lucas-Kanade (Bouguet 2001), kept only
when tracking them back lands where they started (Kalal et al. 2010, forward-backward error),
and a similarity transform fitted to them with RANSAC moves the box and the five landmarks, so
the face can still be aligned exactly as a detected one.  Every ``detect_every`` frames, or
after ``detect_gap`` seconds of clip time if that comes first (sparse sampling: flow cannot
bridge half a second, and a face entering must not wait for ten frames read seconds apart),
and whenever the flow loses a face or two faces overlap, the detector runs again and its faces are matched to the
tracks by box overlap (IoU), greedily from the best overlap down, as SORT does (Bewley et al.
2016) without its Kalman filter: a face that is out of sight keeps moving at its last speed
for up to ``max_lost`` seconds, so it gets its old identity back when it is found again.

``bench/video.py`` measures what tracking costs in agreement with detecting every frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from deep_emotion.faces import Face, detect_faces

__all__ = ["Track", "FaceTracker", "box_iou", "DETECT_EVERY", "DETECT_GAP", "MIN_IOU",
           "MAX_LOST_SECONDS"]

# Frames between detections.  bench/video.py: at 10 (against detection on every frame) the
# predicted emotion agreed on every face of its three clips and 640x480 ran 5x faster.
DETECT_EVERY = 10
DETECT_GAP = 0.34        # ... or seconds of clip time, whichever comes first (1/3 s at 30 fps)
MIN_IOU = 0.3            # a detection continues a track when their boxes overlap at least this
MAX_LOST_SECONDS = 1.0   # a face out of sight this long gets a new identity when it returns
_SEED_SPAN = 0.5         # seconds of a resumed track's history its speed is measured over
_MIN_POINTS = 6          # tracked corners needed to trust a similarity fit
_MAX_FB_ERROR = 1.0      # pixels: forward-backward disagreement above which a corner is dropped
_LK = dict(winSize=(21, 21), maxLevel=3,  # 4 levels: a face may move ~30 px a frame
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
        """Where the last detection would be at ``time`` had the face kept its speed."""
        if self.anchor is None:
            return self.face.box
        start, (x, y, w, h) = self.anchor
        dx, dy = self.velocity * max(0.0, time - start)
        return (round(x + dx), round(y + dy), w, h)

    def overlap(self, box: Box, time: float) -> float:
        """How well a detected box continues this track: the better IoU of the box where flow
        has it (if visible) and the box its speed predicts (flow can drift onto a face that
        passes in front)."""
        predicted = box_iou(self.predicted_box(time), box)
        return max(predicted, box_iou(self.face.box, box)) if self.visible else predicted

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
        detect_gap: ... or once this many seconds of clip time have passed since the last run.
        min_iou: box overlap that lets a detection continue a track.
        max_lost: seconds a track out of sight is kept for matching.
        detector: rgb (H, W, 3) -> faces; ``deep_emotion.faces.detect_faces`` by default.
    """

    def __init__(self, *, detect_every: int = DETECT_EVERY, detect_gap: float = DETECT_GAP,
                 min_iou: float = MIN_IOU,
                 max_lost: float = MAX_LOST_SECONDS,
                 detector: Callable[[np.ndarray], list[Face]] = detect_faces):
        if detect_every < 1:
            raise ValueError(f"detect_every must be 1 or more, got {detect_every}")
        self.detect_every, self.detect_gap = detect_every, detect_gap
        self.min_iou, self.max_lost = min_iou, max_lost
        self.detector = detector
        self.tracks: list[Track] = []
        self.next_id = 1
        self.detections = 0  # detector runs so far (for benchmarks)
        self._since = 0                            # frames fed since the last detection
        self._detected_at: float | None = None     # clip time of the last detection
        self._prev_gray: np.ndarray | None = None

    def seed(self, history: Mapping[int, Sequence[tuple[float, Box]]]) -> None:
        """Restart from known faces (resuming a clip): ``history`` gives each track id its
        measured (time, box) pairs in time order.  Each becomes an out-of-sight track at its
        last box, moving at the speed of its last ``_SEED_SPAN`` seconds, for the next
        detection to pick up; new ids start above them."""
        for track_id, seen in history.items():
            time, box = seen[-1]
            face = Face(box=tuple(int(v) for v in box), landmarks={}, score=0.0)
            track = Track(track_id, face, time, visible=False, anchor=(time, face.box))
            start, first = next((t, b) for t, b in seen if t >= time - _SEED_SPAN)
            if start < time:
                track.velocity = (_centre(face.box) - _centre(first)) / (time - start)
            self.tracks.append(track)
        self.next_id = max([self.next_id, *(i + 1 for i in history)])
        self._detected_at = None  # the next frame is detected

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
        if lost_by_flow or self._due(time) or self._crowded():
            self._match(self.detector(rgb), time)
            self._since, self._detected_at = 0, time
        self._since += 1
        self._prev_gray = gray
        self.tracks = [t for t in self.tracks if t.visible or time - t.time <= self.max_lost]
        return sorted((t for t in self.tracks if t.visible), key=lambda t: t.id)

    def _due(self, time: float) -> bool:
        return (self._detected_at is None or self._since >= self.detect_every
                or time - self._detected_at >= self.detect_gap - 1e-6)  # float timestamps

    def _crowded(self) -> bool:
        """Two visible faces overlap: flow cannot tell them apart, the detector must."""
        boxes = [t.face.box for t in self.tracks if t.visible]
        return any(box_iou(a, b) > 0 for i, a in enumerate(boxes) for b in boxes[i + 1:])

    def _match(self, faces: list[Face], time: float) -> None:
        """Greedy IoU matching of detections to every kept track (visible or predicted)."""
        pairs = sorted(((t.overlap(f.box, time), ti, fi)
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
