"""align_face: eyes level and where FER2013 has them, 48x48 grayscale, one function for all."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deep_emotion.faces import (ALIGNMENT_NAME, FER2013_LANDMARKS, LANDMARKS, Face,
                                FaceImageError, align_face, alignment_matrix,
                                detect_faces, read_faces)
from deep_emotion.preprocess import DEFAULT_PREPROCESSING
from tests.faces.corners import crop_corners


def dots_face(angle_deg: float, scale: float, centre=(300.0, 260.0),
              shape=(520, 600)) -> tuple[np.ndarray, Face]:
    """A black image with a bright dot at each landmark of a rotated, scaled FER2013 face
    (scale = photo pixels per FER2013 pixel)."""
    theta = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    img = np.zeros(shape, np.uint8)
    marks = {}
    for k in LANDMARKS:
        p = (np.array(FER2013_LANDMARKS[k]) - 24) * scale @ rot.T + centre
        marks[k] = (float(p[0]), float(p[1]))
        cv2.circle(img, (round(p[0]), round(p[1])), round(scale), 255, -1)
    box = (0, 0, shape[1], shape[0])
    return np.repeat(img[:, :, None], 3, 2), Face(box=box, landmarks=marks, score=1.0)


def bright_spots(crop: np.ndarray) -> list[tuple[float, float]]:
    n, _, _, centroids = cv2.connectedComponentsWithStats((crop > 60).astype(np.uint8))
    return [tuple(c) for c in centroids[1:]]


@pytest.mark.parametrize("angle, scale", [(0, 3), (25, 5), (-40, 8), (170, 4), (10, 40)])
def test_landmarks_land_on_fer2013_positions_whatever_the_rotation_and_size(angle, scale):
    # scale 40: a 2000 px face, which alignment must area-shrink rather than alias.
    side = max(520, round(scale * 60))
    rgb, face = dots_face(angle, scale, centre=(side / 2, side / 2), shape=(side, side))
    crop = align_face(rgb, face)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    spots = bright_spots(crop)
    assert len(spots) == 5
    for k in LANDMARKS:
        target = np.array(FER2013_LANDMARKS[k])
        nearest = min(np.linalg.norm(np.array(s) - target) for s in spots)
        assert nearest < 1.0, (k, target, spots)


def test_alignment_matrix_maps_the_landmarks_onto_fer2013_positions():
    _, face = dots_face(33, 6)
    m = alignment_matrix(face)
    for k in LANDMARKS:
        mapped = m[:, :2] @ np.array(face.landmarks[k]) + m[:, 2]
        # Within FER2013's own eye tilt (its median eyes differ by 0.4 px in height).
        assert np.allclose(mapped, FER2013_LANDMARKS[k], atol=0.5)


def test_real_photo_aligned_has_its_eyes_where_fer2013_has_them(astronaut, hopper):
    for photo in (astronaut, hopper):
        crop = align_face(photo, detect_faces(photo)[0])
        # Detect again on the crop, as the framing was measured on FER2013 crops.
        (again,) = detect_faces(crop)
        for k in ("left_eye", "right_eye"):
            assert np.linalg.norm(np.subtract(again.landmarks[k], FER2013_LANDMARKS[k])) < 3, k
        assert abs(again.landmarks["left_eye"][1] - again.landmarks["right_eye"][1]) < 2


def test_eyes_are_level_after_aligning_a_tilted_photo(astronaut):
    tilted = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((224, 115), 20, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REFLECT)
    crop = align_face(tilted, detect_faces(tilted)[0])
    (again,) = detect_faces(crop)
    assert abs(again.landmarks["left_eye"][1] - again.landmarks["right_eye"][1]) < 2


def test_frame_reaching_past_the_edge_repeats_edge_pixels_not_black():
    rgb, face = dots_face(0, 3, centre=(20.0, 20.0))
    rgb[:] = 100
    crop = align_face(rgb, face)
    assert (crop == 100).all()


def test_whole_image_as_the_face_takes_the_centred_square():
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 50:150] = 200  # the centred 100x100 square
    crop = align_face(img, None)
    assert crop.shape == (48, 48) and (crop == 200).all()


def test_a_48px_crop_taken_whole_is_unchanged():
    face48 = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    assert np.array_equal(align_face(face48, None), face48)


def test_output_size_follows_the_argument(astronaut):
    assert align_face(astronaut, detect_faces(astronaut)[0], size=64).shape == (64, 64)


def test_crop_corners_surround_the_face(astronaut):
    face = detect_faces(astronaut)[0]
    corners = crop_corners(face)
    x, y, w, h = face.box
    assert corners[:, 0].min() < x + w / 2 < corners[:, 0].max()
    assert corners[:, 1].min() < y + h / 2 < corners[:, 1].max()


def test_alignment_name_is_the_preprocessing_name_cards_carry():
    assert ALIGNMENT_NAME == DEFAULT_PREPROCESSING.name == "fer2013-crop"


def test_fer2013_landmarks_are_a_plausible_upright_face():
    lm = FER2013_LANDMARKS
    assert set(lm) == set(LANDMARKS)
    assert lm["left_eye"][0] < lm["nose"][0] < lm["right_eye"][0]
    assert lm["left_eye"][1] < lm["nose"][1] < lm["mouth_left"][1] < 48
    assert abs((lm["left_eye"][0] + lm["right_eye"][0]) / 2 - 23.5) < 1.5  # centred


def _png(rgb) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def test_read_faces_runs_the_whole_path_at_the_size_asked(astronaut):
    photo = read_faces(_png(astronaut), name="astronaut.png", size=48)
    assert photo.image.format == "PNG" and len(photo.faces) == 1 and photo.detection_ran
    assert photo.crops[0].shape == (48, 48) and photo.crops[0].dtype == np.uint8
    np.testing.assert_array_equal(photo.crops[0], align_face(astronaut, photo.faces[0], 48))
    assert read_faces(_png(astronaut), size=64).crops[0].shape == (64, 64)


def test_read_faces_without_detection_takes_the_whole_image():
    face48 = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    photo = read_faces(_png(face48), size=48, detect=False)
    assert not photo.detection_ran and photo.faces == ()
    np.testing.assert_array_equal(photo.crops[0], face48)  # an aligned crop is used as it is


def test_read_faces_with_no_face_offers_the_whole_image_only_on_request():
    photo = read_faces(_png(np.full((200, 200, 3), (30, 140, 60), np.uint8)), size=48)
    assert photo.faces == () and photo.crops == () and not photo.too_small
    assert photo.whole_image().shape == (48, 48)
    assert read_faces(_png(np.zeros((1, 1, 3), np.uint8)), size=48).too_small


def test_read_faces_reads_a_path_and_names_it_in_errors(tmp_path, astronaut):
    good, bad = tmp_path / "a.png", tmp_path / "b.png"
    good.write_bytes(_png(astronaut))
    bad.write_bytes(b"not an image")
    assert len(read_faces(good, size=48).faces) == 1
    with pytest.raises(FaceImageError, match="b.png: this is not an image"):
        read_faces(bad, size=48)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_faces(tmp_path / "missing.jpg", size=48)
    with pytest.raises(FaceImageError, match="the limit is 0 MB"):
        read_faces(good, size=48, max_bytes=100)
