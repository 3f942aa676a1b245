"""detect_faces on real photos: one face, several faces (largest first), no face, and the
second opinion of the Haar cascades that keeps objects from passing for faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deep_emotion.faces import LANDMARKS, Face, detect_faces
from deep_emotion.faces.detect import haar_confirms

skimage_data = pytest.importorskip("skimage.data")


def inside(point, box) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_one_face_with_box_landmarks_and_score(astronaut):
    (face,) = detect_faces(astronaut)
    assert isinstance(face, Face)
    x, y, w, h = face.box
    assert 150 < x < 210 and 40 < y < 90 and 60 < w < 130  # her face, by eye: ~(180, 60, 88, 114)
    assert face.score > 0.99
    assert tuple(face.landmarks) == LANDMARKS
    assert all(inside(p, face.box) for p in face.landmarks.values())
    lx, ly = face.landmarks["left_eye"]
    rx, ry = face.landmarks["right_eye"]
    assert lx < rx and abs(ly - ry) < 10  # left_eye is on the image's left
    assert ly < face.landmarks["nose"][1] < face.landmarks["mouth_left"][1]


def test_several_faces_all_returned_largest_first(group):
    faces = detect_faces(group)
    assert len(faces) == 3
    areas = [f.area for f in faces]
    assert areas == sorted(areas, reverse=True)
    centres = [f.box[0] + f.box[2] / 2 for f in faces]
    assert centres[0] < 480 and 480 < centres[1] < 685 and centres[2] > 685


@pytest.mark.parametrize("name", ["coffee", "coins", "moon", "rocket", "chelsea", "page"])
def test_photos_without_a_face_give_an_empty_list(name):
    img = getattr(skimage_data, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, 2)
    assert detect_faces(img) == []


def test_grayscale_input_and_face_filling_a_tiny_image(astronaut):
    crop = astronaut[40:200, 150:300, 0]  # the face alone, 160x150 grayscale
    small = crop[::4, ::4].copy()  # 40x38 px: enlarged and padded before detection
    (face,) = detect_faces(small)
    assert inside((small.shape[1] / 2, small.shape[0] / 2), face.box)


def test_coordinates_of_a_huge_photo_are_in_its_own_pixels(astronaut):
    big = np.kron(astronaut, np.ones((6, 6, 1), np.uint8))  # 3072x3072: seen at 1280 px
    (small_face,) = detect_faces(astronaut)
    (big_face,) = detect_faces(big)
    for k in LANDMARKS:
        # pixel centres: 6x enlargement maps x to 6x + 2.5
        expected = np.array(small_face.landmarks[k]) * 6 + 2.5
        assert np.abs(np.array(big_face.landmarks[k]) - expected).max() < 10  # ~2% of the face


def test_to_dict_is_plain_json():
    import json

    face = Face(box=(1, 2, 3, 4), landmarks={k: (1.234, 5.678) for k in LANDMARKS}, score=0.98765)
    assert json.loads(json.dumps(face.to_dict())) == {
        "box": [1, 2, 3, 4], "score": 0.9877,
        "landmarks": {k: [1.2, 5.7] for k in LANDMARKS}}


def test_non_uint8_input_is_refused():
    with pytest.raises(ValueError, match="uint8"):
        detect_faces(np.zeros((64, 64, 3), np.float32))


@pytest.fixture(scope="module")
def motorcycle() -> np.ndarray:
    """scikit-image's stereo motorcycle (left view): MTCNN scores its front wheel 0.98."""
    return skimage_data.stereo_motorcycle()[0]


def test_a_wheel_mtcnn_takes_for_a_face_is_not_confirmed_and_not_returned(motorcycle):
    (wheel,) = [f for f in detect_faces(motorcycle, confirm=False)]
    x, y, w, h = wheel.box
    assert wheel.score > 0.95 and 540 < x + w / 2 < 680 and 300 < y + h / 2 < 460
    assert not haar_confirms(motorcycle, wheel)
    assert detect_faces(motorcycle) == []


def test_real_faces_are_confirmed_upright_tilted_turned_and_small(astronaut):
    camera = np.repeat(skimage_data.camera()[:, :, None], 3, 2)  # head turned, camera in front
    m = cv2.getRotationMatrix2D((256, 256), 25, 1.0)
    tilted = cv2.warpAffine(astronaut, m, (512, 512), borderMode=cv2.BORDER_REFLECT)
    small = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    for img in (astronaut, camera, tilted, small):
        (face,) = detect_faces(img, confirm=False)
        assert haar_confirms(img, face)


def test_a_face_box_on_a_blank_wall_is_not_confirmed(astronaut):
    (face,) = detect_faces(astronaut)
    assert not haar_confirms(np.full_like(astronaut, 128), face)


def test_confirmation_keeps_mtcnn_box_landmarks_and_score(astronaut):
    assert detect_faces(astronaut) == detect_faces(astronaut, confirm=False)


# A 64 px face box with level eyes: its levelled patch is 128 px, the box's square in the middle.
LEVEL_FACE = Face(box=(100, 100, 64, 64), score=0.99,
                  landmarks={"left_eye": (115.0, 120.0), "right_eye": (149.0, 120.0),
                             "nose": (132.0, 135.0), "mouth_left": (118.0, 150.0),
                             "mouth_right": (146.0, 150.0)})


class _OneHit:
    """A cascade that reports one hit at a fixed place in the patch it is shown, made by
    ``windows`` overlapping detection windows (reported when minNeighbors asks no more)."""

    def __init__(self, box, windows: int = 10):
        self.box, self.windows = box, windows

    def detectMultiScale(self, image, scale, min_neighbors, **sizes):  # noqa: N802 (OpenCV's)
        return [self.box] if min_neighbors <= self.windows else []


@pytest.mark.parametrize("offset, confirmed", [(0, True), (31, True), (33, False),
                                               (60, False)])
def test_a_haar_hit_confirms_only_with_its_centre_in_the_central_box_sized_square(
        monkeypatch, offset, confirmed):
    """The levelled patch is 128 px with the face box's 64 px square at its centre: a hit
    centred 33 px to the side (a neighbouring face) confirms nothing, 31 px does."""
    import deep_emotion.faces.detect as detect

    rgb = np.zeros((300, 300, 3), np.uint8)
    hit = _OneHit((64 + offset - 32, 64 - 32, 64, 64))  # a 64 px hit centred offset px right
    miss = _OneHit((64 + 80, 64 + 80, 64, 64))           # ... and one far off in the corner
    monkeypatch.setattr(detect, "_cascades", lambda: (hit, miss))
    assert detect._levelled_patch(rgb, LEVEL_FACE).shape == (128, 128)
    assert haar_confirms(rgb, LEVEL_FACE) is confirmed
    monkeypatch.setattr(detect, "_cascades", lambda: (miss, hit))  # the profile cascade's hit
    assert haar_confirms(rgb, LEVEL_FACE) is confirmed


@pytest.mark.parametrize("windows, confirmed", [(1, False), (2, False), (3, True), (6, True)])
def test_a_haar_hit_made_by_a_lone_window_confirms_nothing(monkeypatch, windows, confirmed):
    """Real faces are found by six or more overlapping windows; one or two stray windows on
    fur or texture are not a face."""
    import deep_emotion.faces.detect as detect

    centred = _OneHit((32, 32, 64, 64), windows)
    monkeypatch.setattr(detect, "_cascades", lambda: (centred, centred))
    assert haar_confirms(np.zeros((300, 300, 3), np.uint8), LEVEL_FACE) is confirmed


@pytest.mark.parametrize("width, frontal, profile", [(56, True, True), (73, True, True),
                                                     (74, False, True), (86, False, True),
                                                     (87, False, False)])
def test_a_haar_hit_confirms_only_at_about_the_box_size(monkeypatch, width, frontal, profile):
    """A centred frontal hit confirms the 64 px box up to 1.15 box sides (73 px): from 74 px it
    frames something larger than the face MTCNN boxed (a gibbon's ring of fur).  A profile hit,
    framing a whole turned head, confirms up to 1.35 box sides (86 px)."""
    import deep_emotion.faces.detect as detect

    rgb = np.zeros((300, 300, 3), np.uint8)
    centred = _OneHit((64 - width // 2, 64 - width // 2, width, width))
    miss = _OneHit((64 + 80, 64 + 80, 64, 64))
    monkeypatch.setattr(detect, "_cascades", lambda: (centred, miss))
    assert haar_confirms(rgb, LEVEL_FACE) is frontal
    monkeypatch.setattr(detect, "_cascades", lambda: (miss, centred))
    assert haar_confirms(rgb, LEVEL_FACE) is profile
