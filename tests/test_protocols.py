"""deep_emotion.protocols: folds and splits are subject-independent, balanced and seeded."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from deep_emotion.protocols import (leave_one_group_out, stratified_kfold, stratified_split,
                                    subject_kfold)


def _subjects(n_subjects: int = 20, per_class: int = 3, n_classes: int = 7):
    """Every subject poses every class ``per_class`` times (JAFFE-like)."""
    groups = np.repeat([f"S{i:02d}" for i in range(n_subjects)], per_class * n_classes)
    labels = np.tile(np.repeat(np.arange(n_classes), per_class), n_subjects)
    return groups, labels


def test_subject_kfold_keeps_every_subject_in_one_fold():
    groups, labels = _subjects()
    folds = subject_kfold(groups, labels, k=5, seed=0)
    for g in np.unique(groups):
        assert len(set(folds[groups == g].tolist())) == 1


def test_subject_kfold_balances_fold_sizes_and_classes():
    groups, labels = _subjects(n_subjects=20)
    folds = subject_kfold(groups, labels, k=5, seed=1)
    sizes = np.bincount(folds, minlength=5)
    assert sizes.tolist() == [84] * 5  # 4 whole subjects of 21 rows each
    for f in range(5):
        assert set(Counter(labels[folds == f]).values()) == {12}


def test_subject_kfold_uneven_subjects_stay_close_in_size():
    rng = np.random.default_rng(0)
    sizes = rng.integers(3, 19, size=118)  # CK+-like: 3..18 frames per subject
    groups = np.repeat(np.arange(118), sizes)
    labels = rng.integers(0, 7, size=len(groups))
    folds = subject_kfold(groups, labels, k=10, seed=0)
    per_fold = np.bincount(folds, minlength=10)
    assert per_fold.min() > 0
    assert per_fold.max() - per_fold.min() <= 18


def test_subject_kfold_is_reproducible_from_the_seed():
    groups, labels = _subjects()
    a = subject_kfold(groups, labels, k=4, seed=7)
    assert np.array_equal(a, subject_kfold(groups, labels, k=4, seed=7))


@pytest.mark.parametrize("k", [1, 21])
def test_subject_kfold_rejects_k_outside_two_to_number_of_groups(k):
    groups, labels = _subjects()
    with pytest.raises(ValueError, match="k must be between 2"):
        subject_kfold(groups, labels, k=k)


def test_subject_kfold_rejects_length_mismatch():
    with pytest.raises(ValueError, match="rows"):
        subject_kfold(["a", "b"], [0], k=2)


def test_leave_one_group_out_gives_one_fold_per_subject_in_sorted_order():
    folds = leave_one_group_out(["KM", "KA", "KM", "YM"])
    assert folds.tolist() == [1, 0, 1, 2]


def test_stratified_split_exact_sizes_and_proportional_classes():
    labels = np.repeat(np.arange(4), 25)
    split = stratified_split(labels, {"train": 80, "val": 10, "test": 10}, seed=0)
    assert Counter(split.tolist()) == {"train": 80, "val": 10, "test": 10}
    for name, share in (("train", 20), ("val", 2.5), ("test", 2.5)):
        per_class = np.bincount(labels[split == name], minlength=4)
        assert np.all(np.abs(per_class - share) <= 1)


def test_stratified_split_accepts_fractions():
    labels = np.repeat(np.arange(2), 50)
    split = stratified_split(labels, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
    assert Counter(split.tolist()) == {"train": 80, "val": 10, "test": 10}


def test_stratified_split_paper_style_jaffe_120_23_70_with_10_test_per_emotion():
    # JAFFE's class counts: AN 30, DI 29, FE 32, HA 31, NE 30, SA 31, SU 30 = 213.
    labels = np.repeat(np.arange(7), [30, 29, 32, 31, 30, 31, 30])
    split = stratified_split(labels, {"train": 120, "val": 23, "test": 70}, seed=0,
                             per_class_test=10)
    assert Counter(split.tolist()) == {"train": 120, "val": 23, "test": 70}
    assert np.bincount(labels[split == "test"]).tolist() == [10] * 7


def test_stratified_split_seed_changes_the_rows_not_the_sizes():
    labels = np.repeat(np.arange(3), 10)
    a = stratified_split(labels, {"train": 20, "test": 10}, seed=0)
    b = stratified_split(labels, {"train": 20, "test": 10}, seed=1)
    assert np.array_equal(a, stratified_split(labels, {"train": 20, "test": 10}, seed=0))
    assert not np.array_equal(a, b)


def test_stratified_split_rejects_sizes_that_do_not_add_up():
    with pytest.raises(ValueError, match="summing"):
        stratified_split([0, 1, 0, 1], {"train": 3, "test": 3})


def test_stratified_split_rejects_too_few_rows_for_per_class_test():
    with pytest.raises(ValueError, match="fewer than 3"):
        stratified_split([0, 0, 1, 1, 1], {"train": 2}, per_class_test=3)


def test_stratified_split_rejects_test_size_inconsistent_with_per_class_test():
    with pytest.raises(ValueError, match="per_class_test"):
        stratified_split(np.repeat([0, 1], 5), {"train": 5, "test": 5}, per_class_test=2)


def test_stratified_kfold_deals_every_row_to_one_fold_with_even_sizes_and_classes():
    labels = np.repeat(np.arange(3), [40, 13, 26])  # 79 rows, uneven classes
    folds = stratified_kfold(labels, k=10, seed=0)
    sizes = np.bincount(folds, minlength=10)
    assert sizes.sum() == 79 and sizes.max() - sizes.min() <= 1
    for c, total in enumerate((40, 13, 26)):
        per_fold = np.bincount(folds[labels == c], minlength=10)
        assert np.all(np.abs(per_fold - total / 10) <= 1)


def test_stratified_kfold_is_reproducible_from_the_seed():
    labels = np.repeat(np.arange(4), 20)
    a = stratified_kfold(labels, k=5, seed=0)
    assert np.array_equal(a, stratified_kfold(labels, k=5, seed=0))
    assert not np.array_equal(a, stratified_kfold(labels, k=5, seed=1))


@pytest.mark.parametrize("k", [1, 9])
def test_stratified_kfold_rejects_k_outside_two_to_number_of_rows(k):
    with pytest.raises(ValueError, match="between 2 and the number of rows"):
        stratified_kfold(np.arange(8) % 2, k=k)


@pytest.mark.parametrize("protocol", ["official", "stratified", "stratified-inner",
                                      "subject-kfold", "loso"])
def test_exactly_the_seeded_protocols_change_their_rows_with_the_seed(protocol):
    """Why it matters: seed studies compare runs on one split, and a card records the training
    seed as the protocol's seed, so ``SEEDED_PROTOCOLS`` says when that seed names the rows."""
    import torch

    from deep_emotion.data import FaceDataset
    from deep_emotion.experiment import PROTOCOLS, make_folds
    from deep_emotion.protocols import SEEDED_PROTOCOLS

    groups, labels = _subjects(n_subjects=20, per_class=2, n_classes=3)
    splits = np.array(["Training", "Training", "Training", "PublicTest", "PrivateTest"] * 24)
    data = FaceDataset(name="synthetic", images=torch.zeros(len(labels), 48, 48, dtype=torch.uint8),
                       labels=torch.as_tensor(labels), classes=("anger", "fear", "happiness"),
                       source="test", sha256="-", splits=splits, groups=groups)
    first, second = (make_folds(data, protocol, folds=5, seed=s) for s in (0, 1))
    same = all(np.array_equal(getattr(a, part), getattr(b, part))
               for a, b in zip(first, second) for part in ("train", "val", "test"))
    assert SEEDED_PROTOCOLS <= set(PROTOCOLS)
    assert same == (protocol not in SEEDED_PROTOCOLS)
