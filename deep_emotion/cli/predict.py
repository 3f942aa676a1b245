"""``deep-emotion predict IMAGE...``: the emotion of every face in photos.

Each photo goes through ``deep_emotion.photo.read_photo`` (the one-call photo API): the face
path (safe decoding, detection, eyes levelled and cropped to FER2013's framing at the
checkpoint's input size), then ``predict_proba``.  One result per face, largest first, with
its box.  ``--no-detect`` takes the whole image as the face (for photos that already are face
crops, or where no face is found).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.cli import predict_video
from deep_emotion.cli.faces import image_summary
from deep_emotion.faces import ALIGNMENT_NAME
from deep_emotion.photo import read_photo
from deep_emotion.predict import TTA_MODES
from deep_emotion.runtime import RUNTIMES, accelerate

NAME = "predict"
HELP = "predict the emotion of every face in photos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path,
                        help="photos or face crops; with --out also folders and globs; or one "
                             "video (MP4, MOV, WebM, AVI) with --out for its timeline")
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, help="name or path")
    parser.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation")
    parser.add_argument("--no-detect", action="store_true",
                        help="use the whole image as the face (no detection)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write one row per face to this .csv or .parquet (resumes: files "
                             "already in it are skipped); runs under torchrun too")
    parser.add_argument("--quiet", action="store_true", help="with --out: no progress bar")
    parser.add_argument("--runtime", choices=RUNTIMES, default=RUNTIMES[0],
                        help="what runs the network for --out tables and videos: ONNX Runtime "
                             "(faster, same results; PyTorch when it is not installed) or "
                             "PyTorch")
    predict_video.add_arguments(parser)


def run(args: argparse.Namespace) -> dict:
    if predict_video.wants_video(args):
        return predict_video.run(args)
    if args.annotate is not None:
        raise ValueError("--annotate draws on a video; photos are drawn by the dashboard's "
                         "Explain page")
    ckpt = load_checkpoint(args.checkpoint)
    if args.out is not None:
        from deep_emotion.batch import run_batch

        return run_batch(args.images, args.out, accelerate(ckpt, args.runtime), tta=args.tta,
                         detect=not args.no_detect, progress=not args.quiet)
    images, results = [], []
    for path in args.images:
        reading = read_photo(path, ckpt, methods=(), detect=not args.no_detect, tta=args.tta)
        images.append(image_summary(path, reading.photo))
        for i, face in enumerate(reading.faces):
            where = {"face": None, "box": None} if face.face is None else \
                {"face": i, **face.face.to_dict()}
            results.append({"image": str(path), **where, "prediction": face.prediction,
                            "confidence": face.confidence, "probabilities": face.probabilities})
    out = {"checkpoint": ckpt.name, "tta": args.tta, "detect": not args.no_detect,
           "images": images, "results": results}
    framing = ckpt.preprocessing.name
    if framing != ALIGNMENT_NAME:
        out["warning"] = (f"checkpoint expects {framing!r} faces; photos are cropped as "
                          f"{ALIGNMENT_NAME!r}")
    return out


def render(result: dict) -> str:
    if "clip" in result:
        return predict_video.render(result)
    if "out" in result:
        from deep_emotion.batch import render_batch

        return render_batch(result)
    lines = []
    for image in result["images"]:
        faces = [r for r in result["results"] if r["image"] == image["image"]]
        if not faces:
            lines.append(f"{image['image']}: {image['message']}")
        for r in faces:
            where = "whole image" if r["box"] is None else \
                "face {} at x={} y={} w={} h={}".format(r["face"] + 1, *r["box"])
            lines.append(f"{r['image']} ({where}): {r['prediction']} ({r['confidence']:.1%})")
    if "warning" in result:
        lines.append(f"warning: {result['warning']}")
    return "\n".join(lines)
