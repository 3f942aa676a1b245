"""Draw ``docs/regions.png``: the named face regions over the mean FER2013 Training face.

Usage: ``DEEP_EMOTION_DATA=/path/to/data python bench/draw_regions.py [--out docs/regions.png]``
(matplotlib is a docs-only dependency; ``deep_emotion`` never imports it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from deep_emotion.data import load_dataset  # noqa: E402
from deep_emotion.explain.regions import region_layout  # noqa: E402

COLOURS = {"forehead": "#4e79a7", "brows": "#f28e2b", "eyes": "#e15759", "nose": "#76b7b2",
           "cheeks": "#59a14f", "mouth": "#edc948", "chin": "#b07aa1", "other": "#bab0ac"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/regions.png"))
    args = parser.parse_args()
    faces = load_dataset("fer2013", split="Training").images
    mean_face = faces.double().mean(0).numpy()
    layout = region_layout()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.8), dpi=110)
    for ax in axes:
        ax.imshow(mean_face, cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([0, 12, 24, 36, 47])
        ax.set_yticks([0, 12, 24, 36, 47])
    axes[0].set_title(f"mean FER2013 Training face ({len(faces):,})\n+ median MTCNN landmarks")
    cmap = ListedColormap([COLOURS[n] for n in layout.names])
    axes[1].imshow(layout.labels, cmap=cmap, alpha=0.5, vmin=-0.5, vmax=len(layout.names) - 0.5)
    axes[1].set_title("named regions (regions.region_layout)")
    for ax in axes:
        for name, (x, y) in layout.landmarks.items():
            ax.plot(x, y, "+", color="cyan", markersize=10, mew=2)
    area = layout.area
    handles = [Patch(color=COLOURS[n], label=f"{n} ({area[n]:.0%} of frame)") for n in layout.names]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.subplots_adjust(right=0.78, wspace=0.15)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, bbox_inches="tight")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
