"""What the frame needs before the model stack is imported: the checkpoint names.

Importing ``deep_emotion`` imports torch (2-3 s on a busy CPU), so the frame and the first
widgets are drawn from here and the heavy modules load after them.  ``checkpoint_dir`` follows
``deep_emotion.checkpoints.checkpoint_dir`` (a test checks they agree).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["checkpoint_dir", "checkpoint_names"]

CHECKPOINTS_ENV = "DEEP_EMOTION_CHECKPOINTS"
ROOT = Path(__file__).resolve().parent.parent


def checkpoint_dir() -> Path:
    env = os.environ.get(CHECKPOINTS_ENV)
    return Path(env) if env else ROOT / "checkpoints"


def checkpoint_names() -> list[str]:
    """Checkpoints with both a card and weights, as ``deep_emotion.checkpoints.list_checkpoints``."""
    folder = checkpoint_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json")
                  if not p.name.endswith(".analysis.json") and p.with_suffix(".safetensors").is_file())
