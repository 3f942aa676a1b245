"""JAFFE loader: file names -> subject and posed expression, every face found and aligned.

Unit tests build a miniature JAFFE folder from a real photo that ships with scikit-image (the
astronaut, a face), saved as 256x256 TIFFs in both of JAFFE's storage modes (L and P).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deep_emotion.data import DatasetError, load_dataset
from deep_emotion import protocols
from deep_emotion.data import jaffe

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def face_tiff() -> Image.Image:
    """A 256x256 grayscale head-and-shoulders photo, like a JAFFE image."""
    return Image.fromarray(skimage_data.astronaut()[0:320, 64:384]).convert("L").resize((256, 256))


def write_jaffe(root: Path, face: Image.Image, names: list[str]) -> Path:
    folder = root / "jaffe" / "images"
    folder.mkdir(parents=True)
    for i, name in enumerate(names):
        im = face if i % 2 == 0 else face.convert("P")  # JAFFE has both L and P TIFFs
        im.save(folder / name, "TIFF")
    return folder


# One file per expression code of the JAFFE README, two instances of one of them.
NAMES = ["KA.AN1.39.tiff", "KA.DI1.42.tiff", "KA.FE1.45.tiff", "KA.HA2.30.tiff",
         "KL.SA1.161.tiff", "KM.SU1.14.tiff", "YM.NE3.51.tiff", "YM.NE1.49.tiff"]
EXPRESSIONS = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral",
               "neutral"]


def test_every_expression_code_is_parsed_to_its_emotion():
    parsed = [jaffe.parse_name(Path(n)) for n in NAMES]
    assert [emotion for _, emotion, _, _ in parsed] == EXPRESSIONS
    assert parsed[4] == ("KL", "sadness", 1, 161) and parsed[7] == ("YM", "neutral", 1, 49)
    assert jaffe.parse_name(Path("ka.di2.43.TIF")) == ("KA", "disgust", 2, 43)


def test_loader_parses_subject_and_expression_and_aligns_every_face(tmp_path, face_tiff):
    write_jaffe(tmp_path, face_tiff, NAMES)
    ds = jaffe.load(tmp_path)
    assert ds.name == "jaffe" and len(ds) == len(NAMES)
    assert ds.images.shape == (len(NAMES), 48, 48) and ds.images.dtype.is_floating_point is False
    # files are read in name order
    order = sorted(range(len(NAMES)), key=lambda i: NAMES[i])
    assert ds.names.tolist() == [NAMES[i] for i in order]
    assert [ds.classes[i] for i in ds.labels] == [EXPRESSIONS[i] for i in order]
    assert ds.groups.tolist() == [NAMES[i][:2] for i in order]
    assert ds.meta["preprocessing"] == "fer2013-crop"
    # The same photo in mode L and mode P aligns to the same face.
    assert (ds.images[0].int() - ds.images[1].int()).abs().max() <= 1


def test_classes_are_the_seven_jaffe_expressions_in_fer2013_order():
    assert jaffe.CLASSES == ("anger", "disgust", "fear", "happiness", "sadness", "surprise",
                             "neutral")


def test_registered_under_jaffe(tmp_path, face_tiff):
    write_jaffe(tmp_path, face_tiff, NAMES[:1])
    assert len(load_dataset("jaffe", tmp_path)) == 1


def test_second_load_comes_from_the_cache(tmp_path, face_tiff, monkeypatch):
    write_jaffe(tmp_path, face_tiff, NAMES[:2])
    first = jaffe.load(tmp_path)
    monkeypatch.setattr(jaffe, "_align", lambda *a: pytest.fail("cache missed"))
    assert np.array_equal(jaffe.load(tmp_path).images, first.images)


def test_photo_without_a_face_is_an_error_naming_the_file(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(skimage_data.coins()).resize((256, 256)).save(folder / "KA.AN1.39.tiff")
    with pytest.raises(DatasetError, match=r"KA\.AN1\.39\.tiff: no face found"):
        jaffe.load(tmp_path)


def test_bad_file_name_is_an_error_naming_the_file(tmp_path, face_tiff):
    write_jaffe(tmp_path, face_tiff, ["KA.XX1.39.tiff"])
    with pytest.raises(DatasetError, match=r"KA\.XX1\.39\.tiff: file name does not match"):
        jaffe.load(tmp_path)


def test_unreadable_tiff_is_an_error_naming_the_file(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "KA.AN1.39.tiff").write_bytes(b"II*\x00 not really a tiff")
    with pytest.raises(DatasetError, match=r"KA\.AN1\.39\.tiff: unreadable image"):
        jaffe.load(tmp_path)


def test_missing_folder_says_where_jaffe_is_expected(tmp_path):
    with pytest.raises(DatasetError, match="jaffe/images"):
        jaffe.load(tmp_path)


def test_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match="split"):
        jaffe.load(tmp_path, split="Training")


@pytest.mark.realdata
def test_all_213_jaffe_faces_are_found_and_aligned(data_root):
    ds = jaffe.load(data_root)
    assert len(ds) == 213 and ds.images.shape == (213, 48, 48)
    assert ds.class_counts() == {"anger": 30, "disgust": 29, "fear": 32, "happiness": 31,
                                 "sadness": 31, "surprise": 30, "neutral": 30}
    assert sorted(set(ds.groups.tolist())) == ["KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM",
                                               "UY", "YM"]
    assert float(ds.meta["scores"].min()) >= 0.9
    assert ds.images.float().std(dim=(1, 2)).min() > 10  # no blank crops


@pytest.mark.realdata
def test_jaffe_protocols_leave_one_subject_out_and_paper_style_split(data_root):
    ds = jaffe.load(data_root)
    folds = protocols.leave_one_group_out(ds.groups)
    assert len(set(folds.tolist())) == 10
    for f in range(10):
        assert len(set(ds.groups[folds == f].tolist())) == 1
    split = jaffe.paper_split(ds)
    assert Counter(split.tolist()) == {"train": 120, "val": 23, "test": 70}
    assert Counter(ds.labels[split == "test"].tolist()) == {c: 10 for c in range(7)}
    test = jaffe.load(data_root, split="test")
    assert len(test) == 70 and "protocol" in test.meta


@pytest.mark.realdata
def test_aligned_jaffe_faces_have_their_eyes_where_fer2013_has_them(data_root):
    from deep_emotion.faces import FER2013_LANDMARKS, detect_faces

    ds = jaffe.load(data_root)
    for name, image in zip(ds.names, ds.images.numpy()):
        faces = detect_faces(image)
        assert faces, f"{name}: no face found again in its aligned crop"
        for eye in ("left_eye", "right_eye"):
            offset = np.subtract(faces[0].landmarks[eye], FER2013_LANDMARKS[eye])
            assert np.abs(offset).max() < 3, (name, eye, offset)
