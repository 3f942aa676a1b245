"""``deep-emotion predict CLIP --annotate OUT``: the clip again, same size, frame rate and
frame count, with each face's box, label and attention drawn; it appears only when whole,
never overwrites a file, and refuses a path it cannot write in one line with exit status 2."""

from __future__ import annotations

import csv
import subprocess
import sys
import tracemalloc

import av
import numpy as np
import pytest

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.cli import main, predict_video
from deep_emotion.video import VideoReader
from deep_emotion.video.annotate import ClipAnnotator
from deep_emotion.video.decode import VideoFrame, VideoInfo
from deep_emotion.video.overlay import colour_of


def _frames(source) -> list[np.ndarray]:
    """Every frame of a clip file or of a clip's bytes."""
    with VideoReader(source) as video:
        return [f.rgb for f in video.frames()]


def _stream(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.width, s.height, float(s.average_rate)


def _boxes(table):
    with open(table, newline="") as f:
        return {int(r["frame"]): tuple(int(r[k]) for k in "xywh") for r in csv.DictReader(f)
                if r["track"] == "1"}


def test_the_drawn_clip_keeps_size_rate_and_frames_and_shows_each_face(clips, random_checkpoint,
                                                                       tmp_path):
    drawn, table = tmp_path / "drawn.mp4", tmp_path / "t.csv"
    assert main(["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint), "--out",
                 str(table), "--annotate", str(drawn), "--every", "3", "--quiet"]) == 0
    assert _stream(drawn) == _stream(clips["one"]) == (320, 240, 10.0)
    source, out = _frames(clips["one"]), _frames(drawn)
    assert len(out) == len(source) == 12, "every frame, not only the 4 read"
    boxes = _boxes(table)
    assert sorted(boxes) == [0, 3, 6, 9]
    for i, (before, after) in enumerate(zip(source, out)):
        x, y, w, h = boxes[i - i % 3]  # a skipped frame carries the last reading's drawing
        diff = np.abs(after.astype(int) - before.astype(int)).sum(2)
        inside = diff[y:y + h, x:x + w].mean()
        assert inside > 20, f"frame {i}: the attention map covers the face"
        assert diff[:, : max(1, x - 25)].mean() < 6, f"frame {i}: the stage left of it is as it was"
        edge = after[y + h // 2, max(0, x - 1):x + 2].astype(int)  # the box's left side
        assert np.abs(edge - colour_of(1)).sum(1).min() < 90, f"frame {i}: box in track colour"


def test_without_a_table_only_the_clip_is_written_and_occlusion_changes_the_map(
        clips, random_checkpoint, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    stn, occ = folder / "stn.mkv", folder / "occ.mkv"
    args = ["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint), "--every",
            "6", "--quiet"]
    assert main([*args, "--annotate", str(stn)]) == 0
    assert main([*args, "--annotate", str(occ), "--annotate-occlusion"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["occ.mkv", "stn.mkv"]
    a, b = _frames(stn)[0].astype(int), _frames(occ)[0].astype(int)
    assert len(_frames(occ)) == 12 and np.abs(a - b).mean() > 0.5


def test_an_interrupted_run_leaves_no_clip_and_the_rerun_writes_it_whole(clips, random_checkpoint,
                                                                         tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    drawn, table = folder / "drawn.mp4", folder / "t.csv"
    args = ["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint), "--out",
            str(table), "--annotate", str(drawn), "--quiet"]
    real = predict_video.timeline_rows

    def stop_at_frame_6(clip, reading, classes):
        if reading.index == 6:
            raise KeyboardInterrupt
        return real(clip, reading, classes)

    monkeypatch.setattr(predict_video, "timeline_rows", stop_at_frame_6)
    assert main(args) == 130
    assert sorted(p.name for p in folder.iterdir()) == ["t.csv"], "no clip, whole or partial"
    monkeypatch.setattr(predict_video, "timeline_rows", real)
    assert main(args) == 0
    assert len(_frames(drawn)) == 12
    assert sorted(_boxes(table)) == list(range(12)), "the table carried on after frame 5"


@pytest.mark.parametrize("target, message", [
    (lambda d: (d / "taken.mp4").write_bytes(b"mine") and d / "taken.mp4", "already exists"),
    (lambda d: d / "no_folder" / "drawn.mp4", "does not exist"),
    (lambda d: (d / "a_file").write_text("x") and d / "a_file" / "drawn.mp4", "does not exist"),
    (lambda d: d / "drawn.gif", "written as one of .mp4"),
])
def test_a_path_that_cannot_be_written_is_one_line_and_exit_2(clips, random_checkpoint, tmp_path,
                                                              target, message):
    path = target(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    result = subprocess.run([sys.executable, "-m", "deep_emotion.cli", "predict",
                             str(clips["one"]), "--checkpoint", str(random_checkpoint), "--out",
                             str(tmp_path / "t.csv"), "--annotate", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert sorted(tmp_path.rglob("*")) == before, "no table and no clip written"
    if path.name == "taken.mp4":
        assert path.read_bytes() == b"mine"


def test_frames_are_encoded_as_they_come_so_memory_stays_flat(tmp_path, random_checkpoint):
    """Peak Python memory for 80 frames is that of 10 frames: nothing is kept per frame."""
    ckpt = load_checkpoint(random_checkpoint)
    header = VideoInfo("mp4", "h264", 320, 240, None, 10.0, 0)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    peaks = []
    for n in (10, 80):
        tracemalloc.start()
        with ClipAnnotator(tmp_path / f"{n}.mp4", header, ckpt) as annotator:
            for i in range(n):
                annotator.skip(VideoFrame(i, i / 10, frame))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert len(_frames(tmp_path / "80.mp4")) == 80
    assert peaks[1] < peaks[0] + 2 * frame.nbytes


def test_the_video_pages_clip_is_drawn_in_memory_as_the_command_line_draws_it(
        clips, random_checkpoint, tmp_path):
    from dashboard import video
    from deep_emotion.video.annotate import draw_clip

    ckpt = load_checkpoint(random_checkpoint)
    data = clips["one"].read_bytes()
    timeline = video.read_clip(data, "one.mp4", ckpt, fps=5.0, detect_every=5)
    drawn = draw_clip(data, "one.mp4", timeline.moments, ckpt, limits=video.PAGE_LIMITS)
    cli = tmp_path / "out" / "cli.mp4"
    cli.parent.mkdir()
    assert main(["predict", str(clips["one"]), "--checkpoint", str(random_checkpoint), "--fps",
                 "5", "--detect-every", "5", "--annotate", str(cli), "--quiet"]) == 0
    page, command = _frames(drawn), _frames(cli)
    assert len(page) == len(command) == 12
    for a, b in zip(page, command):
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0
    assert _stream(cli) == (320, 240, 10.0)


def test_annotate_on_a_photo_says_it_draws_on_videos(random_checkpoint, tmp_path, capsys):
    from PIL import Image

    photo = tmp_path / "grey.png"
    Image.new("RGB", (64, 64), (90, 90, 90)).save(photo)
    assert main(["predict", str(photo), "--checkpoint", str(random_checkpoint), "--annotate",
                 str(tmp_path / "out.mp4")]) == 2
    assert "--annotate draws on a video" in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()
