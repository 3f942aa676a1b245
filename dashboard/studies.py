"""Where the studies behind the shipped recipes live (``docs/``), and the studies as the Model
card and ``scripts/report.py`` show them: the core (``deep_emotion/studies.py``) reads the
run cards and chooses each study's winner; this module points it at ``docs/`` and adds each
recipe's change in words (``wording.describe``).
"""

from __future__ import annotations

from pathlib import Path

from dashboard.wording import describe
from deep_emotion import studies as core
from deep_emotion.catalog import checkpoint_dir
from deep_emotion.studies import (RECIPE_RULE, changes, faces_right, read_cards, seed_study,
                                  selected_epoch)

__all__ = ["docs_dir", "seed_studies_dir", "recipe_studies_dir", "seed_study", "seed_study_of",
           "recipe_study", "recipe_study_of", "changes", "faces_right", "read_cards",
           "selected_epoch", "RECIPE_RULE"]


def docs_dir() -> Path:
    """``docs/`` beside the shipped checkpoints folder."""
    return checkpoint_dir().parent / "docs"


def seed_studies_dir() -> Path:
    return docs_dir() / "seeds"


def recipe_studies_dir() -> Path:
    return docs_dir() / "recipes"


def seed_study_of(weights_sha256: str, root: Path | None = None) -> dict | None:
    """``deep_emotion.studies.seed_study_of`` over ``docs/seeds`` unless told otherwise."""
    return core.seed_study_of(weights_sha256, root or seed_studies_dir())


def _in_words(study: dict | None) -> dict | None:
    if study is not None:
        for run in study["runs"]:
            run["change"] = describe(run["changes"])
    return study


def recipe_study(folder: Path, baseline: str | None = None) -> dict:
    """``deep_emotion.studies.recipe_study``, each run with its ``change`` in words."""
    return _in_words(core.recipe_study(folder, baseline))


def recipe_study_of(card: dict, root: Path | None = None) -> dict | None:
    """``deep_emotion.studies.recipe_study_of`` over ``docs/recipes`` unless told otherwise,
    each run with its ``change`` in words."""
    return _in_words(core.recipe_study_of(card, root or recipe_studies_dir()))
