"""Precomputed analyses of a checkpoint, written beside it as ``NAME.analysis.json``.

Three stages over the checkpoint's test split (re-derived from its card's protocol, the way
``deep-emotion evaluate`` does; a cross-validated checkpoint explains each fold's test faces
with that fold's network):

1. **Regions** (every test face): STN attention and occlusion (8x8, stride 2) maps of the true
   class; class-conditional mean maps; each emotion's share of map mass per named region
   (``regions.py``); per face, STN-vs-occlusion agreement (Spearman and top-10% IoU), summarised
   per emotion as quantiles and a histogram.
2. **Faithfulness** (a seeded sample, predicted class): deletion and insertion AUC per method
   and for a random map, with the mean curves, 95% bootstrap intervals over the faces and the
   paired comparison with the random map on the same faces.
3. **Sanity** (a smaller seeded sample): cascading randomisation per method, with the interval
   of the mean similarity and a verdict read off it (``metrics.SanityCheck``).
4. **Knock-outs** (every test face, stage 1's chunks): each of the seven named regions filled
   with each occlusion baseline, and a random region of the same area, per emotion
   (``knockout.py``); then the agreement of the network's region rankings with each human
   reference (``human.py``).

Stages 2 and 3 sample from the test faces of every network together (each face explained by
the network that did not train on it), so a cross-validated checkpoint reaches the sample size
that one fold's test faces could not.  Stage 1 is taken over from an earlier analysis of the
same weights with the same stage-1 settings, so refreshing stages 2 and 3 costs only them.

Any stage can be left out (``stages``): it is then taken over from the analysis already
written for the same weights, so adding the knock-outs to a shipped analysis costs only them.

Stages run in chunks; state is saved to ``NAME.analysis.partial.npz`` after each, so an
interrupted run resumes where it stopped (with the same settings), and is removed at the end.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from deep_emotion.distributed import distributed_env
from deep_emotion.checkpoints import Checkpoint, code_commit, load_checkpoint, resolve
from deep_emotion.data import FaceDataset
from deep_emotion.explain.attributions import METHODS, make_explainer
from deep_emotion.explain.face import BASELINES
from deep_emotion.explain.human import human_agreement, references_about
from deep_emotion.explain.knockout import knockout_summary
from deep_emotion.explain.metrics import AGREEMENT_TOP, SanityCheck, faithfulness_summary
from deep_emotion.explain.regions import region_layout, region_scores
from deep_emotion.explain.stages import (Part, State, add_chunk, chunk_result, empty_state,
                                         joined_knockout, knockout_stage, region_chunks,
                                         sample_parts, trust_stages)

__all__ = ["AnalyzeConfig", "analyze", "analysis_path", "data_analysis_path", "load_analysis",
           "ANALYSIS_FORMAT", "STAGES"]

ANALYSIS_FORMAT = "deep-emotion-analysis/1"
# Keys of an analysis that stage 1 alone determines, and the settings it depends on.
REGION_KEYS = ("faces", "source", "counts", "regions", "region_sensitivity", "class_mean_maps",
               "agreement")
REGION_SETTINGS = ("window", "stride", "region_methods", "histogram_bins")
TRUST_SETTINGS = ("trust_methods", "trust_stride", "faithfulness_faces", "sanity_faces", "steps")
# What ``stages`` may name, and the keys each writes (taken over when it is left out).
STAGES = ("regions", "trust", "knockout")
STAGE_KEYS = {"regions": REGION_KEYS, "trust": ("faithfulness", "sanity"),
              "knockout": ("knockout", "knockout_settings", "human_agreement", "human_references")}
INTERVAL = "95% percentile bootstrap over the faces (2000 resamples)"
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class AnalyzeConfig:
    """What ``analyze`` computes; stored in the output so numbers carry their settings."""

    window: int = 8                  # occlusion patch side (px)
    stride: int = 2                  # occlusion step (px)
    region_methods: tuple[str, ...] = ("stn", "occlusion")  # stage 1, every test face
    trust_methods: tuple[str, ...] = tuple(METHODS)         # stages 2 and 3
    trust_stride: int = 4            # occlusion step in stages 2 and 3: the Explain page's
                                     # default, and 3.6x fewer windows than stage 1's
    faithfulness_faces: int = 256    # seeded sample for deletion/insertion
    sanity_faces: int = 100          # seeded sample for the randomisation check (>= 100 faces)
    steps: int = 24                  # deletion/insertion steps (96 px each)
    chunk: int = 64                  # faces per resumable unit of stage 1
    batch_size: int = 256            # images per forward pass in occlusion
    histogram_bins: int = 20         # agreement histogram over [-1, 1]
    knockout_baselines: tuple[str, ...] = BASELINES  # region fills; the first is the primary
                                     # one (the Explain page's default) and fills the random
                                     # same-area region too
    seed: int = 0                    # face samples, random maps, randomised layers

    def __post_init__(self) -> None:
        for m in self.region_methods + self.trust_methods:
            if m not in METHODS:
                raise ValueError(f"unknown method {m!r}; available: {sorted(METHODS)}")
        if not self.knockout_baselines or not set(self.knockout_baselines) <= set(BASELINES):
            raise ValueError(f"knockout_baselines must name some of {BASELINES}, got "
                             f"{self.knockout_baselines}")
        if "stn" not in self.region_methods or "occlusion" not in self.region_methods:
            raise ValueError("region_methods must include 'stn' and 'occlusion' (agreement)")

    def params(self, method: str, stage: str = "regions") -> dict:
        """Constructor keywords of ``method`` under this config in ``stage`` ("regions", or
        "trust" for faithfulness and sanity)."""
        if method in ("occlusion", "flip"):
            stride = self.stride if stage == "regions" else self.trust_stride
            return {"window": self.window, "stride": stride, "batch_size": self.batch_size}
        return {}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def analysis_path(checkpoint: str | Path | Checkpoint) -> Path:
    """``checkpoints/NAME.analysis.json`` for a checkpoint name, path or loaded checkpoint."""
    path = checkpoint.path if isinstance(checkpoint, Checkpoint) else resolve(checkpoint)
    return path.with_name(path.name + ".analysis.json")


def data_analysis_path(checkpoint: Checkpoint, data: FaceDataset) -> Path:
    """Where analyses of a checkpoint on another dataset (e.g. a user's folder) are written:
    the cache, keyed by the weights and the dataset's content hash."""
    from deep_emotion.data.base import cache_dir

    weights = (checkpoint.card.get("weights_sha256") or "")[:12]
    return cache_dir() / "analyses" / f"{checkpoint.name}-{weights}-{data.sha256[:16]}.analysis.json"


def load_analysis(checkpoint: str | Path | Checkpoint) -> dict:
    """The precomputed analyses of a checkpoint (see ``analyze`` for the keys).

    Raises:
        FileNotFoundError: when none was computed, with the command that computes it.
    """
    path = analysis_path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run `deep-emotion analyze "
                                f"--checkpoint {path.name.removesuffix('.analysis.json')}`")
    data = json.loads(path.read_text())
    if data.get("format") != ANALYSIS_FORMAT:
        raise ValueError(f"{path}: format {data.get('format')!r}, expected {ANALYSIS_FORMAT!r}")
    return data


def _data_parts(ckpt: Checkpoint, data: FaceDataset) -> tuple[list[Part], str]:
    """Every row of ``data`` whose class the network knows, labelled in the network's classes
    (the first network of a cross-validated checkpoint explains them)."""
    from dataclasses import replace

    shared = [c for c in ckpt.classes if c in data.classes]
    if len(shared) < 2:
        raise ValueError(f"{ckpt.name} predicts {list(ckpt.classes)}; {data.name} has "
                         f"{list(data.classes)}: fewer than two classes in common")
    keep = np.isin(data.labels.numpy(), [data.classes.index(c) for c in shared])
    part = data.subset(keep)
    labels = torch.tensor([ckpt.classes.index(data.classes[i]) for i in part.labels.tolist()],
                          dtype=torch.int64)
    part = replace(part, labels=labels, classes=ckpt.classes)
    return [Part(ckpt.models[0], part, "all")], f"{data.name}: {len(part)} faces of the classes " \
        f"{', '.join(shared)}"


def _write(result: dict, out_path: Path, partial: Path) -> dict:
    """Write the analyses, drop the partial state; returns exactly what load_analysis will."""
    text = json.dumps(result, separators=(",", ":"), allow_nan=False)
    out_path.write_text(text + "\n")
    partial.unlink(missing_ok=True)
    return json.loads(text)


def _inputs(ckpt: Checkpoint, data_dir, data: FaceDataset | None,
            out, write: bool) -> tuple[list[Part], str, Path]:
    """The faces to explain per network, their description, and where the result goes."""
    if data is None:
        parts, source = _test_parts(ckpt, data_dir)
        out_path = Path(out) if out else analysis_path(ckpt)
    else:
        parts, source = _data_parts(ckpt, data)
        out_path = Path(out) if out else data_analysis_path(ckpt, data)
    if write:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    return parts, source, out_path


def _test_parts(ckpt: Checkpoint, data_dir) -> tuple[list[Part], str]:
    from deep_emotion.experiment import checkpoint_folds  # heavy, and only needed here

    data, folds = checkpoint_folds(ckpt, data_dir)
    parts = [Part(m, data.subset(f.test), f.name) for m, f in zip(ckpt.models, folds)]
    protocol = ckpt.card["protocol"]["name"]
    return parts, f"{data.name} test faces of protocol {protocol!r} ({len(folds)} fold(s))"


def analyze(checkpoint: str | Path | Checkpoint, *, data_dir: str | Path | None = None,
            config: AnalyzeConfig = AnalyzeConfig(), progress: bool | Callable = True,
            resume: bool = True, reuse_regions: bool = True, data: FaceDataset | None = None,
            out: str | Path | None = None, stages: Sequence[str] = STAGES,
            write: bool = True) -> dict:
    """Compute the analyses of a checkpoint and write them to ``analysis_path(checkpoint)``.

    Args:
        checkpoint: name, path or loaded checkpoint; its card names dataset and protocol.
        data_dir: datasets root (default ``$DEEP_EMOTION_DATA``).
        config: what to compute.
        progress: show tqdm progress bars on stderr; or a function called as
            ``progress(stage, done, total)`` instead (the dashboard's progress bar).
        resume: continue from ``NAME.analysis.partial.npz`` when its settings match.
        reuse_regions: take stage 1 from the analysis file already there when it was made for
            the same weights with the same stage-1 settings (``REGION_SETTINGS``); never for
            ``data``, whose faces may have changed under the same name.
        data: analyse these faces instead of the card's test split (a user's dataset; rows of
            classes the network lacks are left out); written to ``data_analysis_path``.
        out: write the analyses here instead.
        stages: the stages to compute (``STAGES``); each one left out is taken over as it is
            from the analysis already written for the same weights (an error if there is none).
        write: False keeps everything in memory: no partial state, no file, nothing resumed
            or taken over (the dashboard's analyses of an upload, which must not touch disk).

    Returns:
        The analysis dict, with keys ``format``, ``checkpoint``, ``faces``, ``classes``,
        ``config``, ``regions`` (layout: names, area shares, landmarks, 48x48 labels),
        ``region_sensitivity`` {method: {emotion: {region: share}}} (shares sum to 1),
        ``class_mean_maps`` {method: {emotion: 48x48}}, ``counts`` {emotion: faces},
        ``agreement`` {per_emotion: {emotion: {spearman: summary, topk_iou: summary}}},
        ``faithfulness`` {methods: {method: {deletion_auc, insertion_auc, intervals, curves}}},
        ``sanity`` {methods: {method: {layers, mean_spearman, interval, verdict, passed}}},
        ``knockout`` {region: {emotion: {recall_drop, probability_drop, low, high, ...}}}
        (``knockout.knockout_summary``) with ``knockout_settings``, ``human_agreement``
        {source: {emotion: {spearman, low, high, p, measures}}} (``human.human_agreement``),
        ``seconds`` per stage.
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    parts, source, out_path = _inputs(ckpt, data_dir, data, out, write)
    partial = out_path.with_name(out_path.name.removesuffix(".json") + ".partial.npz")
    digest = config.digest() + ckpt.card.get("weights_sha256", "")[:16] + \
        (data.sha256[:16] if data is not None else "")
    state = State.load(partial, digest) if resume and write else State()
    total = sum(len(p.data) for p in parts)
    kept = _taken_over(out_path, ckpt, config, stages, reuse_regions and data is None) \
        if write else {}
    state, seconds = _compute(parts, ckpt, config, state, partial, digest, kept, progress, write)
    if state is None:  # a rank other than 0: rank 0 merges its shard and writes the file
        return {"rank": distributed_env()[0], "seconds": seconds}
    result = _result(parts, ckpt, config, state, source, total, seconds, kept)
    if data is not None:  # another dataset than the card's: say which, with its manifest
        result["dataset"] = {"name": data.name, "sha256": data.sha256, "rows": len(data),
                             **{k: v for k, v in data.meta.items() if k == "manifest"}}
    if not write:
        return json.loads(json.dumps(result, allow_nan=False))  # the same types as a file's
    return _write(result, out_path, partial)


def _compute(parts, ckpt, config, state, partial, digest, kept, progress,
             write: bool) -> tuple[State | None, dict]:
    """Run the stages here, or this rank's shard under torchrun; (state, seconds per stage),
    with state None on a rank other than 0."""
    rank, world = distributed_env()
    if world == 1:
        save = (lambda: state.save(partial, digest)) if write else (lambda: None)
        return state, _run_stages(parts, ckpt, config, state, save, kept, progress)
    if not write:
        raise ValueError("an analysis kept in memory runs in one process (its shards are files)")
    from deep_emotion.explain.shards import run_sharded

    return run_sharded(parts, ckpt, config, partial, digest, rank, world, progress,
                       skip=set(kept))


def _result(parts: list, ckpt: Checkpoint, config: AnalyzeConfig, state: State, source: str,
            total: int, seconds: dict, kept: dict[str, dict]) -> dict:
    """The analysis dict from the finished stages' ``state``, the stages ``kept`` from the
    earlier analysis, and the knock-outs with their agreement with people."""
    sampled = {stage: sum(len(rows) for _, rows in sample_parts(parts, n, config.seed))
               for stage, n in (("faithfulness", config.faithfulness_faces),
                                ("sanity", config.sanity_faces))}
    result = _assemble(ckpt, config, state, ckpt.classes, source, total, seconds, sampled)
    _take_over(result, kept)
    knock = joined_knockout(state.knock, len(region_chunks(parts, config.chunk)))
    if "knockout" not in kept and knock is not None:
        if len(state.shares) == len(knock["labels"]):  # stage 1 ran here: per-face shares
            knock["occlusion_shares"] = np.asarray(state.shares).T
        result |= _knockout_results(knock, result, config)
    return result


def _taken_over(path: Path, ckpt: Checkpoint, config: AnalyzeConfig, stages: Sequence[str],
                reuse_regions: bool) -> dict[str, dict]:
    """{stage: the earlier analysis} for each stage taken over rather than computed: those
    left out of ``stages``, and stage 1 when ``reuse_regions`` finds it with the same settings.

    Raises:
        ValueError: on an unknown stage, or a left-out stage the earlier analysis lacks.
    """
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; stages are {list(STAGES)}")
    kept = {}
    if reuse_regions:
        earlier = _reusable_regions(path, ckpt, config)
        kept = {"regions": earlier} if earlier is not None else {}
    left_out = [s for s in STAGES if s not in stages]
    if left_out:
        earlier = _earlier(path, ckpt)
        missing = [s for s in left_out if s != "knockout" and
                   (earlier is None or not all(k in earlier for k in STAGE_KEYS[s]))]
        if missing:
            raise ValueError(f"{path} has no {', '.join(missing)} stage of these weights to take "
                             f"over; compute every stage")
        kept |= {s: earlier for s in left_out}
    return kept


def _take_over(result: dict, kept: dict[str, dict]) -> None:
    """Copy each taken-over stage's keys, settings and seconds from the earlier analysis."""
    for stage, earlier in kept.items():
        result |= {k: earlier[k] for k in STAGE_KEYS[stage] if k in earlier}
        settings = REGION_SETTINGS if stage == "regions" else TRUST_SETTINGS if \
            stage == "trust" else ("knockout_baselines",)
        for k in settings:
            if k in earlier.get("config", {}):
                result["config"][k] = earlier["config"][k]
        for k in ((stage,) if stage != "trust" else STAGE_KEYS["trust"]):
            if k in earlier.get("seconds", {}):
                result["seconds"][k] = earlier["seconds"][k]


def _knockout_results(knock: dict, result: dict, config: AnalyzeConfig) -> dict:
    """``knockout``, ``knockout_settings``, ``human_agreement`` and ``human_references`` (each
    source's provenance) from the per-face arrays."""
    labels = knock["labels"]
    summary = knockout_summary(knock, labels, result["classes"],
                               baselines=config.knockout_baselines, seed=config.seed)
    settings = {"baselines": list(config.knockout_baselines),
                "primary": config.knockout_baselines[0], "target": "true class",
                "random": "the region's own mask moved by a random offset (wrapping round the "
                          "frame), one per face and region, filled with the primary baseline",
                "low_high": "interval of the recall drop", "interval": INTERVAL,
                "faces": int(len(labels))}
    return {"knockout": summary, "knockout_settings": settings,
            "human_agreement": human_agreement(result, knock, seed=config.seed),
            "human_references": references_about()}


def _run_stages(parts, ckpt, config, state, save, kept, progress) -> dict:
    """Every stage not in ``kept`` in this process, calling ``save()`` after each unit of
    work; seconds per stage computed."""
    started, total = time.perf_counter(), sum(len(p.data) for p in parts)
    seconds = {}
    if "regions" not in kept:
        if state.counts is None or state.done < total:
            _regions_stage(parts, ckpt, config, state, save, total, progress)
        seconds["regions"] = round(time.perf_counter() - started, 1)
    if "trust" not in kept:
        seconds.update(trust_stages(parts, ckpt, config, state.trust, save, progress))
    if "knockout" not in kept:
        seconds["knockout"] = knockout_stage(parts, ckpt, config, state.knock, save, progress)
    return seconds


def _regions_stage(parts, ckpt, config, state, save, total, progress) -> None:
    pre, c = ckpt.preprocessing, len(ckpt.classes)
    if state.counts is None:
        fresh = empty_state(config, c, pre.size)
        state.counts, state.sums = fresh.counts, fresh.sums
    bar = tqdm(total=total, initial=state.done, desc=f"{ckpt.name}: regions", unit="face",
               disable=progress is not True)
    explainers, done = {}, 0
    for i, lo, hi in region_chunks(parts, config.chunk):
        done += hi - lo
        if done <= state.done:
            continue
        if i not in explainers:
            explainers = {i: {m: make_explainer(m, parts[i].model, pre, **config.params(m))
                              for m in config.region_methods}}
        add_chunk(state, chunk_result(explainers[i], parts[i], lo, hi, pre, c))
        save()
        bar.update(hi - lo)
        if callable(progress):
            progress("regions", state.done, total)
    bar.close()


def _earlier(path: Path, ckpt: Checkpoint) -> dict | None:
    """The analysis at ``path`` when it was made for these weights, else None."""
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = (earlier.get("format") == ANALYSIS_FORMAT
            and earlier.get("weights_sha256") == ckpt.card.get("weights_sha256"))
    return earlier if same else None


def _reusable_regions(path: Path, ckpt: Checkpoint, config: AnalyzeConfig) -> dict | None:
    """The analysis at ``path`` when its stage 1 matches these weights and settings, else None."""
    earlier = _earlier(path, ckpt)
    same = (earlier is not None
            and all(k in earlier for k in REGION_KEYS)
            and all(json.dumps(earlier.get("config", {}).get(k)) == json.dumps(list(v) if isinstance(v, tuple) else v)
                    for k, v in asdict(config).items() if k in REGION_SETTINGS))
    return earlier if same else None


def _faithfulness_summary(raw: dict, random: dict | None, seed: int) -> dict:
    """Mean AUCs, curves and intervals of one method; the comparison with the random map."""
    fractions = torch.tensor(raw["fractions"], dtype=torch.float64)
    out = {}
    for kind in ("deletion", "insertion"):
        scores = torch.tensor(raw[kind], dtype=torch.float64)  # (B, T)
        auc = torch.trapezoid(scores, fractions, dim=1)
        out |= {f"{kind}_auc": _r(auc.mean()), f"{kind}_auc_std": _r(auc.std()),
                f"{kind}_curve": [_r(v) for v in scores.mean(0)]}
        if random is not None:
            base = torch.trapezoid(torch.tensor(random[kind], dtype=torch.float64), fractions, dim=1)
            out[kind] = faithfulness_summary(auc, base, lower_is_better=kind == "deletion", seed=seed)
    return out | {"fractions": [_r(v) for v in fractions]}


def _summary(values: np.ndarray, bins: int) -> dict:
    values = values[np.isfinite(values)]
    if not len(values):
        return {"n": 0}
    hist, edges = np.histogram(values, bins=bins, range=(-1, 1) if values.min() < 0 else (0, 1))
    return {"n": int(len(values)), "mean": _r(values.mean()),
            "quantiles": {str(q): _r(np.quantile(values, q)) for q in QUANTILES},
            "histogram": {"edges": [_r(e) for e in edges], "counts": hist.tolist()}}


def _region_results(ckpt, config, state, classes) -> dict:
    """Stage 1's keys (``REGION_KEYS`` less faces and source) from the accumulated state."""
    layout = region_layout(size=ckpt.preprocessing.size)
    counts = state.counts
    sensitivity, means = {}, {}
    for m, sums in state.sums.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums / counts[:, None, None]
        scores = region_scores(mean, layout)
        sensitivity[m] = {e: {r: _r(scores[r][i]) for r in layout.names}
                          for i, e in enumerate(classes) if counts[i]}
        means[m] = {e: np.round(np.nan_to_num(mean[i]), 6).tolist()
                    for i, e in enumerate(classes) if counts[i]}
    labels, rho, iou = (np.asarray(v) for v in (state.labels, state.agree_rho, state.agree_iou))
    bins = config.histogram_bins
    agreement = {"measures": {"spearman": "rank correlation of the two maps over pixels",
                              "topk_iou": f"IoU of the top {AGREEMENT_TOP:.0%} pixels "
                                          "(occlusion by magnitude)"},
                 "all": {"spearman": _summary(rho, bins), "topk_iou": _summary(iou, bins)},
                 "per_emotion": {e: {"spearman": _summary(rho[labels == i], bins),
                                     "topk_iou": _summary(iou[labels == i], bins)}
                                 for i, e in enumerate(classes) if (labels == i).any()}}
    return {"regions": {"names": list(layout.names), "area": {k: _r(v) for k, v in layout.area.items()},
                        "landmarks": layout.landmarks, "labels": layout.labels.tolist()},
            "counts": {e: int(n) for e, n in zip(classes, counts)},
            "region_sensitivity": sensitivity, "class_mean_maps": means, "agreement": agreement}


def _trust_results(config, state, sampled) -> dict:
    """Stages 2 and 3 summarised: means, intervals and verdicts per method."""
    faith = state.trust.get("faithfulness", {})
    return {
        "faithfulness": {"faces": sampled["faithfulness"], "score": "probability",
                         "deletion_baseline": "black", "insertion_start": "blurred face",
                         "interval": INTERVAL, "methods": {
                             m: _faithfulness_summary(raw, None if m == "random" else faith.get("random"),
                                                      config.seed)
                             for m, raw in faith.items()}},
        "sanity": {"faces": sampled["sanity"],
                   "similarity": "Spearman of |map| with the original map",
                   "interval": INTERVAL, "methods": {
                       m: SanityCheck(raw["layers"], torch.tensor(raw["similarity"], dtype=torch.float64),
                                      raw["threshold"]).summary()
                       for m, raw in state.trust.get("sanity", {}).items()}}}


def _assemble(ckpt, config, state, classes, source, total, seconds, sampled) -> dict:
    regions = _region_results(ckpt, config, state, classes) if state.counts is not None else {}
    return {
        "format": ANALYSIS_FORMAT, "checkpoint": ckpt.name,
        "weights_sha256": ckpt.card.get("weights_sha256"), "source": source, "faces": total,
        "classes": list(classes), "config": asdict(config),
        "target": {"regions": "true class", "faithfulness": "predicted class",
                   "sanity": "predicted class of the original network"},
        **regions, **_trust_results(config, state, sampled),
        "seconds": seconds, "code_commit": code_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _r(value) -> float | None:
    """Rounded to 5 decimals so the files stay small and diff-able; None for NaN (JSON has
    no NaN)."""
    value = float(value)
    return round(value, 5) if np.isfinite(value) else None
