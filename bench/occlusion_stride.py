"""The occlusion stride for one face on the Explain page: stride 2 against the default 4.

Usage: ``python bench/occlusion_stride.py [--checkpoint fer2013] [--faces 16] [--repeats 5]``

For each face (FER2013 PrivateTest faces when $DEEP_EMOTION_DATA is set, else the astronaut
photo's face), on one thread as the dashboard runs, prints the median time of an 8 px occlusion
map at stride 2 and at stride 4 (interleaved, so a busy machine slows both alike) and their
ratio; and how much the cheaper map changes: the Spearman correlation and top-10% IoU of the
two maps, and the deletion AUC (faithfulness, lower is better) of each.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
import torch

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.data import DatasetError, load_dataset
from deep_emotion.explain import AGREEMENT_TOP, Occlusion, deletion_curve, spearman, topk_iou
from deep_emotion.faces import read_faces


def faces(count: int, size: int) -> tuple[torch.Tensor, str]:
    try:
        ds = load_dataset("fer2013", split="PrivateTest")
        return ds.images[:count], f"{count} FER2013 PrivateTest faces"
    except DatasetError:
        from PIL import Image
        from skimage import data

        buf = io.BytesIO()
        Image.fromarray(data.astronaut()).save(buf, "PNG")
        crop = read_faces(buf.getvalue(), size=size).crops[0]
        return torch.from_numpy(crop)[None], "the astronaut photo's face"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="fer2013")
    parser.add_argument("--faces", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint)
    pre = ckpt.preprocessing
    images, source = faces(args.faces, pre.size)
    times: dict[int, list[float]] = {2: [], 4: []}
    for face in images:
        x = pre.to_input(face[None])
        for _ in range(args.repeats):
            for stride in (2, 4):
                start = time.perf_counter()
                Occlusion(ckpt.model, pre, window=8, stride=stride).attribute(x)
                times[stride].append(time.perf_counter() - start)
    x = pre.to_input(images)
    a, b = (Occlusion(ckpt.model, pre, window=8, stride=s).attribute(x).maps for s in (2, 4))
    with torch.no_grad():
        target = ckpt.model(x).argmax(1)
    black = pre.pixel_value(0.0)
    t2, t4 = statistics.median(times[2]), statistics.median(times[4])
    print(f"checkpoint {args.checkpoint}, {source}, 8 px window, one thread")
    print(f"stride 2: {1000 * t2:.0f} ms   stride 4: {1000 * t4:.0f} ms   ratio {t2 / t4:.2f}")
    print(f"maps, stride 4 against 2: Spearman {np.nanmedian(spearman(a, b).numpy()):.3f} "
          f"(median), top-{AGREEMENT_TOP:.0%} IoU "
          f"{np.median(topk_iou(a.abs(), b.abs(), AGREEMENT_TOP).numpy()):.3f} (median)")
    for stride, m in ((2, a), (4, b)):
        auc = deletion_curve(ckpt.model, x, m, target, baseline=black).auc
        print(f"deletion AUC at stride {stride}: {float(auc.mean()):.3f} (mean)")


if __name__ == "__main__":
    main()
