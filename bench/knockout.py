"""The knock-out stage of ``deep-emotion analyze`` on a checkpoint's whole test split.

Usage: ``python bench/knockout.py [--checkpoint DEFAULT] [--threads 2] [--faces N]``

Runs the stage exactly as ``analyze`` does (stage 1's chunks; seven regions under each
occlusion baseline, a random same-area region per face and region, the STN attention
shares), on FER2013's 3,589 PrivateTest faces for a FER2013-family checkpoint (needs
$DEEP_EMOTION_DATA), and prints its time and faces per second.  As a baseline measured in the
same run it times one plain prediction of the same faces, so the ratio says how many forward
passes' worth the stage costs per face (1 + 8 per region and baseline is the floor); the
target is under two minutes on two cores.
"""

from __future__ import annotations

import argparse
import time

import torch

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.explain.analyze import AnalyzeConfig, _test_parts
from deep_emotion.explain.attributions import inference_copy
from deep_emotion.explain.knockout import KNOCKOUT_REGIONS
from deep_emotion.explain.stages import Part, knockout_stage


@torch.inference_mode()
def plain_prediction(parts: list[Part], pre, batch_size: int) -> float:
    """Seconds of one forward pass over every face (the baseline)."""
    start = time.perf_counter()
    for part in parts:
        net = inference_copy(part.model)
        for lo in range(0, len(part.data), batch_size):
            net(pre.to_input(part.data.images[lo:lo + batch_size]))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faces", type=int, default=None, help="only the first N test faces")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ckpt = load_checkpoint(args.checkpoint)
    parts, source = _test_parts(ckpt, None)
    if args.faces:
        parts = [Part(parts[0].model, parts[0].data.subset(torch.arange(args.faces)), "first")]
    faces = sum(len(p.data) for p in parts)
    config = AnalyzeConfig()
    base = plain_prediction(parts, ckpt.preprocessing, config.batch_size)
    knock: dict = {}
    start, cpu = time.perf_counter(), time.process_time()
    knockout_stage(parts, ckpt, config, knock, save=lambda: None, progress=False)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    passes = 1 + len(KNOCKOUT_REGIONS) * (len(config.knockout_baselines) + 1)
    print(f"{ckpt.name}: {source}; {faces} faces x {len(KNOCKOUT_REGIONS)} regions x "
          f"{len(config.knockout_baselines)} baselines + a random region, {args.threads} threads")
    print(f"knock-out stage: {took:.1f} s, {faces / took:.0f} faces/s (target: under 120 s); "
          f"{cpu:.1f} s of CPU time (on a busy machine the wall time grows, the CPU time not)")
    print(f"plain prediction of the same faces: {base:.2f} s; the stage costs "
          f"{took / base:.1f} predictions per face ({passes} forward passes per face)")


if __name__ == "__main__":
    main()
