"""Train a shipped checkpoint (or any study run) again, from the recipe its card records.

    python scripts/replay.py NAME [NAME ...] [--dry-run]   # checkpoints/NAME.json
    python scripts/replay.py --all [--dry-run]             # every shipped checkpoint
    python scripts/replay.py docs/seeds/jaffe/jaffe_seed3.json --dry-run   # a study run

The card's ``training`` section is the recipe: every field of ``TrainConfig`` as the run used
it.  This script turns it into one ``deep-emotion train`` command with every field spelled out
(so a later change of a default cannot change a replay), prints it, and runs it unless
``--dry-run``.  The network is written to ``runs/candidates/NAME``; ``scripts/promote.py``
ships it (cross-validated checkpoints with ``--half``).  ``--all`` orders the checkpoints so
that a network used as another's ``init`` or ``teacher`` is trained first.

Replays need the datasets (``--data-dir`` or ``$DEEP_EMOTION_DATA``).  The same recipe on other
hardware or thread counts gives a network within seed noise of the shipped one, not bit for bit
the same weights.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Values of training fields added after some cards were written: what those runs used.
LEGACY = {"precision": "fp32", "vote_share": 0.0, "split_seed": None, "conv_weight_decay": 0.0}
KEY_VALUES = ("model", "augment")  # dict fields, passed as --model/--augment KEY=VALUE
LISTS = {"eval_tta": "--tta"}
FIRST = ("dataset", "protocol", "folds", "split_seed", "seed", "epochs")  # then alphabetical


def card_path(name: str) -> Path:
    """``NAME`` -> ``checkpoints/NAME.json``; a path to a ``.json`` card is taken as is."""
    path = Path(name)
    return path if path.suffix == ".json" else ROOT / "checkpoints" / f"{name}.json"


def recipe(card: dict) -> dict:
    """The card's training section, with fields it predates at the value its run used."""
    return LEGACY | card["training"]


def _flag(field: str, value) -> list[str]:
    if field in KEY_VALUES:
        items = [f"{k}={json.dumps(v)}" for k, v in sorted(value.items())]
        return [f"--{field}", *items] if items else []
    if field in LISTS:
        return [LISTS[field], *value]
    if value is None:
        return []  # None is every optional field's default, and has no spelling as a flag
    return [f"--{field.replace('_', '-')}", json.dumps(value) if isinstance(value, bool)
            else str(value)]


def train_argv(card: dict, out: Path) -> list[str]:
    """The ``deep-emotion train`` arguments that reproduce ``card``'s training config."""
    argv = ["train", "--out", str(out), "--quiet"]
    fields = recipe(card)
    for field in sorted(fields, key=lambda f: (FIRST.index(f) if f in FIRST else len(FIRST), f)):
        argv += _flag(field, fields[field])
    return argv


def shipped_in_training_order() -> list[str]:
    """Every shipped checkpoint, a network's ``init`` and ``teacher`` before it."""
    names = sorted(p.stem for p in (ROOT / "checkpoints").glob("*.json")
                   if not p.name.endswith(".analysis.json"))
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        training = json.loads(card_path(name).read_text())["training"]
        for parent in (training.get("init"), training.get("teacher")):
            if parent and Path(parent).name in names:
                visit(Path(parent).name)
        order.append(name)

    for name in names:
        visit(name)
    return order


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="shipped checkpoint names or card paths")
    p.add_argument("--all", action="store_true", help="every shipped checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    names = shipped_in_training_order() if args.all else args.names
    if not names:
        p.error("name a checkpoint, a card, or --all")
    for name in names:
        path = card_path(name)
        if not path.is_file():
            print(f"replay: no card {path}", file=sys.stderr)
            return 2
        command = ["deep-emotion", *train_argv(json.loads(path.read_text()),
                                               Path("runs/candidates") / path.stem)]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        print(shlex.join(command), flush=True)
        if not args.dry_run:
            done = subprocess.run([sys.executable, "-m", "deep_emotion.cli", *command[1:]],
                                  cwd=ROOT)
            if done.returncode:
                return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
