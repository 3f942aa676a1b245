"""FER2013 CSV parsing: the full file cold (no cache) vs the cached second load, and vs
pandas + per-row ``numpy.array(str.split())``, the way most public code parses it.

    DEEP_EMOTION_DATA=../shared/data python bench/parse_fer2013.py
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from deep_emotion.data import data_root, fer2013
from deep_emotion.data.base import file_sha256


def naive(path) -> float:
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_csv(path)
    np.stack([np.array(p.split(), dtype=np.uint8).reshape(48, 48) for p in frame["pixels"]])
    return time.perf_counter() - start


def main() -> None:
    import os

    path = fer2013.find_csv(data_root())
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DEEP_EMOTION_CACHE"] = cache
        start = time.perf_counter()
        file_sha256(path)
        hashing = time.perf_counter() - start
        start = time.perf_counter()
        fer2013.load(path.parent.parent)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        ds = fer2013.load(path.parent.parent)
        warm = time.perf_counter() - start
    baseline = naive(path)
    print(f"{path.name}: {len(ds)} rows")
    print(f"cold load (sha256 {hashing:.2f} s + parse + cache write): {cold:6.2f} s")
    print(f"cached load (sha256 + npz read):                    {warm:6.2f} s")
    print(f"pandas + per-row split baseline:                    {baseline:6.2f} s")
    print(f"ratio baseline / cold: {baseline / cold:.2f}x; cold / cached: {cold / warm:.1f}x")


if __name__ == "__main__":
    main()
