"""Training: one resumable, logged loop over in-memory uint8 faces, on CPU, GPU or under DDP.

``fit`` trains one network on a train/validation pair and keeps the best-on-validation
weights; ``deep_emotion.experiment.run_training`` wraps it in a dataset protocol and writes a
checkpoint.  The loop keeps the paper's regularisation (weight decay on the fully connected
layers only) and adds what reaching its numbers needs: AdamW, a one-cycle learning-rate
schedule, label smoothing, class weighting, soft labels (FER+ votes), batched augmentation,
weight averaging (EMA) and knowledge distillation.

``TrainConfig``'s defaults are the recipe every shipped checkpoint shares; what differs from
dataset to dataset (epochs, batch size, dropout, EMA decay, ...) each card records in full
under ``training``, and ``scripts/replay.py`` replays it.

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
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from deep_emotion.augment import AugmentConfig, augment_batch
from deep_emotion.checkpoints import init_from, load_checkpoint
from deep_emotion.data import FaceDataset
from deep_emotion.distributed import ProcessGroup
from deep_emotion.model import DeepEmotion, DeepEmotionConfig
from deep_emotion.predict import predict_proba
from deep_emotion.preprocess import DEFAULT_PREPROCESSING, Preprocessing

__all__ = ["TrainConfig", "FitResult", "fit", "class_weights", "improves", "SCHEDULES",
           "OPTIMIZERS", "PRECISIONS"]

SCHEDULES = ("onecycle", "cosine", "constant")
OPTIMIZERS = ("adam", "adamw", "sgd")
CLASS_WEIGHTING = ("none", "balanced", "sqrt")
PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    """Every training hyperparameter, with its default; saved verbatim into checkpoint cards.

    Cards written before a field existed do not record it; such fields (``split_seed``,
    ``vote_share``, ``init``, ``precision``) keep as default the value those runs had, so an
    old card and its replay (``scripts/replay.py``) mean the same training.
    """

    dataset: str = "fer2013"          # a name registered in deep_emotion.data
    protocol: str = "official"        # a key of deep_emotion.experiment.PROTOCOLS
    folds: int = 10                   # for k-fold protocols
    fold: int | None = None           # train only this fold of a k-fold protocol (None: all)
    seed: int = 0                     # model init, shuffling, augmentation (and random splits,
                                      # unless split_seed is set)
    split_seed: int | None = None     # random splits only (None: seed), so several training
                                      # seeds can share one split and one test set
    epochs: int = 60                  # shipped: 40 to 600
    batch_size: int = 128             # global batch (split across DDP processes); shipped:
                                      # 128 on FER2013/FER+, 32 on CK+, 16 on JAFFE
    optimizer: str = "adamw"          # adamw; ablations: adam (the paper's), sgd (Nesterov,
                                      # momentum 0.9)
    lr: float = 3e-3                  # peak learning rate; 1e-3 when fine-tuning (init)
    weight_decay: float = 1e-4        # on the fully connected layers, as the paper
                                      # regularises them (L2 for adam/sgd, decoupled for adamw)
    conv_weight_decay: float = 0.0    # on convolution kernels (batch norm and biases never):
                                      # 0 for the paper's recipe; the residual family's
                                      # recipes set it, as mini-Xception decays its kernels
    schedule: str = "onecycle"        # onecycle; ablations: cosine, constant
    warmup_frac: float = 0.15         # onecycle: fraction of steps rising to the peak
    label_smoothing: float = 0.1      # share of each one-hot target spread over all classes
    class_weighting: str = "none"     # none; ablations: balanced, sqrt (inverse frequency, or
                                      # its root)
    soft_labels: bool = False         # train on vote distributions (FER+) instead of majority
    vote_share: float = 0.0           # ablation, FER2013 only: share of each training target
                                      # taken from the image's FER+ votes
                                      # (data.ferplus.with_vote_targets)
    ema_decay: float = 0.0            # >0: evaluate and keep an exponential moving average;
                                      # shipped: 0.99-0.999 (fewer steps, lower decay), or 0
    init: str | None = None           # checkpoint to fine-tune from (head rows mapped by class)
    teacher: str | None = None        # checkpoint to distil from (same classes), or None;
                                      # "a+b+c" distils the mean logits of several
    distill_weight: float = 0.5       # share of the loss given to the teacher's soft targets
    distill_temperature: float = 4.0  # divides teacher and student logits before matching
    model: dict = field(default_factory=dict)    # DeepEmotionConfig overrides; every shipped
                                      # recipe sets dropout (0.1-0.3, below the paper's 0.5)
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

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

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


def _is_fc(name: str) -> bool:
    return name.startswith(("classifier.", "fc_loc."))


def _decay_groups(model: nn.Module, cfg: TrainConfig) -> list[dict]:
    """Parameter groups: FC layers at ``weight_decay``, conv kernels at ``conv_weight_decay``,
    everything else (batch norm, conv biases) undecayed."""
    fc, convs, rest = [], [], []
    for name, param in model.named_parameters():
        if _is_fc(name):
            fc.append(param)
        elif param.dim() == 4:
            convs.append(param)
        else:
            rest.append(param)
    groups = [{"params": fc, "weight_decay": cfg.weight_decay},
              {"params": convs, "weight_decay": cfg.conv_weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Weight decay on the fully connected layers, as the paper regularises them, and on conv
    kernels where ``conv_weight_decay`` asks (Adam and SGD add it to the gradient as L2;
    AdamW decouples it, Loshchilov & Hutter 2019)."""
    groups = _decay_groups(model, cfg)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)


def build_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning rate per optimizer step over ``cfg.epochs`` epochs."""
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total,
                                                   pct_start=cfg.warmup_frac)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def _loss(logits: torch.Tensor, targets: torch.Tensor, soft: torch.Tensor | None,
          weights: torch.Tensor | None, cfg: TrainConfig,
          teacher_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy (hard or soft targets, smoothed, class-weighted), plus distillation.

    logits, teacher_logits: (B, C); targets: (B,) class indices; soft: (B, C) target
    distributions (used instead of ``targets`` when given); weights: (C,) per-class weights.
    """
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


def _update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, in place; integer buffers (the batch-norm
    step count) are copied, since an average of counts means nothing."""
    with torch.no_grad():
        for pe, pm in zip(ema.state_dict().values(), model.state_dict().values()):
            if pe.dtype.is_floating_point:
                pe.lerp_(pm, 1 - decay)
            else:
                pe.copy_(pm)


@dataclass
class _Best:
    """The best-on-validation epoch so far (``improves``) and a CPU copy of its weights."""

    accuracy: float = -1.0
    loss: float = math.inf
    epoch: int = -1
    state: dict | None = None

    def consider(self, epoch: int, accuracy: float, loss: float, judged: nn.Module) -> None:
        if improves(accuracy, loss, self.accuracy, self.loss):
            self.accuracy, self.loss, self.epoch = accuracy, loss, epoch
            self.state = {k: v.detach().cpu().clone() for k, v in judged.state_dict().items()}


@dataclass
class _Run:
    """Everything one training run changes from epoch to epoch: what ``last.pt`` holds."""

    model: DeepEmotion
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    ema: DeepEmotion | None
    best: _Best = field(default_factory=_Best)
    history: list[dict] = field(default_factory=list)
    start_epoch: int = 0

    @property
    def judged(self) -> DeepEmotion:
        """The network validation judges (and the one kept): the EMA when there is one."""
        return self.ema if self.ema is not None else self.model

    def save(self, run_dir: Path, epoch: int) -> None:
        """Rewrite ``metrics.jsonl`` whole (a resumed run never logs an epoch twice) and
        ``last.pt`` atomically, after ``epoch`` (0-based) finished."""
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in self.history))
        tmp = run_dir / "last.pt.tmp"
        torch.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "schedule": self.schedule.state_dict(),
                    "ema": self.ema.state_dict() if self.ema is not None else None,
                    "epoch": epoch, "best_acc": self.best.accuracy, "best_loss": self.best.loss,
                    "best_epoch": self.best.epoch, "best_model": self.best.state,
                    "history": json.dumps(self.history),
                    "rng": {"torch": torch.get_rng_state()}}, tmp)
        os.replace(tmp, run_dir / "last.pt")

    def resume(self, path: Path) -> None:
        """Continue after the epoch ``path`` (a ``last.pt`` written by ``save``) recorded."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.start_epoch = state["epoch"] + 1
        # Resume states from before the loss tie-break carry no best_loss.
        self.best = _Best(state["best_acc"], state.get("best_loss", math.inf),
                          state["best_epoch"], state["best_model"])
        self.history = json.loads(state["history"])
        torch.set_rng_state(state["rng"]["torch"])


def _start(cfg: TrainConfig, classes: tuple[str, ...], env: ProcessGroup,
           steps_per_epoch: int) -> _Run:
    """A fresh run: the seeded (or fine-tuned, ``cfg.init``) network, its optimizer, schedule
    and EMA copy, on ``env``'s device."""
    torch.manual_seed(cfg.seed)
    model = DeepEmotion(cfg.model_config(len(classes))).to(env.device)
    if cfg.init:
        source = load_checkpoint(cfg.init)
        init_from(model, source.model, source.classes, classes)
    # Same init on every rank (DDP also broadcasts it), different augmentation draws per rank.
    torch.manual_seed(cfg.seed * 1009 + env.rank + 1)
    model = model.to(memory_format=cfg.memory_format)
    optimizer = build_optimizer(model, cfg)
    schedule = build_schedule(optimizer, cfg, steps_per_epoch)
    ema = copy.deepcopy(model).eval() if cfg.ema_decay > 0 else None
    return _Run(model, optimizer, schedule, ema)


@dataclass
class _TrainingSet:
    """The training faces on the device, normalised once; a batch is an index_select of them.

    images: (N, 1, S, S) float inputs; labels: (N,) class indices; soft: (N, C) target
    distributions or None; weights: (C,) loss weight per class or None.
    """

    images: torch.Tensor
    labels: torch.Tensor
    soft: torch.Tensor | None
    weights: torch.Tensor | None
    augment: AugmentConfig
    memory_format: torch.memory_format

    @classmethod
    def load(cls, data: FaceDataset, cfg: TrainConfig, preprocessing: Preprocessing,
             device: torch.device) -> "_TrainingSet":
        soft = None
        if cfg.soft_labels or cfg.vote_share > 0:
            if data.soft_labels is None:
                raise ValueError("soft_labels needs a dataset with vote distributions; "
                                 f"{data.name} has none")
            soft = data.soft_labels.to(device)
        weights = class_weights(data.labels, len(data.classes), cfg.class_weighting)
        return cls(preprocessing.to_input(data.images).to(device), data.labels.to(device), soft,
                   weights.to(device) if weights is not None else None, cfg.augment_config(),
                   cfg.memory_format)

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Augmented inputs (B, 1, S, S), labels (B,) and soft targets (B, C) or None."""
        x = augment_batch(self.images[idx], self.augment, generator=None)
        soft = self.soft[idx] if self.soft is not None else None
        return x.contiguous(memory_format=self.memory_format), self.labels[idx], soft


def _step(net: nn.Module, run: _Run, x: torch.Tensor, y: torch.Tensor,
          soft: torch.Tensor | None, weights: torch.Tensor | None, cfg: TrainConfig,
          teacher: nn.Module | None) -> tuple[float, int]:
    """One optimizer step on a batch; returns its mean loss and number of correct argmaxes."""
    # bf16 autocast runs the convolutions and matmuls in bfloat16 (oneDNN/AMX kernels);
    # the loss, the update and the fp32 master weights are untouched.
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
        with torch.no_grad():
            t_logits = teacher(x).float() if teacher is not None else None
        logits = net(x).float()
    loss = _loss(logits, y, soft, weights, cfg, t_logits)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    run.schedule.step()
    if run.ema is not None:
        _update_ema(run.ema, run.model, cfg.ema_decay)
    return loss.item(), int((logits.argmax(1) == y).sum())


def _train_epoch(net: nn.Module, run: _Run, data: _TrainingSet, cfg: TrainConfig,
                 env: ProcessGroup, epoch: int, teacher: nn.Module | None,
                 progress: bool) -> dict:
    """One pass over ``data``; returns the epoch's training loss, accuracy and throughput.

    Every rank draws the same permutation and takes its own slice of each global batch.
    """
    started = time.perf_counter()
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed * 100003 + epoch)
    order = torch.randperm(len(data), generator=gen)
    local_batch = max(1, cfg.batch_size // env.world)
    steps = math.ceil(len(data) / cfg.batch_size)
    net.train()
    seen, loss_sum, correct = 0, 0.0, 0
    bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}",
               disable=not (progress and env.main), mininterval=2.0, leave=False)
    for step in bar:
        idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
        idx = idx[env.rank * local_batch:(env.rank + 1) * local_batch].to(env.device)
        if len(idx) == 0:
            continue
        loss, right = _step(net, run, *data.batch(idx), data.weights, cfg, teacher)
        seen, loss_sum, correct = seen + len(idx), loss_sum + loss * len(idx), correct + right
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
    bar.close()
    seconds = time.perf_counter() - started
    return {"train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1),
            "images_per_s": round(seen * env.world / seconds, 1)}


def _validate(model: nn.Module, val: FaceDataset, preprocessing: Preprocessing) -> dict:
    """Validation accuracy and loss (mean negative log-likelihood of the true classes)."""
    probs = predict_proba(model, val.images, preprocessing)  # (N, C), on the CPU
    true_p = probs.gather(1, val.labels.view(-1, 1))
    return {"val_acc": float((probs.argmax(1) == val.labels).float().mean()),
            "val_loss": float(-true_p.clamp_min(1e-12).log().mean())}


def _report(record: dict, best: _Best, epochs: int) -> None:
    tqdm.write(f"epoch {record['epoch']}/{epochs} loss {record['train_loss']:.4f} "
               f"train {record['train_acc']:.4f} val {record['val_acc']:.4f} "
               f"(best {best.accuracy:.4f} @ {best.epoch}) {record['seconds']:.1f}s "
               f"{record['images_per_s']:.0f} img/s")


def fit(cfg: TrainConfig, train: FaceDataset, val: FaceDataset, run_dir: Path | None = None,
        preprocessing: Preprocessing = DEFAULT_PREPROCESSING, teacher: nn.Module | None = None,
        progress: bool = True) -> FitResult:
    """Train one network, selecting the epoch with the best validation accuracy.

    Args:
        cfg: hyperparameters.
        train, val: faces with labels in the same class order.
        run_dir: where ``last.pt`` (resume state) and ``metrics.jsonl`` are rewritten after
            every epoch; an existing ``last.pt`` there resumes after its epoch.  None trains
            without files.
        teacher: a network whose logits on the same augmented batch are distilled.

    Returns:
        FitResult with the best weights (eval mode, CPU) and the per-epoch history.
    """
    if train.classes != val.classes:
        raise ValueError(f"train classes {train.classes} differ from val classes {val.classes}")
    env = ProcessGroup()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run = _start(cfg, train.classes, env, math.ceil(len(train) / cfg.batch_size))
    data = _TrainingSet.load(train, cfg, preprocessing, env.device)
    teacher = teacher.to(env.device).eval() if teacher is not None else None
    if run_dir and (run_dir / "last.pt").exists():
        run.resume(run_dir / "last.pt")
    net = nn.parallel.DistributedDataParallel(run.model) if env.active else run.model
    for epoch in range(run.start_epoch, cfg.epochs):
        started = time.perf_counter()
        trained = _train_epoch(net, run, data, cfg, env, epoch, teacher, progress)
        record = {"epoch": epoch + 1, "train_loss": trained["train_loss"],
                  "train_acc": trained["train_acc"], **_validate(run.judged, val, preprocessing),
                  "lr": run.optimizer.param_groups[0]["lr"],
                  "seconds": round(time.perf_counter() - started, 2),
                  "images_per_s": trained["images_per_s"]}
        run.history.append(record)
        run.best.consider(epoch + 1, record["val_acc"], record["val_loss"], run.judged)
        if env.main and progress:
            _report(record, run.best, cfg.epochs)
        if run_dir and env.main:
            run.save(run_dir, epoch)
        env.barrier()
    final = DeepEmotion(cfg.model_config(len(train.classes)))
    final.load_state_dict(run.best.state)
    return FitResult(model=final.eval(), best_epoch=run.best.epoch,
                     best_val_accuracy=run.best.accuracy, history=run.history)
