"""The wheel is a complete tool: built from the source tree and installed in a fresh virtual
environment, it predicts with its own networks and starts its dashboard from a folder that
is not the repository, and a damaged network in the package is one line and exit status 2.

The fresh environment gets torch and the other dependencies from the running environment
through a path file (its folder only: that folder's own path files, the editable install of
this repository among them, are not run), so nothing is downloaded and torch is not
reinstalled.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deep_emotion.catalog import CHECKPOINTS_ENV, DEFAULT_CHECKPOINT, list_checkpoints

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
# What a build never reads: the repository's history, environments, results, tests.
NOT_BUILT = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "runs",
                                   ".pytest_cache", "test-artifacts", ".cache", "tests", "docs",
                                   "*.partial.npz")
HEALTH_WAIT_S = 180  # a Streamlit start on a busy two-core machine


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """{"venv": the fresh environment, "cwd": an empty folder elsewhere, "wheel": the wheel}."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT)
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(tmp / "dist")])
    (wheel,) = (tmp / "dist").glob("deep_emotion_lab-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "-q", str(wheel)])
    target = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    (Path(target.stdout.strip()) / "running_env.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n")
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    return {"venv": venv, "cwd": cwd, "wheel": wheel}


def _env(installed) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", CHECKPOINTS_ENV)}
    return {**env, "DEEP_EMOTION_CACHE": str(installed["cwd"].parent / "cache")}


def _run(command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _tool(installed, *args, check=True) -> subprocess.CompletedProcess:
    command = [str(installed["venv"] / "bin" / "deep-emotion"), *map(str, args)]
    run = _run if check else lambda c, **k: subprocess.run(c, capture_output=True, text=True, **k)
    return run(command, cwd=installed["cwd"], env=_env(installed))


def test_the_wheel_carries_every_shipped_network_and_runs_outside_the_repository(installed):
    python = installed["venv"] / "bin" / "python"
    where = _run([str(python), "-c", "import dashboard, deep_emotion.catalog as c; "
                  "print(c.__file__); print(dashboard.__file__); print(c.checkpoint_dir())"],
                 cwd=installed["cwd"], env=_env(installed)).stdout.split()
    assert all(Path(p).is_relative_to(installed["venv"]) for p in where), where
    assert _json(_tool(installed, "info", "--json"))["checkpoints"] == list_checkpoints()
    assert (Path(where[2]) / f"{DEFAULT_CHECKPOINT}.analysis.json").is_file()

    photo = installed["cwd"] / "astronaut.png"
    photo.write_bytes(_astronaut_png())
    result = _json(_tool(installed, "predict", photo.name, "--json"))
    assert result["checkpoint"] == DEFAULT_CHECKPOINT and len(result["results"]) == 1
    assert result["results"][0]["prediction"] in result["results"][0]["probabilities"]


def test_the_dashboard_command_serves_the_app_from_the_installed_package(installed):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(installed["venv"] / "bin" / "deep-emotion"), "dashboard", "--server.port", str(port)],
        cwd=installed["cwd"], env=_env(installed), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        body = _wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert body == "ok", output[-2000:]
    assert str(installed["venv"]) in _installed_app(installed)


def test_the_installed_app_draws_its_first_page(installed):
    # os._exit: the app's worker threads are still alive, and a normal exit aborts on them.
    script = ("import os\n"
              "from streamlit.testing.v1 import AppTest\n"
              "from deep_emotion.cli.dashboard import app_path\n"
              "at = AppTest.from_file(str(app_path()), default_timeout=300).run()\n"
              "print(len(at.exception), [t.value for t in at.title], flush=True)\n"
              "os._exit(0)\n")
    result = _run([str(installed["venv"] / "bin" / "python"), "-c", script],
                  cwd=installed["cwd"], env=_env(installed))
    errors, titles = result.stdout.strip().split(" ", 1)
    assert errors == "0" and titles != "[]", result.stdout


def test_a_missing_or_damaged_network_in_the_package_is_one_line_and_exit_2(installed):
    photo = installed["cwd"] / "astronaut.png"
    photo.write_bytes(_astronaut_png())
    networks = Path(_run([str(installed["venv"] / "bin" / "python"), "-c",
                          "import deep_emotion.catalog as c; print(c.checkpoint_dir())"],
                         cwd=installed["cwd"], env=_env(installed)).stdout.strip())
    weights = networks / f"{DEFAULT_CHECKPOINT}.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    damaged = _tool(installed, "predict", photo.name, check=False)
    assert damaged.returncode == 2 and damaged.stderr.count("\n") == 1
    assert "sha256 differs from the card's" in damaged.stderr

    (networks / f"{DEFAULT_CHECKPOINT}.json").unlink()
    missing = _tool(installed, "predict", photo.name, check=False)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert f"no checkpoint '{DEFAULT_CHECKPOINT}'" in missing.stderr


def _wait_for_health(url: str, server: subprocess.Popen) -> str:
    deadline = time.monotonic() + HEALTH_WAIT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(1)
    return f"no answer (exit status {server.poll()})"


def _installed_app(installed) -> str:
    return _run([str(installed["venv"] / "bin" / "python"), "-c",
                 "from deep_emotion.cli.dashboard import app_path; print(app_path())"],
                cwd=installed["cwd"], env=_env(installed)).stdout


def _json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout)


def _astronaut_png() -> bytes:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, "PNG")
    return buf.getvalue()
