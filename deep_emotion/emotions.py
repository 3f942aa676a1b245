"""The one emotion vocabulary every dataset and checkpoint maps into.

Each loader in ``deep_emotion.data`` maps its own label convention to these names in one
visible table, so heads trained on different datasets can be compared class by class.
"""

from __future__ import annotations

__all__ = ["EMOTIONS", "check_classes", "shared_classes"]

# Alphabetical, so the vocabulary itself implies no dataset's order.
EMOTIONS: tuple[str, ...] = (
    "anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
)


def check_classes(classes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return ``classes`` as a tuple, or raise ValueError naming any name outside the vocabulary."""
    classes = tuple(classes)
    unknown = [c for c in classes if c not in EMOTIONS]
    if unknown:
        raise ValueError(f"unknown emotion names {unknown}; the vocabulary is {list(EMOTIONS)}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"duplicate class names in {list(classes)}")
    return classes


def shared_classes(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """Classes present in both heads, in ``a``'s order (for cross-dataset comparisons)."""
    return tuple(c for c in a if c in b)
