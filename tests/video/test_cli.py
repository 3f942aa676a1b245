"""``deep-emotion predict CLIP --out timeline.csv``: one row per face per sampled frame,
nothing half-written on bad input, and an interrupted run carries on to the same file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from deep_emotion.cli import main
from deep_emotion.cli import predict_video
from tests.video.conftest import audio_only


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_timeline_has_one_row_per_face_per_sampled_frame(clips, random_checkpoint, tmp_path,
                                                             capsys):
    out = tmp_path / "timeline.csv"
    assert main(["predict", str(clips["crossing"]), "--checkpoint", str(random_checkpoint),
                 "--out", str(out), "--every", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = _rows(out)
    classes = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    assert list(rows[0]) == ["clip", "time_s", "frame", "faces", "track", "x", "y", "w", "h",
                             "prediction", "confidence", *(f"p_{c}" for c in classes)]
    assert {r["clip"] for r in rows} == {"crossing.mp4"}
    frames = sorted({int(r["frame"]) for r in rows})
    assert set(frames) <= set(range(0, 30, 2)) and summary["frames_read"] == 15
    faces_per_frame = {f: sum(int(r["frame"]) == f for r in rows) for f in frames}
    assert sum(faces_per_frame.values()) == len(rows) == summary["rows_written"]
    assert all(int(r["faces"]) == faces_per_frame[int(r["frame"])] for r in rows)
    assert max(faces_per_frame.values()) == 2 and {r["track"] for r in rows} == {"1", "2"}
    for r in rows:
        probs = [float(r[f"p_{c}"]) for c in classes]
        assert sum(probs) == pytest.approx(1, abs=1e-3)
        assert r["prediction"] == classes[probs.index(max(probs))]
        assert float(r["confidence"]) == max(probs)
        assert float(r["time_s"]) == pytest.approx(int(r["frame"]) / 10, abs=1e-3)


def test_a_parquet_timeline_holds_the_same_rows(clips, random_checkpoint, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    assert main(["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint),
                 "--out", str(tmp_path / "t.parquet"), "--every", "3", "--quiet"]) == 0
    table = pq.read_table(tmp_path / "t.parquet").to_pydict()
    assert table["frame"] == [0.0, 3.0, 6.0, 9.0] and set(table["track"]) == {1.0}
    assert not (tmp_path / "t.parquet.partial.csv").exists()


def test_fps_sampling_reads_frames_by_time(clips, random_checkpoint, tmp_path):
    out = tmp_path / "t.csv"
    assert main(["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint),
                 "--out", str(out), "--fps", "2.5"]) == 0
    assert [float(r["time_s"]) for r in _rows(out)] == [0.0, 0.4, 0.8]


def test_an_interrupted_run_carries_on_and_ends_with_the_same_file(clips, random_checkpoint,
                                                                   tmp_path, monkeypatch):
    args = ["predict", str(clips["crossing"]), "--checkpoint", str(random_checkpoint)]
    whole = tmp_path / "whole.csv"
    assert main([*args, "--out", str(whole)]) == 0

    out = tmp_path / "resumed.csv"
    real, calls = predict_video.timeline_rows, []

    def stop_at_frame_12(clip, reading, classes):
        calls.append(reading.index)
        if reading.index == 12:
            raise KeyboardInterrupt
        return real(clip, reading, classes)

    monkeypatch.setattr(predict_video, "timeline_rows", stop_at_frame_12)
    assert main([*args, "--out", str(out)]) == 130
    with out.open("a") as f:
        f.write("crossing.mp4,1.200,12,2,1,30")  # a torn last line, as a crash leaves it
    calls.clear()
    monkeypatch.setattr(predict_video, "timeline_rows",
                        lambda n, r, c: calls.append(r.index) or real(n, r, c))
    assert main([*args, "--out", str(out)]) == 0
    assert calls[0] == 12, "frames 0-11 were whole and are not read again"
    resumed, expected = _rows(out), _rows(whole)
    kept = sum(int(r["frame"]) < 12 for r in expected)
    assert resumed[:kept] == expected[:kept]
    # Later frames, resumed mid-crossing: the tracker is seeded with each track's last boxes,
    # so the same faces are read on the same frames under the same ids, in the same order.
    # The detector runs on a schedule counted from the restart, so a box may sit a pixel or
    # two apart where one run detected and the other followed the face by optical flow.
    assert [(r["frame"], r["track"]) for r in resumed] == \
        [(r["frame"], r["track"]) for r in expected]
    assert {r["track"] for r in resumed} == {"1", "2"}
    for got, want in zip(resumed[kept:], expected[kept:]):
        assert all(abs(int(got[k]) - int(want[k])) <= 2 for k in ("x", "y", "w", "h")), got


def test_a_table_of_another_clip_is_not_continued(clips, random_checkpoint, tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint),
                 "--out", str(out), "--every", "4", "--quiet"]) == 0
    before = out.read_text()
    args = ["predict", str(clips["crossing"]), "--checkpoint", str(random_checkpoint),
            "--out", str(out), "--every", "4", "--quiet"]
    assert main(args) == 2
    assert "holds the timeline of one.mp4, not crossing.mp4" in capsys.readouterr().err
    assert out.read_text() == before
    assert main([*args, "--restart"]) == 0
    assert {r["clip"] for r in _rows(out)} == {"crossing.mp4"}


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4", "not a video"),
    (lambda d: audio_only(d / "voice.mp4"), "audio only"),
])
def test_a_bad_clip_is_one_line_exit_2_and_leaves_no_file(tmp_path, random_checkpoint, make,
                                                          message):
    out = tmp_path / "out" / "timeline.csv"
    result = subprocess.run([sys.executable, "-m", "deep_emotion.cli", "predict",
                             str(make(tmp_path)), "--checkpoint", str(random_checkpoint),
                             "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not out.parent.exists()


def test_a_clip_damaged_halfway_leaves_nothing_half_written(tmp_path, random_checkpoint):
    from tests.video.conftest import make_clip

    clip = make_clip(tmp_path / "long.mkv", "one", 40)
    data = bytearray(clip.read_bytes())
    data[len(data) * 2 // 3:] = bytes(len(data) - len(data) * 2 // 3)  # the end is zeros
    clip.write_bytes(bytes(data))
    out = tmp_path / "t.csv"
    assert main(["predict", str(clip), "--checkpoint", str(random_checkpoint),
                 "--out", str(out)]) == 2
    assert not out.exists()


@pytest.mark.parametrize("extra, message", [
    ([], "a video needs --out FILE.csv"),
    (["--out", "x.csv", "--tta", "flip"], "--tta and --no-detect are for photos"),
    (["--out", "x.csv", "--detect-every", "0"], "--detect-every must be 1 or more"),
])
def test_video_options_are_checked(clips, random_checkpoint, extra, message, capsys):
    assert main(["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint),
                 *extra]) == 2
    assert message in capsys.readouterr().err
