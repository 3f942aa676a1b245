"""Where checkpoints live and which exist, without importing torch.

Listing and resolving checkpoint names only touches the file system, so it lives apart from
``deep_emotion.checkpoints`` (which loads weights and therefore torch, 2-3 s on a busy CPU):
the dashboard draws its frame and checkpoint picker from here before the model stack loads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["CHECKPOINTS_ENV", "DEFAULT_CHECKPOINT", "CARD_FORMAT", "CheckpointError",
           "checkpoint_dir", "list_checkpoints", "resolve", "read_card"]

CHECKPOINTS_ENV = "DEEP_EMOTION_CHECKPOINTS"
# The network every command and page uses when none is named: the most accurate shipped
# 7-class network for everyday photos (docs/RESULTS.md says how it was chosen).
DEFAULT_CHECKPOINT = "fer2013_res_sqrt"
# The checkpoints' folder inside an installed package (written by setup.py's build step).
PACKAGED_DIR = "networks"
CARD_FORMAT = "deep-emotion-card/1"


class CheckpointError(Exception):
    """A checkpoint is missing, corrupted, or its card does not match its weights."""


def checkpoint_dir() -> Path:
    """The shipped checkpoints folder: $DEEP_EMOTION_CHECKPOINTS when set; else
    ``deep_emotion/networks/`` inside an installed package (``setup.py`` copies the
    repository's ``checkpoints/`` there when it builds a wheel); else, in a clone or an
    editable install, ``checkpoints/`` beside the package."""
    env = os.environ.get(CHECKPOINTS_ENV)
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent
    packaged = package / PACKAGED_DIR
    return packaged if packaged.is_dir() else package.parent / "checkpoints"


def list_checkpoints(folder: Path | None = None) -> list[str]:
    """Names of the checkpoints in ``folder`` that have both a card and weights.

    ``NAME.analysis.json`` files sit beside the cards; they have no ``.safetensors`` twin
    and so never count as checkpoints.
    """
    folder = folder or checkpoint_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.with_suffix(".safetensors").is_file())


def resolve(name_or_path: str | Path) -> Path:
    """``NAME``, ``NAME.json``, ``NAME.safetensors`` or a path -> the path without suffix."""
    p = Path(name_or_path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    if p.with_suffix(".json").is_file():
        return p
    shipped = checkpoint_dir() / p.name
    if len(p.parts) == 1 and shipped.with_suffix(".json").is_file():
        return shipped
    available = list_checkpoints()
    hint = "" if available else f" (set ${CHECKPOINTS_ENV} to a folder of NAME.json + " \
                                "NAME.safetensors checkpoints)"
    raise CheckpointError(f"no checkpoint {str(name_or_path)!r} (looked for {p}.json and "
                          f"{shipped}.json); available: {available or 'none'}{hint}")


def read_card(name_or_path: str | Path) -> dict:
    """The card of a checkpoint, checked for the fields every consumer relies on (format,
    config, classes, preprocessing); JSON only, so describing a checkpoint needs no torch.

    Raises:
        CheckpointError: no such checkpoint, an unreadable card, or a missing field.
    """
    card_path = resolve(name_or_path).with_suffix(".json")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{card_path}: unreadable card ({e})") from e
    if card.get("format") != CARD_FORMAT:
        raise CheckpointError(f"{card_path}: format {card.get('format')!r}, expected {CARD_FORMAT!r}")
    for key in ("config", "classes", "preprocessing"):
        if key not in card:
            raise CheckpointError(f"{card_path}: card has no {key!r}")
    return card
