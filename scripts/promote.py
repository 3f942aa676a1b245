"""Promote a training candidate to a shipped checkpoint.

    python scripts/promote.py CANDIDATE NAME [--half]

Copies ``runs/candidates/CANDIDATE.{safetensors,json}`` to ``checkpoints/NAME.*``.  With
``--half`` (used for cross-validation checkpoints, which hold one network per fold, about 3 MB
in float32 for ten folds) the weights are stored as float16, half the size; the card's test
metrics are then recomputed from the stored weights with the same code as
``deep-emotion evaluate`` (so the shipped files reproduce the card exactly), and the float32
numbers computed at training time are kept under ``metrics_float32``.  Stale precomputed
analyses of NAME are removed.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from deep_emotion.checkpoints import CARD_FORMAT, _sha256, load_checkpoint
from deep_emotion.experiment import evaluate_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("candidate")
    p.add_argument("name")
    p.add_argument("--half", action="store_true")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    src = ROOT / "runs" / "candidates" / args.candidate
    dst = ROOT / "checkpoints" / args.name
    card = json.loads(src.with_suffix(".json").read_text())
    card["name"] = args.name
    for stale in dst.parent.glob(f"{args.name}.analysis*"):
        stale.unlink()
    weights = dst.with_suffix(".safetensors")
    if args.half:
        tensors = {k: v.half() if v.is_floating_point() else v
                   for k, v in load_file(str(src.with_suffix(".safetensors"))).items()}
        save_file(tensors, str(weights), metadata={"format": CARD_FORMAT})
        card["weights_dtype"] = "float16"
    else:
        shutil.copyfile(src.with_suffix(".safetensors"), weights)
    card["weights_sha256"] = _sha256(weights)
    dst.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
    if args.half:
        result = evaluate_checkpoint(load_checkpoint(dst), args.data_dir,
                                     tuple(card["metrics"]["test"]))
        card["metrics_float32"] = card["metrics"]
        card["metrics"] = {**card["metrics"], "test": result["test"]}
        dst.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
        print({m: round(v["accuracy"], 4) for m, v in result["test"].items()}, "(float16) vs",
              {m: round(v["accuracy"], 4) for m, v in card["metrics_float32"]["test"].items()})
    print(f"promoted {src.name} -> {dst}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
