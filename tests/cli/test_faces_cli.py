"""`deep-emotion faces` and `deep-emotion predict` on photo files: JSON per face, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deep_emotion.cli import main

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "astronaut.jpg"
    Image.fromarray(skimage_data.astronaut()).save(path, "JPEG", quality=95)
    return path


@pytest.fixture
def no_face(tmp_path) -> Path:
    path = tmp_path / "coffee.png"
    Image.fromarray(skimage_data.coffee()).save(path)
    return path


def run_json(capsys, *argv) -> tuple[int, dict]:
    code = main([*map(str, argv), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_faces_json_lists_box_landmarks_and_score(capsys, photo):
    code, out = run_json(capsys, "faces", photo)
    assert code == 0 and out["detector"].startswith("mtcnn")
    (r,) = out["results"]
    assert r["image"] == str(photo) and r["format"] == "JPEG" and r["size"] == [512, 512]
    assert r["faces_found"] == len(r["faces"]) >= 1
    face = r["faces"][0]
    assert len(face["box"]) == 4 and face["score"] > 0.99
    assert set(face["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left",
                                      "mouth_right"}


def test_faces_without_a_face_says_so_and_offers_the_whole_image(capsys, no_face):
    code, out = run_json(capsys, "faces", no_face)
    (r,) = out["results"]
    assert code == 0 and r["faces"] == [] and "--no-detect" in r["message"]


def test_faces_human_readable_output(capsys, photo, no_face):
    assert main(["faces", str(photo), str(no_face)]) == 0
    text = capsys.readouterr().out
    assert "astronaut.jpg:" in text and "face 1: box x=" in text and "no face found" in text


@pytest.mark.parametrize("content, message", [
    (b"just text", "not an image we can read"),
    (b"", "empty"),
])
def test_bad_file_is_one_line_error_with_exit_status_2(capsys, tmp_path, content, message):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    assert main(["faces", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["type"] == "FaceImageError"
    assert message in captured.err and "photo.jpg" in captured.err
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1


def test_missing_file_is_a_clean_error(capsys, tmp_path):
    assert main(["faces", str(tmp_path / "nope.png")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_predict_gives_one_result_per_face_with_its_box(capsys, tmp_path, random_checkpoint):
    left = skimage_data.astronaut()
    right = np.asarray(Image.fromarray(left).resize((256, 256)))
    group = np.zeros((512, 768, 3), np.uint8)
    group[:, :512], group[128:384, 512:] = left, right
    path = tmp_path / "group.png"
    Image.fromarray(group).save(path)
    code, out = run_json(capsys, "predict", path, "--checkpoint", random_checkpoint)
    assert code == 0 and out["detect"] is True
    faces = out["results"]
    assert len(faces) >= 2 and [r["face"] for r in faces] == list(range(len(faces)))
    assert faces[0]["box"][2] > faces[1]["box"][2]  # largest first
    for r in faces:
        assert r["image"] == str(path) and len(r["box"]) == 4 and "landmarks" in r
        assert abs(sum(r["probabilities"].values()) - 1) < 1e-4
        assert r["prediction"] == max(r["probabilities"], key=r["probabilities"].get)


def test_predict_no_detect_takes_the_whole_image(capsys, no_face, random_checkpoint):
    code, out = run_json(capsys, "predict", no_face, "--no-detect", "--checkpoint",
                         random_checkpoint)
    (r,) = out["results"]
    assert code == 0 and r["box"] is None and r["face"] is None
    assert "message" not in out["images"][0]


def test_predict_without_a_face_reports_it_and_predicts_nothing(capsys, no_face,
                                                                random_checkpoint):
    code, out = run_json(capsys, "predict", no_face, "--checkpoint", random_checkpoint)
    assert code == 0 and out["results"] == []
    assert "no face found" in out["images"][0]["message"]
    main(["predict", str(no_face), "--checkpoint", str(random_checkpoint)])
    assert "--no-detect" in capsys.readouterr().out
