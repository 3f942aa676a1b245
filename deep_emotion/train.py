"""Training: one resumable, logged loop over in-memory uint8 faces, on CPU, GPU or under DDP.

``fit`` trains one network on a train/validation pair and keeps the best-on-validation
weights; ``train`` (in ``deep_emotion.experiment``) wraps it in a dataset protocol and writes
a checkpoint.  The loop follows the paper (Adam, L2 on the fully connected layers) and adds
what reaching its numbers needs: a learning-rate schedule, label smoothing, class weighting,
soft labels (FER+ votes), batched augmentation, weight averaging (EMA) and knowledge
distillation.

Scale-out: the same command runs under ``torchrun --nproc_per_node N``; each process takes a
disjoint shard of every epoch's permutation (global batch = ``batch_size``), gradients are
averaged by DistributedDataParallel (gloo on CPU, nccl on GPUs), and only rank 0 writes files.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from deep_emotion.augment import AugmentConfig, augment_batch
from deep_emotion.data import FaceDataset
from deep_emotion.model import DeepEmotion, DeepEmotionConfig
from deep_emotion.predict import predict_proba
from deep_emotion.preprocess import DEFAULT_PREPROCESSING, Preprocessing

__all__ = ["TrainConfig", "FitResult", "fit", "class_weights", "init_from", "SCHEDULES",
           "OPTIMIZERS", "PRECISIONS"]

SCHEDULES = ("onecycle", "cosine", "constant")
OPTIMIZERS = ("adam", "adamw", "sgd")
CLASS_WEIGHTING = ("none", "balanced", "sqrt")
PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    """Every training hyperparameter, with its default; saved verbatim into checkpoint cards."""

    dataset: str = "fer2013"          # a name registered in deep_emotion.data
    protocol: str = "official"        # see deep_emotion.splits.PROTOCOLS
    folds: int = 10                   # for k-fold protocols
    fold: int | None = None           # train only this fold of a k-fold protocol (None: all)
    seed: int = 0                     # model init, shuffling, augmentation (and random splits,
                                      # unless split_seed is set)
    split_seed: int | None = None     # random splits only (None: seed), so several training
                                      # seeds can share one split and one test set
    epochs: int = 60
    batch_size: int = 128             # global batch (split across DDP processes)
    optimizer: str = "adam"           # paper: Adam
    lr: float = 3e-3                  # peak learning rate
    weight_decay: float = 1e-4        # L2 on the fully connected layers only (as in the paper)
    schedule: str = "onecycle"        # onecycle | cosine | constant
    warmup_frac: float = 0.15         # onecycle: fraction of steps rising to the peak
    label_smoothing: float = 0.1
    class_weighting: str = "none"     # none | balanced | sqrt (inverse frequency, or its root)
    soft_labels: bool = False         # train on vote distributions (FER+) instead of majority
    vote_share: float = 0.0           # FER2013 only: share of each training target taken from
                                      # the image's FER+ votes (data.ferplus.with_vote_targets)
    ema_decay: float = 0.0            # >0: evaluate and keep an exponential moving average
    init: str | None = None           # checkpoint to fine-tune from (head rows mapped by class)
    teacher: str | None = None        # checkpoint to distil from (same classes), or None
    distill_weight: float = 0.5       # share of the loss given to the teacher's soft targets
    distill_temperature: float = 4.0
    model: dict = field(default_factory=dict)    # DeepEmotionConfig overrides
    augment: dict = field(default_factory=dict)  # AugmentConfig overrides
    channels_last: bool = True        # 1.6x on AVX-512 CPUs for this network
    precision: str = "fp32"           # bf16: autocast the training forward (1.9x on CPUs with
                                      # AVX-512 BF16/AMX); weights, optimizer, evaluation stay fp32
    threads: int | None = None        # torch intra-op threads (None: torch's default)
    eval_tta: tuple[str, ...] = ("none", "flip", "tencrop")  # modes reported for the test split

    @property
    def protocol_seed(self) -> int:
        """Seed of the protocol's random split or folds (the card's ``protocol.seed``)."""
        return self.seed if self.split_seed is None else self.split_seed

    def model_config(self, num_classes: int) -> DeepEmotionConfig:
        return DeepEmotionConfig(**{**self.model, "num_classes": num_classes})

    def augment_config(self) -> AugmentConfig:
        return AugmentConfig.from_dict(self.augment)

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.class_weighting not in CLASS_WEIGHTING:
            raise ValueError(f"class_weighting must be one of {CLASS_WEIGHTING}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not 0.0 <= self.vote_share <= 1.0:
            raise ValueError(f"vote_share must be in [0, 1], got {self.vote_share}")
        if self.vote_share and self.dataset != "fer2013":
            raise ValueError("vote_share mixes FER+ votes into FER2013 targets; "
                             f"it does not apply to {self.dataset!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        self.eval_tta = tuple(self.eval_tta)
        AugmentConfig.from_dict(self.augment)  # fail early on unknown keys

    def to_dict(self) -> dict:
        d = asdict(self)
        d["eval_tta"] = list(self.eval_tta)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training options {unknown}")
        return cls(**data)


def improves(val_acc: float, val_loss: float, best_acc: float, best_loss: float) -> bool:
    """Whether an epoch beats the best so far: higher validation accuracy, or the same
    accuracy with a lower validation loss.

    Why the tie-break: on small validation sets (JAFFE: 23 faces, CK+: 98) hundreds of epochs
    share the top accuracy, and keeping the first of them keeps an early, less-trained network.
    The loss is the mean negative log-likelihood of the true labels, so it still uses only
    validation rows.
    """
    return val_acc > best_acc or (val_acc == best_acc and val_loss < best_loss)


@dataclass
class FitResult:
    model: DeepEmotion              # best-on-validation weights, eval mode, on the CPU
    best_epoch: int
    best_val_accuracy: float
    history: list[dict]


def class_weights(labels: torch.Tensor, num_classes: int, mode: str) -> torch.Tensor | None:
    """Loss weights per class: ``balanced`` = N / (C * count), ``sqrt`` its square root."""
    if mode == "none":
        return None
    counts = torch.bincount(labels, minlength=num_classes).float().clamp(min=1)
    w = counts.sum() / (num_classes * counts)
    return w.sqrt() if mode == "sqrt" else w


def init_from(model: DeepEmotion, source: nn.Module, source_classes: tuple[str, ...],
              classes: tuple[str, ...]) -> list[str]:
    """Copy ``source``'s weights into ``model``; the output layer is matched row by row by
    class name, so a FER2013 head starts CK+'s six shared emotions and only ``contempt`` starts
    from scratch.  Returns the classes that had no source row."""
    state = model.state_dict()
    src = source.state_dict()
    head = f"classifier.{len(model.classifier) - 1}."
    for key, value in src.items():
        if key.startswith(head) or key not in state:
            continue
        if state[key].shape != value.shape:
            raise ValueError(f"cannot fine-tune: {key} has shape {tuple(value.shape)} in the "
                             f"source, {tuple(state[key].shape)} here")
        state[key] = value.clone()
    missing = []
    for i, name in enumerate(classes):
        if name in source_classes:
            j = source_classes.index(name)
            state[head + "weight"][i] = src[head + "weight"][j]
            state[head + "bias"][i] = src[head + "bias"][j]
        else:
            missing.append(name)
    model.load_state_dict(state)
    return missing


def _is_fc(name: str) -> bool:
    return name.startswith(("classifier.", "fc_loc."))


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """L2 (weight decay) on the fully connected layers only, as the paper regularises them."""
    fc = [p for n, p in model.named_parameters() if _is_fc(n)]
    rest = [p for n, p in model.named_parameters() if not _is_fc(n)]
    groups = [{"params": fc, "weight_decay": cfg.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)


def build_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total,
                                                   pct_start=cfg.warmup_frac)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def is_main_process() -> bool:
    """True unless this is a non-zero rank under torchrun: only rank 0 writes files, because
    every rank holds the same weights and concurrent writers would interleave a card and a
    weights file from different processes."""
    return int(os.environ.get("RANK", "0")) == 0


class _Distributed:
    """Rank/world of this process; a no-op when not launched by torchrun."""

    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.active = self.world > 1
        if torch.cuda.is_available():
            self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        if self.active and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return is_main_process()

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def _loss(logits, targets, soft, weights, cfg: TrainConfig, teacher_logits=None):
    """Cross-entropy (hard or soft targets, smoothed, class-weighted), plus distillation."""
    if soft is not None:
        log_p = F.log_softmax(logits, 1)
        if cfg.label_smoothing:
            soft = soft * (1 - cfg.label_smoothing) + cfg.label_smoothing / soft.shape[1]
        per = -(soft * log_p * (weights if weights is not None else 1.0)).sum(1)
        loss = per.mean()
    else:
        loss = F.cross_entropy(logits, targets, weight=weights,
                               label_smoothing=cfg.label_smoothing)
    if teacher_logits is not None and cfg.distill_weight > 0:
        t = cfg.distill_temperature
        kd = F.kl_div(F.log_softmax(logits / t, 1), F.softmax(teacher_logits / t, 1),
                      reduction="batchmean") * t * t
        loss = (1 - cfg.distill_weight) * loss + cfg.distill_weight * kd
    return loss


def fit(cfg: TrainConfig, train: FaceDataset, val: FaceDataset, run_dir: Path | None = None,
        preprocessing: Preprocessing = DEFAULT_PREPROCESSING, teacher: nn.Module | None = None,
        progress: bool = True) -> FitResult:
    """Train one network, selecting the epoch with the best validation accuracy.

    Args:
        cfg: hyperparameters.
        train, val: faces with labels in the same class order.
        run_dir: where ``last.pt`` (resume state, written every epoch), ``best.pt`` and
            ``metrics.jsonl`` go; an existing ``last.pt`` there resumes after its epoch.
            None trains without files.
        teacher: a network whose logits on the same augmented batch are distilled.

    Returns:
        FitResult with the best weights (eval mode, CPU) and the per-epoch history.
    """
    if train.classes != val.classes:
        raise ValueError(f"train classes {train.classes} differ from val classes {val.classes}")
    env = _Distributed()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    num_classes = len(train.classes)
    model = DeepEmotion(cfg.model_config(num_classes)).to(env.device)
    if cfg.init:
        from deep_emotion.checkpoints import load_checkpoint  # checkpoints imports model only
        source = load_checkpoint(cfg.init)
        init_from(model, source.model, source.classes, train.classes)
    # Same init on every rank (DDP also broadcasts it), different augmentation draws per rank.
    torch.manual_seed(cfg.seed * 1009 + env.rank + 1)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    aug = cfg.augment_config()
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    opt = build_optimizer(model, cfg)
    sched = build_schedule(opt, cfg, steps_per_epoch)
    ema = copy.deepcopy(model).eval() if cfg.ema_decay > 0 else None
    weights = class_weights(train.labels, num_classes, cfg.class_weighting)
    weights = weights.to(env.device) if weights is not None else None
    use_soft = cfg.soft_labels or cfg.vote_share > 0
    soft_all = train.soft_labels if use_soft else None
    if use_soft and soft_all is None:
        raise ValueError(f"soft_labels needs a dataset with vote distributions; {train.name} has none")
    if teacher is not None:
        teacher = teacher.to(env.device).eval()

    history: list[dict] = []
    start_epoch, best_acc, best_epoch, best_state = 0, -1.0, -1, None
    best_loss = math.inf
    last_path = run_dir / "last.pt" if run_dir else None
    if last_path and last_path.exists():
        state = torch.load(last_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["schedule"])
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        start_epoch, best_acc, best_epoch = state["epoch"] + 1, state["best_acc"], state["best_epoch"]
        best_state = state["best_model"]
        best_loss = state.get("best_loss", math.inf)  # resume states from before the tie-break
        history = json.loads(state["history"])
        torch.set_rng_state(state["rng"]["torch"])
    net = nn.parallel.DistributedDataParallel(model) if env.active else model

    # Whole dataset on the device, normalised once; batches are index_selects of it.
    x_all = preprocessing.to_input(train.images).to(env.device)
    y_all = train.labels.to(env.device)
    soft_all = soft_all.to(env.device) if soft_all is not None else None
    gen = torch.Generator(device="cpu")
    local_batch = max(1, cfg.batch_size // env.world)

    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        gen.manual_seed(cfg.seed * 100003 + epoch)  # same permutation on every rank
        order = torch.randperm(len(train), generator=gen)
        net.train()
        seen, loss_sum, correct = 0, 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=not (progress and env.main), mininterval=2.0, leave=False)
        for step in bar:
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            idx = idx[env.rank * local_batch:(env.rank + 1) * local_batch].to(env.device)
            if len(idx) == 0:
                continue
            x = augment_batch(x_all[idx], aug, generator=None).contiguous(memory_format=fmt)
            y = y_all[idx]
            # bf16 autocast runs the convolutions and matmuls in bfloat16 (oneDNN/AMX kernels);
            # the loss, the update and the fp32 master weights are untouched.
            with torch.autocast(env.device.type, dtype=torch.bfloat16,
                                enabled=cfg.precision == "bf16"):
                with torch.no_grad():
                    t_logits = teacher(x).float() if teacher is not None else None
                logits = net(x).float()
            loss = _loss(logits, y, soft_all[idx] if soft_all is not None else None, weights, cfg,
                         t_logits)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                with torch.no_grad():
                    for pe, pm in zip(ema.state_dict().values(), model.state_dict().values()):
                        if pe.dtype.is_floating_point:
                            pe.lerp_(pm, 1 - cfg.ema_decay)
                        else:
                            pe.copy_(pm)
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
        bar.close()
        train_seconds = time.perf_counter() - t0
        judged = ema if ema is not None else model
        val_probs = predict_proba(judged, val.images, preprocessing)
        val_acc = float((val_probs.argmax(1) == val.labels).float().mean())
        true_p = val_probs.gather(1, val.labels.view(-1, 1))  # probabilities are on the CPU
        val_loss = float(-true_p.clamp_min(1e-12).log().mean())
        record = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1),
                  "train_acc": correct / max(seen, 1), "val_acc": val_acc, "val_loss": val_loss,
                  "lr": opt.param_groups[0]["lr"], "seconds": round(time.perf_counter() - t0, 2),
                  "images_per_s": round(seen * env.world / train_seconds, 1)}
        history.append(record)
        if improves(val_acc, val_loss, best_acc, best_loss):
            best_acc, best_loss, best_epoch = val_acc, val_loss, epoch + 1
            best_state = {k: v.detach().cpu().clone() for k, v in judged.state_dict().items()}
        if env.main and progress:
            tqdm.write(f"epoch {epoch + 1}/{cfg.epochs} loss {record['train_loss']:.4f} "
                       f"train {record['train_acc']:.4f} val {val_acc:.4f} "
                       f"(best {best_acc:.4f} @ {best_epoch}) {record['seconds']:.1f}s "
                       f"{record['images_per_s']:.0f} img/s")
        if run_dir and env.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            # Rewritten whole each epoch, so a resumed run never logs an epoch twice.
            (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
            tmp = run_dir / "last.pt.tmp"
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "schedule": sched.state_dict(),
                        "ema": ema.state_dict() if ema is not None else None,
                        "epoch": epoch, "best_acc": best_acc, "best_loss": best_loss,
                        "best_epoch": best_epoch,
                        "best_model": best_state, "history": json.dumps(history),
                        "rng": {"torch": torch.get_rng_state()}}, tmp)
            os.replace(tmp, run_dir / "last.pt")
        env.barrier()

    final = DeepEmotion(cfg.model_config(num_classes))
    final.load_state_dict(best_state)
    return FitResult(model=final.eval(), best_epoch=best_epoch, best_val_accuracy=best_acc,
                     history=history)
