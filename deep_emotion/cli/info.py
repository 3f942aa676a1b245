"""``deep-emotion info CHECKPOINT``: what a checkpoint is, from its card."""

from __future__ import annotations

import argparse

from deep_emotion.catalog import DEFAULT_CHECKPOINT, list_checkpoints
from deep_emotion.checkpoints import card_summary, load_checkpoint

NAME = "info"
HELP = "describe a checkpoint (architecture, classes, dataset, protocol, metrics)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?",
                        help="name in checkpoints/ or a path; omit to list them and the default")


def run(args: argparse.Namespace) -> dict:
    if not args.checkpoint:
        return {"checkpoints": list_checkpoints(), "default": DEFAULT_CHECKPOINT}
    ckpt = load_checkpoint(args.checkpoint)  # loading validates the card against the weights
    return card_summary(ckpt.card) | {"path": str(ckpt.path)}


def render(result: dict) -> str:
    if "checkpoints" in result:
        marked = [f"{n}  (default)" if n == result["default"] else n for n in result["checkpoints"]]
        return "\n".join(marked) or "no checkpoints"
    lines = [f"{result['name']}  ({result['path']})",
             f"  parameters: {result['parameters']:,}  networks: {result['networks']}",
             f"  classes:    {', '.join(result['classes'])}",
             f"  dataset:    {result.get('dataset')}",
             f"  protocol:   {result.get('protocol')}"]
    for split, by_tta in (result.get("metrics") or {}).items():
        accs = ", ".join(f"{tta} {acc:.4f}" for tta, acc in by_tta.items() if acc is not None)
        lines.append(f"  {split}: {accs}")
    return "\n".join(lines)
