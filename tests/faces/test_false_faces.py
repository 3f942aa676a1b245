"""Photos without people give no false face; photos of one person keep their face.

The photo sets are the face benchmark's (``bench/faces.py``): licence-clean photos and drawings
that ship inside scikit-image and matplotlib, read where they are installed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("skimage.data")

from bench.faces import (framings, mtcnn, mtcnn_alone, no_face_photos,  # noqa: E402
                         one_face_photos, score, variants)
from deep_emotion.faces import detect_faces  # noqa: E402


@pytest.fixture(scope="module")
def no_faces() -> list:
    return no_face_photos()


def found_on(photos: list) -> dict[str, list]:
    """Photo name -> (box, score) of each face found, for photos where one was found."""
    found = {name: detect_faces(img) for name, img, _ in photos}
    return {name: [(f.box, round(f.score, 3)) for f in faces]
            for name, faces in found.items() if faces}


def test_no_face_set_is_a_dozen_or_more_photos_of_animals_objects_and_art(no_faces):
    names = [name for name, _, _ in no_faces]
    assert len(names) >= 12
    assert {"chelsea", "horse", "motorcycle left", "Minduka_Present_Blue_Pack.png"} <= set(names)


def test_mtcnn_alone_finds_a_false_face_on_the_no_face_set(no_faces):
    """The set is hard enough to matter: without the confirmation it has a false face."""
    assert score(mtcnn_alone, no_faces)["false_pos"] >= 1


def test_photos_without_people_give_no_false_face(no_faces):
    found = found_on(no_faces)
    assert found == {}


@pytest.mark.slow
def test_transformed_photos_without_people_give_no_false_face(no_faces):
    """225 photos: each no-face photo mirrored, resized, rotated, JPEG'd, gray and dark."""
    found = found_on(variants(no_faces))
    assert found == {}


@pytest.mark.slow
def test_photos_without_people_framed_close_up_or_small_give_no_false_face(no_faces):
    """150 photos: each no-face photo small in a scene and close up (the cat's face filling
    the frame, as a pet's would)."""
    found = found_on(framings(no_faces))
    assert found == {}


def test_one_face_recall_is_at_least_95_percent():
    """27 photos: the three licence-clean portraits and eight transformed copies of each."""
    result = score(mtcnn, one_face_photos())
    assert result["faces"] == 27
    assert result["found"] >= 0.95 * result["faces"], result
    assert result["false_pos"] == 0, result
