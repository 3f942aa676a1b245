"""The ``--data`` flags shared by commands that take a user's labelled files.

``--data folder:PATH`` or ``--data csv:FILE`` (plus ``--aligned`` and ``--classes``) become
one source spec (``deep_emotion.data.userdata``), which ``load_dataset`` accepts.
"""

from __future__ import annotations

import argparse

__all__ = ["add_data_source", "data_spec"]


def add_data_source(parser: argparse.ArgumentParser, help_: str) -> None:
    parser.add_argument("--data", default=None, metavar="folder:PATH|csv:FILE", help=help_)
    parser.add_argument("--aligned", action="store_true",
                        help="with --data: the images are face crops already (no detection)")
    parser.add_argument("--classes", default=None, metavar="A,B,...",
                        help="with --data csv: the class order integer labels index, e.g. "
                             "neutral,happy,sad,surprise,fear,disgust,anger,contempt")


def data_spec(args: argparse.Namespace) -> str | None:
    """The canonical spec of ``--data`` (None without it); a registered name passes through."""
    from deep_emotion.data import userdata

    if args.data is None:
        if args.aligned or args.classes:
            raise ValueError("--aligned and --classes go with --data folder:PATH or csv:FILE")
        return None
    if not userdata.is_user_spec(args.data):
        if args.aligned or args.classes:
            raise ValueError(f"--aligned and --classes apply to folder:/csv: data, not "
                             f"{args.data!r}")
        return args.data
    kind, path, options = userdata.parse_spec(args.data)
    aligned = args.aligned or options.get("aligned") == "1"
    return userdata.make_spec(kind, path, aligned=aligned,
                              classes=args.classes or options.get("classes"))
