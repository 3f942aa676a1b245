"""``deep-emotion evaluate --checkpoint C``: reproduce a card's test numbers from the shipped files."""

from __future__ import annotations

import argparse

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.cli import add_data_dir
from deep_emotion.cli.sources import add_data_source, data_spec
from deep_emotion.predict import TTA_MODES

NAME = "evaluate"
HELP = "re-evaluate a checkpoint on its protocol's test split(s) and compare with its card"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir(parser)
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                        help=f"name in checkpoints/ or a path (default: {DEFAULT_CHECKPOINT})")
    parser.add_argument("--tta", nargs="+", choices=TTA_MODES, default=list(TTA_MODES),
                        help="test-time augmentation modes (default: all)")
    add_data_source(parser, "evaluate on this dataset instead of the card's test split: a "
                            "dataset name, or your own labelled folder:PATH or csv:FILE "
                            "(over the classes the network and the data share)")


def run(args: argparse.Namespace) -> dict:
    from deep_emotion.experiment import evaluate_checkpoint, evaluate_on_data

    spec = data_spec(args)
    ckpt = load_checkpoint(args.checkpoint)
    if spec is not None:
        from deep_emotion.data import load_dataset

        return evaluate_on_data(ckpt, load_dataset(spec, args.data_dir), tuple(args.tta))
    return evaluate_checkpoint(ckpt, args.data_dir, tuple(args.tta))


def render(result: dict) -> str:
    lines = [f"{result['checkpoint']} on {result['dataset']} ({result['protocol']})"]
    for mode, m in result["test"].items():
        extra = (f"  folds {m['fold_accuracy_mean']:.4f} +- {m['fold_accuracy_std']:.4f}"
                 if "fold_accuracy_mean" in m else "")
        card = result["card"].get(mode)
        against = "" if "shared_classes" in result else \
            f"  card {card if card is None else f'{card:.4f}'}"
        lines.append(f"  tta={mode:8s} accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}"
                     f"{extra}{against}")
    if "shared_classes" in result:
        left = result["left_out"]
        lines.append(f"  shared classes: {', '.join(result['shared_classes'])}; left out: "
                     f"dataset {left['dataset_classes'] or 'none'} ({left['dataset_rows']} rows),"
                     f" network {left['network_classes'] or 'none'}")
        if "manifest" in result:
            m = result["manifest"]
            lines.append(f"  {m['faces_used']} faces from {m['files']} files; unreadable "
                         f"{m['unreadable']}, no face {m['no_face']}, several faces "
                         f"{m['several_faces']}, skipped {m['skipped']} (see {m['manifest']})")
        return "\n".join(lines)
    lines.append(f"  matches card: {result['matches_card']}")
    return "\n".join(lines)
