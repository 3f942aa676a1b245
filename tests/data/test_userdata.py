"""Your own labelled files as a dataset: folders per emotion and CSV/TSV lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deep_emotion.data import DatasetError, load_dataset
from deep_emotion.data import facestore
from deep_emotion.data.userdata import make_spec
from tests.data.userfaces import crop, crop_folder, write_image


def aligned_folder(path) -> str:
    return make_spec("folder", path, aligned=True)


def manifest(data) -> dict:
    return json.loads(open(data.meta["manifest"]["manifest"]).read())


def test_folder_names_map_case_insensitively_with_synonyms(tmp_path):
    crop_folder(tmp_path, {"Happy": 3, "ANGRY": 2, "sadness": 1, "Surprised": 2})
    data = load_dataset(aligned_folder(tmp_path))
    assert data.classes == ("anger", "happiness", "sadness", "surprise")  # FER2013's order
    assert data.class_counts() == {"anger": 2, "happiness": 3, "sadness": 1, "surprise": 2}
    assert data.images.shape == (8, 48, 48) and str(data.images.dtype) == "torch.uint8"
    assert sorted(data.names)[0] == "ANGRY/0.png"
    assert data.meta["manifest"]["faces_used"] == 8


def test_an_unknown_folder_name_lists_what_was_found_and_what_is_accepted(tmp_path):
    crop_folder(tmp_path, {"happy": 1, "cats": 1})
    with pytest.raises(DatasetError) as e:
        load_dataset(aligned_folder(tmp_path))
    message = str(e.value)
    assert "'cats'" in message and "happy" in message and "surprised" in message


def test_non_images_and_broken_files_are_listed_with_reasons(tmp_path):
    crop_folder(tmp_path, {"happy": 2, "sad": 1})
    (tmp_path / "happy" / "notes.txt").write_text("not a face")
    (tmp_path / "sad" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    (tmp_path / "README.md").write_text("top level")
    data = load_dataset(aligned_folder(tmp_path))
    counts = data.meta["manifest"]
    assert (counts["files"], counts["faces_used"], counts["unreadable"], counts["skipped"]) == \
        (4, 3, 1, 2)
    reasons = {f["file"]: f["reason"] for f in manifest(data)["files"]}
    assert "not an image file (.txt)" in reasons["happy/notes.txt"]
    assert "sad/broken.jpg" in reasons and reasons["README.md"] == "not inside an emotion folder"


def test_split_folders_become_splits(tmp_path):
    crop_folder(tmp_path / "train", {"happy": 2, "sad": 2})
    crop_folder(tmp_path / "Test", {"happy": 1, "sad": 1}, start=10)
    data = load_dataset(aligned_folder(tmp_path))
    assert sorted(set(data.splits)) == ["test", "train"]
    assert len(load_dataset(aligned_folder(tmp_path), split="test")) == 2


def write_list(tmp_path, text: str, name: str = "labels.csv"):
    for i in range(4):
        write_image(tmp_path / "img" / f"{i}.png", crop(i))
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_csv_list_reads_names_subjects_and_splits_relative_to_itself(tmp_path):
    path = write_list(tmp_path, "Path,Emotion,subject,split\nimg/0.png,happy,s1,train\n"
                                "img/1.png,Sad,s2,test\nimg/2.png,anger,s1,train\n")
    data = load_dataset(make_spec("csv", path, aligned=True))
    assert data.classes == ("anger", "happiness", "sadness")
    assert data.labels.tolist() == [1, 2, 0]
    assert data.groups.tolist() == ["s1", "s2", "s1"] and data.splits.tolist()[1] == "test"


def test_integer_labels_index_a_declared_class_order(tmp_path):
    path = write_list(tmp_path, "file\texpression\nimg/0.png\t1\nimg/1.png\t0\nimg/2.png\t9\n",
                      name="labels.tsv")
    data = load_dataset(make_spec("csv", path, aligned=True, classes="neutral,happy,sad"))
    assert data.classes == ("neutral", "happiness", "sadness")
    assert data.labels.tolist() == [1, 0]
    assert any("outside the 3 declared classes" in f["reason"] for f in manifest(data)["files"])


def test_integer_labels_without_a_class_order_say_how_to_declare_one(tmp_path):
    path = write_list(tmp_path, "path,label\nimg/0.png,1\n")
    with pytest.raises(DatasetError, match="--classes"):
        load_dataset(make_spec("csv", path, aligned=True))


def test_bad_rows_are_skipped_with_their_line_and_reason(tmp_path):
    path = write_list(tmp_path, "path,label,split\nimg/0.png,happy,train\nimg/missing.png,sad,\n"
                                "img/1.png,bored,\nimg/2.png\nimg/3.png,fear,holdout\n"
                                "labels.csv,happy,\n,sad,\nimg/1.png,surprise,test\n")
    data = load_dataset(make_spec("csv", path, aligned=True))
    assert data.names.tolist() == ["img/0.png", "img/1.png"]
    reasons = {f["file"]: f["reason"] for f in manifest(data)["files"]}
    assert reasons["labels.csv line 3"] == "file not found"
    assert "'bored' is not an emotion" in reasons["labels.csv line 4"]
    assert "fields" in reasons["labels.csv line 5"]
    assert "split 'holdout'" in reasons["labels.csv line 6"]
    assert "not an image file" in reasons["labels.csv line 7"]
    assert reasons["labels.csv line 8"] == "empty path"
    assert data.meta["manifest"]["skipped"] == 6


def test_a_list_without_a_label_column_names_the_columns_it_has(tmp_path):
    path = write_list(tmp_path, "path,valence\nimg/0.png,0.3\n")
    with pytest.raises(DatasetError, match=r"no label column; the header has \['path', 'valence'\]"):
        load_dataset(make_spec("csv", path))


def test_missing_sources_are_clear_errors(tmp_path):
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no files in emotion folders"):
        load_dataset(f"folder:{tmp_path / 'empty'}")
    with pytest.raises(DatasetError, match="is not a folder"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}")
    with pytest.raises(DatasetError, match="no such list file"):
        load_dataset(f"csv:{tmp_path / 'nowhere.csv'}")
    with pytest.raises(DatasetError, match="unknown options"):
        load_dataset(f"folder:{tmp_path}?colour=1")


def test_faces_are_aligned_once_per_content(tmp_path, monkeypatch):
    crop_folder(tmp_path, {"happy": 2, "sad": 2})
    first = load_dataset(aligned_folder(tmp_path))
    calls = []
    real = facestore.align_bytes
    monkeypatch.setattr(facestore, "align_bytes", lambda *a: calls.append(a[1]) or real(*a))
    again = load_dataset(aligned_folder(tmp_path))
    assert calls == [] and np.array_equal(first.images, again.images)
    write_image(tmp_path / "sad" / "new.png", crop(99))
    assert len(load_dataset(aligned_folder(tmp_path))) == 5 and calls == ["new.png"]


def test_photos_go_through_detection_and_faceless_ones_are_listed(tmp_path):
    skimage_data = pytest.importorskip("skimage.data")
    write_image(tmp_path / "happy" / "astronaut.jpg", skimage_data.astronaut())
    write_image(tmp_path / "sad" / "cat.png", np.full((200, 200, 3), 128, np.uint8))
    data = load_dataset(f"folder:{tmp_path}")
    assert data.names.tolist() == ["happy/astronaut.jpg"] and data.meta["scores"][0] > 0.9
    assert data.meta["manifest"]["no_face"] == 1


def test_jaffe_as_a_labelled_folder_matches_the_jaffe_loader(data_root, tmp_path):
    """Real-data tier: the JAFFE photos linked into emotion folders (synonym names)."""
    from deep_emotion.data import jaffe
    from deep_emotion.evaluate import cross_dataset

    reference = load_dataset("jaffe", data_root)
    folder_names = {"anger": "Angry", "disgust": "disgusted", "fear": "FEARFUL",
                    "happiness": "happy", "sadness": "Sad", "surprise": "surprised",
                    "neutral": "Neutral"}
    for path in sorted(jaffe.find_folder(data_root).glob("*.tif*")):
        target = tmp_path / "faces" / folder_names[jaffe.parse_name(path)[1]] / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    mine = load_dataset(f"folder:{tmp_path / 'faces'}")
    assert mine.class_counts() == reference.class_counts()
    assert mine.classes == reference.classes
    assert mine.meta["manifest"]["faces_used"] == len(reference) == 213
    order = np.argsort([n.split("/")[-1] for n in mine.names])
    assert np.array_equal(mine.images.numpy()[order], reference.images.numpy())

    from deep_emotion.checkpoints import load_checkpoint
    from tests.cli.test_cli import cli

    out = json.loads(cli("evaluate", "--checkpoint", "fer2013", "--data",
                         f"folder:{tmp_path / 'faces'}", "--tta", "none", "--json").stdout)
    ckpt = load_checkpoint("fer2013")
    direct = cross_dataset(ckpt.model, ckpt.classes, ckpt.preprocessing, reference, "none")
    assert out["test"]["none"]["accuracy"] == direct["accuracy"]
    assert out["test"]["none"]["confusion"] == direct["confusion"]
