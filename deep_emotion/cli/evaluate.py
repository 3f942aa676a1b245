"""``deep-emotion evaluate --checkpoint C``: reproduce a card's test numbers from the shipped files."""

from __future__ import annotations

import argparse

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.cli import add_data_dir
from deep_emotion.predict import TTA_MODES

NAME = "evaluate"
HELP = "re-evaluate a checkpoint on its protocol's test split(s) and compare with its card"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir(parser)
    parser.add_argument("--checkpoint", required=True, help="name in checkpoints/ or a path")
    parser.add_argument("--tta", nargs="+", choices=TTA_MODES, default=list(TTA_MODES),
                        help="test-time augmentation modes (default: all)")


def run(args: argparse.Namespace) -> dict:
    from deep_emotion.experiment import evaluate_checkpoint

    return evaluate_checkpoint(load_checkpoint(args.checkpoint), args.data_dir, tuple(args.tta))


def render(result: dict) -> str:
    lines = [f"{result['checkpoint']} on {result['dataset']} ({result['protocol']})"]
    for mode, m in result["test"].items():
        extra = (f"  folds {m['fold_accuracy_mean']:.4f} +- {m['fold_accuracy_std']:.4f}"
                 if "fold_accuracy_mean" in m else "")
        card = result["card"].get(mode)
        lines.append(f"  tta={mode:8s} accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}"
                     f"{extra}  card {card if card is None else f'{card:.4f}'}")
    lines.append(f"  matches card: {result['matches_card']}")
    return "\n".join(lines)
