"""FER+ votes joined row by row with FER2013: majority labels, soft labels, alignment errors."""

import numpy as np
import pytest
import torch

from deep_emotion.data import DatasetError, ferplus, load_dataset
from tests.data.test_fer2013 import fake_rows, write_csv

HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
USAGES = ["Training"] * 4 + ["PublicTest"] * 2 + ["PrivateTest"] * 2
VOTES = [  # neutral happiness surprise sadness anger disgust fear contempt unknown NF
    [10, 0, 0, 0, 0, 0, 0, 0, 0, 0],   # neutral
    [0, 6, 4, 0, 0, 0, 0, 0, 0, 0],    # happiness
    [0, 0, 0, 0, 0, 0, 0, 0, 2, 8],    # not a face: dropped
    [0, 0, 0, 0, 5, 5, 0, 0, 0, 0],    # tie anger/disgust: the earlier column wins
    [0, 0, 0, 0, 0, 0, 0, 0, 7, 3],    # unknown: dropped
    [0, 0, 0, 0, 0, 0, 0, 9, 1, 0],    # contempt
    [0, 0, 0, 0, 0, 0, 3, 0, 0, 0],    # unnamed row: dropped
    [1, 0, 0, 0, 0, 0, 9, 0, 0, 0],    # fear
]


def write_ferplus(root, usages=USAGES, votes=VOTES, header=HEADER):
    lines = [header]
    for i, (u, v) in enumerate(zip(usages, votes)):
        name = "" if i == 6 else f"fer{i:07d}.png"
        lines.append(",".join([u, name, *map(str, v)]))
    path = root / "ferplus" / "fer2013new.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def root(tmp_path):
    write_csv(tmp_path / "fer2013" / "fer2013.csv", fake_rows())
    return tmp_path


def test_majority_vote_drops_unknown_not_a_face_and_unnamed_rows(root):
    write_ferplus(root)
    ds = ferplus.load(root)
    assert [ds.classes[i] for i in ds.labels] == ["neutral", "happiness", "anger", "contempt", "fear"]
    assert ds.names.tolist() == [2, 3, 5, 7, 9]  # FER2013 CSV lines of the kept rows
    assert ds.meta["dropped"] == 3


def test_soft_labels_are_the_vote_distribution_over_the_eight_emotions(root):
    write_ferplus(root)
    ds = ferplus.load(root)
    assert ds.soft_labels.shape == (5, 8)
    assert np.allclose(ds.soft_labels[1].numpy(), [0, 0.6, 0.4, 0, 0, 0, 0, 0])
    assert np.allclose(ds.soft_labels.sum(1).numpy(), 1.0)


def test_pixels_come_from_the_same_fer2013_row(root):
    from deep_emotion.data import fer2013
    write_ferplus(root)
    assert (ferplus.load(root).images[3] == fer2013.load(root).images[5]).all()


def test_a_row_count_mismatch_is_refused_naming_both_files(root):
    path = write_ferplus(root, USAGES[:-1], VOTES[:-1])
    with pytest.raises(DatasetError, match="7 rows but .*fer2013.csv has 8") as info:
        ferplus.load(root)
    assert str(path) in str(info.value)


def test_a_usage_disagreement_names_the_line(root):
    usages = list(USAGES)
    usages[4] = "Training"
    write_ferplus(root, usages)
    with pytest.raises(DatasetError, match="line 6: Usage 'Training' differs"):
        ferplus.load(root)


def test_missing_vote_column_and_bad_counts_are_reported(root):
    write_ferplus(root, header=HEADER.replace(",NF", ",NotFace"))
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['NF'\]"):
        ferplus.load(root)
    votes = [list(v) for v in VOTES]
    write_ferplus(root, votes=votes)
    path = root / "ferplus" / "fer2013new.csv"
    path.write_text(path.read_text().replace(",10,0,0", ",ten,0,0", 1))
    with pytest.raises(DatasetError, match="line 2: vote counts must be integers"):
        ferplus.load(root)


@pytest.mark.realdata
def test_real_ferplus_majority_counts_match_the_published_ones(data_root):
    ds = load_dataset("ferplus", data_root)
    assert ds.class_counts() == {"neutral": 12906, "happiness": 9355, "surprise": 4462,
                                 "sadness": 4371, "anger": 3111, "disgust": 248, "fear": 819,
                                 "contempt": 216}
    assert ds.meta["dropped"] == 222 + 4 + 173


def test_vote_targets_mix_each_fer2013_label_with_the_votes_in_fer2013_class_order(root):
    from deep_emotion.data import fer2013
    write_ferplus(root)
    data = fer2013.load(root)  # labels 0..6, 0: anger, disgust, fear, happiness, sadness, surprise, neutral, anger
    mixed = ferplus.with_vote_targets(data, root, 0.3)
    t = mixed.soft_labels.numpy()
    assert np.allclose(t[0], [0.7, 0, 0, 0, 0, 0, 0.3])             # anger; votes: all neutral
    assert np.allclose(t[1], [0, 0.7, 0, 0.18, 0, 0.12, 0])         # disgust; happiness .6 surprise .4
    assert np.allclose(t[7], [0.7, 0, 0.27, 0, 0, 0, 0.03])         # anger; fear .9 neutral .1
    assert np.allclose(t.sum(1), 1.0)
    assert torch.equal(mixed.labels, data.labels) and mixed.classes == data.classes


def test_rows_without_an_emotion_vote_keep_their_one_hot_label(root):
    from deep_emotion.data import fer2013
    write_ferplus(root)
    mixed = ferplus.with_vote_targets(fer2013.load(root), root, 0.3)
    one_hot = torch.nn.functional.one_hot(mixed.labels, 7).float()
    for row in (2, 4, 5, 6):  # not a face, unknown, contempt only (no FER2013 class), unnamed
        assert torch.equal(mixed.soft_labels[row], one_hot[row])
    assert mixed.meta["vote_targets"]["rows_with_votes"] == 4
    assert mixed.meta["vote_targets"]["share"] == 0.3


def test_vote_targets_refuse_other_datasets_and_shares_outside_zero_to_one(root):
    from deep_emotion.data import fer2013
    write_ferplus(root)
    with pytest.raises(ValueError, match="for FER2013, got ferplus"):
        ferplus.with_vote_targets(ferplus.load(root), root, 0.3)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        ferplus.with_vote_targets(fer2013.load(root), root, 1.5)
