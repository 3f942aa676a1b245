"""The rows a checkpoint is judged on and its predictions there (``deep_emotion.experiment``):
what the Confusion page's example faces come from, and what the command line can call."""

from __future__ import annotations

import numpy as np
import torch

from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.data import FaceDataset
from deep_emotion.experiment import evaluation_rows, predict_test_rows, protocol_test_rows
from deep_emotion.predict import predict_proba
from tests.dashboard.conftest import FER, make_checkpoint


def fer_like(n_per_split: int = 6) -> FaceDataset:
    rng = np.random.default_rng(0)
    splits = np.repeat(["Training", "PublicTest", "PrivateTest"], n_per_split)
    n = len(splits)
    return FaceDataset("fer2013", torch.from_numpy(rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)),
                       torch.as_tensor(rng.integers(0, len(FER), n)), FER, "memory", "x",
                       splits=splits)


def test_the_held_out_split_is_found_by_its_role_and_all_rows_without_one():
    data = fer_like()
    rows, split = evaluation_rows(data)
    assert split == "PrivateTest" and rows.tolist() == list(range(12, 18))
    data.splits = None
    rows, split = evaluation_rows(data)
    assert split == "all rows" and len(rows) == 18


def test_predictions_on_the_protocols_test_rows_are_the_networks_own(tmp_path):
    ckpt = load_checkpoint(make_checkpoint(tmp_path, "fer2013", FER, "fer2013"))
    data = fer_like()
    parts, split = protocol_test_rows(ckpt, data)
    assert split == "test split" and parts[0].tolist() == list(range(12, 18))
    result = predict_test_rows(ckpt, data)
    expected = predict_proba(ckpt.model, data.images[12:18], ckpt.preprocessing).argmax(1)
    assert result["rows"].tolist() == list(range(12, 18))
    assert result["pred"].tolist() == expected.tolist()
    assert result["labels"].tolist() == data.labels[12:18].tolist()


def test_a_protocol_that_cannot_be_rebuilt_falls_back_to_the_held_out_split(tmp_path):
    ckpt = load_checkpoint(make_checkpoint(tmp_path, "ckplus", FER, "ckplus", folds=2))
    parts, split = protocol_test_rows(ckpt, fer_like())  # no subjects: no subject k-fold
    assert split == "PrivateTest" and parts[0].tolist() == list(range(12, 18))
    assert len(parts) == 2 and len(parts[1]) == 0
