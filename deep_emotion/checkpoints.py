"""Self-describing checkpoints: ``NAME.safetensors`` weights plus a ``NAME.json`` card.

The card alone rebuilds the network (architecture config, ordered class names, preprocessing)
and records where the weights came from (dataset and its sha256, protocol, split sizes, metrics
with confusion matrices, training config, code commit, date).  Weights are safetensors, so
loading never unpickles.  A checkpoint may hold several networks (one per cross-validation
fold); their tensors are stored under ``fold{i}.`` prefixes and the card lists the folds.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from deep_emotion.catalog import CARD_FORMAT, CheckpointError, resolve
from deep_emotion.catalog import read_card as read_card_json
from deep_emotion.emotions import check_classes
from deep_emotion.model import DeepEmotion, DeepEmotionConfig, count_parameters
from deep_emotion.preprocess import Preprocessing

# CheckpointError and resolve come from the torch-free catalog; re-exported for callers that
# load weights anyway.
__all__ = ["Checkpoint", "CheckpointError", "load_checkpoint", "read_card", "save_checkpoint",
           "resolve", "code_commit", "init_from", "CARD_FORMAT"]

ARCHITECTURES = {"DeepEmotion": DeepEmotion}


@dataclass
class Checkpoint:
    """A loaded checkpoint: networks in eval mode, their card and how to feed them."""

    name: str
    models: list[DeepEmotion]
    card: dict
    path: Path

    @property
    def model(self) -> DeepEmotion:
        """The network to use for predictions (the only one, or fold 0 of a CV checkpoint)."""
        return self.models[0]

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.card["classes"])

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing.from_dict(self.card["preprocessing"])

    @property
    def config(self) -> DeepEmotionConfig:
        return DeepEmotionConfig.from_dict(self.card["config"])


def code_commit() -> str:
    """The git commit of the working tree (with ``+dirty`` if modified), or "unknown"."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "deep_emotion"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("+dirty" if dirty else "")) if sha else "unknown"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_checkpoint(path: str | Path, models: DeepEmotion | list[DeepEmotion], card: dict) -> Path:
    """Write ``path.safetensors`` and ``path.json``; returns the path without suffix.

    ``card`` needs at least ``classes`` and ``preprocessing``; the architecture, config,
    parameter count, weights hash, commit and date are filled in here.
    """
    models = models if isinstance(models, list) else [models]
    path = Path(path).with_suffix("") if Path(path).suffix in (".json", ".safetensors") else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = models[0].config
    if any(m.config != config for m in models):
        raise ValueError("all networks of one checkpoint must share a config")
    classes = check_classes(card["classes"])
    if len(classes) != config.num_classes:
        raise ValueError(f"{len(classes)} class names for a {config.num_classes}-way head")
    if len(models) == 1:
        tensors = {k: v.detach().cpu().contiguous() for k, v in models[0].state_dict().items()}
    else:
        tensors = {f"fold{i}.{k}": v.detach().cpu().contiguous()
                   for i, m in enumerate(models) for k, v in m.state_dict().items()}
    weights = path.with_suffix(".safetensors")
    save_file(tensors, str(weights), metadata={"format": CARD_FORMAT})
    full = {
        "format": CARD_FORMAT, "name": path.name, "architecture": "DeepEmotion",
        "config": config.to_dict(), "parameters": count_parameters(models[0]),
        "networks": len(models),
        **card,
        "classes": list(classes),
        "weights_sha256": _sha256(weights), "code_commit": card.get("code_commit", code_commit()),
        "date": card.get("date", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")),
    }
    path.with_suffix(".json").write_text(json.dumps(full, indent=1, sort_keys=False) + "\n")
    return path


def read_card(name_or_path: str | Path) -> dict:
    """The card of a checkpoint (``catalog.read_card``), whose architecture this module can
    also build."""
    card = read_card_json(name_or_path)
    if card.get("architecture") not in ARCHITECTURES:
        raise CheckpointError(f"{resolve(name_or_path).with_suffix('.json')}: unknown architecture "
                              f"{card.get('architecture')!r}; known: {sorted(ARCHITECTURES)}")
    return card


def load_checkpoint(name_or_path: str | Path, *, verify_hash: bool = True) -> Checkpoint:
    """Rebuild the network(s) from the card and load the weights, in eval mode.

    Raises:
        CheckpointError: missing files, an unknown architecture or config key, class names
            that do not fit the head, a weights file whose hash differs from the card's
            (corrupted or swapped), or tensors whose names or shapes differ from the config's.
    """
    path = resolve(name_or_path)
    card = read_card(path)
    card_path, weights = path.with_suffix(".json"), path.with_suffix(".safetensors")
    try:
        config = DeepEmotionConfig.from_dict(card["config"])
        classes = check_classes(card["classes"])
        Preprocessing.from_dict(card["preprocessing"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{card_path}: invalid card ({e})") from e
    if len(classes) != config.num_classes:
        raise CheckpointError(f"{card_path}: {len(classes)} class names but the config has a "
                              f"{config.num_classes}-way head")
    if not weights.is_file():
        raise CheckpointError(f"{weights}: weights file missing")
    if verify_hash and card.get("weights_sha256") and _sha256(weights) != card["weights_sha256"]:
        raise CheckpointError(f"{weights}: sha256 differs from the card's; the file is corrupted "
                              "or belongs to another card")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights}: not a readable safetensors file ({e})") from e
    n = int(card.get("networks", 1))
    models = []
    for i in range(n):
        prefix = f"fold{i}." if n > 1 else ""
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        model = DeepEmotion(config)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            raise CheckpointError(f"{weights}: weights do not match the card's config "
                                  f"({'; '.join(first[:3])})") from e
        models.append(model.eval())
    return Checkpoint(name=path.name, models=models, card=card, path=path)


def init_from(model: DeepEmotion, source: DeepEmotion, source_classes: tuple[str, ...],
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


def card_summary(card: dict) -> dict:
    """The headline facts of a card (for ``deep-emotion info`` and the dashboard)."""
    return {k: card.get(k) for k in ("name", "dataset", "protocol", "classes", "parameters",
                                     "networks", "preprocessing", "code_commit", "date")} | {
        "config": card.get("config"), "metrics": {
            split: {tta: m.get("accuracy") for tta, m in by_tta.items()}
            for split, by_tta in card.get("metrics", {}).items() if isinstance(by_tta, dict)}}

