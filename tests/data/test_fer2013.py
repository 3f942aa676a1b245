"""FER2013 CSV loader: the Kaggle format (.csv and .csv.gz), its errors, cache and real counts."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from deep_emotion.data import DatasetError, fer2013, load_dataset


# The emotion ids of the Kaggle challenge page, written out here rather than imported.
KAGGLE_LABELS = {0: "anger", 1: "disgust", 2: "fear", 3: "happiness", 4: "sadness",
                 5: "surprise", 6: "neutral"}


def write_csv(path: Path, rows: list[tuple], header: str = "emotion,pixels,Usage",
              compress: bool = False) -> Path:
    text = header + "\n" + "".join(f"{e},{p},{u}\n" for e, p, u in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    return path


def pixels(seed: int, n: int = 48 * 48) -> str:
    return " ".join(map(str, np.random.default_rng(seed).integers(0, 256, n)))


def fake_rows() -> list[tuple]:
    usages = ["Training"] * 4 + ["PublicTest"] * 2 + ["PrivateTest"] * 2
    return [(i % 7, pixels(i), u) for i, u in enumerate(usages)]


@pytest.mark.parametrize("compress", [False, True])
def test_loads_pixels_labels_and_splits_in_row_order(tmp_path, compress):
    name = "fer2013.csv.gz" if compress else "fer2013.csv"
    write_csv(tmp_path / "fer2013" / name, fake_rows(), compress=compress)
    ds = fer2013.load(tmp_path)
    assert ds.images.shape == (8, 48, 48) and ds.images.dtype == torch.uint8
    assert ds.labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 0]
    assert [ds.classes[i] for i in ds.labels] == [KAGGLE_LABELS[i] for i in range(7)] + ["anger"]
    expected = np.array([int(v) for v in pixels(5).split()], dtype=np.uint8).reshape(48, 48)
    assert np.array_equal(ds.images[5].numpy(), expected)
    assert ds.splits.tolist().count("PublicTest") == 2
    assert ds.names.tolist()[0] == 2  # CSV line numbers, header is line 1


def test_split_argument_selects_rows_and_is_checked(tmp_path):
    write_csv(tmp_path / "fer2013" / "fer2013.csv", fake_rows())
    assert len(fer2013.load(tmp_path, split="PrivateTest")) == 2
    with pytest.raises(ValueError, match="split must be one of"):
        fer2013.load(tmp_path, split="Validation")


def test_second_load_comes_from_the_cache_and_edits_invalidate_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEP_EMOTION_CACHE", str(tmp_path / "cache"))
    csv = write_csv(tmp_path / "fer2013" / "fer2013.csv", fake_rows())
    fer2013.load(tmp_path)
    assert len(list((tmp_path / "cache").glob("fer2013-*.npz"))) == 1
    rows = fake_rows()
    rows[0] = (6, rows[0][1], rows[0][2])
    write_csv(csv, rows)
    assert fer2013.load(tmp_path).labels[0] == 6


@pytest.mark.parametrize("row, message", [
    ((0, pixels(0, 2303), "Training"), "line 3: expected 2304 pixel values, found 2303"),
    ((7, pixels(0), "Training"), "line 3: emotion 7 out of range"),
    (("x", pixels(0), "Training"), "line 3: emotion 'x' is not an integer"),
    ((0, pixels(0), "Validation"), "line 3: Usage 'Validation'"),
    ((0, pixels(0).replace("1", "a", 1), "Training"), "line 3: pixel values must be integers"),
    ((0, "300 " + pixels(0, 2303), "Training"), "line 3: pixel value out of range"),
])
def test_malformed_rows_name_the_file_and_line(tmp_path, row, message):
    rows = fake_rows()
    rows.insert(1, row)
    csv = write_csv(tmp_path / "fer2013.csv", rows)
    with pytest.raises(DatasetError, match=message) as info:
        fer2013.load(csv)
    assert str(csv) in str(info.value)


def test_missing_column_and_missing_file_are_reported(tmp_path):
    csv = write_csv(tmp_path / "fer2013.csv", [(0, pixels(0))] and [], header="emotion,pixels")
    with pytest.raises(DatasetError, match=r"line 1: missing column\(s\) \['Usage'\]"):
        fer2013.load(csv)
    with pytest.raises(DatasetError, match="fer2013.csv.gz"):
        fer2013.load(tmp_path / "empty_root")


def test_a_corrupt_gzip_is_a_dataset_error(tmp_path):
    bad = tmp_path / "fer2013" / "fer2013.csv.gz"
    bad.parent.mkdir()
    bad.write_bytes(gzip.compress(b"emotion,pixels,Usage\n")[:-6])
    with pytest.raises(DatasetError, match="cannot read"):
        fer2013.load(tmp_path)


@pytest.mark.realdata
def test_real_fer2013_has_the_published_counts(data_root):
    ds = load_dataset("fer2013", data_root)
    assert len(ds) == 35887
    expected = {  # README of ../shared/data/fer2013: per split, Kaggle label order
        "Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
        "PublicTest": [467, 56, 496, 895, 653, 415, 607],
        "PrivateTest": [491, 55, 528, 879, 594, 416, 626],
    }
    for split, counts in expected.items():
        assert list(ds.split(split).class_counts().values()) == counts
    assert ds.images[0, 0, :5].tolist() == [70, 80, 82, 72, 58]
