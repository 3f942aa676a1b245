"""`deep-emotion predict DIR... --out results.csv`: a row per face, resumable, Parquet too."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import pytest

from deep_emotion import batch
from deep_emotion.checkpoints import load_checkpoint
from tests.cli.test_cli import cli
from tests.data.userfaces import crop_folder, write_image

skimage_data = pytest.importorskip("skimage.data")
CLASSES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


@pytest.fixture
def photos(tmp_path):
    """Face crops in nested folders, a photo with a face, a faceless picture, a broken file."""
    root = crop_folder(tmp_path / "photos", {"a": 3, "b/c": 3})
    write_image(root / "astronaut.jpg", skimage_data.astronaut())
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return root


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_rows_per_face_with_box_score_and_probabilities(photos, tmp_path):
    out = tmp_path / "results.csv"
    cli("predict", photos, "--out", out, "--quiet")
    rows = read_rows(out)
    assert list(rows[0]) == ["file", "face", "faces", "x", "y", "w", "h", "score", "prediction",
                             "confidence", *[f"p_{c}" for c in CLASSES], "error"]
    astronaut = [r for r in rows if r["file"].endswith("astronaut.jpg")]
    assert astronaut[0]["face"] == "0" and float(astronaut[0]["score"]) > 0.9
    assert int(astronaut[0]["w"]) > 50 and astronaut[0]["prediction"] in CLASSES
    probs = [float(astronaut[0][f"p_{c}"]) for c in CLASSES]
    assert abs(sum(probs) - 1) < 1e-4 and max(probs) == float(astronaut[0]["confidence"])
    broken = [r for r in rows if r["file"].endswith("broken.png")]
    assert broken[0]["faces"] == "0" and "not an image" in broken[0]["error"]
    assert sum(r["error"] == "no face found" for r in rows) >= 1  # the random crops


def test_an_interrupted_run_resumes_and_ends_as_one_uninterrupted_run(photos, tmp_path,
                                                                      random_checkpoint,
                                                                      monkeypatch):
    ckpt = load_checkpoint(random_checkpoint)
    whole = tmp_path / "whole.csv"
    batch.run_batch([photos], whole, ckpt, detect=False, progress=False)
    out = tmp_path / "results.csv"
    real, calls = batch.file_rows, []

    def dies_on_the_fourth_file(path, *args):
        calls.append(path)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(path, *args)

    monkeypatch.setattr(batch, "file_rows", dies_on_the_fourth_file)
    with pytest.raises(KeyboardInterrupt):
        batch.run_batch([photos], out, ckpt, detect=False, progress=False)
    with open(out, "ab") as f:
        f.write(b"half,a row")  # what a crash in the middle of a write leaves
    monkeypatch.setattr(batch, "file_rows", real)
    again = batch.run_batch([photos], out, ckpt, detect=False, progress=False)
    assert again["already_done"] == 3 and again["files"] == 8 - 3
    assert out.read_bytes() == whole.read_bytes()


def test_an_incomplete_group_is_redone(tmp_path):
    from deep_emotion.resumable import ResumableTable

    path = tmp_path / "t.csv"
    path.write_text("file,faces,v\na,1,1\nb,2,1\n")  # b says two rows, one made it
    with ResumableTable(path, ["file", "faces", "v"], "file", "faces") as table:
        assert table.done == {"a"}
        table.write_group([{"file": "b", "faces": 2, "v": 1}, {"file": "b", "faces": 2, "v": 2}])
    assert path.read_text() == "file,faces,v\na,1,1\nb,2,1\nb,2,2\n"


def test_parquet_output_holds_the_same_rows(photos, tmp_path, random_checkpoint):
    pq = pytest.importorskip("pyarrow.parquet")
    ckpt = load_checkpoint(random_checkpoint)
    batch.run_batch([photos], tmp_path / "r.csv", ckpt, detect=False, progress=False)
    result = batch.run_batch([photos], tmp_path / "r.parquet", ckpt, detect=False,
                             progress=False)
    table = pq.read_table(tmp_path / "r.parquet").to_pylist()
    rows = read_rows(tmp_path / "r.csv")
    assert result["rows"] == len(table) == len(rows)
    assert list(table[0]) == list(rows[0])  # the same columns in the same order
    for parquet_row, csv_row in zip(table, rows):  # ... and the same value in every cell
        for column, cell in csv_row.items():
            value = parquet_row[column]
            if value is None or isinstance(value, float):  # a number column: empty is null
                assert value is None if cell == "" else value == pytest.approx(float(cell),
                                                                                abs=1e-6), column
            else:
                assert value == cell, column
    assert all(isinstance(r["p_anger"], float) for r, c in zip(table, rows) if c["p_anger"])
    assert not (tmp_path / "r.parquet.partial.csv").exists()


def test_globs_and_missing_inputs(photos, tmp_path, random_checkpoint):
    files = batch.expand_inputs([f"{photos}/**/*.png", photos / "gone.jpg"])
    assert photos / "b/c/0.png" in files and files[-1] == photos / "gone.jpg"
    ckpt = load_checkpoint(random_checkpoint)
    batch.run_batch([photos / "gone.jpg"], tmp_path / "r.csv", ckpt, progress=False)
    assert read_rows(tmp_path / "r.csv")[0]["error"] == "no such file"
    with pytest.raises(FileNotFoundError, match="no image files"):
        batch.expand_inputs([f"{tmp_path}/*.webp"])
    result = cli("predict", photos, "--out", tmp_path / "r.txt", check=False)
    assert result.returncode == 2 and ".csv or .parquet" in result.stderr


def test_without_out_predict_json_is_unchanged(photos):
    import json

    out = json.loads(cli("predict", photos / "astronaut.jpg", "--json").stdout)
    assert set(out["results"][0]) >= {"prediction", "confidence", "box"}


@pytest.mark.skipif(shutil.which("torchrun") is None and not os.path.exists(
    os.path.join(os.path.dirname(sys.executable), "torchrun")), reason="torchrun not installed")
def test_two_torchrun_processes_write_what_one_process_writes(photos, tmp_path,
                                                              random_checkpoint):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["-m", "deep_emotion.cli", "predict", str(photos), "--checkpoint",
            str(random_checkpoint), "--quiet"]
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one.csv")], env=env,
                         capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    two = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", *args, "--out",
                          str(tmp_path / "two.csv")], env=env, capture_output=True, text=True)
    assert two.returncode == 0, two.stderr
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert not list(tmp_path.glob("two.csv.shard*"))


def test_a_torchrun_shard_resumes_on_its_own(photos, tmp_path, random_checkpoint):
    """Rank 1 of 2 died after its first file: rerun, it skips that file; merged = 1 process."""
    from bench.batch import documents

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["-m", "deep_emotion.cli", "predict", str(photos), "--checkpoint",
            str(random_checkpoint), "--no-detect", "--quiet", "--json"]
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one.csv")], env=env,
                         capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    lines = (tmp_path / "one.csv").read_text().splitlines(keepends=True)
    rank1_first = str(batch.expand_inputs([photos])[1])
    kept = [line for line in lines[1:] if line.startswith(rank1_first + ",")]
    (tmp_path / "two.csv.shard1of2.csv").write_text(lines[0] + "".join(kept))
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    two = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", *args, "--out",
                          str(tmp_path / "two.csv")], env=env, capture_output=True, text=True)
    assert two.returncode == 0, two.stderr
    ranks = {d["rank"]: d for d in documents(two.stdout)}
    assert ranks[1]["already_done"] == 1 and ranks[0]["already_done"] == 0
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_a_finished_parquet_table_is_added_to_never_replaced(photos, tmp_path,
                                                              random_checkpoint):
    pq = pytest.importorskip("pyarrow.parquet")
    ckpt = load_checkpoint(random_checkpoint)
    out = tmp_path / "r.parquet"
    batch.run_batch([photos / "a"], out, ckpt, detect=False, progress=False)
    first = pq.read_table(out).to_pylist()
    result = batch.run_batch([photos / "b"], out, ckpt, detect=False, progress=False)
    table = pq.read_table(out).to_pylist()
    assert result["already_done"] == 0 and result["rows"] == len(table) == 2 * len(first)
    assert table[:len(first)] == first
    again = batch.run_batch([photos / "a"], out, ckpt, detect=False, progress=False)
    assert again["already_done"] == 3 and pq.read_table(out).to_pylist() == table


def test_torchrun_adds_to_a_table_one_process_wrote(photos, tmp_path, random_checkpoint):
    """An earlier single-process table keeps its rows and its files are not redone."""
    from bench.batch import documents

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["-m", "deep_emotion.cli", "predict"]
    common = ["--checkpoint", str(random_checkpoint), "--no-detect", "--quiet", "--json",
              "--out", str(tmp_path / "r.csv")]
    one = subprocess.run([sys.executable, *args, str(photos / "a"), *common], env=env,
                         capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    before = read_rows(tmp_path / "r.csv")
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    runs = (([photos / "b"], 0), ([photos / "a", photos / "b"], 2 * len(before)))
    for inputs, skipped in runs:
        two = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", *args,
                              *map(str, inputs), *common], env=env, capture_output=True,
                             text=True)
        assert two.returncode == 0, two.stderr
        assert sum(d["already_done"] for d in documents(two.stdout)) == skipped
        after = read_rows(tmp_path / "r.csv")
        assert after[:len(before)] == before and len(after) == 2 * len(before)
