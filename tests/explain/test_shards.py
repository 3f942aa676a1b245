"""``analyze`` under torchrun (``explain/shards.py``): the processes share the work and rank 0
writes what one process writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from deep_emotion.explain.analyze import analyze
from deep_emotion.explain.shards import shard_path
from tests.explain.test_analyze import SMALL, strip_volatile, write_fer2013

ROOT = Path(__file__).resolve().parents[2]
RUN = """
import json, sys
from deep_emotion.explain.analyze import AnalyzeConfig, analyze
config = json.loads(sys.argv[4])
config = AnalyzeConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
result = analyze(sys.argv[1], data_dir=sys.argv[2], config=config, progress=False, out=sys.argv[3])
print(json.dumps({"rank": result.get("rank", 0)}))
"""


def test_shard_files_are_named_by_rank_and_world():
    partial = Path("/x/net.analysis.partial.npz")
    assert shard_path(partial, 1, 4) == Path("/x/net.analysis.partial.shard1of4.npz")


@pytest.mark.slow
def test_two_torchrun_processes_write_the_one_process_analysis(random_checkpoint, tmp_path):
    """9 test faces in chunks of 4 (ranks take chunks 0, 2 and 1) and 7 trust tasks dealt
    round-robin: the merged file equals a one-process run's, and no shard is left behind."""
    data = write_fer2013(tmp_path / "data")
    one = analyze(random_checkpoint, data_dir=data, config=SMALL, progress=False,
                  out=tmp_path / "one.analysis.json")
    script = tmp_path / "run_analyze.py"
    script.write_text(RUN)
    out = tmp_path / "two.analysis.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(random_checkpoint), str(data), str(out), json.dumps(asdict(SMALL))]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(json.loads(line)["rank"] for line in done.stdout.splitlines()) == [0, 1]
    two = json.loads(out.read_text())
    assert strip_volatile(two) == strip_volatile(one)
    assert sorted(p.name for p in tmp_path.iterdir() if "two" in p.name) == [out.name]
