"""Batch throughput at scale: ``predict --out`` and ``analyze --data`` on 1 and 2 processes.

Builds, in a temp folder, photos from licence-clean samples (scikit-image's astronaut,
mirrored, shifted and rescaled: one to two faces each) and a labelled folder of face crops,
then times the real commands: ``deep-emotion predict DIR --out`` and ``deep-emotion analyze
--data folder:... --aligned`` as one process and under ``torchrun --nproc_per_node 2``, each
process on one thread.  It prints faces/s, the 2-process speed-up, and, from the measured
per-face costs, how long a 290,000-image AffectNet analysis (detect + align + predict, then
the per-face region analysis: STN and occlusion maps) takes on N nodes of P processes, assuming the measured
2-process efficiency holds.

    python bench/batch.py [--photos 24] [--crops 256] [--nodes 1 4 16] [--per-node 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

AFFECTNET_IMAGES = 290_000
ROOT = Path(__file__).resolve().parents[1]


def make_photos(folder: Path, n: int) -> None:
    from skimage import data

    base = data.astronaut()
    for i in range(n):
        img = base[:, ::-1] if i % 2 else base
        if i % 3 == 1:
            img = np.concatenate([img, img[:, ::-1]], axis=1)  # two faces
        scale = 0.6 + 0.1 * (i % 5)
        h, w = img.shape[:2]
        Image.fromarray(img).resize((int(w * scale), int(h * scale))).save(folder / f"{i:04d}.jpg")


def make_crops(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        sub = folder / ("happy", "sad", "angry", "surprised")[i % 4]
        sub.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, (6, 6), dtype=np.uint8)
        Image.fromarray(small).resize((48, 48), Image.BILINEAR).save(sub / f"{i}.png")


def documents(text: str) -> list[dict]:
    """The JSON documents the ranks printed, one after another."""
    decoder, docs, i = json.JSONDecoder(), [], 0
    while (i := text.find("{", i)) >= 0:
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)
    return docs


def busy_seconds(cmd: list[str], env: dict, stage: str | None) -> float:
    """The slowest rank's own working time (start-up excluded): predict's ``seconds``, or
    analyze's ``seconds[stage]``."""
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    docs = documents(result.stdout)
    return max(d["seconds"][stage] if stage else d["seconds"] for d in docs)


def run_both(args: list[str], out: Path, env: dict, stage: str | None = None) -> dict[int, float]:
    """Working seconds on 1 process and on 2 torchrun processes (fresh outputs)."""
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    seconds = {}
    for procs in (1, 2):
        target = out.with_name(f"{out.stem}.{procs}{out.suffix}")
        launcher = [sys.executable] if procs == 1 else [torchrun, "--standalone",
                                                        "--nproc_per_node", str(procs)]
        seconds[procs] = busy_seconds([*launcher, "-m", "deep_emotion.cli", *args, "--json",
                                       "--out", str(target)], env, stage)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--crops", type=int, default=256)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--per-node", type=int, default=8, help="processes per node")
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DEEP_EMOTION_CACHE": str(tmp / "cache"),
           "PYTHONPATH": str(ROOT)}
    (tmp / "photos").mkdir()
    make_photos(tmp / "photos", opts.photos)
    make_crops(tmp / "crops", opts.crops)

    pred = run_both(["predict", str(tmp / "photos"), "--quiet"], tmp / "r.csv", env)
    faces = sum(1 for _ in open(tmp / "r.1.csv")) - 1
    spec = f"folder:{tmp / 'crops'}"
    subprocess.run([sys.executable, "-m", "deep_emotion.cli", "evaluate", "--checkpoint",
                    "fer2013", "--data", spec, "--aligned", "--tta", "none"], env=env,
                   cwd=ROOT, capture_output=True)  # crops aligned and cached outside the timing
    ana = run_both(["analyze", "--checkpoint", "fer2013", "--data", spec, "--aligned",
                    "--faithfulness-faces", "16", "--sanity-faces", "2", "--trust-methods",
                    "stn", "--chunk", "32", "--quiet"], tmp / "a.json", env, stage="regions")
    report(opts, faces, pred, ana)


def report(opts, faces: int, pred: dict, ana: dict) -> None:
    lines = {"predict": (faces, pred), "analyze": (opts.crops, ana)}
    per_face = {}
    for name, (n, secs) in lines.items():
        rates = {p: n / s for p, s in secs.items()}
        per_face[name] = 1 / rates[1]
        print(f"{name:8s} {n} faces: 1 process {rates[1]:.2f} faces/s, 2 processes "
              f"{rates[2]:.2f} faces/s, speed-up {rates[2] / rates[1]:.2f}x "
              "(the slowest rank's working time, start-up excluded)")
    efficiency = min(1.0, min(pred[1] / pred[2], ana[1] / ana[2]) / 2)
    cost = per_face["predict"] + per_face["analyze"]
    print(f"per-face cost on one process: {per_face['predict'] * 1e3:.0f} ms detect+align+"
          f"predict, {per_face['analyze'] * 1e3:.0f} ms region analysis; 2-process efficiency "
          f"{efficiency:.0%}")
    for nodes in opts.nodes:
        procs = nodes * opts.per_node
        hours = AFFECTNET_IMAGES * cost / (procs * max(efficiency, 0.05)) / 3600
        print(f"AffectNet ({AFFECTNET_IMAGES:,} images) on {nodes} node(s) x {opts.per_node} "
              f"processes: {hours:.1f} h")
    print(json.dumps({"per_face_s": per_face, "efficiency": efficiency}))


if __name__ == "__main__":
    main()
