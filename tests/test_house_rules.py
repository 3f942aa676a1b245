"""Rules docs/ARCHITECTURE.md states about the code, checked where a test can check them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOCKS = re.compile(r"perf_counter|time\.time\(|monotonic|elapsed|seconds\s*[<>]")


def test_no_test_asserts_on_wall_clock_time():
    """Rule 10: speed lives in bench/ as ratios measured in one run; a test that asserts a
    duration fails on a busy machine and passes on a fast one for the wrong reason."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith("assert ") and CLOCKS.search(line) \
                    and "deadline" not in line:  # a polling loop giving up is no speed claim
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, found


def test_resume_state_is_read_without_unpickling():
    """Rule 9: training's resume state goes through ``torch.load(weights_only=True)``."""
    loads = re.findall(r"torch\.load\(([^)]*)\)", (ROOT / "deep_emotion" / "train.py").read_text())
    assert loads and all("weights_only=True" in call for call in loads)


def test_the_network_lock_lives_where_the_architecture_says():
    """A photo's step 4: ``explain_face`` holds ``deep_emotion.predict.model_lock``."""
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    assert "`deep_emotion.predict.model_lock`" in doc
    assert "def model_lock(" in (ROOT / "deep_emotion" / "predict.py").read_text()
    assert "with model_lock(" in (ROOT / "deep_emotion" / "explain" / "face.py").read_text()


def test_the_architecture_names_what_the_streamlit_config_sets():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    assert config["server"]["address"] == "127.0.0.1" and "`server.address`" in doc
    assert config["browser"]["gatherUsageStats"] is False and "no usage statistics" in doc
    assert config["server"]["fileWatcherType"] == "none" and "watches no files" in doc
    assert config["client"]["showErrorDetails"] == "none" and "shows no error details" in doc
