"""Training: a one-epoch smoke run, exact resume after an interruption, DDP with 2 processes."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from deep_emotion import train as train_module
from deep_emotion.catalog import checkpoint_dir, list_checkpoints
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.data import ckplus
from deep_emotion.data.base import FaceDataset
from deep_emotion.train import TrainConfig, class_weights, fit, improves

TINY = {"epochs": 1, "batch_size": 16, "threads": 1}


def toy_faces(n_per_class: int = 8, classes=("anger", "fear", "happiness"), seed: int = 0):
    """Faces whose class is a bright band at a class-specific height: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in range(len(classes)):
        for _ in range(n_per_class):
            img = rng.integers(0, 60, (48, 48))
            img[8 + 12 * c: 16 + 12 * c] += 180
            images.append(img.astype(np.uint8))
            labels.append(c)
    return FaceDataset("toy", torch.from_numpy(np.stack(images)), torch.tensor(labels), classes,
                       "memory", "0")


def write_ck_root(root, per_class: int = 6):
    base = root / "ckplus" / "CK+48"
    rng = np.random.default_rng(0)
    for c, folder in enumerate(ckplus.FOLDERS):
        (base / folder).mkdir(parents=True)
        for k in range(per_class):
            img = rng.integers(0, 60, (48, 48)).astype(np.uint8)
            img[6 * c: 6 * c + 6] = 240
            Image.fromarray(img).save(base / folder / f"S{100 + k:03d}_{c + 1:03d}_{k + 1:08d}.png")
    return root


def test_one_epoch_smoke_run_returns_best_weights_and_a_history(tmp_path):
    data = toy_faces()
    result = fit(TrainConfig(**TINY), data, data, tmp_path / "run", progress=False)
    assert result.best_epoch == 1 and len(result.history) == 1
    assert not result.model.training
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert {"epoch", "train_loss", "train_acc", "val_acc", "val_loss", "lr", "seconds"} <= set(record)


def test_selection_prefers_accuracy_then_breaks_ties_on_validation_loss():
    assert improves(0.90, 0.9, best_acc=0.80, best_loss=0.1)      # accuracy first
    assert not improves(0.80, 0.1, best_acc=0.90, best_loss=0.9)
    assert improves(0.90, 0.3, best_acc=0.90, best_loss=0.4)      # a tie: lower loss wins
    assert not improves(0.90, 0.4, best_acc=0.90, best_loss=0.4)  # an exact tie keeps the first


def test_the_selected_epoch_is_the_one_with_the_best_accuracy_then_loss(tmp_path):
    data = toy_faces(16)
    cfg = TrainConfig(epochs=8, batch_size=16, lr=3e-3, threads=1, label_smoothing=0.0,
                      augment={"erase": 0.0, "rotate_deg": 0.0, "flip": 0.0})
    result = fit(cfg, data, data, progress=False)
    ranked = max(result.history, key=lambda r: (r["val_acc"], -r["val_loss"]))
    assert result.best_epoch == ranked["epoch"]


def test_a_few_epochs_learn_a_separable_toy_problem():
    data = toy_faces(16)
    cfg = TrainConfig(epochs=8, batch_size=16, lr=3e-3, threads=1, label_smoothing=0.0,
                      augment={"erase": 0.0, "rotate_deg": 0.0, "flip": 0.0})
    assert fit(cfg, data, data, progress=False).best_val_accuracy > 0.9


def test_resuming_after_an_interruption_reproduces_the_uninterrupted_run(tmp_path, monkeypatch):
    data = toy_faces()
    cfg = TrainConfig(**{**TINY, "epochs": 3})
    full = fit(cfg, data, data, tmp_path / "full", progress=False)

    real_predict = train_module.predict_proba
    calls = {"n": 0}

    def crash_in_third_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_predict(*args, **kwargs)

    monkeypatch.setattr(train_module, "predict_proba", crash_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, data, data, tmp_path / "cut", progress=False)
    monkeypatch.setattr(train_module, "predict_proba", real_predict)
    resumed = fit(cfg, data, data, tmp_path / "cut", progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)


def test_soft_labels_ema_class_weights_and_distillation_all_train(tmp_path):
    data = toy_faces()
    data.soft_labels = torch.nn.functional.one_hot(data.labels, 3).float() * 0.8 + 0.2 / 3
    teacher = fit(TrainConfig(**TINY), data, data, progress=False).model
    cfg = TrainConfig(**TINY, soft_labels=True, ema_decay=0.9, class_weighting="balanced")
    assert fit(cfg, data, data, teacher=teacher, progress=False).history


def test_bf16_autocast_learns_and_keeps_fp32_weights_and_evaluation():
    data = toy_faces(16)
    cfg = TrainConfig(epochs=8, batch_size=16, lr=3e-3, threads=1, label_smoothing=0.0,
                      precision="bf16", augment={"erase": 0.0, "rotate_deg": 0.0, "flip": 0.0})
    result = fit(cfg, data, data, progress=False)
    assert result.best_val_accuracy > 0.9
    assert all(p.dtype == torch.float32 for p in result.model.state_dict().values()
               if p.is_floating_point())


def test_soft_labels_without_votes_is_a_clear_error():
    data = toy_faces()
    with pytest.raises(ValueError, match="soft_labels needs a dataset with vote distributions"):
        fit(TrainConfig(**TINY, soft_labels=True), data, data, progress=False)


def test_balanced_class_weights_are_inverse_frequency():
    w = class_weights(torch.tensor([0, 0, 0, 1]), 2, "balanced")
    assert torch.allclose(w, torch.tensor([4 / 6, 4 / 2]))
    assert class_weights(torch.tensor([0, 1]), 2, "none") is None


@pytest.mark.parametrize("bad", [{"schedule": "linear"}, {"optimizer": "lion"},
                                 {"epochs": 0}, {"augment": {"blur": 1}},
                                 {"precision": "fp8"}, {"vote_share": 1.5},
                                 {"dataset": "ckplus", "vote_share": 0.3}])
def test_invalid_training_options_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        TrainConfig(**bad)


def test_the_cli_trains_a_protocol_and_writes_a_card_with_the_config(tmp_path):
    root = write_ck_root(tmp_path / "data")
    out = tmp_path / "ck"
    cmd = [sys.executable, "-m", "deep_emotion.cli", "train", "--json", "--data-dir", str(root),
           "--dataset", "ckplus", "--protocol", "stratified", "--epochs", "1", "--threads", "1",
           "--batch-size", "16", "--out", str(out), "--run-dir", str(tmp_path / "run"),
           "--model", "dropout=0.2", "--augment", "erase=0", "--quiet"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "test" in json.loads(result.stdout)["metrics"]
    card = load_checkpoint(out).card
    assert card["training"]["model"] == {"dropout": 0.2}
    assert card["config"]["dropout"] == 0.2
    assert card["protocol"]["split_sizes"] == {"train": 29, "val": 4, "test": 9}
    assert set(card["metrics"]["test"]) == {"none", "flip", "tencrop"}


@pytest.mark.slow
def test_the_same_command_runs_data_parallel_under_torchrun_with_two_cpu_processes(tmp_path):
    root = write_ck_root(tmp_path / "data")
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "deep_emotion.cli", "train", "--data-dir", str(root), "--dataset", "ckplus",
           "--protocol", "stratified", "--epochs", "2", "--threads", "1", "--batch-size", "16",
           "--out", str(out), "--run-dir", str(tmp_path / "run"), "--quiet"]
    subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300)
    history = load_checkpoint(out).card["history"]
    assert [h["epoch"] for h in history] == [1, 2]


def test_only_rank_zero_writes_files_so_ranks_never_interleave_a_card_and_its_weights(
        tmp_path, monkeypatch):
    from deep_emotion.experiment import run_training
    root = write_ck_root(tmp_path / "data")
    monkeypatch.setenv("RANK", "1")  # a second torchrun process (WORLD_SIZE unset: no process group)
    cfg = TrainConfig(**TINY, dataset="ckplus", protocol="stratified", eval_tta=("none",))
    run_training(cfg, root, tmp_path / "ckpt", tmp_path / "run", progress=False)
    assert not any(tmp_path.glob("ckpt*")) and not (tmp_path / "run").exists()


def test_a_distilled_card_records_its_teacher_and_the_teachers_weight_hash(tmp_path):
    from deep_emotion.experiment import run_training
    root = write_ck_root(tmp_path / "data")
    base = dict(TINY, dataset="ckplus", protocol="stratified", eval_tta=("none",))
    run_training(TrainConfig(**base), root, tmp_path / "teacher", tmp_path / "t", progress=False)
    teacher = load_checkpoint(tmp_path / "teacher")
    run_training(TrainConfig(**base, teacher=str(tmp_path / "teacher")), root,
                 tmp_path / "student", tmp_path / "s", progress=False)
    card = load_checkpoint(tmp_path / "student").card
    assert card["training"]["teacher"] == str(tmp_path / "teacher")
    assert card["teacher_weights_sha256"] == teacher.card["weights_sha256"]


def test_a_split_seed_keeps_the_test_rows_while_the_training_seed_changes_the_network(tmp_path):
    from deep_emotion.experiment import checkpoint_folds, evaluate_checkpoint, run_training
    root = write_ck_root(tmp_path / "data")
    base = dict(TINY, dataset="ckplus", protocol="stratified", eval_tta=("none",))
    run_training(TrainConfig(**base), root, tmp_path / "seed0", tmp_path / "r0", progress=False)
    run_training(TrainConfig(**base, seed=3, split_seed=0), root, tmp_path / "seed3",
                 tmp_path / "r3", progress=False)
    a, b = load_checkpoint(tmp_path / "seed0"), load_checkpoint(tmp_path / "seed3")
    assert b.card["protocol"]["seed"] == 0 and b.card["training"]["seed"] == 3
    test_rows = [checkpoint_folds(c, root)[1][0].test for c in (a, b)]
    assert np.array_equal(*test_rows)
    assert not torch.equal(next(a.model.parameters()), next(b.model.parameters()))
    assert evaluate_checkpoint(b, root, ("none",))["matches_card"]


def test_inner_folds_score_a_recipe_on_the_stratified_pool_and_never_touch_its_test_rows(tmp_path):
    from deep_emotion.data import load_dataset
    from deep_emotion.experiment import checkpoint_folds, evaluate_checkpoint, make_folds, run_training
    root = write_ck_root(tmp_path / "data", per_class=10)
    data = load_dataset("ckplus", root)
    paper = make_folds(data, "stratified", seed=0)[0]
    inner = make_folds(data, "stratified-inner", folds=5, seed=0)
    scored = np.concatenate([f.test for f in inner])
    assert np.array_equal(np.sort(scored), np.sort(np.concatenate([paper.train, paper.val])))
    for f in inner:
        used = np.concatenate([f.train, f.val, f.test])
        assert len(np.unique(used)) == len(used) and not np.isin(paper.test, used).any()

    cfg = TrainConfig(**TINY, dataset="ckplus", protocol="stratified-inner", folds=5,
                      eval_tta=("none",))
    card = run_training(cfg, root, tmp_path / "inner", tmp_path / "run", progress=False)
    assert card["protocol"]["folds"] == [f"inner{i}" for i in range(5)]
    assert card["metrics"]["test"]["none"]["n"] == len(scored)
    assert "test rows were never used" in card["protocol"]["selection"]
    ckpt = load_checkpoint(tmp_path / "inner")
    assert [f.test.tolist() for f in checkpoint_folds(ckpt, root)[1]] == [f.test.tolist() for f in inner]
    assert evaluate_checkpoint(ckpt, root, ("none",))["matches_card"]


def test_vote_share_trains_fer2013_on_mixed_targets_and_the_card_names_the_votes(tmp_path, monkeypatch):
    from deep_emotion import experiment
    from tests.data.test_fer2013 import fake_rows, write_csv
    from tests.data.test_ferplus import write_ferplus
    root = tmp_path / "data"
    write_csv(root / "fer2013" / "fer2013.csv", fake_rows())
    write_ferplus(root)
    seen = []
    real_fit = experiment.fit

    def spy(cfg, train, val, *args, **kwargs):
        seen.append(train)
        return real_fit(cfg, train, val, *args, **kwargs)

    monkeypatch.setattr(experiment, "fit", spy)
    cfg = TrainConfig(**TINY, vote_share=0.3, eval_tta=("none",))
    card = experiment.run_training(cfg, root, tmp_path / "ckpt", tmp_path / "run", progress=False)
    train = seen[0]
    assert set(train.splits) == {"Training"}
    assert torch.allclose(train.soft_labels[0], torch.tensor([0.7, 0, 0, 0, 0, 0, 0.3]))
    assert card["dataset"]["name"] == "fer2013"
    assert card["dataset"]["vote_targets"]["share"] == 0.3
    assert card["training"]["vote_share"] == 0.3


def test_fine_tuning_starts_from_the_checkpoints_weights_with_head_rows_matched_by_name(
        random_checkpoint):
    source = load_checkpoint(random_checkpoint)
    data = toy_faces()  # anger, fear, happiness: three of the source's seven classes
    cfg = TrainConfig(**TINY, init=str(random_checkpoint), lr=1e-12, augment={"erase": 0.0})
    tuned = fit(cfg, data, data, progress=False).model
    assert torch.allclose(tuned.features[0].weight, source.model.features[0].weight, atol=1e-8)
    rows = [source.classes.index(c) for c in data.classes]
    assert torch.allclose(tuned.classifier[2].weight, source.model.classifier[2].weight[rows],
                          atol=1e-8)


SHIPPED_CARDS = [checkpoint_dir() / f"{name}.json" for name in list_checkpoints()]


def test_the_defaults_are_what_every_shipped_recipe_agrees_on():
    from scripts.replay import LEGACY  # fields some cards predate, at the value their runs had
    cards = [json.loads(p.read_text())["training"] for p in SHIPPED_CARDS]
    defaults = TrainConfig().to_dict()
    shared = {k: v for k, v in cards[0].items()
              if all(c.get(k, LEGACY.get(k)) == v for c in cards)}
    assert len(cards) >= 10 and {"optimizer", "schedule", "label_smoothing"} <= shared.keys()
    assert {k: defaults[k] for k in shared} == shared
    assert {k: defaults[k] for k in LEGACY} == LEGACY  # so replaying an old card stays exact


def test_a_config_file_that_is_not_a_json_object_is_refused(tmp_path):
    from deep_emotion.cli import build_parser
    from deep_emotion.cli.train import config_from_args
    (tmp_path / "list.json").write_text("[1, 2]")
    args = build_parser().parse_args(["train", "--config", str(tmp_path / "list.json"), "--out", "x"])
    with pytest.raises(ValueError, match="expected a JSON object"):
        config_from_args(args)
