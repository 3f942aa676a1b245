"""The units of work of ``analyze``, shared by the one-process run and the torchrun shards.

Stage 1 is cut into chunks of test faces (``region_chunks``), each reduced to per-class map
sums and per-face agreement (``chunk_result``) and accumulated in a fixed order
(``add_chunk``), so the sums are the same however the chunks were computed.  Stages 2 and 3
are (stage, method) tasks (``trust_tasks``) over one seeded sample pooled over every
network's test faces (``sample_parts``).  The knock-out stage takes the chunks of stage 1
(``knockout_chunk``, per-face results kept by chunk index).  ``State`` is what a run
accumulates and saves.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from deep_emotion.data import FaceDataset
from deep_emotion.explain.attributions import inference_copy, make_explainer
from deep_emotion.explain.knockout import knockout_faces, region_masks
from deep_emotion.explain.metrics import (AGREEMENT_TOP, deletion_curve, insertion_curve,
                                          random_maps, sanity_check, spearman, topk_iou)
from deep_emotion.explain.regions import REGIONS, class_map_sums, region_layout, region_scores
from deep_emotion.model import DeepEmotion

__all__ = ["Part", "State", "region_chunks", "chunk_result", "empty_state", "add_chunk",
           "trust_tasks", "trust_stages", "sample_parts", "faithfulness", "sanity",
           "knockout_chunk", "knockout_stage", "joined_knockout"]

# ``config`` below is always an ``analyze.AnalyzeConfig`` (not imported: ``analyze`` imports this
# module, and the units of work need only its attributes).


@dataclass
class Part:
    """Test faces explained by one network (one per fold of a cross-validated checkpoint)."""

    model: DeepEmotion
    data: FaceDataset
    name: str


@dataclass
class State:
    """What stage 1 accumulates; saved after every chunk."""

    done: int = 0
    sums: dict = field(default_factory=dict)      # method -> (C, S, S)
    counts: np.ndarray | None = None              # (C,)
    labels: list = field(default_factory=list)
    agree_rho: list = field(default_factory=list)
    agree_iou: list = field(default_factory=list)
    shares: list = field(default_factory=list)    # per face, occlusion's share per region
    trust: dict = field(default_factory=dict)     # stage -> method -> result (JSON-able)
    knock: dict = field(default_factory=dict)     # chunk index -> knockout_chunk arrays

    def save(self, path: Path, digest: str) -> None:
        arrays = {f"sums_{k}": v for k, v in self.sums.items()}
        arrays |= {f"k{k}_{name}": v for k, r in self.knock.items() for name, v in r.items()}
        tmp = path.with_suffix(".tmp.npz")
        if self.counts is not None:  # None while stage 1 is taken over from an earlier file
            arrays["counts"] = self.counts
        np.savez(tmp, digest=digest, done=self.done, labels=self.labels,
                 rho=self.agree_rho, iou=self.agree_iou, shares=np.asarray(self.shares),
                 trust=json.dumps(self.trust), **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, digest: str) -> "State":
        if not path.is_file():
            return cls()
        z = np.load(path, allow_pickle=False)
        if str(z["digest"]) != digest:
            return cls()
        counts = z["counts"] if "counts" in z.files else None
        return cls(done=int(z["done"]),
                   sums={k[5:]: z[k] for k in z.files if k.startswith("sums_")},
                   counts=counts, labels=z["labels"].tolist(), agree_rho=z["rho"].tolist(),
                   agree_iou=z["iou"].tolist(), trust=json.loads(str(z["trust"])),
                   shares=z["shares"].tolist() if "shares" in z.files else [],
                   knock=knock_arrays(z))


def knock_arrays(z) -> dict[int, dict]:
    """The knock-out chunks ``k{index}_{name}`` of a saved state or shard file."""
    chunks: dict[int, dict] = {}
    for key in z.files:
        if key[0] == "k" and key[1:2].isdigit():
            k, name = key[1:].split("_", 1)
            chunks.setdefault(int(k), {})[name] = z[key]
    return chunks


def region_chunks(parts: list[Part], chunk: int) -> list[tuple[int, int, int]]:
    """Stage 1's units of work in order: (part index, first row, end row) per chunk."""
    return [(i, lo, min(lo + chunk, len(p.data))) for i, p in enumerate(parts)
            for lo in range(0, len(p.data), chunk)]


def chunk_result(explainers: dict, part: Part, lo: int, hi: int, pre, c: int) -> dict:
    """Stage 1 on rows lo:hi of one part: per-method class map sums (C, S, S), class counts,
    labels and the per-face STN-vs-occlusion agreement."""
    x = pre.to_input(part.data.images[lo:hi])
    labels = part.data.labels[lo:hi]
    maps = {m: e.attribute(x, labels).maps for m, e in explainers.items()}
    out = {"labels": labels.numpy(),
           "rho": spearman(maps["stn"], maps["occlusion"]).numpy(),
           "iou": topk_iou(maps["stn"], maps["occlusion"].abs(), AGREEMENT_TOP).numpy()}
    # per-face region shares of the occlusion map: the attribution ranking's interval
    # (``human.py``) resamples them
    shares = region_scores(maps["occlusion"])
    out["shares"] = np.stack([shares[r] for r in REGIONS], axis=1)  # (B, len(REGIONS))
    for m, mp in maps.items():
        out[f"sums_{m}"], counts = class_map_sums(np.abs(mp[:, 0].numpy().astype(np.float64)),
                                                  labels.numpy(), c)
        if m == "occlusion":
            out["counts"] = counts
    return out


def empty_state(config, c: int, size: int) -> State:
    return State(counts=np.zeros(c, dtype=np.int64),
                  sums={m: np.zeros((c, size, size)) for m in config.region_methods})


def add_chunk(state: State, r: dict) -> None:
    """Accumulate one chunk's result; chunks added in ``region_chunks`` order give the same
    floating-point sums however the chunks were computed (one process or many)."""
    for m in state.sums:
        state.sums[m] += r[f"sums_{m}"]
    state.counts += r["counts"]
    state.labels += r["labels"].tolist()
    state.agree_rho += r["rho"].tolist()
    state.agree_iou += r["iou"].tolist()
    state.shares += r["shares"].tolist() if "shares" in r else []
    state.done += len(r["labels"])


def trust_tasks(config) -> list[tuple[str, str]]:
    """Stages 2 and 3's units of work in order: (stage, method)."""
    return [(stage, m) for stage in ("faithfulness", "sanity")
            for m in list(config.trust_methods) + (["random"] if stage == "faithfulness" else [])]


def trust_stages(parts: list[Part], ckpt, config, trust: dict, save, progress,
                 mine=lambda k: True) -> dict:
    """Stages 2 and 3 on a sample pooled over every network's test faces, into ``trust``
    {stage: {method: per-face results}}; only the tasks ``mine(k)`` accepts (a rank's share);
    ``save()`` after each.  Returns the seconds per stage."""
    seconds, tasks = {}, trust_tasks(config)
    for stage, n_faces, fn in (("faithfulness", config.faithfulness_faces, faithfulness),
                               ("sanity", config.sanity_faces, sanity)):
        started = time.perf_counter()
        done = trust.setdefault(stage, {})
        picks = sample_parts(parts, n_faces, config.seed)
        faces = sum(len(rows) for _, rows in picks)
        todo = [(k, m) for k, (s, m) in enumerate(tasks) if s == stage and mine(k)]
        for i, (k, method) in enumerate(tqdm(todo, desc=f"{ckpt.name}: {stage} ({faces} faces)",
                                             disable=progress is not True)):
            if method not in done:
                done[method] = fn(picks, ckpt, method, config)
                save()
            if callable(progress):
                progress(stage, i + 1, len(todo))
        seconds[stage] = round(time.perf_counter() - started, 1)
    return seconds


def _sample(n: int, k: int, seed: int) -> np.ndarray:
    """A seeded sample of ``k`` row indices (all rows if fewer), in increasing order."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(n, k), replace=False))


def sample_parts(parts: list[Part], k: int, seed: int) -> list[tuple[Part, np.ndarray]]:
    """A seeded sample of ``k`` test faces pooled over the networks, as (part, its rows)."""
    offsets = np.cumsum([0] + [len(p.data) for p in parts])
    rows = _sample(int(offsets[-1]), k, seed)
    return [(p, rows[(rows >= lo) & (rows < hi)] - lo)
            for p, lo, hi in zip(parts, offsets[:-1], offsets[1:]) if ((rows >= lo) & (rows < hi)).any()]


def faithfulness(picks, ckpt, method, config) -> dict:
    """Per-face deletion and insertion AUCs and curves of one method over the sampled faces."""
    pre = ckpt.preprocessing
    dele, ins = [], []
    for part, rows in picks:
        x = pre.to_input(part.data.images[rows])
        with torch.no_grad():
            target = part.model(x).argmax(1)
        if method == "random":
            maps = random_maps((len(x), 1, pre.size, pre.size), config.seed + len(dele))
        else:
            maps = make_explainer(method, part.model, pre,
                                  **config.params(method, "trust")).attribute(x, target).maps
        dele.append(deletion_curve(part.model, x, maps, target, baseline=pre.pixel_value(0),
                                   steps=config.steps))
        ins.append(insertion_curve(part.model, x, maps, target, steps=config.steps))
    return {"deletion": torch.cat([c.scores for c in dele]).tolist(),
            "insertion": torch.cat([c.scores for c in ins]).tolist(),
            "fractions": dele[0].fractions.tolist()}


def sanity(picks, ckpt, method, config) -> dict:
    """Per-face similarity at every randomisation step, pooled over the sampled faces."""
    sims, layers = [], []
    for part, rows in picks:
        explainer = make_explainer(method, part.model, ckpt.preprocessing,
                                   **config.params(method, "trust"))
        check = sanity_check(explainer, ckpt.preprocessing.to_input(part.data.images[rows]),
                             seed=config.seed)
        sims.append(check.similarity)
        layers = check.layers
    return {"layers": layers, "similarity": torch.cat(sims, 1).tolist(),
            "threshold": check.threshold}


def knockout_chunk(nets: tuple, part: Part, lo: int, hi: int, first_row: int, pre, config,
                   masks: np.ndarray) -> dict:
    """The knock-out stage on rows lo:hi of one part: the ``knockout.knockout_faces`` arrays
    (face axis last), the labels, and each face's STN attention share per region (len(REGIONS),
    B), which the attention ranking's interval resamples.  ``nets`` is (a fast inference copy
    of the network, its STN explainer); ``first_row`` is the part's first global row."""
    fast, attention = nets
    images, labels = part.data.images[lo:hi], part.data.labels[lo:hi]
    out = knockout_faces(fast, images, labels, pre, rows=np.arange(lo, hi) + first_row,
                         masks=masks, baselines=config.knockout_baselines, seed=config.seed,
                         batch_size=config.batch_size)
    # the STN's map is class-blind: the labels as targets spare the explainer a prediction
    shares = region_scores(attention.attribute(pre.to_input(images), labels).maps)
    return out | {"labels": labels.numpy(), "stn_shares": np.stack([shares[r] for r in REGIONS])}


def knockout_stage(parts: list[Part], ckpt, config, knock: dict, save, progress,
                   mine=lambda k: True) -> float:
    """The knock-out stage over stage 1's chunks that ``mine(k)`` accepts and ``knock`` lacks,
    into ``knock`` {chunk index: arrays}, ``save()`` after each; returns its seconds."""
    started, pre = time.perf_counter(), ckpt.preprocessing
    masks = region_masks(region_layout(size=pre.size))
    units = region_chunks(parts, config.chunk)
    offsets = np.cumsum([0] + [len(p.data) for p in parts])
    todo = [k for k in range(len(units)) if mine(k) and k not in knock]
    nets: dict = {}
    for n, k in enumerate(tqdm(todo, desc=f"{ckpt.name}: knock-outs", unit="chunk",
                               disable=progress is not True)):
        i, lo, hi = units[k]
        if i not in nets:
            nets = {i: (inference_copy(parts[i].model), make_explainer("stn", parts[i].model, pre))}
        knock[k] = knockout_chunk(nets[i], parts[i], lo, hi, int(offsets[i]), pre, config, masks)
        save()
        if callable(progress):
            progress("knockout", n + 1, len(todo))
    return round(time.perf_counter() - started, 1)


def joined_knockout(knock: dict, chunks: int) -> dict | None:
    """Every chunk's arrays joined along the face axis in chunk order (the input order);
    None while a chunk is missing."""
    if any(k not in knock for k in range(chunks)):
        return None
    return {name: np.concatenate([knock[k][name] for k in range(chunks)], axis=-1)
            for name in knock[0]}
