"""Your own labelled faces on the Confusion, Regions and Trust pages: sources and jobs.

Two kinds of source: a folder or list on the server (``$DEEP_EMOTION_USER_DATA``, several
joined with ``os.pathsep``, or typed in the sidebar; ``folder:PATH``, ``csv:FILE`` or a bare
path), and a zip uploaded in the browser (``zipfaces``, in memory only).  A checkpoint on a
source is one background ``Job``: read and align the faces, evaluate over the shared classes
(the confusion matrix, first), then the region and trust analyses.  Jobs are kept per
process and keyed by content (the zip's hash, or the spec and the files' hash), so a second
visit, or a second session with the same data, finds the finished result at once.  They live
in memory only, the analyses included (nothing of an upload is written to disk), and the
least recently used finished job goes once more than ``MAX_JOBS`` are kept.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

__all__ = ["USER_DATA_ENV", "MAX_JOBS", "Job", "server_sources", "as_spec", "job_for_spec",
           "job_for_zip", "analysis_config"]

USER_DATA_ENV = "DEEP_EMOTION_USER_DATA"
# Finished jobs kept per process: each holds its faces and analyses (a few MB for a zip at the
# upload limit), and a classroom uploads a handful of datasets, not hundreds.
MAX_JOBS = 8


def analysis_config():
    """The analyses of your data sample as many faces as the shipped analyses do
    (``AnalyzeConfig``'s defaults: 100 faces for the sanity check, or every face when there are
    fewer), so a verdict is possible on your data as on the shipped test faces."""
    from deep_emotion.explain import AnalyzeConfig

    return AnalyzeConfig()


def as_spec(text: str) -> str:
    """A typed source as a spec: ``folder:``/``csv:`` kept, a bare folder or list file named."""
    from deep_emotion.data import userdata

    text = text.strip()
    if userdata.is_user_spec(text):
        return text
    path = Path(text).expanduser()
    return f"{'folder' if path.is_dir() or not path.suffix else 'csv'}:{path}"


def server_sources(typed: str = "") -> list[str]:
    """Specs from ``$DEEP_EMOTION_USER_DATA`` and the sidebar field, each once."""
    items = [t for t in os.environ.get(USER_DATA_ENV, "").split(os.pathsep) if t.strip()]
    if typed.strip():
        items.append(typed)
    return list(dict.fromkeys(as_spec(t) for t in items))


@dataclass
class Job:
    """One checkpoint on one source, run in a background thread.

    stage/done/total: what it is doing now (for the progress bar).
    data: the FaceDataset once read; evaluation: the cross-dataset result once evaluated;
    analyses: the analysis dict once computed; error: a sentence when a step failed.
    """

    label: str
    stage: str = "waiting"
    done: int = 0
    total: int = 0
    data: object = None
    evaluation: dict | None = None
    analyses: dict | None = None
    error: str | None = None
    finished: bool = False
    started: float = field(default_factory=time.time)

    def report(self, stage: str, done: int, total: int) -> None:
        """Progress from the worker; raises ``_Stopped`` once the process is exiting."""
        if _stopping.is_set():
            raise _Stopped
        self.stage, self.done, self.total = stage, done, total

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@st.cache_resource
def _jobs() -> OrderedDict[tuple, Job]:
    """Every job of this process, least recently used first."""
    return OrderedDict()


def _touched(key: tuple) -> Job | None:
    """The job for ``key`` if it is kept, marked as just used (the caller holds ``_guard``)."""
    job = _jobs().get(key)
    if job is not None:
        _jobs().move_to_end(key)
    return job


def _kept(key: tuple) -> Job | None:
    with _guard:
        return _touched(key)


def _forget_least_used() -> None:
    """Drop the least recently used finished jobs beyond ``MAX_JOBS`` (running ones stay)."""
    jobs = _jobs()
    for key in [k for k, j in jobs.items() if j.finished][:max(0, len(jobs) - MAX_JOBS)]:
        del jobs[key]


_guard = threading.Lock()
_stopping = threading.Event()
_threads: list[threading.Thread] = []


class _Stopped(Exception):
    """Raised inside a job when the process exits, so it ends between two steps."""


@atexit.register
def _stop_jobs() -> None:
    """Let running jobs end at their next step before the interpreter goes away (a thread
    still inside torch at exit aborts the process)."""
    _stopping.set()
    for thread in _threads:
        thread.join(timeout=120)


def _start(key: tuple, label: str, load, ckpt_name: str) -> Job:
    """The job for ``key``, started once per process; ``load(job)`` returns the dataset."""
    with _guard:
        if (job := _touched(key)) is not None:
            return job
        job = _jobs()[key] = Job(label)
        _forget_least_used()
    thread = threading.Thread(target=_run, args=(job, load, ckpt_name), daemon=True,
                              name=f"user-data {label}")
    _threads.append(thread)
    thread.start()
    return job


def _run(job: Job, load, ckpt_name: str) -> None:
    from dashboard import resources
    from deep_emotion.data import DatasetError

    try:
        resources.configure_torch()
        job.data = load(job)
        ckpt = resources.checkpoint(ckpt_name)
        job.report("evaluating", 0, 1)
        job.evaluation = _evaluate(ckpt_name, ckpt, job.data)
        job.report("regions", 0, len(job.data))
        job.analyses = _analyses(ckpt_name, ckpt, job)
    except _Stopped:
        job.error = "stopped: the dashboard is shutting down"
    except (DatasetError, ValueError, OSError) as e:
        job.error = str(e)
    except Exception as e:  # noqa: BLE001 - a failed job must say so on the page, not vanish
        job.error = f"the analysis stopped: {type(e).__name__}: {e}"
    finally:
        job.finished = True


def _evaluate(ckpt_name: str, ckpt, data) -> dict:
    from dashboard import resources
    from deep_emotion.evaluate import cross_dataset

    with resources.model_lock(ckpt_name):
        return cross_dataset(ckpt.model, ckpt.classes, ckpt.preprocessing, data)


def _analyses(ckpt_name: str, ckpt, job: Job) -> dict:
    """The analyses of the job's faces, computed in memory (no partial state, no file)."""
    from dashboard import resources
    from deep_emotion.explain import analyze

    with resources.model_lock(ckpt_name):
        return analyze(ckpt, data=job.data, config=analysis_config(), progress=job.report,
                       write=False)


def _weights(ckpt_name: str) -> str:
    from dashboard import resources

    return resources.card(ckpt_name).get("weights_sha256", "") or ckpt_name


def job_for_spec(ckpt_name: str, spec: str, aligned: bool = False) -> Job:
    """The job of a checkpoint on a server-side folder or list."""
    from deep_emotion.data import load_dataset, userdata

    kind, path, options = userdata.parse_spec(spec)
    spec = userdata.make_spec(kind, path, aligned=aligned or options.get("aligned") == "1",
                              classes=options.get("classes"))

    def load(job: Job):
        job.report("reading and aligning the faces", 0, 0)
        return load_dataset(spec)

    return _start((ckpt_name, _weights(ckpt_name), spec, _newest_change(path)), spec, load, ckpt_name)


def _newest_change(path: Path) -> float:
    """The newest modification time under a source, so an edited folder is read again."""
    try:
        if path.is_file():
            return path.stat().st_mtime
        return max((p.stat().st_mtime for p in path.rglob("*")), default=path.stat().st_mtime)
    except OSError:
        return 0.0


def job_for_zip(ckpt_name: str, name: str, data: bytes, aligned: bool = False) -> Job:
    """The job of a checkpoint on an uploaded zip (opened in memory; ZipRefused if unsafe)."""
    from dashboard.zipfaces import open_zip
    from deep_emotion.data.userdata import load_members

    digest = hashlib.sha256(data).hexdigest()
    key = (ckpt_name, _weights(ckpt_name), "zip", digest, aligned)
    if (job := _kept(key)) is not None:
        return job
    members = open_zip(data)  # refuses before any thread starts

    def load(job: Job):
        return load_members(f"upload:{name}", members, aligned=aligned,
                            progress=lambda d, t: job.report("aligning the faces", d, t))

    return _start(key, name, load, ckpt_name)
