"""A frame read with no face is one row that says so, in the command line's table and in the
rows the Video page downloads, so a timeline spans the whole clip, not only the faces."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard import video
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.cli import main
from deep_emotion.video import NO_FACE
from deep_emotion.video.synthetic import render_frame, scene, write_clip
from tests.video.conftest import SIZE


def _leaving_clip(path, with_face: int, without: int):
    """``with_face`` frames of the astronaut, then ``without`` frames of the empty stage."""
    faces = [p for p in scene("one", SIZE, with_face)] + [[] for _ in range(without)]
    return write_clip(path, [render_frame(SIZE, f) for f in faces], fps=10.0)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_clip_with_no_face_gives_one_row_per_frame_read(tmp_path, random_checkpoint):
    clip = _leaving_clip(tmp_path / "empty.mp4", 0, 4)
    out = tmp_path / "t.csv"
    assert main(["predict", str(clip), "--checkpoint", str(random_checkpoint), "--out", str(out),
                 "--quiet"]) == 0
    rows = _rows(out)
    assert [r["frame"] for r in rows] == ["0", "1", "2", "3"]
    assert [r["time_s"] for r in rows] == ["0.000", "0.100", "0.200", "0.300"]
    for r in rows:
        assert r["faces"] == "0" and r["prediction"] == NO_FACE
        assert r["track"] == r["x"] == r["confidence"] == r["p_anger"] == ""


def test_the_timeline_goes_on_after_the_face_leaves_and_resumes_over_empty_frames(
        tmp_path, random_checkpoint):
    clip = _leaving_clip(tmp_path / "leaves.mp4", 3, 3)
    out = tmp_path / "t.csv"
    args = ["predict", str(clip), "--checkpoint", str(random_checkpoint), "--out", str(out),
            "--quiet"]
    assert main(args) == 0
    rows = _rows(out)
    assert [r["frame"] for r in rows] == ["0", "1", "2", "3", "4", "5"]
    assert [r["faces"] for r in rows] == ["1", "1", "1", "0", "0", "0"]
    assert [r["track"] for r in rows] == ["1", "1", "1", "", "", ""]
    before = out.read_text()
    assert main(args) == 0, "a finished table whose last frames have no face resumes cleanly"
    assert out.read_text() == before


def test_a_parquet_table_keeps_the_empty_frames(tmp_path, random_checkpoint):
    pq = pytest.importorskip("pyarrow.parquet")
    clip = _leaving_clip(tmp_path / "empty.mp4", 0, 2)
    assert main(["predict", str(clip), "--checkpoint", str(random_checkpoint), "--out",
                 str(tmp_path / "t.parquet"), "--quiet"]) == 0
    table = pq.read_table(tmp_path / "t.parquet").to_pydict()
    assert table["frame"] == [0.0, 1.0] and table["prediction"] == [NO_FACE, NO_FACE]
    assert table["track"] == [None, None]


def test_the_video_pages_rows_cover_frames_with_no_face(tmp_path, random_checkpoint):
    clip = _leaving_clip(tmp_path / "leaves.mp4", 2, 2)
    timeline = video.read_clip(clip.read_bytes(), "leaves.mp4", load_checkpoint(random_checkpoint),
                               fps=None, detect_every=1)
    rows = list(csv.DictReader(io.StringIO(video.timeline_csv(timeline).decode())))
    assert [(r["frame"], r["faces"], r["prediction"] == NO_FACE) for r in rows] == [
        ("0", "1", False), ("1", "1", False), ("2", "0", True), ("3", "0", True)]
