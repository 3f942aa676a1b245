"""The one emotion vocabulary every dataset and checkpoint maps into.

Each loader in ``deep_emotion.data`` maps its own label convention to these names in one
visible table, so heads trained on different datasets can be compared class by class.
"""

from __future__ import annotations

__all__ = ["EMOTIONS", "SYNONYMS", "DISPLAY_ORDER", "check_classes", "shared_classes",
           "emotion_from_name"]

# Alphabetical, so the vocabulary itself implies no dataset's order.
EMOTIONS: tuple[str, ...] = (
    "anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
)


# Names people give emotions in folder names and label lists -> the vocabulary's word.
SYNONYMS: dict[str, str] = {
    **{e: e for e in EMOTIONS},
    "angry": "anger", "mad": "anger", "contemptuous": "contempt", "disgusted": "disgust",
    "fearful": "fear", "afraid": "fear", "scared": "fear", "happy": "happiness", "joy": "happiness",
    "calm": "neutral", "sad": "sadness", "sorrow": "sadness", "surprised": "surprise",
}
# The order classes of a user's dataset take: FER2013's, then contempt (so a folder with
# FER2013's seven emotions numbers them as FER2013 and JAFFE do).
DISPLAY_ORDER: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise",
                                  "neutral", "contempt")


def emotion_from_name(name: str) -> str | None:
    """The vocabulary's word for a label or folder name (case-insensitive, usual synonyms), or
    None: ``"Happy"`` -> ``"happiness"``, ``"ANGRY"`` -> ``"anger"``, ``"cat"`` -> None."""
    return SYNONYMS.get(name.strip().lower())


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
