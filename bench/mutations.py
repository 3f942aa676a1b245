"""Mutation check: one-line bugs planted in the code, each of which named tests must catch.

    python bench/mutations.py              # every mutation (a few minutes on two cores)
    python bench/mutations.py --list       # what is mutated, and which tests must catch it
    python bench/mutations.py --only "occlusion sign" --only "bomb limit"

A test that passes whatever the code does protects nothing.  Each ``Mutation`` below replaces
one short snippet of the source (it must occur exactly once in its file: when a refactor moves
or changes it, the script stops and names the mutation to update) and runs only the tests that
should catch it.  A mutation is *killed* when at least one of them fails, *survives* when all
pass.  The tests first run once on the unmutated code, so a failure is the mutation's doing.

Everything happens in a copy of the working tree under a temporary directory (tracked and
untracked files that git does not ignore): the tree itself is never modified, whatever happens
(an exception, Ctrl-C), and the copy is deleted at the end.  Each mutated file is restored in
the copy before the next mutation.  Not part of the test suite: CI does not run it.

Exit status: 0 when every mutation is killed, 1 when some survive, 2 when the check itself
cannot run (a snippet not found, the unmutated tests failing, a mutant that does not import).
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
    Mutation("a second click on the same confusion cell is a toggle", "dashboard/views/confusion.py",
             'st.session_state.get(chart_key + "_n", 0) + 1',
             'st.session_state.get(chart_key + "_n", 0)',
             ("tests/dashboard/test_browser_phone_offline.py::"
              "test_every_click_on_a_confusion_cell_selects_it",)),
)


def check_snippets(root: Path, mutations) -> None:
    """Stop before running anything when a snippet is not exactly once in its file."""
    problems = []
    for m in mutations:
        path = root / m.path
        count = path.read_text().count(m.snippet) if path.is_file() else 0
        if count != 1:
            where = f"found {count} times" if path.is_file() else "file missing"
            problems.append(f"  {m.name!r}: {m.snippet!r} in {m.path}: {where}")
    if problems:
        print("mutation snippets must occur exactly once; update these mutations in "
              f"{Path(__file__).relative_to(ROOT)}:\n" + "\n".join(problems), file=sys.stderr)
        sys.exit(2)


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
    check_snippets(ROOT, chosen)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutations-") as tmp:
        tree = Path(tmp)
        copy_tree(ROOT, tree)
        return report(tree, chosen, started)


def report(tree: Path, chosen, started: float) -> int:
    """Run the unmutated tests, then every mutation; print one line each and a summary."""
    tests = list(dict.fromkeys(t for m in chosen for t in m.tests))
    code, failed, tail = run_tests(tree, tests)
    if code != 0:
        print(f"the tests fail without any mutation ({failed or 'exit ' + str(code)}):\n{tail}")
        return 2
    print(f"{len(tests)} tests pass on the unmutated code ({time.perf_counter() - started:.0f} s)")
    results = {}
    for m in chosen:
        t0 = time.perf_counter()
        results[m.name], failed = mutate(tree, m)
        caught = ", ".join(f.split("::", 1)[-1] for f in failed)
        print(f"{results[m.name]:>8}  {m.name}  ({time.perf_counter() - t0:.0f} s)"
              + (f"\n          caught by {caught}" if caught else ""), flush=True)
    survivors = [n for n, r in results.items() if r == "survived"]
    broken = [n for n, r in results.items() if r == "broken"]
    print(f"{len(chosen)} mutations: {len(chosen) - len(survivors) - len(broken)} killed, "
          f"{len(survivors)} survived{' (' + ', '.join(survivors) + ')' if survivors else ''}"
          f"{', ' + str(len(broken)) + ' broken' if broken else ''}; "
          f"{time.perf_counter() - started:.0f} s")
    return 2 if broken else 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
