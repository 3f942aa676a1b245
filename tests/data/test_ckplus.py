"""CK+48 folder loader: names parsed, subjects as groups, errors naming the path, real counts."""

import numpy as np
import pytest
from PIL import Image

from deep_emotion.data import DatasetError, ckplus, load_dataset
from deep_emotion.experiment import make_folds


def write_ck(root, per_class: int = 2):
    base = root / "ckplus" / "CK+48"
    for c, folder in enumerate(ckplus.FOLDERS):
        (base / folder).mkdir(parents=True)
        for k in range(per_class):
            arr = np.full((48, 48), 10 * c + k, dtype=np.uint8)
            Image.fromarray(arr).save(base / folder / f"S{100 + k:03d}_{c + 1:03d}_{k + 5:08d}.png")
    return base


def test_loads_every_class_folder_with_subjects_as_groups(tmp_path):
    write_ck(tmp_path)
    ds = ckplus.load(tmp_path)
    assert len(ds) == 14 and ds.images.shape == (14, 48, 48)
    assert ds.classes == ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
    assert sorted(set(ds.groups)) == ["S100", "S101"]
    assert int(ds.images[ds.labels == 4][0, 0, 0]) == 40  # "happy" folder -> happiness


def test_file_names_parse_into_subject_sequence_and_frame():
    from pathlib import Path
    assert ckplus.parse_name(Path("S010_004_00000017.png")) == ("S010", 4, 17)
    with pytest.raises(DatasetError, match="does not match"):
        ckplus.parse_name(Path("face.png"))


def test_an_unreadable_image_names_its_path(tmp_path):
    base = write_ck(tmp_path)
    bad = base / "fear" / "S100_004_00000005.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="unreadable image") as info:
        ckplus.load(tmp_path)
    assert str(bad) in str(info.value)


def test_an_empty_or_missing_class_folder_is_reported(tmp_path):
    base = write_ck(tmp_path)
    for f in (base / "contempt").iterdir():
        f.unlink()
    with pytest.raises(DatasetError, match="contempt: class folder has no .png"):
        ckplus.load(tmp_path)
    (base / "contempt").rmdir()
    with pytest.raises(DatasetError, match="contempt: class folder missing"):
        ckplus.load(tmp_path)


def test_a_missing_dataset_says_where_it_was_expected(tmp_path):
    with pytest.raises(DatasetError, match="CK\\+48 not found: expected .*ckplus/CK\\+48"):
        ckplus.load(tmp_path)


@pytest.mark.realdata
def test_real_ckplus_has_981_images_of_118_subjects_and_folds_are_subject_independent(data_root):
    ds = load_dataset("ckplus", data_root)
    assert len(ds) == 981 and len(set(ds.groups)) == 118
    assert list(ds.class_counts().values()) == [135, 54, 177, 75, 207, 84, 249]
    folds = make_folds(ds, "subject-kfold", folds=10, seed=0)
    tests = [set(ds.groups[f.test]) for f in folds]
    assert sum(len(f.test) for f in folds) == 981
    for i, f in enumerate(folds):
        assert not set(ds.groups[f.train]) & tests[i]
        assert not set(ds.groups[f.val]) & tests[i]
        for j in range(i):
            assert not tests[i] & tests[j]
