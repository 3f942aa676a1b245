"""Metrics: hand-computed confusion, precision/recall/F1, fold pooling, TTA views."""

import numpy as np
import pytest
import torch

from deep_emotion.evaluate import classification_metrics, evaluate_model, pool_folds
from deep_emotion.model import build_model
from deep_emotion.predict import TTA_MODES, predict_proba, tta_views
from deep_emotion.preprocess import DEFAULT_PREPROCESSING

CLASSES = ("anger", "fear", "happiness")


def one_hot(pred):
    return torch.nn.functional.one_hot(torch.tensor(pred), 3).float()


def test_metrics_match_a_hand_computed_example():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    m = classification_metrics(one_hot([0, 1, 1, 1, 2, 0]), labels, CLASSES)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["fear"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert m["per_class"]["happiness"]["precision"] == 1.0


def test_a_class_never_predicted_has_zero_precision_not_nan():
    m = classification_metrics(one_hot([0, 0]), torch.tensor([0, 1]), CLASSES)
    assert m["per_class"]["fear"]["precision"] == 0.0
    assert m["per_class"]["happiness"]["support"] == 0


def test_pooling_folds_sums_confusions_and_reports_mean_and_std():
    a = classification_metrics(one_hot([0, 1]), torch.tensor([0, 1]), CLASSES)
    b = classification_metrics(one_hot([0, 0]), torch.tensor([0, 1]), CLASSES)
    pooled = pool_folds([a, b], CLASSES)
    assert pooled["accuracy"] == pytest.approx(0.75)
    assert pooled["fold_accuracy_mean"] == pytest.approx(0.75)
    assert pooled["fold_accuracy_std"] == pytest.approx(np.std([1.0, 0.5], ddof=1))
    assert pooled["confusion"] == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]


def test_tta_views_are_the_image_its_mirror_and_ten_crops():
    x = torch.randn(2, 1, 48, 48)
    assert len(tta_views(x, "none")) == 1
    flip = tta_views(x, "flip")
    assert torch.equal(flip[1], x.flip(-1))
    ten = tta_views(x, "tencrop")
    assert len(ten) == 10 and all(v.shape == x.shape for v in ten)
    with pytest.raises(ValueError, match="tta must be one of"):
        tta_views(x, "rotate")


LEVELS = (50, 128, 205)  # grey level of the constant faces of class 0, 1, 2


class _ModeAware(torch.nn.Module):
    """In eval mode, scores the class whose grey level is nearest the face's mean; in training
    mode it always answers class 0, as a network with active dropout answers at random."""

    def __init__(self):
        super().__init__()
        centres = [DEFAULT_PREPROCESSING.pixel_value(v) for v in LEVELS]
        self.centres = torch.nn.Parameter(torch.tensor(centres), requires_grad=False)

    def forward(self, x):
        if self.training:
            return torch.tensor([9.0, 0.0, 0.0]).expand(len(x), 3)
        return -(x.mean((1, 2, 3))[:, None] - self.centres) ** 2


def band_faces() -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 constant faces (6, 48, 48) at the grey level of their label (0, 1, 2, 0, 1, 2)."""
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    levels = torch.tensor(LEVELS, dtype=torch.uint8)[labels]
    return levels.view(-1, 1, 1).expand(-1, 48, 48).contiguous(), labels


@pytest.mark.parametrize("tta", TTA_MODES)
def test_predictions_are_probabilities_of_the_evaluation_mode_network_and_restore_the_mode(tta):
    torch.manual_seed(0)
    model = build_model().train()  # dropout active: a training-mode forward is random
    faces = torch.randint(0, 256, (5, 48, 48), dtype=torch.uint8)
    probs = predict_proba(model, faces, DEFAULT_PREPROCESSING, tta=tta)
    assert probs.shape == (5, 7) and torch.allclose(probs.sum(1), torch.ones(5))
    assert model.training
    with torch.no_grad():
        views = tta_views(DEFAULT_PREPROCESSING.to_input(faces), tta)
        expected = sum(torch.softmax(model.eval()(v), 1) for v in views) / len(views)
    torch.testing.assert_close(probs, expected)


def test_evaluate_model_reports_each_tta_mode():
    from deep_emotion.data import FaceDataset
    faces, labels = band_faces()
    ds = FaceDataset("toy", faces, labels, CLASSES, "mem", "0")
    model = _ModeAware().train()
    out = evaluate_model(model, ds, DEFAULT_PREPROCESSING, TTA_MODES)
    assert set(out) == set(TTA_MODES) and model.training
    for tta in TTA_MODES:  # constant faces look the same in every view: all right in eval mode
        assert out[tta]["n"] == 6 and out[tta]["accuracy"] == 1.0, tta
        assert out[tta]["confusion"] == [[2, 0, 0], [0, 2, 0], [0, 0, 2]], tta


def test_cross_dataset_judges_only_the_shared_classes_by_name():
    from deep_emotion.data import FaceDataset
    from deep_emotion.evaluate import cross_dataset

    class Fixed(torch.nn.Module):
        """Scores favour 'contempt' (absent from the data), then the true class of each row."""

        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))  # predict_proba reads the device

        def forward(self, x):
            b = len(x)
            scores = torch.zeros(b, 3)
            scores[:, 1] = 10.0  # contempt: dropped before the argmax
            scores[torch.arange(b), torch.tensor([0, 2, 2, 0])[:b]] = 5.0
            return scores

    faces = torch.zeros(5, 48, 48, dtype=torch.uint8)
    data = FaceDataset("toy", faces, torch.tensor([0, 1, 1, 0, 2]),
                       ("anger", "happiness", "fear"), "mem", "0")
    out = cross_dataset(Fixed(), ("anger", "contempt", "happiness"), DEFAULT_PREPROCESSING, data)
    assert out["classes"] == ["anger", "happiness"]
    assert out["rows"].tolist() == [0, 1, 2, 3]  # the 'fear' row is dropped
    assert out["accuracy"] == 1.0 and out["confusion"] == [[2, 0], [0, 2]]
