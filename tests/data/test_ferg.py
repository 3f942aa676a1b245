"""FERG-DB loader, on a generated miniature of the real layout (the images are not available).

The real-data test checks the full copy against the published counts when it is present.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deep_emotion.data import DatasetError, load_dataset
from deep_emotion.data import ferg

PER_FOLDER = 2


def write_ferg(root: Path, characters=("aia", "ray"), per_folder: int = PER_FOLDER,
               counts: dict | None = None) -> Path:
    """``root/ferg/FERG_DB_256/<char>/<char>_<expr>/<char>_<expr>_<n>.png``, 256x256 RGBA."""
    base = root / "ferg" / "FERG_DB_256"
    for c, character in enumerate(characters):
        for e, expression in enumerate(ferg.EXPRESSIONS):
            folder = base / character / f"{character}_{expression}"
            folder.mkdir(parents=True)
            for n in range(1, per_folder + 1):
                rgba = np.zeros((256, 256, 4), np.uint8)
                rgba[64:192, 64:192] = (40 * e, 100, 30 * c, 255)  # a face-sized opaque square
                Image.fromarray(rgba, "RGBA").save(folder / f"{character}_{expression}_{n}.png")
    if counts is not None:
        with open(root / "ferg" / "expected_counts.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["character", "expression", "count_official_readme",
                        "count_in_filename_list", "max_index_in_filename_list",
                        "missing_indices_in_filename_list"])
            for (character, expression), n in counts.items():
                w.writerow([character, expression, n, n, n, ""])
    return base


def test_loader_reads_the_layout_with_character_groups_and_joy_as_happiness(tmp_path):
    write_ferg(tmp_path)
    ds = ferg.load(tmp_path)
    assert ds.name == "ferg" and len(ds) == 2 * 7 * PER_FOLDER
    assert ds.images.shape == (28, 48, 48)
    assert ds.class_counts() == {c: 2 * PER_FOLDER for c in ds.classes}
    assert "happiness" in ds.classes and "joy" not in ds.classes
    assert sorted(set(ds.groups.tolist())) == ["aia", "ray"]
    assert ds.names[0] == "aia/aia_anger/aia_anger_1.png"


def test_images_are_whole_frames_with_transparency_on_grey(tmp_path):
    write_ferg(tmp_path, characters=("aia",), per_folder=1)
    image = ferg.load(tmp_path).images[0].numpy()
    assert image[0, 0] == 128  # transparent corner -> neutral grey
    assert image[24, 24] != 128  # the opaque square fills the middle half of the frame
    assert (image[13:35, 13:35] == image[24, 24]).all()


def test_registered_under_ferg(tmp_path):
    write_ferg(tmp_path, characters=("mery",), per_folder=1)
    assert len(load_dataset("ferg", tmp_path)) == 7


def test_counts_are_checked_against_expected_counts_csv(tmp_path):
    counts = {("aia", e): PER_FOLDER for e in ferg.EXPRESSIONS}
    counts[("aia", "joy")] = PER_FOLDER + 1  # the copy lacks one joy image
    write_ferg(tmp_path, characters=("aia",), counts=counts)
    with pytest.raises(DatasetError, match=r"aia_joy: 2 images, expected 3"):
        ferg.load(tmp_path)


def test_matching_expected_counts_load(tmp_path):
    write_ferg(tmp_path, characters=("aia",),
               counts={("aia", e): PER_FOLDER for e in ferg.EXPRESSIONS})
    assert len(ferg.load(tmp_path)) == 7 * PER_FOLDER


def test_stratified_80_10_10_split(tmp_path):
    write_ferg(tmp_path, characters=("aia", "ray", "mery"), per_folder=10)  # 210 rows
    sizes = {s: len(ferg.load(tmp_path, split=s)) for s in ferg.SPLITS}
    assert sizes == {"train": 168, "val": 21, "test": 21}


def test_misnamed_file_is_an_error_naming_it(tmp_path):
    base = write_ferg(tmp_path, characters=("aia",), per_folder=1)
    Image.new("RGB", (256, 256)).save(base / "aia" / "aia_joy" / "ray_joy_9.png")
    with pytest.raises(DatasetError, match=r"ray_joy_9\.png: expected <character>"):
        ferg.load(tmp_path)


def test_unknown_expression_is_an_error(tmp_path):
    base = write_ferg(tmp_path, characters=("aia",), per_folder=1)
    (base / "aia" / "aia_contempt").mkdir()
    Image.new("RGB", (256, 256)).save(base / "aia" / "aia_contempt" / "aia_contempt_1.png")
    with pytest.raises(DatasetError, match="unknown expression 'contempt'"):
        ferg.load(tmp_path)


def test_corrupt_png_is_an_error_naming_it(tmp_path):
    base = write_ferg(tmp_path, characters=("aia",), per_folder=1)
    (base / "aia" / "aia_fear" / "aia_fear_1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DatasetError, match=r"aia_fear_1\.png: unreadable image"):
        ferg.load(tmp_path)


def test_missing_folder_says_how_to_get_ferg(tmp_path):
    with pytest.raises(DatasetError, match="FERG_DB_256.*GRAIL"):
        ferg.load(tmp_path)


@pytest.mark.realdata
def test_shipped_expected_counts_match_the_published_totals(data_root):
    counts = ferg.expected_counts(data_root / "ferg" / ferg.COUNTS_FILE)
    assert len(counts) == 6 * 7
    assert sum(max(v) for v in counts.values()) == 55767


@pytest.mark.realdata
@pytest.mark.slow
def test_real_ferg_copy_loads_with_published_counts(data_root):
    if not (data_root / "ferg" / "FERG_DB_256").is_dir():
        pytest.skip("FERG-DB images are not available (see ferg/README.md)")
    ds = ferg.load(data_root)
    assert len(ds) in (55766, 55767)
    assert sorted(set(ds.groups.tolist())) == list(ferg.CHARACTERS)
