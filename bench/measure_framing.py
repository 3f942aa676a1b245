"""Measure where FER2013 puts the eyes, nose and mouth in its 48x48 frame.

The alignment in ``deep_emotion.faces`` maps a detected face's five landmarks onto these
positions, so a photo comes out framed like the faces the network was trained on.  The
constants are committed in ``deep_emotion/faces/framing.py``; this script is how they were
obtained and how to check them again:

    DEEP_EMOTION_DATA=/path/to/datasets .venv/bin/python bench/measure_framing.py --n 3000

Method: a seeded random sample of FER2013 Training faces goes through ``detect_faces`` (which
enlarges a 48 px image 4x with bicubic and pads it, as it does every small upload); for each
image where MTCNN finds a face (score >= 0.9), the landmarks of the largest face are taken in
48x48 coordinates.  The per-landmark median over all detections is the FER2013 framing (the
median, because a few percent of FER2013 rows are not faces or are cartoons, and the detector
can land on them).  The landmarks MTCNN finds on the mean Training face are printed as a
cross-check, and the interquartile range is printed to show how much FER2013's own framing
varies.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from deep_emotion.data import load_dataset
from deep_emotion.faces.detect import LANDMARKS, detect_faces


def measure(images: np.ndarray) -> tuple[np.ndarray, int]:
    """(N, 48, 48) uint8 -> (found, 5, 2) landmark array, number of images tried."""
    found = []
    for img in images:
        faces = detect_faces(img)
        if faces:
            found.append([faces[0].landmarks[k] for k in LANDMARKS])
    return np.array(found), len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="Training faces to sample")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train = load_dataset("fer2013", split="Training")
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(len(train), size=min(args.n, len(train)), replace=False)
    t0 = time.perf_counter()
    points, tried = measure(train.images[rows].numpy())
    seconds = time.perf_counter() - t0
    median = np.median(points, axis=0)
    # Cross-check: the landmarks of the mean Training face (one detection, no medians).
    mean_face = train.images.float().mean(0).round().to(torch.uint8).numpy()
    on_mean = detect_faces(mean_face)
    q1, q3 = np.percentile(points, [25, 75], axis=0)
    result = {
        "sampled": tried, "detected": len(points), "seconds": round(seconds, 1),
        "median": {k: [round(float(x), 2) for x in median[i]] for i, k in enumerate(LANDMARKS)},
        "iqr": {k: [round(float(x), 2) for x in q3[i] - q1[i]] for i, k in enumerate(LANDMARKS)},
        "mean_face": {k: [round(v, 2) for v in on_mean[0].landmarks[k]] for k in LANDMARKS}
        if on_mean else "no face found on the mean face",
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
