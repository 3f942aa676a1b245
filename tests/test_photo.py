"""``read_photo``: one call from a photo to its faces, predictions and maps, agreeing with the
face path and ``explain_face`` called by hand, and with ``deep-emotion predict``."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.cli import main
from deep_emotion.explain import explain_face
from deep_emotion.faces import FaceImageError, read_faces
from deep_emotion.photo import read_photo

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def astronaut_png() -> bytes:
    """Eileen Collins (NASA, public domain) as PNG bytes: one face."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(buf, "PNG")
    return buf.getvalue()


def test_one_call_gives_each_face_with_its_prediction_and_maps(astronaut_png, random_checkpoint):
    ckpt = load_checkpoint(random_checkpoint)
    reading = read_photo(astronaut_png, ckpt, methods=("stn", "occlusion"), name="a.png")
    by_hand = read_faces(astronaut_png, size=48, name="a.png")
    assert len(reading.faces) == len(by_hand.faces) == 1
    face = reading.faces[0]
    assert face.face.box == by_hand.faces[0].box
    assert np.array_equal(face.crop, by_hand.crops[0])
    expected = explain_face(ckpt, by_hand.crops[0], ["stn", "occlusion"])
    assert np.allclose(face.probs, expected.probs, atol=1e-6)
    assert face.prediction == ckpt.classes[int(np.argmax(expected.probs))]
    assert face.confidence == pytest.approx(float(expected.probs.max()))
    assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert set(face.maps) == {"stn", "occlusion"}
    for method, values in face.maps.items():
        assert values.shape == (48, 48) and values.dtype == np.float32
        assert np.allclose(values, expected.maps[method].map, atol=1e-5)
    assert reading.checkpoint == ckpt.name and reading.classes == ckpt.classes


def test_a_face_crop_is_read_whole_and_predict_only_skips_the_maps(astronaut_png,
                                                                   random_checkpoint):
    reading = read_photo(astronaut_png, random_checkpoint, methods=(), detect=False)
    assert len(reading.faces) == 1 and reading.faces[0].face is None
    assert reading.faces[0].maps == {} and not reading.photo.detection_ran
    assert reading.faces[0].crop.shape == (48, 48)


def test_a_photo_with_no_face_has_no_faces_and_a_bad_file_says_why(random_checkpoint):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 90, 90)).save(buf, "PNG")
    assert read_photo(buf.getvalue(), random_checkpoint, methods=()).faces == ()
    with pytest.raises(FaceImageError):
        read_photo(b"not an image", random_checkpoint)


def test_the_cli_prints_what_read_photo_returns(astronaut_png, random_checkpoint, tmp_path,
                                                capsys):
    photo = tmp_path / "astronaut.png"
    photo.write_bytes(astronaut_png)
    assert main(["predict", str(photo), "--checkpoint", str(random_checkpoint), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"]
    reading = read_photo(photo, random_checkpoint, methods=())
    assert [(r["box"], r["prediction"]) for r in result] == [
        (list(f.face.box), f.prediction) for f in reading.faces]
    assert result[0]["confidence"] == pytest.approx(reading.faces[0].confidence)
