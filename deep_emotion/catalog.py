"""Where checkpoints live and which exist, without importing torch.

Listing and resolving checkpoint names only touches the file system, so it lives apart from
``deep_emotion.checkpoints`` (which loads weights and therefore torch, 2-3 s on a busy CPU):
the dashboard draws its frame and checkpoint picker from here before the model stack loads.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CHECKPOINTS_ENV", "DEFAULT_CHECKPOINT", "CheckpointError", "checkpoint_dir",
           "list_checkpoints", "resolve"]

CHECKPOINTS_ENV = "DEEP_EMOTION_CHECKPOINTS"
# The network every command and page uses when none is named: the most accurate shipped
# 7-class network for everyday photos (docs/RESULTS.md says how it was chosen).
DEFAULT_CHECKPOINT = "fer2013"


class CheckpointError(Exception):
    """A checkpoint is missing, corrupted, or its card does not match its weights."""


def checkpoint_dir() -> Path:
    """The shipped checkpoints folder (``checkpoints/`` beside the package) or $DEEP_EMOTION_CHECKPOINTS."""
    env = os.environ.get(CHECKPOINTS_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "checkpoints"


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
    raise CheckpointError(f"no checkpoint {str(name_or_path)!r} (looked for {p}.json and "
                          f"{shipped}.json); available: {list_checkpoints() or 'none'}")
