"""``deep-emotion export --checkpoint NAME --format onnx --out model.onnx``: a network for other
runtimes.

The checkpoint's predicting network, spatial transformer included, is written as an ONNX
graph (``deep_emotion.export``): input ``faces`` float32 (B, 1, S, S) as
``Preprocessing.to_input`` makes them, outputs ``logits`` (B, C) and ``theta`` (B, 2, 3); the
class names and preprocessing are in the file's metadata.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.export import EXPORT_FORMATS, INPUT_NAME, OUTPUT_NAMES, export_checkpoint

NAME = "export"
HELP = "write a checkpoint's network as an ONNX graph, spatial transformer included"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, help="name or path")
    # Checked in run(), not by argparse choices, so a wrong format is one line, exit status 2.
    parser.add_argument("--format", default=EXPORT_FORMATS[0],
                        help=f"one of: {', '.join(EXPORT_FORMATS)} (default {EXPORT_FORMATS[0]})")
    parser.add_argument("--out", type=Path, required=True, help="the file to write")


def run(args: argparse.Namespace) -> dict:
    if args.format not in EXPORT_FORMATS:
        raise ValueError(f"export format {args.format!r} is not supported; use one of "
                         f"{', '.join(EXPORT_FORMATS)}")
    ckpt = load_checkpoint(args.checkpoint)
    try:
        out = export_checkpoint(ckpt, args.out, args.format)
    except OSError as e:  # a folder that cannot be made or written: one line, not a traceback
        raise ValueError(f"{args.out}: cannot be written ({e.strerror or e})") from e
    size = ckpt.preprocessing.size
    return {"checkpoint": ckpt.name, "format": args.format, "out": str(out),
            "bytes": out.stat().st_size, "input": {INPUT_NAME: ["batch", 1, size, size]},
            "outputs": {OUTPUT_NAMES[0]: ["batch", len(ckpt.classes)],
                        OUTPUT_NAMES[1]: ["batch", 2, 3]},
            "classes": list(ckpt.classes), "preprocessing": ckpt.card["preprocessing"]}


def render(result: dict) -> str:
    pre = result["preprocessing"]
    return (f"{result['checkpoint']} -> {result['out']} ({result['format']}, "
            f"{result['bytes'] / 1024:.0f} KiB): input faces (batch, 1, {pre['size']}, "
            f"{pre['size']}) = (pixels / 255 - {pre['mean']}) / {pre['std']}; outputs logits "
            f"over {', '.join(result['classes'])} and theta (batch, 2, 3)")
