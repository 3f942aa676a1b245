"""The ``deep-emotion`` command: one module per subcommand, each parsing flags into a call.

Every subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> dict``; the returned dict is printed as JSON with ``--json`` and by the
module's optional ``render(result) -> str`` otherwise.  Domain errors (bad data, bad
checkpoint, bad image) become a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

__all__ = ["main", "COMMANDS"]

# Subcommand modules, in the order `deep-emotion --help` lists them.
COMMANDS = ["train", "evaluate", "predict", "faces", "info", "explain", "analyze", "export",
            "dashboard"]


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for a person (imported lazily: torch is slow)."""
    from deep_emotion.checkpoints import CheckpointError
    from deep_emotion.data import DatasetError
    from deep_emotion.faces import FaceImageError

    return CheckpointError, DatasetError, FaceImageError, FileNotFoundError, ValueError


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="datasets root laid out like fer2013/, ferplus/, ckplus/, jaffe/, "
                             "ferg/ (default: $DEEP_EMOTION_DATA)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deep-emotion",
                                     description="Deep-Emotion Lab: train, evaluate and explain "
                                                 "the attentional facial-expression network.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"deep_emotion.cli.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        add_common(p)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    module = args._module
    if extra and not getattr(module, "TAKES_EXTRA", False):  # only `dashboard` passes them on
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        result = module.run(args)
    except _user_errors() as e:
        message = f"deep-emotion {args.command}: error: {e}"
        if args.json:
            print(json.dumps({"error": str(e), "type": type(e).__name__}))
        print(message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deep-emotion {args.command}: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result, indent=1, default=_jsonable))
    elif result is not None:
        render = getattr(module, "render", None)
        print(render(result) if render else json.dumps(result, indent=1, default=_jsonable))
    return 0


def _jsonable(value):
    """numpy/torch scalars and arrays, and paths, as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)

