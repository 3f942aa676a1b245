"""ONNX Runtime against PyTorch on a batch of 256 faces, measured in the same run.

Usage: ``.venv/bin/python bench/onnx_runtime.py [--checkpoint NAME] [--batch 256] [--repeats 15]
[--threads 1 2]``

Both sides go through ``predict_proba`` (preprocessing, network, softmax), PyTorch with the
checkpoint's network and ONNX Runtime with ``deep_emotion.runtime.accelerate``'s, the path
``predict --out`` takes for photo tables and clips.  Repeats are interleaved, so a busy machine
slows both alike; the medians and the ratio PyTorch / ONNX Runtime (above 1: ONNX Runtime is
faster) are printed per thread count, with the largest probability difference.  The faces are
FER2013 test faces when $DEEP_EMOTION_DATA is set, else the public-domain astronaut photo
(scikit-image) aligned at 256 shifts, mirrors and brightness levels.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.data import DatasetError, load_dataset
from deep_emotion.predict import predict_proba
from deep_emotion.runtime import accelerate


def sample_faces(n: int, size: int, dataset: str) -> tuple[torch.Tensor, str]:
    """uint8 (n, size, size) faces: the dataset's first n when it is there, else the
    astronaut's face aligned from shifted, mirrored and dimmed copies of the photo."""
    try:
        images = load_dataset(dataset).images
        if images.shape[-1] == size and len(images) >= n:
            return images[-n:], f"the last {n} {dataset} faces"
    except DatasetError:
        pass
    from skimage import data

    from deep_emotion.faces import align_face, detect_faces

    photo = data.astronaut()
    face = detect_faces(photo)[0]
    base = align_face(photo, face, size).astype(np.float32)
    rng = np.random.default_rng(0)
    faces = []
    for i in range(n):
        dy, dx = rng.integers(-2, 3, 2)
        img = np.roll(base, (dy, dx), (0, 1)) * rng.uniform(0.6, 1.2)
        faces.append(np.clip(img[:, ::-1] if i % 2 else img, 0, 255).astype(np.uint8))
    return torch.from_numpy(np.stack(faces)), f"{n} variants of the astronaut's face"


def median_seconds(fns: dict, repeats: int) -> dict[str, float]:
    for fn in fns.values():
        fn()  # warm-up: first-call allocations and session set-up
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    ckpt = load_checkpoint(args.checkpoint)
    fast = accelerate(ckpt)
    pre = ckpt.preprocessing
    faces, source = sample_faces(args.batch, pre.size, ckpt.card["dataset"]["name"])
    print(f"## {args.checkpoint}: predict_proba on {source}, median of {args.repeats}")
    print("threads | PyTorch ms | ONNX Runtime ms | PyTorch / ONNX Runtime | max |dp|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        runs = {"torch": lambda: predict_proba(ckpt.model, faces, pre),
                "ort": lambda: predict_proba(fast.model, faces, pre)}
        t = median_seconds(runs, args.repeats)
        diff = (runs["torch"]() - runs["ort"]()).abs().max().item()
        print(f"{threads:7d} | {t['torch'] * 1e3:10.1f} | {t['ort'] * 1e3:15.1f} | "
              f"{t['torch'] / t['ort']:22.2f} | {diff:.1e}")


if __name__ == "__main__":
    main()
