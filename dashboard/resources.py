"""Cached loaders: models once per process (``st.cache_resource``), derived data per input.

Cached resources are shared by every session: nothing here or in the pages modifies them
(models stay in eval mode, datasets are read-only).  Explanation work on a shared model holds
that model's lock, because Captum's layer methods add (and then remove) hooks on it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from deep_emotion.catalog import checkpoint_dir, list_checkpoints, read_card
from deep_emotion.checkpoints import Checkpoint, CheckpointError, load_checkpoint
from deep_emotion.data import DATASETS, DatasetError, FaceDataset, data_root, load_dataset
from deep_emotion import evaluate
from deep_emotion.experiment import evaluation_rows, predict_test_rows
from deep_emotion.explain import METHODS, explain_face
from deep_emotion.faces import (DETECTOR_NAME, MIN_SCORE, FaceImageError, FacePhoto, detect_faces,
                                read_faces)
from deep_emotion import predict
from dashboard.wording import DATASET_LABELS, dataset_label
from dashboard.studies import (recipe_studies_dir, recipe_study_of, seed_studies_dir,
                               seed_study_of)

__all__ = ["checkpoint_names", "card", "checkpoint", "model_lock", "dataset", "dataset_names",
           "dataset_status", "datasets_on_disk", "evaluation_split",
           "predictions", "cross_dataset", "photo", "is_dataset_sample", "explanation", "METHODS",
           "samples", "sample_bytes", "analysis",
           "analysis_is_stale", "seed_study", "recipe_study",
           "configure_torch", "warm_up", "CheckpointError", "DatasetError", "FaceImageError",
           "DETECTOR_NAME", "MIN_SCORE"]

def _stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def checkpoint_names() -> list[str]:
    """Checkpoints in ``checkpoints/`` (or $DEEP_EMOTION_CHECKPOINTS); cheap, not cached."""
    return list_checkpoints()


def _path(name: str) -> Path:
    return checkpoint_dir() / name


@st.cache_data(show_spinner=False)
def _card(path: str, stamp: float) -> dict:
    return read_card(path)


def card(name: str) -> dict:
    """The checkpoint's card (a copy: callers may not change the cached one)."""
    p = _path(name)
    return _card(str(p), _stamp(p.with_suffix(".json")))


@st.cache_data(show_spinner=False)
def _seed_study(weights_sha256: str, root: str, stamp: float) -> dict | None:
    try:
        return seed_study_of(weights_sha256, Path(root))
    except (OSError, ValueError, KeyError):  # a damaged study hides the section, never the page
        return None


def seed_study(name: str) -> dict | None:
    """The seed study whose runs include this checkpoint's exact weights, or None
    (``studies.seed_study_of``; docs/RESULTS.md, "Over training seeds")."""
    sha = card(name).get("weights_sha256")
    root = seed_studies_dir()
    return _seed_study(sha, str(root), _stamp(root)) if sha else None


@st.cache_data(show_spinner=False)
def _recipe_study(card_path: str, card_stamp: float, root: str, stamp: float) -> dict | None:
    try:
        return recipe_study_of(read_card(card_path), Path(root))
    except (OSError, ValueError, KeyError):  # a damaged study hides the section, never the page
        return None


def recipe_study(name: str) -> dict | None:
    """The recipe study that chose this checkpoint's recipe without its test rows, or None
    (``studies.recipe_study_of``; docs/RESULTS.md, "Choosing a recipe without the test rows")."""
    p, root = _path(name), recipe_studies_dir()
    return _recipe_study(str(p), _stamp(p.with_suffix(".json")), str(root), _stamp(root))


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _checkpoint(path: str, stamp: float) -> Checkpoint:
    return load_checkpoint(path)


def checkpoint(name: str) -> Checkpoint:
    """The loaded checkpoint, once per process and file version; raises CheckpointError.

    Also sets the calling thread's torch threads (``configure_torch``): every page that runs a
    network loads its checkpoint first, on the thread that will run it.
    """
    configure_torch()
    p = _path(name)
    return _checkpoint(str(p), _stamp(p.with_suffix(".safetensors")))


def model_lock(name: str) -> threading.RLock:
    """The loaded network's lock (``deep_emotion.predict.model_lock``), which explanations
    on it hold too."""
    return predict.model_lock(checkpoint(name).model)


def dataset_names() -> list[str]:
    """Datasets with a loader, in the dashboard's order."""
    return [n for n in DATASET_LABELS if n in DATASETS] + sorted(set(DATASETS) - set(DATASET_LABELS))


@st.cache_resource(show_spinner="Reading the dataset…", max_entries=4)
def _dataset(name: str, root: str) -> FaceDataset:
    return load_dataset(name, root)


def dataset(name: str) -> FaceDataset:
    """A dataset from $DEEP_EMOTION_DATA; raises DatasetError saying what to add where."""
    root = data_root()
    return _dataset(name, str(root))


def dataset_status(name: str) -> str | None:
    """None when ``name`` can be loaded, else a plain sentence for a user of the dashboard
    (no paths or settings: whoever runs the server finds those in its log and the README)."""
    if name not in DATASETS:
        return f"This version of the dashboard cannot read {dataset_label(name)} photos."
    try:
        data_root()
    except DatasetError:
        return f"The {dataset_label(name)} photos are not on this server."
    try:
        dataset(name)
    except DatasetError as e:
        import logging

        logging.getLogger(__name__).info("dataset %s not available: %s", name, e)
        return f"The {dataset_label(name)} photos are not on this server, or not complete."
    return None


def datasets_on_disk() -> list[str]:
    """Datasets whose photos this server holds and can read, in the dashboard's order (each
    is loaded once per process to find out; the loaded copy is kept for the pages)."""
    return [n for n in dataset_names() if dataset_status(n) is None]


def evaluation_split(ds: FaceDataset) -> tuple[FaceDataset, str]:
    """The rows a checkpoint is judged on across datasets (``experiment.evaluation_rows``) as
    a dataset, and the split's name."""
    rows, split = evaluation_rows(ds)
    return (ds if split == "all rows" else ds.split(split)), split


@st.cache_data(show_spinner="Classifying the dataset…", max_entries=16)
def predictions(ckpt_name: str, ds_name: str, tta: str = "none") -> dict:
    """Per-row predictions of a checkpoint on its own dataset's protocol test rows
    (``deep_emotion.experiment.predict_test_rows``), cached per checkpoint, dataset and TTA."""
    with model_lock(ckpt_name):
        return predict_test_rows(checkpoint(ckpt_name), dataset(ds_name), tta)


def cross_dataset(ckpt_name: str, ds_name: str, tta: str = "none") -> dict:
    """A model trained on A evaluated on B over the classes both share, by name.

    Rows of B whose class the model lacks are dropped; the model's probabilities for classes
    B lacks are dropped before the argmax (the model is asked "which of the shared classes").
    Returns the shared classes, the confusion matrix (rows true, cols predicted), accuracy,
    the number of rows used and the per-row true/pred indices (for example faces).
    """
    ckpt = checkpoint(ckpt_name)
    return _cross(ckpt_name, ds_name, tta, _stamp(_path(ckpt_name).with_suffix(".safetensors")),
                  tuple(ckpt.classes))


@st.cache_data(show_spinner="Evaluating across datasets…", max_entries=16)
def _cross(ckpt_name: str, ds_name: str, tta: str, _stamp_: float, model_classes: tuple) -> dict:
    ckpt = checkpoint(ckpt_name)
    ds, split = evaluation_split(dataset(ds_name))
    try:
        with model_lock(ckpt_name):
            result = evaluate.cross_dataset(ckpt.model, model_classes, ckpt.preprocessing, ds, tta)
    except ValueError as e:
        raise DatasetError(f"{ckpt_name} and {dataset_label(ds_name)}: {e}") from e
    return {"classes": result["classes"], "confusion": np.asarray(result["confusion"]),
            "accuracy": result["accuracy"], "rows": result["rows"], "true": result["true"],
            "pred": result["pred"], "split": split, "n": int(len(result["rows"])),
            "networks": len(ckpt.models)}


def configure_torch() -> int:
    """One intra-op thread per process (override: $DEEP_EMOTION_DASHBOARD_THREADS).

    The dashboard's work is many tiny batches from concurrent sessions, so parallelism comes
    from the sessions; intra-op threads only spin against each other and any training run on
    the same cores (measured: one 48x48 explanation 0.1 s with 1 thread, 1.4 s with 2 under load).
    """
    import os

    threads = int(os.environ.get("DEEP_EMOTION_DASHBOARD_THREADS", "1"))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def warm_up(ckpt_name: str | None) -> None:
    """Load the face detector, Captum and the checkpoint and run one explanation, so the first
    upload does not pay for them (the frame calls this once per process, in a thread)."""
    configure_torch()
    try:
        detect_faces(np.full((64, 64, 3), 128, np.uint8))
        if ckpt_name:
            ckpt = checkpoint(ckpt_name)
            size = ckpt.preprocessing.size
            explain_face(ckpt, np.full((size, size), 128, np.uint8), tuple(METHODS), trust=True)
    except Exception:  # noqa: BLE001 - warming is best effort; the real call reports errors
        pass


def is_dataset_sample(name: str) -> bool:
    """Dataset samples (names from ``samples()``) are aligned faces already: no detection."""
    return name not in _builtin_samples()


@st.cache_data(show_spinner="Finding faces…", max_entries=32)
def photo(data: bytes, name: str | None, size: int, aligned: bool = False) -> FacePhoto:
    """``deep_emotion.faces.read_faces`` once per distinct upload, crop size and framing (kept
    in memory by Streamlit's cache): an ``aligned`` face (a dataset's) is used as it is, no
    detection.  Raises FaceImageError with a sentence for the page."""
    return read_faces(data, name=name or None, size=size, detect=not aligned)


def _checkpoint_key(ckpt: Checkpoint) -> tuple[str, str | None]:
    return str(ckpt.path), ckpt.card.get("weights_sha256")


# The core's ``explain_face`` itself, cached per checkpoint version, face and settings (it holds
# the network's lock while it works).
explanation = st.cache_data(show_spinner="Explaining the face…", max_entries=64,
                            hash_funcs={Checkpoint: _checkpoint_key})(explain_face)


# --------------------------------------------------------------------------------------------
# Samples
# --------------------------------------------------------------------------------------------

def _builtin_samples() -> dict[str, callable]:
    """Licence-clean photos shipped inside registry packages, loaded at run time."""
    try:
        import skimage.data as skd
    except ImportError:
        return {}
    return {
        "Astronaut Eileen Collins (NASA, public domain)": skd.astronaut,
        # The same photo beside its mirror image: two faces, to show the face picker.
        "Two faces: the astronaut and her mirror image": lambda: np.concatenate(
            [skd.astronaut(), skd.astronaut()[:, ::-1]], axis=1),
        "Chelsea the cat (CC0): no human face": skd.chelsea,
    }


def samples() -> list[str]:
    """Sample names: built-in photos, then a few faces per class from datasets on disk."""
    names = list(_builtin_samples())
    for ds_name in ("fer2013", "ckplus"):
        if ds_name in DATASETS and dataset_status(ds_name) is None:
            names += [f"{dataset_label(ds_name)} test face: {c}" for c in dataset(ds_name).classes]
    return names


@st.cache_data(show_spinner=False, max_entries=64)
def sample_bytes(name: str) -> bytes:
    """PNG bytes of a sample: a built-in photo, or the first test face of a class (48x48)."""
    import io

    from PIL import Image

    builtin = _builtin_samples()
    if name in builtin:
        image = Image.fromarray(builtin[name]())
    else:
        ds_label, cls = name.split(" test face: ")
        ds_name = {v: k for k, v in DATASET_LABELS.items()}[ds_label]
        ds, _ = evaluation_split(dataset(ds_name))
        row = int(np.flatnonzero(ds.labels.numpy() == ds.classes.index(cls))[0])
        image = Image.fromarray(ds.images[row].numpy())  # 48x48, framed like FER2013
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def analysis(name: str) -> tuple[dict | None, str | None]:
    """The precomputed analyses of a checkpoint (``checkpoints/NAME.analysis.json``).

    Returns (analyses, None), or (None, a sentence saying what is missing and the command
    that makes it).
    """
    from deep_emotion.explain.analyze import analysis_path

    try:
        path = analysis_path(_path(name))
    except CheckpointError as e:
        return None, str(e)
    if not path.is_file():
        return None, (f"No precomputed analyses for **{name}** yet: expected `{path}`. Make them "
                      f"with `deep-emotion analyze --checkpoint {name}` (needs the dataset on "
                      "disk) and reload this page.")
    try:
        return _analysis(str(path), _stamp(path)), None
    except (OSError, ValueError) as e:
        return None, f"`{path}` could not be read ({e}); run the analysis again."


def analysis_is_stale(name: str, analyses: dict) -> bool:
    """True when the analyses were computed for other weights than the checkpoint's now."""
    made_for = analyses.get("weights_sha256")
    return bool(made_for) and made_for != card(name).get("weights_sha256")


@st.cache_data(show_spinner="Reading the analyses…", max_entries=8)
def _analysis(path: str, stamp: float) -> dict:
    from deep_emotion.explain.analyze import load_analysis

    return load_analysis(Path(path).with_name(Path(path).name.removesuffix(".analysis.json")))
