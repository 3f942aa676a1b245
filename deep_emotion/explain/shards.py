"""``analyze`` over the processes of ``torchrun --nproc_per_node N`` (and across nodes).

Stage 1's chunks and stages 2-3's (stage, method) tasks are dealt out round-robin: rank r
takes units r, r+N, ...  Each rank keeps its units' results in its own shard file
(``NAME.analysis.partial.shard{r}of{N}.npz``), saved after every unit, so a rank that
crashed resumes its own share.  The knock-out stage deals out stage 1's chunks the same way.  Once every rank is done, rank 0 adds the chunks in their
global order (``stages.add_chunk``), so the sums are the single-process ones to the last
bit, joins the trust results, and writes the analysis.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from deep_emotion.explain.stages import (State, add_chunk, chunk_result, empty_state,
                                         knock_arrays, knockout_stage, region_chunks,
                                         trust_stages, trust_tasks)
from deep_emotion.explain.attributions import make_explainer

__all__ = ["run_sharded", "shard_path"]


def shard_path(partial: Path, rank: int, world: int) -> Path:
    return partial.with_name(partial.name.removesuffix(".npz") + f".shard{rank}of{world}.npz")


def _load(path: Path, digest: str) -> tuple[dict[int, dict], dict, dict[int, dict]]:
    """Chunk results {chunk index: arrays}, trust results and knock-out chunks of one shard."""
    if not path.is_file():
        return {}, {}, {}
    with np.load(path, allow_pickle=False) as z:
        if str(z["digest"]) != digest:
            return {}, {}, {}
        chunks: dict[int, dict] = {}
        for key in z.files:
            if key.startswith("c") and "_" in key:
                k, name = key[1:].split("_", 1)
                chunks.setdefault(int(k), {})[name] = z[key]
        return chunks, json.loads(str(z["trust"])), knock_arrays(z)


def _save(path: Path, digest: str, chunks: dict[int, dict], trust: dict,
          knock: dict[int, dict]) -> None:
    arrays = {f"c{k}_{name}": v for k, r in chunks.items() for name, v in r.items()}
    arrays |= {f"k{k}_{name}": v for k, r in knock.items() for name, v in r.items()}
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, digest=digest, trust=json.dumps(trust), **arrays)
    tmp.replace(path)


def _my_chunks(parts, ckpt, config, rank, world, chunks, save, progress) -> None:
    pre, c = ckpt.preprocessing, len(ckpt.classes)
    units = region_chunks(parts, config.chunk)
    mine = [k for k in range(rank, len(units), world) if k not in chunks]
    explainers: dict = {}
    for k in tqdm(mine, desc=f"{ckpt.name}: regions, rank {rank}", unit="chunk",
                  disable=progress is not True):
        i, lo, hi = units[k]
        if i not in explainers:
            explainers = {i: {m: make_explainer(m, parts[i].model, pre, **config.params(m))
                              for m in config.region_methods}}
        chunks[k] = chunk_result(explainers[i], parts[i], lo, hi, pre, c)
        save()


def _merge(parts, ckpt, config, partial, digest, world, skip: set[str]) -> State:
    """Every shard's results, chunks added in global order (the single-process order); the
    stages in ``skip`` stay empty (they are taken over from an earlier analysis)."""
    state = empty_state(config, len(ckpt.classes), ckpt.preprocessing.size)
    chunks, trust = {}, {}
    for r in range(world):
        c, t, k = _load(shard_path(partial, r, world), digest)
        chunks.update(c)
        state.knock.update(k)
        for stage, results in t.items():
            trust.setdefault(stage, {}).update(results)
    units = region_chunks(parts, config.chunk)
    for stage, done in (("regions", chunks), ("knockout", state.knock)):
        missing = [k for k in range(len(units)) if k not in done]
        if missing and stage not in skip:
            raise RuntimeError(f"{stage} chunks {missing[:5]} are in no shard; rerun the same "
                               "command")
    if "regions" in skip:
        state.counts, state.sums = None, {}
    else:
        for k in range(len(units)):
            add_chunk(state, chunks[k])
    if "trust" not in skip:
        state.trust = {stage: {m: trust[stage][m] for s, m in trust_tasks(config) if s == stage}
                       for stage in ("faithfulness", "sanity")}
    return state


def run_sharded(parts, ckpt, config, partial: Path, digest: str, rank: int, world: int,
                progress, skip: set[str] = frozenset()) -> tuple[State | None, dict]:
    """This rank's share of every stage not in ``skip``, then (rank 0) the merged state;
    others get None."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    path = shard_path(partial, rank, world)
    chunks, trust, knock = _load(path, digest)

    def save() -> None:
        _save(path, digest, chunks, trust, knock)

    def mine(k: int) -> bool:
        return k % world == rank

    seconds = {}
    if "regions" not in skip:
        started = time.perf_counter()
        _my_chunks(parts, ckpt, config, rank, world, chunks, save, progress)
        seconds["regions"] = round(time.perf_counter() - started, 1)
    if "trust" not in skip:
        seconds.update(trust_stages(parts, ckpt, config, trust, save, progress, mine=mine))
    if "knockout" not in skip:
        seconds["knockout"] = knockout_stage(parts, ckpt, config, knock, save, progress, mine=mine)
    save()
    dist.barrier()
    state = _merge(parts, ckpt, config, partial, digest, world, skip) if rank == 0 else None
    dist.barrier()
    if rank == 0:
        for r in range(world):
            shard_path(partial, r, world).unlink(missing_ok=True)
    dist.destroy_process_group()
    return state, seconds
