"""``deep-emotion train``: flags are the fields of ``TrainConfig``; the rest is ``run_training``.

Run it under ``torchrun --nproc_per_node N`` for data-parallel training; the command is the same.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import tokenize
import typing
from dataclasses import fields
from pathlib import Path

from deep_emotion.cli import add_data_dir
from deep_emotion.cli.sources import add_data_source, data_spec
from deep_emotion.train import TrainConfig

NAME = "train"
HELP = "train a network under a dataset protocol and write a checkpoint with its card"


def _flag_type(tp):
    """argparse type for a TrainConfig field type; ``X | None`` parses as X."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    base = args[0] if args else tp
    return base if base in (int, float) else str


def _bool(value: str) -> bool:
    # argparse's type=bool would turn any non-empty string, "false" included, into True.
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def _key_values(items: list[str], what: str) -> dict:
    """``["dropout=0.2", "layout=\"input_warp\""]`` -> dict; values parsed as JSON if they can be."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--{what} expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def field_comments(cls: type) -> dict[str, str]:
    """The comment written beside each field of a dataclass, continuation lines joined.

    ``TrainConfig`` documents its fields with trailing comments (as nanoGPT's config does), so
    the source stays the one place they are written and ``--help`` reads them from there.
    """
    names = {f.name for f in fields(cls)}
    comments: dict[str, list[str]] = {}
    current, line_start = None, True
    for tok in tokenize.generate_tokens(io.StringIO(inspect.getsource(cls)).readline):
        if tok.type == tokenize.NAME and line_start and tok.start[1] == 4:
            current = tok.string if tok.string in names else None  # a field, or a def
        elif tok.type == tokenize.COMMENT and current is not None:
            comments.setdefault(current, []).append(tok.string.lstrip("#").strip())
        elif tok.type == tokenize.NL and not tok.line.strip():
            current = None  # a blank line ends the field block
        line_start = tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)
    return {name: " ".join(parts) for name, parts in comments.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir(parser)
    parser.add_argument("--out", required=True, type=Path,
                        help="checkpoint path without suffix, e.g. checkpoints/fer2013")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="resume state and metrics.jsonl (default: runs/<out name>)")
    parser.add_argument("--config", type=Path,
                        help="JSON file of TrainConfig fields; flags override it")
    hints, comments = typing.get_type_hints(TrainConfig), field_comments(TrainConfig)
    for f in fields(TrainConfig):
        if f.name in ("model", "augment", "eval_tta"):
            continue
        flag = "--" + f.name.replace("_", "-")
        tp = hints[f.name]
        kind = _bool if tp is bool else _flag_type(tp)
        note = comments.get(f.name, "").replace("%", "%%")  # argparse formats help with %
        parser.add_argument(flag, type=kind, default=None,
                            help=f"{note} (default: {f.default})".lstrip())
    parser.add_argument("--model", nargs="*", metavar="KEY=VALUE",
                        help="DeepEmotionConfig overrides, e.g. dropout=0.2 layout=input_warp")
    parser.add_argument("--augment", nargs="*", metavar="KEY=VALUE",
                        help="AugmentConfig overrides, e.g. rotate_deg=15 erase=0")
    parser.add_argument("--tta", nargs="*", help="test-time augmentation modes to report")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_data_source(parser, "train on your own labelled folder:PATH or csv:FILE (same as "
                            "--dataset; fine-tune a shipped network with --init fer2013)")


def read_config(path: Path) -> dict:
    """TrainConfig fields from a JSON object in ``path``."""
    values = json.loads(path.read_text())
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a JSON object of training options")
    return values


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = read_config(args.config) if args.config else {}
    for f in fields(TrainConfig):
        v = getattr(args, f.name, None)
        if v is not None and f.name not in ("model", "augment"):
            values[f.name] = v
    values["model"] = {**values.get("model", {}), **_key_values(args.model, "model")}
    values["augment"] = {**values.get("augment", {}), **_key_values(args.augment, "augment")}
    if args.tta:
        values["eval_tta"] = tuple(args.tta)
    spec = data_spec(args)
    if spec is not None:
        values["dataset"] = spec
    return TrainConfig.from_dict(values)


def run(args: argparse.Namespace) -> dict:
    from deep_emotion.experiment import run_training

    cfg = config_from_args(args)
    run_dir = args.run_dir or Path("runs") / args.out.name
    card = run_training(cfg, args.data_dir, args.out, run_dir, progress=not args.quiet)
    return {"checkpoint": str(args.out), "metrics": {
        split: {m: v["accuracy"] for m, v in by.items()} for split, by in card["metrics"].items()}}
