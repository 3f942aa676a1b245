"""The names people give emotions and splits land where they mean, in folders and in lists.

The expected places are written out here, word by word, rather than read from the code's own
tables: a synonym mapped to the wrong emotion (``scared`` -> surprise) or a split alias to the
wrong role (``PublicTest`` -> test) must fail a test.
"""

from __future__ import annotations

import pytest

from deep_emotion.data import DatasetError
from deep_emotion.data.listing import SPLIT_NAMES, label_paths, list_csv
from deep_emotion.emotions import SYNONYMS

# emotion -> every word accepted for it (any case)
EMOTION_WORDS = {
    "anger": ("anger", "angry", "mad"),
    "contempt": ("contempt", "contemptuous"),
    "disgust": ("disgust", "disgusted"),
    "fear": ("fear", "fearful", "afraid", "scared"),
    "happiness": ("happiness", "happy", "joy"),
    "neutral": ("neutral", "calm"),
    "sadness": ("sadness", "sad", "sorrow"),
    "surprise": ("surprise", "surprised"),
}
# split role -> every name accepted for it (FER2013's Usage column: PublicTest is the
# validation split, PrivateTest the test split)
SPLIT_WORDS = {
    "train": ("train", "training"),
    "val": ("val", "valid", "validation", "publictest"),
    "test": ("test", "testing", "privatetest"),
}
WORD_EMOTION = [(w, e) for e, words in EMOTION_WORDS.items() for w in words]
WORD_SPLIT = [(w, s) for s, words in SPLIT_WORDS.items() for w in words]


def spelled(word: str, i: int) -> str:
    """The word as people type it: lower, Title, UPPER, and FER2013's CamelCase splits."""
    camel = {"publictest": "PublicTest", "privatetest": "PrivateTest"}
    return (word, word.title(), word.upper(), camel.get(word, word))[i % 4]


def test_every_accepted_word_is_specified_here():
    """A synonym or split alias added to the code needs its place written down above."""
    assert {w for w, _ in WORD_EMOTION} == set(SYNONYMS)
    assert {w for w, _ in WORD_SPLIT} == set(SPLIT_NAMES)


def test_emotion_folders_named_with_any_synonym_map_to_their_emotion():
    files = [f"faces/{spelled(w, i)}/{i}.png" for i, (w, _) in enumerate(WORD_EMOTION)]
    images, skipped = label_paths(files, "faces")
    assert skipped == []
    got = {name.split("/")[1].lower(): emotion for name, emotion, _ in images}
    assert got == dict(WORD_EMOTION)
    assert {split for _, _, split in images} == {None}


def test_split_folders_named_with_any_alias_map_to_their_role():
    files = [f"{spelled(w, i)}/happy/{i}.png" for i, (w, _) in enumerate(WORD_SPLIT)]
    files += [f"{spelled(w, i)}/Scared/x{i}.jpg" for i, (w, _) in enumerate(WORD_SPLIT)]
    images, skipped = label_paths(files, "faces")
    assert skipped == [] and len(images) == 2 * len(WORD_SPLIT)
    got = {(name.split("/")[0].lower(), emotion): split for name, emotion, split in images}
    assert got == {(w, e): s for w, s in WORD_SPLIT for e in ("happiness", "fear")}


def write_list(tmp_path, rows: list[tuple[str, str, str]]):
    """``labels.csv`` with path,label,split rows, and an (empty) image file for each path."""
    for path, _, _ in rows:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"")
    text = "path,label,split\n" + "".join(f"{p},{label},{s}\n" for p, label, s in rows)
    (tmp_path / "labels.csv").write_text(text)
    return tmp_path / "labels.csv"


def test_list_labels_written_with_any_synonym_map_to_their_emotion(tmp_path):
    rows = [(f"img/{i}.png", spelled(w, i), "") for i, (w, _) in enumerate(WORD_EMOTION)]
    listing = list_csv(write_list(tmp_path, rows))
    assert listing.skipped == []
    assert [e.emotion for e in listing.entries] == [e for _, e in WORD_EMOTION]
    assert {e.split for e in listing.entries} == {None}


def test_list_splits_written_with_any_alias_map_to_their_role(tmp_path):
    rows = [(f"img/{i}.png", "sorrow", spelled(w, i)) for i, (w, _) in enumerate(WORD_SPLIT)]
    listing = list_csv(write_list(tmp_path, rows))
    assert listing.skipped == []
    assert [e.split for e in listing.entries] == [s for _, s in WORD_SPLIT]
    assert {e.emotion for e in listing.entries} == {"sadness"}


@pytest.mark.parametrize("word", ["scaredy", "joyful", "mad-ish", "holdout"])
def test_near_misses_are_not_taken_for_an_emotion(tmp_path, word):
    with pytest.raises(DatasetError, match=f"'{word}'"):
        label_paths([f"{word}/1.png", "happy/2.png"], "faces")
