"""Mutation check: one-line bugs planted in the code, each of which named tests must catch.

    python bench/mutations.py              # every mutation (about 25 minutes on two cores)
    python bench/mutations.py --list       # what is mutated, and which tests must catch it
    python bench/mutations.py --only "occlusion sign" --only "bomb limit"

A test that passes whatever the code does protects nothing.  Each ``Mutation`` below replaces
one short snippet of the source (it must occur exactly once in its file: when a refactor moves
or changes it, that mutation is reported as "not found", the others still run) and runs only
the tests that should catch it.  A mutation is *killed* when at least one of them fails, *survives* when all
pass.  The tests first run once on the unmutated code, so a failure is the mutation's doing.

Everything happens in a copy of the working tree under a temporary directory (tracked and
untracked files that git does not ignore): the tree itself is never modified, whatever happens
(an exception, Ctrl-C), and the copy is deleted at the end.  Each mutated file is restored in
the copy before the next mutation.  Not part of the test suite: CI does not run it.

The results are printed as a table, one row per mutation.  Exit status: 0 when every mutation
is killed, 1 when some survive, 2 when the check itself is incomplete (a target not found, the
unmutated tests failing, a mutant whose tests cannot run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# test files, for the node ids below
ATTR = "tests/explain/test_attributions.py"
METRICS = "tests/explain/test_metrics.py"
ANALYZE = "tests/explain/test_analyze.py"
ALIGN = "tests/faces/test_align.py"
DECODE = "tests/faces/test_decode.py"
EVALUATE = "tests/test_evaluate.py"
FIGURES = "tests/dashboard/test_figures.py"
JAFFE = "tests/data/test_jaffe.py"
ZIPS = "tests/dashboard/test_zipfaces.py"
LABELS = "tests/data/test_label_names.py"
SAMPLING = "tests/video/test_sampling.py"
TRACK = "tests/video/test_track.py"
VIDEO_DECODE = "tests/video/test_decode.py"
DETECT = "tests/faces/test_detect.py"
RANKS = "tests/test_distributed.py"


@dataclass(frozen=True)
class Mutation:
    """One planted bug: ``snippet`` (unique in ``path``) becomes ``replacement``."""

    name: str
    path: str                # relative to the repository root
    snippet: str
    replacement: str
    tests: tuple[str, ...]   # pytest node ids of which at least one must fail


MUTATIONS = (
    # --- bugs the suite already caught when the check was written -----------------------------
    Mutation("occlusion sign", "deep_emotion/explain/attributions.py",
             "return maps, {}", "return -maps, {}",
             (f"{ATTR}::test_occlusion_finds_the_patch_the_network_reads",)),
    Mutation("deletion ranking", "deep_emotion/explain/metrics.py",
             "torch.sort(-_flat(maps), dim=1", "torch.sort(_flat(maps), dim=1",
             (f"{METRICS}::test_occlusion_deletes_faster_than_a_random_map_on_a_trained_network",)),
    Mutation("sanity threshold", "deep_emotion/explain/metrics.py",
             "SANITY_THRESHOLD = 0.5", "SANITY_THRESHOLD = 1.01",
             (f"{METRICS}::test_sanity_check_fails_a_map_that_ignores_the_model",)),
    Mutation("alignment framing", "deep_emotion/faces/align.py",
             "dst = np.array([FER2013_LANDMARKS[k] for k in LANDMARKS], dtype=np.float64)",
             "dst = np.array([FER2013_LANDMARKS[k] for k in LANDMARKS], dtype=np.float64) + 2",
             (f"{ALIGN}::test_alignment_matrix_maps_the_landmarks_onto_fer2013_positions",
              f"{ALIGN}::test_landmarks_land_on_fer2013_positions_whatever_the_rotation_and_size")),
    Mutation("EXIF handling", "deep_emotion/faces/decode.py",
             "im = ImageOps.exif_transpose(im)", "im = im",
             (f"{DECODE}::test_exif_orientation_is_applied",)),
    Mutation("bomb limit", "deep_emotion/faces/decode.py",
             "if width * height > max_pixels:", "if width * height > 100 * max_pixels:",
             (f"{DECODE}::test_image_above_the_pixel_limit_is_refused_with_the_limit_in_the_message",
              f"{DECODE}::test_pixel_limit_is_a_parameter")),
    Mutation("STN identity start", "deep_emotion/model.py",
             "torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])",
             "torch.tensor([1.0, 0.0, 0.0, 0.0, 0.9, 0.0])",
             ("tests/test_model.py::test_theta_is_the_identity_at_initialisation",)),
    # --- bugs that passed the tests named after them ------------------------------------------
    Mutation("flip map blank", "deep_emotion/explain/attributions.py",
             "return (net(x).argmax(1) == t).float()", "return torch.ones(len(x))",
             (f"{ATTR}::test_flip_values_are_shares_of_windows",
              f"{ATTR}::test_every_method_returns_a_finite_map_the_size_of_the_input[paper-flip]",
              f"{ATTR}::test_methods_are_deterministic_and_leave_the_network_untouched[paper-flip]")),
    Mutation("flip map of another face's windows", "deep_emotion/explain/attributions.py",
             "t = target.repeat(len(x) // len(target))",
             "t = target.repeat_interleave(len(x) // len(target))",
             (f"{ATTR}::test_flip_values_are_shares_of_windows",)),
    Mutation("Grad-CAM all zero", "deep_emotion/explain/attributions.py",
             "layer_to_input(cam.detach(),", "layer_to_input(cam.detach() * 0,",
             (f"{ATTR}::test_gradcam_is_placed_where_the_last_conv_sees",
              f"{ATTR}::test_every_method_returns_a_finite_map_the_size_of_the_input[paper-gradcam]")),
    Mutation("augmentation ignores the horizontal shift", "deep_emotion/augment.py",
             "torch.stack([cos * flip, -sin, tx], 1)", "torch.stack([cos * flip, -sin, 0 * tx], 1)",
             ("tests/test_augment.py::test_a_shift_moves_content_by_up_to_that_many_pixels_on_"
              "both_axes",)),
    Mutation("predictions in training mode", "deep_emotion/predict.py",
             "model.eval()", "model.train()",
             (f"{EVALUATE}::test_predictions_are_probabilities_of_the_evaluation_mode_network_and_"
              "restore_the_mode", f"{EVALUATE}::test_evaluate_model_reports_each_tta_mode")),
    Mutation("checkpoint switch changes nothing", "dashboard/widgets.py",
             'name = st.session_state.get("checkpoint")', 'name = "fer2013"',
             ("tests/dashboard/test_pages.py::test_switch_checkpoint",)),
    Mutation("sanity verdict under another key", "deep_emotion/explain/metrics.py",
             '"verdict": self.verdict', '"verdicts": self.verdict',
             (f"{FIGURES}::test_quantile_and_sanity_figures",
              f"{FIGURES}::test_trust_reading_in_plain_words")),
    Mutation("empty sanity stage", "deep_emotion/explain/stages.py",
             "sims.append(check.similarity)", "sims.append(check.similarity[:, :0])",
             (f"{ANALYZE}::test_writes_the_documented_analyses_beside_the_checkpoint",)),
    Mutation("a method blank on most faces passes with one defined face",
             "deep_emotion/explain/metrics.py", "sims.append(spearman(reference, maps))",
             "sims.append(torch.nan_to_num(spearman(reference, maps), nan=0.0))",
             ("tests/explain/test_metrics.py::"
              "test_a_map_that_goes_blank_on_a_random_network_is_undefined_never_a_pass",
              "tests/explain/test_sanity_blank_faces.py::"
              "test_a_method_blank_on_most_faces_does_not_pass_on_its_one_defined_face")),
    Mutation("agreement undefined on every face", "deep_emotion/explain/stages.py",
             'spearman(maps["stn"], maps["occlusion"])', 'spearman(maps["stn"], 0 * maps["stn"])',
             (f"{ANALYZE}::test_writes_the_documented_analyses_beside_the_checkpoint",)),
    Mutation("FER2013 anger and fear swapped", "deep_emotion/data/fer2013.py",
             'CLASSES = ("anger", "disgust", "fear",', 'CLASSES = ("fear", "disgust", "anger",',
             ("tests/data/test_fer2013.py::test_loads_pixels_labels_and_splits_in_row_order",)),
    Mutation("JAFFE codes DI and FE swapped", "deep_emotion/data/jaffe.py",
             '"DI": "disgust", "FE": "fear"', '"FE": "disgust", "DI": "fear"',
             (f"{JAFFE}::test_every_expression_code_is_parsed_to_its_emotion",
              f"{JAFFE}::test_loader_parses_subject_and_expression_and_aligns_every_face")),
    Mutation("a second click on the same confusion cell is a toggle", "dashboard/widgets.py",
             'st.session_state.get(base + "_n", 0) + 1',
             'st.session_state.get(base + "_n", 0)',
             ("tests/dashboard/test_browser_phone_offline.py::"
              "test_every_click_on_a_confusion_cell_selects_it",)),
    # --- uploads, your data, video, faces, trust and scale-out: each passed the whole suite
    #     until a test named below was written for it ------------------------------------------
    Mutation("zip depth limit off by one", "dashboard/zipfaces.py",
             "if len(path.parts) - 1 > limits.max_depth:",
             "if len(path.parts) - 1 >= limits.max_depth:",
             (f"{ZIPS}::test_members_may_sit_six_folders_deep_and_no_deeper",)),
    Mutation("zip ratio checked on the first member only", "dashboard/zipfaces.py",
             "for info in files:\n        if info.file_size > limits.max_ratio",
             "for info in files[:1]:\n        if info.file_size > limits.max_ratio",
             (f"{ZIPS}::test_a_bomb_member_hidden_among_incompressible_ones_is_refused_by_its_own_"
              "ratio", f"{ZIPS}::test_only_members_over_64_kib_are_judged_by_their_ratio")),
    Mutation("zip upload cap off by one", "dashboard/zipfaces.py",
             "if len(data) > limits.max_upload:", "if len(data) >= limits.max_upload:",
             (f"{ZIPS}::test_the_upload_size_cap_holds_on_both_sides_of_its_boundary",)),
    Mutation("zip backslash names read as one file name", "dashboard/zipfaces.py",
             'path = PurePosixPath(name.replace("\\\\", "/"))', "path = PurePosixPath(name)",
             (f"{ZIPS}::test_unsafe_member_names_refuse_the_whole_upload",)),
    Mutation("zip member read only as far as its header says", "dashboard/zipfaces.py",
             "wider.file_size = sys.maxsize", "wider.file_size = info.file_size",
             (f"{ZIPS}::test_a_member_holding_more_bytes_than_its_header_declares_is_refused",)),
    Mutation("'scared' read as surprise", "deep_emotion/emotions.py",
             '"scared": "fear"', '"scared": "surprise"',
             (f"{LABELS}::test_emotion_folders_named_with_any_synonym_map_to_their_emotion",
              f"{LABELS}::test_list_labels_written_with_any_synonym_map_to_their_emotion")),
    Mutation("'contemptuous' read as disgust", "deep_emotion/emotions.py",
             '"contemptuous": "contempt"', '"contemptuous": "disgust"',
             (f"{LABELS}::test_emotion_folders_named_with_any_synonym_map_to_their_emotion",
              f"{LABELS}::test_list_labels_written_with_any_synonym_map_to_their_emotion")),
    Mutation("PublicTest taken for the test split", "deep_emotion/data/listing.py",
             '"publictest": "val"', '"publictest": "test"',
             (f"{LABELS}::test_split_folders_named_with_any_alias_map_to_their_role",
              f"{LABELS}::test_list_splits_written_with_any_alias_map_to_their_role")),
    Mutation("list splits matched case-sensitively", "deep_emotion/data/listing.py",
             "SPLIT_NAMES.get(split.lower())", "SPLIT_NAMES.get(split)",
             (f"{LABELS}::test_list_splits_written_with_any_alias_map_to_their_role",)),
    Mutation("ticks missed in a gap made up", "deep_emotion/video/sampling.py",
             "self._next_tick += (missed + 1) * period", "self._next_tick += period",
             (f"{SAMPLING}::test_a_gap_longer_than_a_period_skips_its_ticks_and_makes_none_up",)),
    Mutation("sampling ticks counted from zero", "deep_emotion/video/sampling.py",
             "self._next_tick = time", "self._next_tick = 0.0",
             (f"{SAMPLING}::test_ticks_count_from_the_first_frame_when_the_stream_starts_after_"
              "zero",)),
    Mutation("a stream's start time ignored", "deep_emotion/video/decode.py",
             "start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0",
             "start = 0.0",
             (f"{VIDEO_DECODE}::test_a_stream_that_starts_after_zero_is_timed_from_its_first_"
              "frame",)),
    Mutation("Matroska length counted from zero", "deep_emotion/video/decode.py",
             "seconds -= container.start_time / 1_000_000", "seconds -= 0",
             (f"{VIDEO_DECODE}::test_a_stream_that_starts_after_zero_is_timed_from_its_first_"
              "frame",)),
    Mutation("any overlap continues a track", "deep_emotion/video/track.py",
             "if iou < self.min_iou:", "if iou <= 0:",
             (f"{TRACK}::test_a_detection_continues_a_track_only_from_the_minimum_overlap_up",)),
    Mutation("resumed tracks move backwards", "deep_emotion/video/track.py",
             "track.velocity = (_centre(face.box) - _centre(first))",
             "track.velocity = (_centre(first) - _centre(face.box))",
             (f"{TRACK}::test_resumed_tracks_pick_up_their_ids_and_new_ids_start_above",
              "tests/video/test_cli.py::test_an_interrupted_run_carries_on_and_ends_with_the_"
              "same_file")),
    Mutation("a neighbouring Haar hit confirms a face", "deep_emotion/faces/detect.py",
             "< side / 2:", "< side:",
             (f"{DETECT}::test_a_haar_hit_confirms_only_with_its_centre_in_the_central_box_sized_"
              "square",)),
    Mutation("a lone Haar window confirms a face", "deep_emotion/faces/detect.py",
             "_CONFIRM_NEIGHBOURS = 3", "_CONFIRM_NEIGHBOURS = 1",
             (f"{DETECT}::test_a_haar_hit_made_by_a_lone_window_confirms_nothing",)),
    Mutation("sanity pass read off the mean", "deep_emotion/explain/metrics.py",
             '"passes" if high < self.threshold', '"passes" if interval[0] < self.threshold',
             (f"{METRICS}::test_a_sanity_verdict_is_read_off_the_whole_interval_never_the_mean",)),
    Mutation("bootstrap of the median", "deep_emotion/explain/metrics.py",
             "bootstrap((v,), np.mean,", "bootstrap((v,), np.median,",
             (f"{METRICS}::test_mean_interval_matches_the_normal_interval_of_the_mean_on_many_"
              "faces",)),
    Mutation("every fold's sanity check on the first network", "deep_emotion/explain/stages.py",
             "make_explainer(method, part.model, ckpt.preprocessing,",
             "make_explainer(method, picks[0][0].model, ckpt.preprocessing,",
             (f"{ANALYZE}::test_a_sanity_array_pools_every_network_with_each_face_judged_on_its_"
              "own_network",)),
    Mutation("sanity array of the last fold only", "deep_emotion/explain/stages.py",
             '"similarity": torch.cat(sims, 1).tolist()', '"similarity": sims[-1].tolist()',
             (f"{ANALYZE}::test_a_sanity_array_pools_every_network_with_each_face_judged_on_its_"
              "own_network",)),
    Mutation("deletion and insertion verdicts swapped", "deep_emotion/explain/analyze.py",
             'lower_is_better=kind == "deletion"', 'lower_is_better=kind == "insertion"',
             (f"{ANALYZE}::test_faithfulness_verdicts_say_which_way_each_curve_should_go",)),
    Mutation("every torchrun rank takes rank 0's chunks", "deep_emotion/explain/shards.py",
             "range(rank, len(units), world)", "range(0, len(units), world)",
             ("tests/explain/test_shards.py::test_two_torchrun_processes_write_the_one_process_"
              "analysis",)),
    Mutation("global rank read from LOCAL_RANK", "deep_emotion/distributed.py",
             'int(os.environ.get("RANK", "0"))', 'int(os.environ.get("LOCAL_RANK", "0"))',
             (f"{RANKS}::test_the_global_rank_decides_the_main_process_on_two_machines",)),
    Mutation("GPU chosen by global rank", "deep_emotion/distributed.py",
             'torch.device("cuda", self.local_rank)', 'torch.device("cuda", self.rank)',
             (f"{RANKS}::test_each_process_takes_the_gpu_of_its_local_rank",)),
    Mutation("STN outline in frame coordinates", "deep_emotion/explain/stn.py",
             "outline = frame_to_pixels(sampled, frame)", "outline = sampled",
             ("tests/explain/test_face.py::test_every_method_gives_a_float_map_and_json_ready_"
              "metadata",)),
    Mutation("IG delta sign flipped", "deep_emotion/explain/attributions.py",
             '{"delta": delta.detach().tolist()}', '{"delta": (-delta).detach().tolist()}',
             ("tests/explain/test_face.py::test_every_method_gives_a_float_map_and_json_ready_"
              "metadata",)),
    Mutation("Parquet columns shifted by one", "deep_emotion/resumable.py",
             "values = [r[i] for r in rows]", "values = [r[i - 1] for r in rows]",
             ("tests/cli/test_batch_predict.py::test_parquet_output_holds_the_same_rows",)),
    Mutation("live frame rate counts one frame too many", "dashboard/live.py",
             "(len(self._stamps) - 1) / max(", "len(self._stamps) / max(",
             ("tests/video/test_live.py::test_the_rate_is_frames_per_second_over_the_last_30_"
              "frames",)),
)


def missing_targets(root: Path, mutations) -> dict[str, str]:
    """Mutation name -> why its target is not there: the file is gone or the snippet does not
    occur exactly once in it (a refactor moved or changed the code: update the mutation)."""
    missing = {}
    for m in mutations:
        path = root / m.path
        count = path.read_text().count(m.snippet) if path.is_file() else 0
        if count != 1:
            missing[m.name] = (f"target not found: {m.path} is missing" if not path.is_file()
                               else f"target not found: the snippet occurs {count} times in "
                                    f"{m.path}")
    return missing


def copy_tree(root: Path, dest: Path) -> None:
    """Copy the files git tracks or would track (not ignored ones) from ``root`` to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = root / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def run_tests(tree: Path, tests) -> tuple[int, list[str], str]:
    """pytest on ``tests`` in ``tree``: (exit code, failed test ids, output tail)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
                           *tests], cwd=tree, env=env, capture_output=True, text=True)
    failed = [line.split()[1] for line in proc.stdout.splitlines()
              if line.startswith(("FAILED ", "ERROR "))]
    return proc.returncode, failed, "\n".join(proc.stdout.splitlines()[-15:])


def mutate(tree: Path, m: Mutation) -> tuple[str, list[str]]:
    """Apply ``m`` in ``tree``, run its tests, restore the file: ("killed" | "survived" |
    "broken", failed test ids)."""
    path = tree / m.path
    original = path.read_text()
    path.write_text(original.replace(m.snippet, m.replacement, 1))
    try:
        code, failed, tail = run_tests(tree, m.tests)
    finally:
        path.write_text(original)
    if code == 0:
        return "survived", []
    if code == 1 and failed:
        return "killed", failed
    print(tail, file=sys.stderr)
    return "broken", failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", metavar="NAME", help="run this mutation only")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    unknown = set(args.only or ()) - {m.name for m in MUTATIONS}
    if unknown:
        print(f"unknown mutation(s) {sorted(unknown)}; see --list", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.path}: {m.snippet!r} -> {m.replacement!r}\n    "
                  + "\n    ".join(m.tests))
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutations-") as tmp:
        tree = Path(tmp)
        copy_tree(ROOT, tree)
        return report(tree, chosen, missing_targets(tree, chosen), started)


def report(tree: Path, chosen, missing: dict[str, str], started: float) -> int:
    """Run the unmutated tests, then every mutation whose target is there; print a table (one
    row per mutation: result, seconds, name, file, the tests that caught it or why it could not
    run) and a summary."""
    runnable = [m for m in chosen if m.name not in missing]
    tests = list(dict.fromkeys(t for m in runnable for t in m.tests))
    if tests:
        code, failed, tail = run_tests(tree, tests)
        if code != 0:
            print(f"the tests fail without any mutation ({failed or 'exit ' + str(code)}):\n{tail}")
            return 2
    print(f"{len(tests)} tests pass on the unmutated code ({time.perf_counter() - started:.0f} s)\n")
    width = max(len(m.name) for m in chosen)
    print(f"{'result':<9} {'s':>4}  {'mutation':<{width}}  {'file':<36}  caught by")
    print(f"{'-' * 9} {'-' * 4}  {'-' * width}  {'-' * 36}  {'-' * 9}")
    results = {}
    for m in chosen:
        t0 = time.perf_counter()
        if m.name in missing:
            results[m.name], note = "not found", missing[m.name]
        else:
            results[m.name], failed = mutate(tree, m)
            note = ", ".join(dict.fromkeys(f.split("::", 1)[-1].split("[")[0]
                                           for f in failed)) or "-"
        print(f"{results[m.name]:<9} {time.perf_counter() - t0:>4.0f}  {m.name:<{width}}  "
              f"{m.path:<36}  {note}", flush=True)
    counts = {r: sum(v == r for v in results.values())
              for r in ("killed", "survived", "broken", "not found")}
    survivors = [n for n, r in results.items() if r == "survived"]
    print(f"\n{len(chosen)} mutations: " + ", ".join(f"{n} {r}" for r, n in counts.items() if n)
          + (f" ({', '.join(survivors)})" if survivors else "")
          + f"; {time.perf_counter() - started:.0f} s")
    return 2 if counts["broken"] or counts["not found"] else 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
