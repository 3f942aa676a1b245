"""Evaluation protocols: which rows train, select and test, as plain arrays.

Each helper takes per-row labels and/or group ids (the subject or character) and returns one
value per row: a fold id (``subject_kfold``, ``leave_one_group_out``) or a split name
(``stratified_split``).  Everything is a pure function of its arguments and ``seed``, so a
checkpoint card that records the protocol and the seed reproduces its rows exactly.

Subject independence matters because consecutive frames or several poses of one person are
near-duplicates: when one person sits on both sides of a split, accuracy measures recognition
of that person, not of the expression (CK+: three frames per sequence; JAFFE: 2-4 poses per
expression per subject).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["subject_kfold", "leave_one_group_out", "stratified_split", "stratified_kfold",
           "SEEDED_PROTOCOLS"]

# The protocols whose rows depend on the seed (``deep_emotion.experiment.make_folds``).  The
# others give the same rows for every seed ("official": the published split; "loso": one fold
# per subject), so runs with different training seeds share their split whatever seed their
# card records.
SEEDED_PROTOCOLS = frozenset({"stratified", "stratified-inner", "subject-kfold"})


def _as_codes(values: Sequence | np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(unique values sorted, per-row index into them); ValueError when empty."""
    values = np.asarray(values)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"{what} must be a non-empty 1-D sequence, got shape {values.shape}")
    return np.unique(values, return_inverse=True)


def subject_kfold(groups: Sequence | np.ndarray, labels: Sequence | np.ndarray, k: int,
                  seed: int = 0) -> np.ndarray:
    """Subject-independent k-fold cross-validation folds.

    Every row of a group (subject) lands in the same fold.  Groups are placed greedily, largest
    first (ties in a seeded random order), each into the fold whose per-class counts move
    closest to the ideal ``class_total / k``, so folds come out balanced in size and class mix
    as far as whole subjects allow.

    Args:
        groups: (N,) group id per row (any hashable numpy-compatible values).
        labels: (N,) integer or string class per row.
        k: number of folds, 2 <= k <= number of groups.
        seed: orders groups of equal size; the same seed gives the same folds.

    Returns:
        int64 (N,) fold id in ``0..k-1`` per row; every fold is non-empty.

    Raises:
        ValueError: on length mismatch or k outside 2..number of groups.
    """
    group_names, g = _as_codes(groups, "groups")
    _, y = _as_codes(labels, "labels")
    if len(g) != len(y):
        raise ValueError(f"groups has {len(g)} rows, labels has {len(y)}")
    n_groups, n_classes = len(group_names), int(y.max()) + 1
    if not 2 <= k <= n_groups:
        raise ValueError(f"k must be between 2 and the number of groups ({n_groups}), got {k}")

    # (G, C) class counts per group, and the per-fold target for each class.
    per_group = np.zeros((n_groups, n_classes), dtype=np.int64)
    np.add.at(per_group, (g, y), 1)
    target = per_group.sum(0) / k

    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(n_groups)
    order = np.lexsort((tiebreak, -per_group.sum(1)))  # largest group first

    fold_counts = np.zeros((k, n_classes), dtype=np.float64)
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    for gi in order:
        # How much adding this group raises each fold's squared distance to the ideal class
        # counts; the size term keeps folds even when classes alone cannot tell them apart.
        best = int(np.argmin(_excess(fold_counts + per_group[gi], target)
                             - _excess(fold_counts, target)))
        fold_of_group[gi] = best
        fold_counts[best] += per_group[gi]
    return fold_of_group[g]


def _excess(counts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(k, C) fold class counts -> (k,) squared distance to the per-class and size targets."""
    return ((counts - target) ** 2).sum(1) + (counts.sum(1) - target.sum()) ** 2


def leave_one_group_out(groups: Sequence | np.ndarray) -> np.ndarray:
    """One fold per group (leave-one-subject-out): fold i holds the i-th group in sorted order.

    Args:
        groups: (N,) group id per row.

    Returns:
        int64 (N,) fold id per row, ``0..G-1`` where G is the number of distinct groups.
    """
    _, g = _as_codes(groups, "groups")
    return g.astype(np.int64)


def _counts_from_sizes(sizes: Mapping[str, float], n: int) -> dict[str, int]:
    """Absolute split sizes from counts (summing to n) or fractions (summing to 1)."""
    values = np.array(list(sizes.values()), dtype=np.float64)
    if (values < 0).any():
        raise ValueError(f"split sizes must be non-negative, got {dict(sizes)}")
    if all(float(v).is_integer() and v >= 1 or v == 0 for v in values) and values.sum() == n:
        return {name: int(v) for name, v in sizes.items()}
    if abs(values.sum() - 1.0) < 1e-9:
        # Largest remainder, so the counts add up to n exactly.
        raw = values * n
        counts = np.floor(raw).astype(np.int64)
        counts[np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]] += 1
        return dict(zip(sizes, counts.tolist()))
    raise ValueError(f"split sizes must be counts summing to {n} rows or fractions summing to 1, "
                     f"got {dict(sizes)}")


def stratified_split(labels: Sequence | np.ndarray, sizes: Mapping[str, float], seed: int = 0,
                     per_class_test: int | None = None, test_name: str = "test") -> np.ndarray:
    """A random split that keeps every class's share the same in every split.

    Rows are shuffled within each class and interleaved so each class is spread evenly along
    the order, then the order is cut into consecutive blocks of the requested sizes: split sizes
    come out exact and each class's count in a split is within one of its proportional share.

    Args:
        labels: (N,) class per row.
        sizes: split name -> row count (the counts must add up to N) or fraction (summing to 1),
            in the order the blocks are cut, e.g. ``{"train": 120, "val": 23, "test": 70}``.
        seed: the same seed gives the same split.
        per_class_test: when given, ``test_name`` gets exactly this many rows of every class
            (the paper-style JAFFE split: 10 test images per emotion) and the other splits
            share the rest stratified.  ``sizes[test_name]``, if present, must equal
            ``per_class_test * number of classes``.
        test_name: which split ``per_class_test`` fills.

    Returns:
        (N,) array of split names (str), one per row.

    Raises:
        ValueError: on sizes that do not add up, or a class with fewer than ``per_class_test``
            rows.

    Examples::

        >>> stratified_split([0, 0, 1, 1], {"train": 2, "test": 2}, seed=0).tolist().count("test")
        2
    """
    classes, y = _as_codes(labels, "labels")
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), dtype=object)
    rest, sizes = np.arange(len(y)), dict(sizes)
    if per_class_test is not None:
        rest, sizes = _fixed_test_rows(y, classes, sizes, per_class_test, test_name, rng, out)
    counts = _counts_from_sizes(sizes, len(rest))
    order = rest[np.argsort(_interleaving_key(y[rest], rng), kind="stable")]
    start = 0
    for name, count in counts.items():
        out[order[start:start + count]] = name
        start += count
    return out.astype(str)


def _fixed_test_rows(y: np.ndarray, classes: np.ndarray, sizes: dict, per_class: int,
                     test_name: str, rng: np.random.Generator,
                     out: np.ndarray) -> tuple[np.ndarray, dict]:
    """Mark ``per_class`` random rows of every class as ``test_name`` in ``out``; return the
    rows left and the other splits' sizes (fractions below 1 rescaled to sum to 1)."""
    n_classes = len(classes)
    counts = np.bincount(y, minlength=n_classes)
    short = [str(c) for c, m in zip(classes, counts) if m < per_class]
    if short:
        raise ValueError(f"classes {short} have fewer than {per_class} rows")
    test_total = per_class * n_classes
    if sizes.setdefault(test_name, test_total) != test_total:
        raise ValueError(f"{test_name} size {sizes[test_name]} != per_class_test "
                         f"{per_class} x {n_classes} classes = {test_total}")
    for c in range(n_classes):
        out[rng.choice(np.flatnonzero(y == c), size=per_class, replace=False)] = test_name
    sizes = {k: v for k, v in sizes.items() if k != test_name}
    if all(isinstance(v, float) and v < 1 for v in sizes.values()):
        total = sum(sizes.values())
        sizes = {k: v / total for k, v in sizes.items()}
    return np.flatnonzero(out == None), sizes  # noqa: E711 - elementwise on an object array


def _interleaving_key(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N,) sort key spreading every class evenly along [0, 1): the row at random rank r of
    its class's m rows sits at (r + u) / m, with one random offset u per class."""
    key = np.empty(len(y))
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        key[idx] = (rng.permutation(len(idx)) + rng.random()) / len(idx)
    return key


def stratified_kfold(labels: Sequence | np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Random k-fold cross-validation folds that keep every class's share the same in each fold.

    Each class's rows, in a seeded random order, are dealt to the folds in turn, the next class
    continuing where the last one stopped, so fold sizes differ by at most one and each class's
    count in a fold is within one of ``class_total / k``.  Unlike ``subject_kfold`` it ignores
    who is in the picture: it reproduces the paper-style random split's conditions inside a pool
    of rows (recipe selection on the train and validation rows of ``stratified_split``, never
    its test rows).

    Args:
        labels: (N,) class per row.
        k: number of folds, 2 <= k <= N.
        seed: the same seed gives the same folds.

    Returns:
        int64 (N,) fold id in ``0..k-1`` per row.

    Raises:
        ValueError: k outside 2..N.
    """
    _, y = _as_codes(labels, "labels")
    if not 2 <= k <= len(y):
        raise ValueError(f"k must be between 2 and the number of rows ({len(y)}), got {k}")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)])
    folds = np.empty(len(y), dtype=np.int64)
    folds[order] = np.arange(len(y)) % k
    return folds
