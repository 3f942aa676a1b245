"""Training throughput: our whole loop (batched augmentation included) vs a naive loop.

The naive loop is how the most popular public implementation trains: a per-image ``Dataset``
that decodes a PNG with PIL, applies torchvision transforms one image at a time, and a
``DataLoader`` that collates them.  Both run the same network, optimiser and batch size on the
same FER2013-sized data (real FER2013 Training faces when $DEEP_EMOTION_DATA is set, random
faces otherwise), in the same process, so the ratio is robust to a noisy machine.  Our loop is
measured twice: in fp32, and with the training forward autocast to bfloat16
(``TrainConfig.precision="bf16"``, which oneDNN runs on AVX-512 BF16/AMX units); the naive loop
stays fp32, as the public implementation trains.  The residual family (``fer2013_res``'s
network) is measured the same way, alone and with the two-network teacher its recipe distils
(the teacher's forward pass runs on every batch, so it is part of a step's cost).

    python bench/train_throughput.py [--images 28709] [--naive-images 4096] [--threads 2]
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from deep_emotion.data import FaceDataset, load_dataset
from deep_emotion.experiment import load_teacher
from deep_emotion.model import DeepEmotion
from deep_emotion.train import PRECISIONS, TrainConfig, fit


def faces(n: int) -> FaceDataset:
    if os.environ.get("DEEP_EMOTION_DATA"):
        ds = load_dataset("fer2013", split="Training")
        return ds.subset(np.arange(min(n, len(ds))))
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (n, 48, 48), dtype=np.uint8))
    labels = torch.from_numpy(rng.integers(0, 7, n))
    return FaceDataset("random", images, labels, ("anger", "disgust", "fear", "happiness",
                                                  "sadness", "surprise", "neutral"), "random", "0")


class PngFaces(Dataset):
    """One PNG per face, decoded and transformed per item (the naive baseline)."""

    def __init__(self, data: FaceDataset) -> None:
        self.png = []
        for img in data.images.numpy():
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="PNG")
            self.png.append(buf.getvalue())
        self.labels = data.labels.tolist()
        self.transform = transforms.Compose([
            transforms.RandomHorizontalFlip(),
            transforms.RandomAffine(10, translate=(4 / 48, 4 / 48), scale=(0.9, 1.1)),
            transforms.ToTensor(), transforms.Normalize((0.5,), (0.25,)),
            transforms.RandomErasing(p=0.5),
        ])

    def __len__(self) -> int:
        return len(self.png)

    def __getitem__(self, i):
        return self.transform(Image.open(io.BytesIO(self.png[i])).convert("L")), self.labels[i]


def naive_images_per_s(data: FaceDataset, batch_size: int) -> float:
    model = DeepEmotion().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(PngFaces(data), batch_size=batch_size, shuffle=True)
    start, seen = time.perf_counter(), 0
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(y)
    return seen / (time.perf_counter() - start)


# The residual family as fer2013_res trains it (its card's training.model).
RESIDUAL = {"backbone": "residual", "layout": "input_warp", "widths": [24, 48, 72],
            "loc_hidden": 16, "dropout": 0.2}
TEACHER = "fer2013_wide+fer2013"


def ours_images_per_s(data: FaceDataset, batch_size: int, threads: int, precision: str,
                      model: dict | None = None, teacher: str | None = None) -> float:
    val = data.subset(np.arange(64))
    cfg = TrainConfig(epochs=1, batch_size=batch_size, threads=threads, precision=precision,
                      model=model or {})
    net = load_teacher(teacher, data.classes)
    return fit(cfg, data, val, progress=False, teacher=net).history[0]["images_per_s"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=28709, help="faces per epoch for our loop")
    p.add_argument("--naive-images", type=int, default=4096, help="faces for the naive loop")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = faces(args.images)
    naive = naive_images_per_s(data.subset(np.arange(min(args.naive_images, len(data)))),
                               args.batch_size)
    ours = {p: ours_images_per_s(data, args.batch_size, args.threads, p) for p in PRECISIONS}
    print(f"data: {data.name}, {len(data)} faces, batch {args.batch_size}, {args.threads} threads")
    print(f"naive loop (PIL decode + torchvision transforms + DataLoader): {naive:8.0f} images/s")
    for precision, rate in ours.items():
        print(f"our loop, {precision} (in-memory uint8, batched augmentation, channels_last): "
              f"{rate:8.0f} images/s  ratio {rate / naive:.2f}x")
    for precision in PRECISIONS:
        rate = ours_images_per_s(data, args.batch_size, args.threads, precision, RESIDUAL)
        print(f"residual family, {precision}: {rate:8.0f} images/s  ratio {rate / naive:.2f}x "
              f"({rate / ours[precision]:.2f}x the paper network)")
    rate = ours_images_per_s(data, args.batch_size, args.threads, "bf16", RESIDUAL, TEACHER)
    print(f"residual family, bf16, distilled from {TEACHER}: {rate:8.0f} images/s  "
          f"ratio {rate / naive:.2f}x")


if __name__ == "__main__":
    main()
