"""Dataset protocols end to end: which rows train, select and test; train them; write the card.

A protocol (one of ``PROTOCOLS``) turns a ``FaceDataset`` into one or more ``Fold``s of row
indices.  ``run_training`` fits one network per fold (``deep_emotion.train.fit``), evaluates each
test split once, at the end, and saves a checkpoint whose card records everything needed to
rebuild the same folds; ``evaluate_checkpoint`` does exactly that to reproduce the card's
numbers from the shipped files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from deep_emotion import protocols
from deep_emotion.checkpoints import Checkpoint, load_checkpoint, read_card, save_checkpoint
from deep_emotion.data import DatasetError, FaceDataset, data_root, ferplus, jaffe, load_dataset
from deep_emotion.distributed import is_main_process
from deep_emotion.evaluate import cross_dataset, evaluate_model, pool_folds
from deep_emotion.model import DeepEmotion, Ensemble
from deep_emotion.predict import predict_proba
from deep_emotion.preprocess import DEFAULT_PREPROCESSING
from deep_emotion.train import TrainConfig, fit

__all__ = ["Fold", "PROTOCOLS", "make_folds", "run_training", "checkpoint_folds",
           "evaluate_checkpoint", "evaluate_on_data", "load_teacher", "protocol_folds",
           "protocol_test_rows", "evaluation_rows", "predict_test_rows", "OFFICIAL_SPLITS"]

PROTOCOLS = {
    "official": "the dataset's published split: train on its training split, select on its "
                "validation split (FER2013/FER+: PublicTest), report its test split "
                "(PrivateTest) once",
    "stratified": "paper-style random split stratified by class (JAFFE 120/23/70 with 10 test "
                  "images per emotion; other datasets 70/10/20), frames of one subject may "
                  "fall on both sides",
    "subject-kfold": "k-fold subject-independent cross-validation: fold i tests, fold i+1 "
                     "selects, the rest train; every subject in exactly one fold",
    "loso": "leave-one-subject-out: subject i tests, subject i+1 selects, the rest train",
    "stratified-inner": "recipe selection without the test rows: the train and validation rows "
                        "of the 'stratified' split with the same seed, in k class-stratified "
                        "folds; fold i is scored, fold i+1 selects, the rest train; the "
                        "stratified split's test rows are never used",
}
OFFICIAL_SPLITS = {"Training": "train", "PublicTest": "val", "PrivateTest": "test",
                   "train": "train", "val": "val", "validation": "val", "test": "test"}
# Split sizes and test rows per class of the "stratified" protocol, where a dataset has its own.
STRATIFIED_SIZES = {"jaffe": (jaffe.PAPER_SPLIT, jaffe.PAPER_TEST_PER_CLASS)}
DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


@dataclass
class Fold:
    """Row indices of one train/select/test partition of a dataset."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _rotate_folds(fold_id: np.ndarray, k: int, prefix: str,
                  rows: np.ndarray | None = None) -> list[Fold]:
    """Fold i tests, fold i+1 selects, the rest train; ``fold_id[j]`` is the fold of dataset
    row ``rows[j]`` (default: row j)."""
    rows = np.arange(len(fold_id)) if rows is None else rows
    folds = []
    for i in range(k):
        val_id = (i + 1) % k
        folds.append(Fold(f"{prefix}{i}", train=rows[(fold_id != i) & (fold_id != val_id)],
                          val=rows[fold_id == val_id], test=rows[fold_id == i]))
    return folds


def make_folds(data: FaceDataset, protocol: str, *, folds: int = 10, seed: int = 0) -> list[Fold]:
    """The train/val/test row indices ``protocol`` defines on ``data``.

    Raises:
        ValueError: unknown protocol; DatasetError: the dataset lacks what it needs (a
            published split, or subject ids).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; available: {sorted(PROTOCOLS)}")
    labels = data.labels.numpy()
    if protocol == "official":
        if data.splits is None:
            raise DatasetError(f"{data.name} has no published split; use 'stratified', "
                               "'subject-kfold' or 'loso'")
        role = np.array([OFFICIAL_SPLITS.get(s, "") for s in data.splits])
        if not all((role == r).any() for r in ("train", "val", "test")):
            raise DatasetError(f"{data.name}: splits {sorted(set(data.splits))} do not name a "
                               "train, validation and test split")
        return [Fold("official", *(np.flatnonzero(role == r) for r in ("train", "val", "test")))]
    if protocol in ("stratified", "stratified-inner"):
        sizes, per_class = STRATIFIED_SIZES.get(data.name, (DEFAULT_FRACTIONS, None))
        names = protocols.stratified_split(labels, sizes, seed=seed, per_class_test=per_class)
        if protocol == "stratified":
            return [Fold("stratified",
                         *(np.flatnonzero(names == r) for r in ("train", "val", "test")))]
        pool = np.flatnonzero(names != "test")
        return _rotate_folds(protocols.stratified_kfold(labels[pool], folds, seed), folds,
                             "inner", rows=pool)
    if data.groups is None:
        raise DatasetError(f"{data.name} has no subject ids; {protocol} needs them")
    if protocol == "subject-kfold":
        return _rotate_folds(protocols.subject_kfold(data.groups, labels, folds, seed), folds, "fold")
    fold_id = protocols.leave_one_group_out(data.groups)
    return _rotate_folds(fold_id, int(fold_id.max()) + 1, "subject")


def _selection_text(protocol: str, data: FaceDataset) -> str:
    if protocol == "official":
        val = [s for s in sorted(set(data.splits)) if OFFICIAL_SPLITS.get(s) == "val"]
        return (f"epoch with the best {'/'.join(val)} accuracy (ties: lower {'/'.join(val)} "
                "loss); the test split was evaluated once, after training")
    if protocol == "stratified-inner":
        return ("the epoch with the best accuracy on each fold's selection rows (ties: lower "
                "loss); each scored fold was evaluated once, after training; the stratified "
                "split's test rows were never used")
    return ("the epoch with the best accuracy on the validation rows (each fold's own, for "
            "cross-validation; ties: lower validation loss); each test split was evaluated "
            "once, after training")


def _weights_hash(names: str) -> str:
    """The weights hash of a checkpoint, or of each of "a+b" joined by "+"."""
    return "+".join(read_card(n).get("weights_sha256", "unknown") for n in names.split("+"))


def load_teacher(names: str | None, classes: tuple[str, ...]) -> nn.Module | None:
    """The network ``names`` names (``TrainConfig.teacher``; the ``Ensemble`` of several for
    "a+b"), each of which must predict ``classes`` in the same order."""
    if not names:
        return None
    members = []
    for name in names.split("+"):
        teacher = load_checkpoint(name)
        if teacher.classes != classes:
            raise ValueError(f"teacher {name} predicts {teacher.classes}, data has {classes}")
        members.append(teacher.model)
    return members[0] if len(members) == 1 else Ensemble(members)


def _fit_folds(cfg: TrainConfig, data: FaceDataset, folds: list[Fold], run_dir: Path | None,
               progress: bool) -> tuple[list[DeepEmotion], list[dict]]:
    """One network per fold, each test split evaluated once, after its training."""
    pre, teacher = DEFAULT_PREPROCESSING, load_teacher(cfg.teacher, data.classes)
    models, results = [], []
    for fold in folds:
        sub_dir = (run_dir / fold.name) if run_dir and len(folds) > 1 else run_dir
        result = fit(cfg, data.subset(fold.train), data.subset(fold.val), sub_dir, pre,
                     teacher=teacher, progress=progress)
        models.append(result.model)
        results.append({"fold": fold.name, "sizes": fold.sizes(), "best_epoch": result.best_epoch,
                        "test": evaluate_model(result.model, data.subset(fold.test), pre,
                                               cfg.eval_tta),
                        "val": evaluate_model(result.model, data.subset(fold.val), pre, ("none",)),
                        "history": result.history})
    return models, results


def _pooled(results: list[dict], tta: tuple[str, ...], classes: tuple[str, ...]) -> dict:
    """The card's metrics, history and per-fold summary; folds pooled when there are several."""
    if len(results) == 1:
        r = results[0]
        return {"metrics": {"val": r["val"], "test": r["test"]}, "best_epoch": r["best_epoch"],
                "history": r["history"]}
    metrics = {"val": {"none": pool_folds([r["val"]["none"] for r in results], classes)},
               "test": {m: pool_folds([r["test"][m] for r in results], classes) for m in tta}}
    return {"metrics": metrics,
            "fold_metrics": [{"fold": r["fold"], "best_epoch": r["best_epoch"],
                              "val_accuracy": r["val"]["none"]["accuracy"], "test": r["test"]}
                             for r in results],
            "history": [{"fold": r["fold"], "best_epoch": r["best_epoch"], "epochs": r["history"]}
                        for r in results]}


def _card(cfg: TrainConfig, data: FaceDataset, folds: list[Fold], results: list[dict],
          seconds: float) -> dict:
    """Everything a checkpoint records besides what ``save_checkpoint`` fills in."""
    pooled = _pooled(results, cfg.eval_tta, data.classes)
    sizes = [f.sizes() for f in folds] if len(folds) > 1 else folds[0].sizes()
    card = {
        "classes": list(data.classes),
        "preprocessing": DEFAULT_PREPROCESSING.to_dict(),
        "dataset": {"name": data.name, "file": Path(data.source).name, "sha256": data.sha256,
                    "rows": len(data),
                    **({"vote_targets": data.meta["vote_targets"]} if cfg.vote_share else {}),
                    **({"manifest": data.meta["manifest"]} if "manifest" in data.meta else {})},
        "protocol": {"name": cfg.protocol, "description": PROTOCOLS[cfg.protocol],
                     "seed": cfg.protocol_seed, "folds": [f.name for f in folds],
                     "split_sizes": sizes, "selection": _selection_text(cfg.protocol, data)},
        "metrics": pooled["metrics"],
        "fold_metrics": pooled.get("fold_metrics"),
        "best_epoch": pooled.get("best_epoch"),
        "training": cfg.to_dict(),
        "init_weights_sha256": _weights_hash(cfg.init) if cfg.init else None,
        "teacher_weights_sha256": _weights_hash(cfg.teacher) if cfg.teacher else None,
        "history": pooled["history"],
        "train_seconds": round(seconds, 1),
    }
    return {k: v for k, v in card.items() if v is not None}


def run_training(cfg: TrainConfig, data_dir: str | Path | None, out: str | Path,
                 run_dir: str | Path | None = None, progress: bool = True) -> dict:
    """Train under ``cfg.protocol``, evaluate the test split(s) once, write checkpoint ``out``.

    Returns:
        The card that was written (``out.json``), with the metrics.
    """
    data = load_dataset(cfg.dataset, data_dir)
    if cfg.vote_share:
        data = ferplus.with_vote_targets(data, data_root(data_dir), cfg.vote_share)
    folds = make_folds(data, cfg.protocol, folds=cfg.folds, seed=cfg.protocol_seed)
    if cfg.fold is not None:
        folds = [folds[cfg.fold]]
    started = time.time()
    models, results = _fit_folds(cfg, data, folds, Path(run_dir) if run_dir else None, progress)
    card = _card(cfg, data, folds, results, time.time() - started)
    if is_main_process():
        save_checkpoint(out, models if len(models) > 1 else models[0], card)
    return card


def checkpoint_folds(ckpt: Checkpoint, data_dir: str | Path | None) -> tuple[FaceDataset, list[Fold]]:
    """The dataset a checkpoint's card names and the folds its protocol defines, one per
    network, rebuilt exactly as training built them (evaluation and analyses use these rows).

    Raises:
        ValueError: the card names no dataset or protocol, the classes differ, or the number
            of folds differs from the number of networks.
    """
    dataset = ckpt.card.get("dataset", {}).get("name")
    if not dataset or "protocol" not in ckpt.card:
        raise ValueError(f"{ckpt.name}: the card names no dataset/protocol")
    data = load_dataset(dataset, data_dir)
    return data, protocol_folds(ckpt, data)


def protocol_folds(ckpt: Checkpoint, data: FaceDataset) -> list[Fold]:
    """The folds the card's protocol defines on ``data`` (the dataset it names, loaded), one
    per network.  Raises ValueError as ``checkpoint_folds`` does."""
    card = ckpt.card
    if "protocol" not in card:
        raise ValueError(f"{ckpt.name}: the card names no protocol")
    if tuple(data.classes) != ckpt.classes:
        raise ValueError(f"{ckpt.name} predicts {ckpt.classes} but {data.name} has {data.classes}")
    proto = card["protocol"]
    folds = make_folds(data, proto["name"], folds=card.get("training", {}).get("folds", 10),
                       seed=proto.get("seed", 0))
    if proto.get("folds"):
        folds = [f for f in folds if f.name in proto["folds"]]
    if len(folds) != len(ckpt.models):
        raise ValueError(f"{ckpt.name}: {len(ckpt.models)} networks for {len(folds)} folds")
    return folds


def evaluation_rows(data: FaceDataset) -> tuple[np.ndarray, str]:
    """The rows a network is judged on when no protocol says otherwise: the dataset's held-out
    test split (the split ``OFFICIAL_SPLITS`` calls "test"), or every row when it has none;
    and the split's name ("all rows" then)."""
    if data.splits is not None:
        for name in sorted(set(data.splits.tolist())):
            if OFFICIAL_SPLITS.get(name) == "test":
                return np.flatnonzero(data.splits == name), name
    return np.arange(len(data)), "all rows"


def protocol_test_rows(ckpt: Checkpoint, data: FaceDataset) -> tuple[list[np.ndarray], str]:
    """Test rows per network (one array per fold, indices into ``data``) under the card's
    protocol, as training and ``evaluate_checkpoint`` define them, and what the rows are.

    When the protocol cannot be rebuilt on ``data`` (another version of the dataset, a card
    without a protocol), the first network gets ``evaluation_rows`` and the others none.
    """
    try:
        folds = protocol_folds(ckpt, data)
    except (KeyError, ValueError, DatasetError):
        rows, split = evaluation_rows(data)
        return [rows] + [np.array([], int)] * (len(ckpt.models) - 1), split
    n = len(folds)
    return [np.asarray(f.test) for f in folds], (
        "test split" if n == 1 else f"test rows of {n} folds, each by its own network")


def predict_test_rows(ckpt: Checkpoint, data: FaceDataset, tta: str = "none") -> dict:
    """Each network's predicted class on its own test rows (``protocol_test_rows``), so that
    example faces come from exactly the rows the card's confusion matrix counts.

    Returns:
        ``rows`` (R,) indices into ``data``; ``labels`` (R,) true and ``pred`` (R,) predicted
        class indices (into ``data.classes`` and ``ckpt.classes``); ``split`` what the rows
        are; ``classes`` and ``model_classes``.
    """
    parts, split = protocol_test_rows(ckpt, data)
    rows, preds = [], []
    for model, idx in zip(ckpt.models, parts):
        if len(idx):
            probs = predict_proba(model, data.images[torch.as_tensor(idx)], ckpt.preprocessing,
                                  tta=tta)
            rows.append(idx)
            preds.append(probs.argmax(1).numpy())
    rows = np.concatenate(rows) if rows else np.array([], int)
    return {"rows": rows, "pred": np.concatenate(preds) if preds else np.array([], int),
            "labels": data.labels.numpy()[rows], "split": split, "classes": list(data.classes),
            "model_classes": list(ckpt.classes)}


def evaluate_checkpoint(ckpt: Checkpoint, data_dir: str | Path | None,
                        tta: tuple[str, ...] = ("none", "flip", "tencrop")) -> dict:
    """Re-derive the card's test split(s) from its protocol and evaluate the shipped weights.

    Returns:
        ``{"test": {mode: metrics}, "card": {mode: accuracy}, "matches_card": bool,
        "dataset_sha256_matches": bool}``; CV checkpoints give pooled metrics with fold stats.
    """
    card = ckpt.card
    data, folds = checkpoint_folds(ckpt, data_dir)
    dataset, proto = data.name, card["protocol"]
    per_fold = [evaluate_model(m, data.subset(f.test), ckpt.preprocessing, tta)
                for m, f in zip(ckpt.models, folds)]
    if len(folds) == 1:
        test = per_fold[0]
    else:
        test = {m: pool_folds([p[m] for p in per_fold], data.classes) for m in tta}
    card_test = card.get("metrics", {}).get("test", {})
    card_acc = {m: card_test[m]["accuracy"] for m in tta if m in card_test}
    matches = all(abs(test[m]["accuracy"] - a) < 1e-9 for m, a in card_acc.items())
    return {"checkpoint": ckpt.name, "dataset": dataset, "protocol": proto["name"],
            "test": test, "card": card_acc, "matches_card": bool(card_acc) and matches,
            "dataset_sha256_matches": data.sha256 == card.get("dataset", {}).get("sha256")}


def evaluate_on_data(ckpt: Checkpoint, data: FaceDataset,
                     tta: tuple[str, ...] = ("none", "flip", "tencrop")) -> dict:
    """A checkpoint judged on any labelled dataset (e.g. a user's folder) over the classes the
    two share (``deep_emotion.evaluate.cross_dataset``), every row of ``data`` counted once.

    Returns:
        ``evaluate_checkpoint``'s shape (``test`` {mode: metrics}, ``card`` empty,
        ``matches_card`` None: the card says nothing about this data) plus ``shared_classes``,
        ``left_out`` (classes of one side the other lacks, with the dataset rows dropped), and
        the dataset's ``manifest`` counts when it has them.  A cross-validated checkpoint is
        judged by its first network (``networks`` says how many it holds).
    """
    test = {}
    for mode in tta:
        r = cross_dataset(ckpt.model, ckpt.classes, ckpt.preprocessing, data, mode)
        test[mode] = {k: v for k, v in r.items() if k not in ("rows", "true", "pred", "classes")}
    shared = [c for c in ckpt.classes if c in data.classes]
    counts = data.class_counts()
    dropped = [c for c in data.classes if c not in shared]
    out = {"checkpoint": ckpt.name, "dataset": data.name,
           "protocol": "cross-dataset: every row whose class the network knows",
           "test": test, "card": {}, "matches_card": None,
           "dataset_sha256_matches": data.sha256 == ckpt.card.get("dataset", {}).get("sha256"),
           "shared_classes": shared,
           "left_out": {"dataset_classes": dropped,
                        "dataset_rows": int(sum(counts[c] for c in dropped)),
                        "network_classes": [c for c in ckpt.classes if c not in shared]},
           "networks": len(ckpt.models)}
    if "manifest" in data.meta:
        out["manifest"] = data.meta["manifest"]
    return out
