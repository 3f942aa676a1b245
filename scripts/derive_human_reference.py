"""Derive the human references in ``deep_emotion/references/`` from their sources.

    python scripts/derive_human_reference.py --source PATH   # rebuild the Wegrzyn tile table
    python scripts/derive_human_reference.py                 # re-derive the region values
    python scripts/derive_human_reference.py --check         # exit 1 if they differ

``--source`` is a checkout of github.com/mwegrzyn/mappingTheEmotionalFace (its ``rawTables/``
participant logs, CC0, and the stimulus images under ``experiment/app/static/img/``, which are
NimStim faces under their own copyright: only five landmarks per image, found by this
project's face detector, are kept).  The 94 logs (2.7 MB) are more than the repository should
carry, so the reduced per-tile table they give (``wegrzyn2017_tiles.csv``: trials, correct
trials and credit per stimulus and tile) is stored instead, and the region values are derived
from it; ``--check`` (run by the tests) re-derives them from that table.  The FACS values
are derived from the prototype action units and their regions in ``facs.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from deep_emotion.explain.human import REFERENCE_DIR, facs_regions, tile_regions

EXPRESSIONS = {"hap": "happiness", "sad": "sadness", "ang": "anger", "fea": "fear",
               "dis": "disgust", "sup": "surprise", "ntr": "neutral"}
IDENTITIES = {"f": "female", "m": "male"}
TILES, MAX_TILES = 48, 16   # tiles per face; longer correct trials earn no credit (the paper's)
DISPLAY_HEIGHT = 400        # the experiment shows each image 400 px high, tiled by 50 px
TILE_FIELDS = ("stimulus", "tile", "trials", "correct", "credit")


def tile_table(source: Path) -> list[dict]:
    """Per stimulus and tile: trials shown, correct trials with the tile uncovered, and the
    credit 1 - k/16 summed over correct trials that needed k <= 16 tiles."""
    trials: dict[str, int] = defaultdict(int)
    correct = defaultdict(int)
    credit = defaultdict(float)
    logs = sorted((source / "rawTables").glob("pandas_logfile*.csv"))
    if not logs:
        sys.exit(f"{source}/rawTables has no pandas_logfile*.csv: is it a checkout of "
                 "mwegrzyn/mappingTheEmotionalFace?")
    for log in logs:
        with log.open(newline="") as f:
            for row in csv.DictReader(f):
                stimulus = Path(row["filename"]).stem.removesuffix("_cut")
                trials[stimulus] += 1
                if row["evaluation"] != "HIT":
                    continue
                tiles = [int(t) for t in row["maskList"].split("-")]
                for t in tiles:
                    correct[stimulus, t] += 1
                    if len(tiles) <= MAX_TILES:
                        credit[stimulus, t] += 1 - len(tiles) / MAX_TILES
    return [{"stimulus": s, "tile": t, "trials": trials[s], "correct": correct[s, t],
             "credit": round(credit[s, t], 4)} for s in sorted(trials) for t in range(TILES)]


def stimulus_landmarks(source: Path) -> dict[str, dict]:
    """Five landmarks per stimulus, in the 400 px high frame the observers saw."""
    from PIL import Image

    from deep_emotion.faces import detect_faces

    out = {}
    for ident in IDENTITIES:
        for expr in EXPRESSIONS:
            name = f"{ident}_{expr}"
            rgb = np.asarray(Image.open(source / "experiment/app/static/img" / f"{name}_cut.png")
                             .convert("RGB"))
            face = detect_faces(rgb, confirm=False)[0]
            scale = DISPLAY_HEIGHT / rgb.shape[0]
            out[name] = {k: [round(x * scale, 1), round(y * scale, 1)]
                         for k, (x, y) in face.landmarks.items()}
    return out


def derive_wegrzyn(tiles: list[dict], landmarks: dict[str, dict]) -> dict[str, dict]:
    """{emotion: {region: mean tile importance over the region}}, averaged over identities."""
    importance = defaultdict(lambda: np.zeros(TILES))
    for row in tiles:
        importance[row["stimulus"]][int(row["tile"])] = float(row["credit"]) / int(row["trials"])
    out = {}
    for expr, emotion in EXPRESSIONS.items():
        per_face = [tile_regions(importance[f"{i}_{expr}"], landmarks[f"{i}_{expr}"])
                    for i in IDENTITIES]
        out[emotion] = {r: round(float(np.mean([p[r] for p in per_face])), 5) for r in per_face[0]}
    return out


def derive_facs(data: dict) -> dict[str, dict]:
    return {e: facs_regions(units, data["unit_regions"]) for e, units in data["units"].items()}


def _read_tiles(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="a checkout of mappingTheEmotionalFace")
    parser.add_argument("--check", action="store_true", help="re-derive and compare; write nothing")
    args = parser.parse_args(argv)
    wegrzyn_path, tiles_path = REFERENCE_DIR / "wegrzyn2017.json", REFERENCE_DIR / "wegrzyn2017_tiles.csv"
    wegrzyn = json.loads(wegrzyn_path.read_text())
    if args.source:
        rows = tile_table(args.source)
        with tiles_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, TILE_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        wegrzyn["stimuli"] = stimulus_landmarks(args.source)
    facs_path = REFERENCE_DIR / "facs.json"
    facs = json.loads(facs_path.read_text())
    derived = {wegrzyn_path: (wegrzyn, derive_wegrzyn(_read_tiles(tiles_path), wegrzyn["stimuli"])),
               facs_path: (facs, derive_facs(facs))}
    differ = [p.name for p, (data, emotions) in derived.items() if data.get("emotions") != emotions]
    if args.check:
        print("differ from their sources: " + ", ".join(differ) if differ else "all re-derived")
        return 1 if differ else 0
    for path, (data, emotions) in derived.items():
        path.write_text(json.dumps(data | {"emotions": emotions}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
