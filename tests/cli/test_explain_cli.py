"""``deep-emotion explain`` and ``deep-emotion analyze`` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deep_emotion.cli import main
from deep_emotion.explain.regions import REGIONS

from tests.explain.test_analyze import write_fer2013


@pytest.fixture
def face_png(tmp_path):
    """A 60x60 grey image with no detectable face (explained as a whole-image crop)."""
    path = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 60), dtype=np.uint8)).save(path)
    return path


def run_json(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_explain_prints_maps_targets_and_region_shares(capsys, random_checkpoint, face_png):
    code, out = run_json(capsys, "explain", str(face_png), "--checkpoint", str(random_checkpoint),
                         "--method", "occlusion", "--method", "stn", "--stride", "8",
                         "--no-detect")
    assert code == 0 and out["face"] == "whole image"
    assert list(out["methods"]) == ["occlusion", "stn"]
    occ = out["methods"]["occlusion"]
    assert np.asarray(occ["map"]).shape == (48, 48)
    assert occ["params"]["stride"] == 8 and occ["attributes"] == "logit"
    assert list(occ["regions"]) == list(REGIONS)
    assert len(out["methods"]["stn"]["grid_outline"]) == 5


def test_explain_writes_an_npz_and_explains_a_chosen_class(capsys, tmp_path, random_checkpoint,
                                                           face_png):
    target = tmp_path / "maps.npz"
    code, out = run_json(capsys, "explain", str(face_png), "--checkpoint", str(random_checkpoint),
                         "--method", "ig", "--target", "surprise", "--out", str(target),
                         "--no-detect")
    assert code == 0 and out["face"] == "whole image"
    assert out["methods"]["ig"]["target"] == "surprise" and "map" not in out["methods"]["ig"]
    with np.load(target) as z:
        assert z["face"].shape == (48, 48) and z["map_ig"].shape == (48, 48)


def test_explain_errors_are_one_line_messages(capsys, tmp_path, random_checkpoint, face_png):
    bad = tmp_path / "not_an_image.png"
    bad.write_bytes(b"definitely not a PNG")
    assert main(["explain", str(bad), "--checkpoint", str(random_checkpoint)]) == 2
    assert "deep-emotion explain: error:" in capsys.readouterr().err
    code = main(["explain", str(face_png), "--checkpoint", str(random_checkpoint), "--target", "joy",
                 "--no-detect"])
    assert code == 2 and "unknown class 'joy'" in capsys.readouterr().err


def test_explain_without_a_face_says_so_and_names_the_whole_image_choice(capsys, random_checkpoint,
                                                                          face_png):
    assert main(["explain", str(face_png), "--checkpoint", str(random_checkpoint)]) == 2
    err = capsys.readouterr().err
    assert "no face found" in err and "--no-detect" in err


def test_analyze_writes_the_file_and_prints_the_tables(capsys, tmp_path, random_checkpoint):
    data = write_fer2013(tmp_path / "data")
    code, out = run_json(capsys, "analyze", "--checkpoint", str(random_checkpoint),
                         "--data-dir", str(data), "--faithfulness-faces", "2",
                         "--sanity-faces", "1", "--window", "16", "--stride", "16",
                         "--quiet")
    assert code == 0 and out["faces"] == 9
    assert json.loads(open(out["file"]).read())["config"]["stride"] == 16
    assert "random" in out["faithfulness"] and set(out["sanity"]) <= set(out["faithfulness"])
    assert json.loads(open(out["file"]).read())["checkpoint"] == "random_fer"
