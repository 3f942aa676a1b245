"""``deep-emotion explain IMAGE``: attribution maps of one face, as JSON or an ``.npz``.

The image goes through the face path (``deep_emotion.faces.read_faces``: decode, detect, align
to FER2013's framing at the checkpoint's size; the largest face is explained).  A photo without
a face is an error that names ``--no-detect``: explaining the whole image is a choice the user
makes, never a silent fallback.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.explain import (BASELINES, METHODS, OCCLUSION_STRIDE, OCCLUSION_WINDOW,
                                  explain_face, region_layout, region_scores)
from deep_emotion.faces import read_faces

NAME = "explain"
HELP = "explain the emotion predicted for a face image with attribution maps"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="image file (a photo or a face crop)")
    parser.add_argument("--method", action="append", choices=sorted(METHODS), default=None,
                        help="attribution method; repeat for several (default: occlusion)")
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, help="name or path")
    parser.add_argument("--target", default=None,
                        help="class name or index to explain (default: the predicted class)")
    parser.add_argument("--window", type=int, default=OCCLUSION_WINDOW,
                        help="occlusion window side (px)")
    parser.add_argument("--stride", type=int, default=OCCLUSION_STRIDE,
                        help="occlusion stride (px), at most the window")
    parser.add_argument("--baseline", choices=BASELINES, default=BASELINES[0],
                        help="what an occluded patch is filled with")
    parser.add_argument("--no-detect", action="store_true",
                        help="take the whole image as the face (already-cropped faces)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the face and the maps to this .npz (map_<method> arrays)")


def _target(value: str | None) -> int | str | None:
    """A class index given as digits, else a class name (or None)."""
    return int(value) if value is not None and value.isdigit() else value


def run(args: argparse.Namespace) -> dict:
    ckpt = load_checkpoint(args.checkpoint)
    size = ckpt.preprocessing.size
    photo = read_faces(args.image, size=size, detect=not args.no_detect)
    if not photo.crops:
        raise ValueError(f"{args.image}: no face found; --no-detect explains the whole image")
    framing = "detected face (largest)" if photo.detection_ran else "whole image"
    face = photo.crops[0]
    result = explain_face(ckpt, face, args.method or ["occlusion"], _target(args.target),
                          window=args.window, stride=args.stride, baseline=args.baseline)
    layout = region_layout(size=size)
    out = {"image": str(args.image), "checkpoint": ckpt.name, "face": framing,
           "prediction": result.classes[result.prediction], "methods": {}}
    for method, ex in result.maps.items():
        scores = region_scores(ex.map, layout)
        entry = {**ex.meta, "regions": {k: round(float(v), 4) for k, v in scores.items()}}
        if args.out is None:
            entry["map"] = np.round(ex.map, 6).tolist()
        out["methods"][method] = entry
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.out, face=face,
                            **{f"map_{m.replace('-', '_')}": ex.map for m, ex in result.maps.items()})
        out["out"] = str(args.out)
    return out


def render(result: dict) -> str:
    lines = [f"{result['image']} ({result['face']}), checkpoint {result['checkpoint']}: "
             f"prediction {result['prediction']}"]
    for method, entry in result["methods"].items():
        top = sorted(((v, k) for k, v in entry["regions"].items() if k != "other"), reverse=True)
        regions = ", ".join(f"{k} {v:.0%}" for v, k in top[:3])
        lines.append(f"  {method:>15}: {entry['target']} (p={entry['probability']:.2f}); "
                     f"strongest regions: {regions}")
    if "out" in result:
        lines.append(f"maps written to {result['out']}")
    return "\n".join(lines)
