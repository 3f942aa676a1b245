"""``deep-emotion predict IMAGE...``: emotion probabilities for face images.

Until the face pipeline lands, each image is taken as a face crop: converted to grayscale and
resized to the checkpoint's input size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.predict import TTA_MODES, predict_proba

NAME = "predict"
HELP = "predict the emotion of face images"
DEFAULT_CHECKPOINT = "fer2013"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path, help="image files")
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, help="name or path")
    parser.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation")


def _read_crop(path: Path, size: int) -> torch.Tensor:
    try:
        with Image.open(path) as im:
            im = im.convert("L").resize((size, size), Image.Resampling.BILINEAR)
            return torch.from_numpy(np.asarray(im, dtype=np.uint8).copy())
    except (OSError, UnidentifiedImageError) as e:
        raise ValueError(f"{path}: cannot read as an image ({e})") from e


def run(args: argparse.Namespace) -> dict:
    ckpt = load_checkpoint(args.checkpoint)
    pre = ckpt.preprocessing
    faces = torch.stack([_read_crop(p, pre.size) for p in args.images])
    probs = predict_proba(ckpt.model, faces, pre, tta=args.tta)
    results = []
    for path, p in zip(args.images, probs):
        best = int(p.argmax())
        results.append({"image": str(path), "prediction": ckpt.classes[best],
                        "confidence": float(p[best]),
                        "probabilities": dict(zip(ckpt.classes, map(float, p)))})
    return {"checkpoint": ckpt.name, "tta": args.tta, "results": results}


def render(result: dict) -> str:
    return "\n".join(f"{r['image']}: {r['prediction']} ({r['confidence']:.1%})"
                     for r in result["results"])
