"""Explaining one face: our pipeline and occlusion against Captum called naively, same run.

Usage: ``python bench/explain.py [--checkpoint NAME (default: the default network)] [--repeats 7] [--threads 2]``

Prints medians over interleaved repeats (so a busy machine slows both sides alike) of:
* Captum ``Occlusion`` on the checkpoint's model as given, ``perturbations_per_eval=1``
  (8x8 window, stride 2, black baseline): the naive baseline;
* ``deep_emotion.explain.Occlusion`` with the same arguments (batched perturbations on a
  channels-last inference copy), and the ratio;
* ``explain_face`` with STN attention, occlusion and 50-step integrated gradients, which also
  predicts: the dashboard's per-face cost (target < 250 ms on 2 cores);
* integrated gradients alone.
Without a shipped checkpoint a randomly initialised network is used (same cost).  A FER2013
PrivateTest face is used when $DEEP_EMOTION_DATA is set, else a random image.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import captum.attr
import numpy as np
import torch

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from deep_emotion.data import DatasetError, load_dataset
from deep_emotion.explain import IntegratedGradients, Occlusion, explain_face
from deep_emotion.model import DeepEmotion
from deep_emotion.preprocess import DEFAULT_PREPROCESSING

FER_CLASSES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


def _checkpoint(name: str, tmp: str):
    try:
        return load_checkpoint(name), name
    except CheckpointError:
        torch.manual_seed(0)
        path = save_checkpoint(f"{tmp}/random", DeepEmotion(), {
            "classes": FER_CLASSES, "preprocessing": DEFAULT_PREPROCESSING.to_dict()})
        return load_checkpoint(path), "random init (no shipped checkpoint)"


def _face() -> tuple[np.ndarray, str]:
    try:
        return load_dataset("fer2013", split="PrivateTest").images[0].numpy(), "FER2013 PrivateTest #0"
    except DatasetError:
        return np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8), "random image"


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, label = _checkpoint(args.checkpoint, tmp)
        face, source = _face()
        pre, model = ckpt.preprocessing, ckpt.model
        x = pre.to_input(torch.from_numpy(face)[None])
        target = int(model(x).argmax())
        black = pre.pixel_value(0)
        naive = captum.attr.Occlusion(model)
        runs = {
            "captum occlusion, naive (ppe=1)": lambda: naive.attribute(
                x, sliding_window_shapes=(1, 8, 8), strides=(1, 2, 2), baselines=black,
                target=target, perturbations_per_eval=1),
            "ours: occlusion 8x8 stride 2": lambda: Occlusion(model, pre, stride=2).attribute(x, target),
            "ours: integrated gradients (50)": lambda: IntegratedGradients(model, pre).attribute(x),
            "ours: predict + stn + occlusion + ig": lambda: explain_face(
                ckpt, face, methods=("stn", "occlusion", "ig")),
        }
        for fn in runs.values():  # warm-up: allocator, lazy imports
            fn()
        times = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                times[name].append(_time(fn))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"checkpoint: {label}; face: {source}; threads: {torch.get_num_threads()}; "
          f"median of {args.repeats} interleaved repeats")
    for name, ms in med.items():
        print(f"  {name:<40} {ms:8.1f} ms   (min {min(times[name]):.1f})")
    naive_ms, ours_ms = med["captum occlusion, naive (ppe=1)"], med["ours: occlusion 8x8 stride 2"]
    total = med["ours: predict + stn + occlusion + ig"]
    print(f"occlusion speed-up over naive Captum: {naive_ms / ours_ms:.2f}x (target >= 3x)")
    print(f"one face, everything: {total:.0f} ms (target < 250 ms)")


if __name__ == "__main__":
    main()
