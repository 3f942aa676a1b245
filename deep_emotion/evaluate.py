"""Evaluation: accuracy, per-class precision/recall/F1 and confusion matrices, with and without
test-time augmentation, for single splits and cross-validation protocols.

Everything here is a pure function of probabilities and labels, or a thin loop that produces
them with ``deep_emotion.predict.predict_proba``.  Re-deriving a card's test split from its
protocol, to reproduce the card's numbers, is ``deep_emotion.experiment.evaluate_checkpoint``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from deep_emotion.data import FaceDataset
from deep_emotion.emotions import shared_classes
from deep_emotion.predict import TTA_MODES, predict_proba
from deep_emotion.preprocess import Preprocessing

__all__ = ["confusion_matrix", "classification_metrics", "evaluate_model", "pool_folds",
           "cross_dataset", "TTA_MODES"]


def confusion_matrix(pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Counts (C, C): rows are true classes, columns predicted classes."""
    idx = labels.long() * num_classes + pred.long()
    return torch.bincount(idx, minlength=num_classes ** 2).view(num_classes, num_classes).numpy()


def metrics_from_confusion(cm: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/F1/support and macro F1 from a confusion matrix.

    A class never predicted has precision 0 (not NaN) so tables and JSON stay numeric.
    """
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = int(cm.sum())
    per_class = {c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for c, p, r, f, s in zip(classes, precision, recall, f1, support)}
    present = support > 0
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "n": total,
        "per_class": per_class,
        "confusion": cm.tolist(),
    }


def classification_metrics(probs: torch.Tensor, labels: torch.Tensor,
                           classes: Sequence[str]) -> dict:
    """Metrics of probabilities (N, C) against integer labels (N,)."""
    cm = confusion_matrix(probs.argmax(1), labels, len(classes))
    return metrics_from_confusion(cm, classes)


def evaluate_model(model: nn.Module, data: FaceDataset, preprocessing: Preprocessing,
                   tta: Sequence[str] = TTA_MODES) -> dict[str, dict]:
    """Metrics of ``model`` on ``data`` for each test-time augmentation mode in ``tta``."""
    return {mode: classification_metrics(predict_proba(model, data.images, preprocessing, mode),
                                         data.labels, data.classes) for mode in tta}


def pool_folds(fold_metrics: Sequence[dict], classes: Sequence[str]) -> dict:
    """Cross-validation summary: mean and std of fold accuracies, and metrics of the pooled
    confusion matrix (the sum over folds, so every test face counts once)."""
    accs = [m["accuracy"] for m in fold_metrics]
    pooled = metrics_from_confusion(sum(np.asarray(m["confusion"]) for m in fold_metrics), classes)
    mean = float(np.mean(accs))
    std = float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0
    return pooled | {"fold_accuracy_mean": mean, "fold_accuracy_std": std,
                     "fold_accuracies": accs, "folds": len(accs)}


def cross_dataset(model: nn.Module, model_classes: Sequence[str], preprocessing: Preprocessing,
                  data: FaceDataset, tta: str = "none") -> dict:
    """A network trained on one dataset judged on another, over the classes both share by name.

    Rows of ``data`` whose class the network lacks are dropped; the network's scores for
    classes ``data`` lacks are dropped before the argmax, so it answers "which of the shared
    classes".

    Returns:
        ``classes`` (shared, in the network's order), ``rows`` (indices into ``data``),
        ``true``/``pred`` (indices into ``classes``), and the metrics of
        ``metrics_from_confusion`` (accuracy, per-class, confusion).

    Raises:
        ValueError: when fewer than two classes are shared.
    """
    shared = shared_classes(tuple(model_classes), tuple(data.classes))
    if len(shared) < 2:
        raise ValueError(f"the network's classes {list(model_classes)} and {data.name}'s "
                         f"{list(data.classes)} share fewer than two")
    labels = data.labels.numpy()
    rows = np.flatnonzero(np.isin(labels, [data.classes.index(c) for c in shared]))
    probs = predict_proba(model, data.images[torch.as_tensor(rows)], preprocessing, tta=tta)
    cols = [list(model_classes).index(c) for c in shared]
    pred = probs[:, cols].argmax(1).numpy()
    true = np.array([shared.index(data.classes[i]) for i in labels[rows]], dtype=np.int64)
    cm = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(true), len(shared))
    return metrics_from_confusion(cm, shared) | {"classes": list(shared), "rows": rows,
                                                 "true": true, "pred": pred}
