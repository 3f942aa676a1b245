"""``deep-emotion analyze --checkpoint C``: precompute the analyses the dashboard shows.

Writes ``NAME.analysis.json`` beside the checkpoint (see ``deep_emotion.explain.analyze``);
interrupted runs resume from ``NAME.analysis.partial.npz``.
"""

from __future__ import annotations

import argparse
import time

from deep_emotion.catalog import DEFAULT_CHECKPOINT
from deep_emotion.cli import add_data_dir
from deep_emotion.cli.sources import add_data_source, data_spec
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.explain import AnalyzeConfig, analysis_path, analyze
from deep_emotion.explain.analyze import STAGES, data_analysis_path

NAME = "analyze"
HELP = "precompute region, faithfulness, sanity and knock-out analyses of a checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                        help=f"name or path (default: {DEFAULT_CHECKPOINT})")
    add_data_dir(parser)
    defaults = AnalyzeConfig()
    parser.add_argument("--window", type=int, default=defaults.window,
                        help="occlusion window side in pixels")
    parser.add_argument("--stride", type=int, default=defaults.stride,
                        help="occlusion stride in pixels")
    parser.add_argument("--faithfulness-faces", type=int, default=defaults.faithfulness_faces,
                        help="test faces sampled for deletion/insertion curves")
    parser.add_argument("--sanity-faces", type=int, default=defaults.sanity_faces,
                        help="test faces sampled for the randomisation sanity check")
    parser.add_argument("--trust-methods", nargs="+", default=None, metavar="METHOD",
                        help=f"methods of the faithfulness and sanity stages (default: all, "
                             f"{' '.join(defaults.trust_methods)})")
    parser.add_argument("--chunk", type=int, default=defaults.chunk,
                        help="faces per unit of work (saved for resuming; dealt out to "
                             "torchrun ranks)")
    parser.add_argument("--restart", action="store_true", help="ignore a partial run")
    parser.add_argument("--redo-regions", action="store_true",
                        help="recompute stage 1 even when the analysis already there has it for "
                             "these weights and settings")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                        metavar="STAGE",
                        help=f"compute only these ({' '.join(STAGES)}; default all); the others "
                             "are taken over from the analysis already written for these weights")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_data_source(parser, "analyse this dataset instead of the card's test split: your own "
                            "labelled folder:PATH or csv:FILE, or a dataset name (written to "
                            "the cache unless --out is given)")
    parser.add_argument("--out", default=None, help="write the analyses to this JSON file")


def run(args: argparse.Namespace) -> dict:
    config = AnalyzeConfig(window=args.window, stride=args.stride,
                           faithfulness_faces=args.faithfulness_faces,
                           sanity_faces=args.sanity_faces, chunk=args.chunk,
                           **({"trust_methods": tuple(args.trust_methods)}
                              if args.trust_methods else {}))
    started = time.perf_counter()
    spec = data_spec(args)
    data = None
    if spec is not None:
        from deep_emotion.data import load_dataset

        data = load_dataset(spec, args.data_dir)
    ckpt = load_checkpoint(args.checkpoint)
    result = analyze(ckpt, data_dir=args.data_dir, config=config, progress=not args.quiet,
                     resume=not args.restart, reuse_regions=not args.redo_regions, data=data,
                     out=args.out, stages=tuple(args.stages))
    if "format" not in result:  # a torchrun rank other than 0: rank 0 writes the file
        return {"checkpoint": ckpt.name, "rank": result["rank"], "seconds": result["seconds"],
                "merged_by_rank_0": True}
    file = args.out or (analysis_path(ckpt) if data is None else data_analysis_path(ckpt, data))
    return {"checkpoint": result["checkpoint"], "file": str(file),
            "faces": result["faces"], "seconds": result["seconds"],
            "wall_seconds": round(time.perf_counter() - started, 1),
            "faithfulness": {m: {"deletion_auc": r["deletion_auc"],
                                 "insertion_auc": r["insertion_auc"]}
                             for m, r in result["faithfulness"]["methods"].items()},
            "sanity": {m: r.get("verdict", "passes" if r["passed"] else "fails")
                       for m, r in result["sanity"]["methods"].items()},
            "knockout": _largest_drops(result.get("knockout", {}))}


def _largest_drops(knockout: dict) -> dict:
    """Per emotion, the region whose knock-out lowers the true class's probability most beyond
    a random region of the same area, with that excess."""
    emotions = {e for cells in knockout.values() for e in cells}
    return {e: max(((r, round(cells[e]["probability_drop"] - cells[e]["random_probability_drop"], 5))
                    for r, cells in knockout.items() if e in cells), key=lambda t: t[1])
            for e in sorted(emotions)}


def render(result: dict) -> str:
    if result.get("merged_by_rank_0"):
        return f"{result['checkpoint']}: this rank's share is done; rank 0 wrote the analyses"
    lines = [f"{result['file']}: {result['faces']} faces in {result['wall_seconds']} s "
             f"(stages: {result['seconds']})",
             f"{'method':>15}  deletion AUC (lower better)  insertion AUC (higher)  sanity"]
    for m, r in result["faithfulness"].items():
        sanity = result["sanity"].get(m, "-")
        lines.append(f"{m:>15}  {r['deletion_auc']:>27.3f}  {r['insertion_auc']:>22.3f}  {sanity}")
    for emotion, (region, drop) in result.get("knockout", {}).items():
        lines.append(f"knock-out: {emotion} needs the {region} most (probability drop "
                     f"{drop:+.3f} beyond a random region of its size)")
    return "\n".join(lines)
