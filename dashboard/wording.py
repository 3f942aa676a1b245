"""Every word a person reads that names something: datasets, test-time augmentation modes,
explanation methods, checkpoints described from their cards, cautions about their training
data, and the glossary.  Pure functions of card dicts; no ``st.*``, no torch at import, so the
frame's sidebar can describe checkpoints before the model stack has loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from deep_emotion.catalog import DEFAULT_CHECKPOINT

__all__ = ["DATASET_WORDS", "DATASET_LABELS", "TTA_LABELS", "GLOSSARY", "recommended",
           "dataset_label", "method_labels", "checkpoint_order", "checkpoint_line",
           "checkpoint_group", "CHECKPOINT_HELP", "GROUPS", "readable", "setting", "settings",
           "describe",
           "checkpoint_description", "training_caution", "protocol_words"]


# What each training set is, for someone who has never heard of it.
DATASET_WORDS = {
    "fer2013": ("FER2013", "35,887 small grey web photos of many different people"),
    "ferplus": ("FER+", "the FER2013 photos relabelled by ten people each, in eight emotions"),
    "ckplus": ("CK+", "posed expressions filmed in a lab, 123 people"),
    "jaffe": ("JAFFE", "213 posed photos of ten Japanese women"),
    "ferg": ("FERG", "drawn cartoon characters"),
}
DATASET_LABELS = {name: words[0] for name, words in DATASET_WORDS.items()}
TTA_LABELS = {"none": "none", "flip": "mirror (2 views)", "tencrop": "ten crops"}


def dataset_label(name: str) -> str:
    """The name people know a dataset by ("FER+" for ``ferplus``); unknown names as they are."""
    return DATASET_LABELS.get(name, name)


def dataset_setup(name: str) -> str:
    """For whoever runs the server: where a dataset's files go and which variable names the
    folder (markdown).  Pages fold it away, as it is not for the person at the browser."""
    from deep_emotion.data import DATA_ENV, LAYOUTS

    layout = LAYOUTS.get(name, f"{name}/")
    return (f"Put the {dataset_label(name)} files in one datasets folder, laid out as "
            f"`{layout}`, and start the dashboard with that folder in `{DATA_ENV}`:\n\n"
            f"```\n{DATA_ENV}=/path/to/datasets deep-emotion dashboard\n```\n\n"
            "(in a clone: `streamlit run dashboard/app.py` after the same variable). "
            "docs/GUIDE.md, *Datasets*, says where each dataset comes from. Labelled faces of "
            "your own need none of this: choose **Your data** in the sidebar.")


def method_labels() -> dict[str, str]:
    """Each explanation method's label, from its explainer class (``Explainer.label``), and the
    random map the trust checks compare against.  Imports the explainers (torch) when called."""
    from deep_emotion.explain import METHODS

    return {name: cls.label for name, cls in METHODS.items()} | {"random": "random map (reference)"}


EVERYDAY = ("fer2013", "ferplus")  # web photos of many people; the others are posed
GROUPS = ("everyday photos, 7 emotions", "everyday photos, 8 emotions", "posed photos")
CHECKPOINT_HELP = ("The trained network (checkpoint) every page uses. The recommended one "
                   "comes first, then the networks grouped by what their percentage measures: "
                   "everyday photos with 7 emotions, everyday photos with 8 emotions, then posed "
                   "photos. Each percentage is the share of that network's own test photos it "
                   "gets right, so percentages from different groups cannot be compared.")
# Training sets whose photos are far from an everyday photo: a caution is shown beside them.
_CAUTIONS = {
    "jaffe": "it learned from only 213 posed photos of ten people, so on other faces it often "
             "guesses (a smile read as disgust is typical)",
    "ckplus": "it learned from posed expressions filmed in a lab; it knows contempt but has no "
              "neutral class, so a calm face must be called some emotion",
    "ferg": "it learned from drawn cartoon characters, not photos",
}
_PROTOCOLS = {
    "official": "tested once on the dataset's own held-out test photos",
    "subject-kfold": "tested by cross-validation: {folds} rounds, no person in both training and test",
    "loso": "tested leaving one person out at a time ({folds} rounds)",
    "stratified": "tested on a random held-out share of the photos (the same people may appear "
                  "in training)",
}


def protocol_words(protocol: Mapping | None) -> str:
    """How a checkpoint was tested, in words: ``{"name": "official", "folds": [...]}`` ->
    "tested once on the dataset's own held-out test photos"."""
    protocol = protocol or {}
    folds = len(protocol.get("folds") or []) or 1
    text = _PROTOCOLS.get(protocol.get("name", ""), "tested under protocol {name}")
    return text.format(folds=folds, name=protocol.get("name", "?"))


def _accuracy(card: Mapping) -> float | None:
    m = ((card.get("metrics") or {}).get("test") or {}).get("none") or {}
    return m.get("accuracy") if isinstance(m, Mapping) else None


def _origin(card: Mapping) -> str:
    """Fine-tuned / taught, from the card's training settings."""
    training = card.get("training") or {}
    init, teacher = training.get("init"), training.get("teacher")
    parts = []
    if init:
        parts.append(f"fine-tuned from {str(init).rsplit('/', 1)[-1]}")
    if teacher:
        parts.append(f"taught by {str(teacher).rsplit('/', 1)[-1]}")
    return ", ".join(parts)


def checkpoint_group(card: Mapping) -> str:
    """What a network's test percentage measures, which only networks of the same group share:
    everyday photos with 7 emotions, everyday photos with 8, or posed photos."""
    ds = (card.get("dataset") or {}).get("name", "")
    if ds not in EVERYDAY:
        return "posed photos"
    return "everyday photos, 8 emotions" if len(card.get("classes", [])) == 8 else \
        "everyday photos, 7 emotions"


def recommended(cards: Mapping[str, Mapping]) -> str | None:
    """The network to recommend among ``cards``: the default network every command uses when
    it is there, else the most accurate one for everyday photos with 7 emotions, so a folder
    of one's own networks (``$DEEP_EMOTION_CHECKPOINTS``) still gets a recommendation."""
    if DEFAULT_CHECKPOINT in cards:
        return DEFAULT_CHECKPOINT
    everyday = [n for n in cards if checkpoint_group(cards[n]) == GROUPS[0]]
    return max(everyday, key=lambda n: (_accuracy(cards[n]) or 0.0, n), default=None)


def checkpoint_line(name: str, card: Mapping, is_recommended: bool = False) -> str:
    """One short line for a select box that says what its percentage measures:
    ``fer2013 · FER2013 · 7 emotions · 63% of FER2013 test photos right · recommended``."""
    ds = (card.get("dataset") or {}).get("name", "")
    label = DATASET_WORDS.get(ds, (ds or "?",))[0]
    acc = _accuracy(card)
    bits = [name, label, f"{len(card.get('classes', []))} emotions"]
    if acc is not None:
        bits.append(f"{acc:.0%} of {label} test photos right")
    if is_recommended:
        bits.append("recommended")
    return " · ".join(bits)


def checkpoint_description(name: str, card: Mapping) -> str:
    """One sentence: what it learned from, how it was tested, its classes, its test accuracy."""
    ds = (card.get("dataset") or {}).get("name", "")
    label, what = DATASET_WORDS.get(ds, (ds or "an unnamed dataset", "a dataset this version does not describe"))
    origin = _origin(card)
    acc = _accuracy(card)
    classes = ", ".join(card.get("classes", []))
    score = f"; {acc:.1%} of its test faces right" if acc is not None else ""
    return (f"{_architecture(card)} Learned from {label} ({what})"
            f"{', ' + origin if origin else ''}; "
            f"{protocol_words(card.get('protocol'))}{score}. Emotions: {classes}.")


def _architecture(card: Mapping) -> str:
    """Which network it is: the paper's, reproduced, or the residual family built on it."""
    config = card.get("config") or {}
    if config.get("backbone", "paper") == "residual":
        return ("The residual Deep-Emotion network: the paper's spatial transformer looks at "
                f"the face, then residual blocks read it ({card.get('parameters', 0):,} "
                "parameters).")
    return f"The paper's network, reproduced ({card.get('parameters', 0):,} parameters)."


def training_caution(card: Mapping) -> str | None:
    """A warning when the training photos are far from an everyday photo, else None."""
    ds = (card.get("dataset") or {}).get("name", "")
    notes = [_CAUTIONS[ds]] if ds in _CAUTIONS else []
    classes = list(card.get("classes", []))
    if len(classes) == 8:
        notes.append("it has eight emotions (contempt added), so its numbers are not comparable "
                     "with the seven-emotion networks")
    return ("Careful: " + "; ".join(notes) + ".") if notes else None


def checkpoint_order(cards: Mapping[str, Mapping]) -> list[str]:
    """Names with the recommended network first, then grouped by what their percentage
    measures (``checkpoint_group``: everyday photos with 7 emotions, with 8, posed photos), by
    test accuracy within each group."""
    first = recommended(cards)

    def key(name: str):
        return (name != first, GROUPS.index(checkpoint_group(cards[name])),
                -(_accuracy(cards[name]) or 0.0), name)

    return sorted(cards, key=key)


# Terms the pages use, in the order a reader meets them.
GLOSSARY = {
    "Checkpoint": "A trained network saved to disk, with a card saying what it learned from "
                  "and how well it did.",
    "Fine-tuned": "Trained first on one dataset, then trained further on another, so it starts "
                  "from what it already knew.",
    "STN (spatial transformer)": "A small part of the network that chooses which region of "
                                 "the face the rest of the network looks at, by shifting, "
                                 "scaling and rotating its view (the numbers doing that are "
                                 "called theta).",
    "Attribution map": "A picture the size of the face that says, pixel by pixel, how much "
                       "each part pushed the network towards an emotion.",
    "Occlusion": "An attribution method: hide a small square of the face, see how much the "
                 "network's score drops, and move the square across the face.",
    "Occlusion flips": "The paper's test: only the squares whose hiding changes the "
                       "network's answer are marked; on most faces no square does, so the "
                       "map is blank.",
    "Window, stride and baseline": "Occlusion's settings: the window is the side of the "
                                   "hidden square in pixels, the stride how far the square "
                                   "moves between steps, and the baseline what fills it "
                                   "(black, the face's average, a blur).",
    "Logit drop": "How much an emotion's raw score (its logit, before the scores become "
                  "probabilities) falls when a patch of the face is hidden: the unit of the "
                  "occlusion map. Positive means the patch spoke for that emotion.",
    "Saliency": "An attribution method: how much a tiny change of each pixel would change the "
                "emotion's score (the size of the gradient).",
    "SmoothGrad": "Saliency averaged over several noisy copies of the face, so the map is less "
                  "speckled.",
    "Integrated gradients": "An attribution method: the gradients summed along a path from a "
                            "black face to the real one, giving each pixel its share of the "
                            "change in the emotion's score.",
    "Grad-CAM": "An attribution method: the last convolution's feature maps weighted by their "
                "gradients, a coarse map blown up to the face's size. Guided Grad-CAM "
                "multiplies it by pixel-sized gradients for detail.",
    "IoU (overlap)": "Intersection over union: of all the pixels either of two maps ranks at "
                     "the top, the share both rank there; 1 the same pixels, 0 none in common.",
    "Faithfulness": "Does a map point at what the network really uses? Delete the pixels it "
                    "ranks first and watch the network's confidence fall (deletion), or reveal "
                    "them on a blurred face and watch it rise (insertion).",
    "AUC (area under the curve)": "One number for a deletion or insertion curve: the average "
                                  "confidence along it. Lower is better for deletion, higher "
                                  "for insertion.",
    "Sanity check": "Scramble the network's learned weights, layer by layer, and redraw the "
                    "map. A trustworthy map changes; one that stays the same shows the photo, "
                    "not the network's reasons (the test of Adebayo and colleagues, 2018).",
    "Rank correlation (Spearman)": "How alike two maps are in the order they rank pixels: 1 "
                                   "the same order, 0 unrelated, -1 reversed.",
    "Bootstrap interval": "A confidence interval found by drawing the measured faces again at "
                          "random, many times over, and recomputing the average each time; "
                          "the middle 95% of those averages is the interval.",
    "Confidence interval": "The range the true average is likely in (95%), given that only a "
                           "sample of faces was measured. Verdicts are given only when the "
                           "whole range is on one side.",
    "Precision, recall and F1": "For one emotion: precision is the share of faces called that "
                                "emotion that really show it, recall the share of faces "
                                "showing it that the network finds, and F1 combines the two "
                                "(their harmonic mean).",
    "Protocol": "The rule that decides which photos train the network and which test it.",
    "Fold": "One round of cross-validation: the photos are split into groups, each group is "
            "the test set once while the others train.",
    "TTA (test-time augmentation)": "Averaging the network's answer over mirrored or cropped "
                                    "copies of the face.",
    "Knock-out": "Hide one whole face region (fill it with the baseline) on every test face "
                 "and measure what the network loses: the share of an emotion's faces it no "
                 "longer recognises (recall drop) and how far the true emotion's probability "
                 "falls (probability drop). An attribution map says where the network is "
                 "sensitive; a knock-out says what it needs.",
    "Random region of the same area": "The knock-out's comparison: the region's own shape moved "
                                      "to a random place on the face. A region matters beyond "
                                      "'any patch that size' only when hiding it costs more.",
    "Human reference": "Published data on which face regions people use to recognise each "
                       "emotion, reduced to the same seven regions. Each source is shown on its "
                       "own: they disagree with each other, so none is the truth.",
    "Tile uncovering (Wegrzyn et al. 2017)": "A face hidden behind 48 tiles is uncovered one "
                                              "random tile at a time until the observer names "
                                              "the expression; tiles uncovered in short, "
                                              "correct trials were the useful ones. 94 "
                                              "observers, public-domain data.",
    "FACS prototypes (action units)": "The Facial Action Coding System describes an expression "
                                      "as action units, single muscle movements such as the "
                                      "lip corner puller; each basic emotion's prototype lists "
                                      "the units of its posed, textbook version. Templates, "
                                      "not a measurement of where people look.",
    "Permutation test (chance)": "How often a rank correlation at least this high comes from "
                                 "shuffling the regions at random (every one of the 5,040 "
                                 "orders of seven regions); a small p means more agreement "
                                 "than chance.",
}


# --- a card's settings and a study's changes, in words -----------------------------------------

# Readable names of the config keys a study can change (``readable``); unknown keys show as is.
SETTING_LABELS = {
    "dropout": "dropout", "channels": "filters per convolution", "hidden": "classifier units",
    "num_classes": "classes", "use_stn": "attention branch", "layout": "attention warps",
    "padding_mode": "warp padding", "input_norm": "input normalisation",
    "augment.erase": "random erasing", "augment.flip": "mirroring",
    "augment.rotate_deg": "rotation (degrees)", "augment.scale": "zoom",
    "augment.shift_px": "shift (pixels)", "class_weighting": "class weights",
    "label_smoothing": "label smoothing", "weight_decay": "weight decay", "lr": "learning rate",
    "batch_size": "batch size", "optimizer": "optimizer", "schedule": "learning-rate schedule",
    "epochs": "epochs", "ema_decay": "weight averaging (EMA)", "precision": "training precision",
    "init": "fine-tuned from", "teacher": "distilled from", "seed": "training seed",
    "dataset": "dataset", "soft_labels": "trained on vote shares",
    "vote_share": "FER+ votes in the targets", "threads": "CPU threads",
    "image_size": "input size (pixels)", "loc_channels": "attention branch filters",
    "loc_kernels": "attention branch kernels", "loc_hidden": "attention branch units",
    "augment.erase_area": "erased share of the face", "augment.erase_ratio": "erased box shape",
    "warmup_frac": "warm-up share of the steps", "distill_weight": "teacher's share of the loss",
    "distill_temperature": "distillation temperature", "protocol": "protocol",
    "folds": "folds", "fold": "only fold", "split_seed": "split seed",
    "channels_last": "channels-last memory layout", "eval_tta": "test-time augmentation reported",
    "name": "framing", "size": "face size (pixels)", "mean": "pixel mean", "std": "pixel spread",
    "backbone": "feature branch", "stem": "stem filters", "widths": "residual block filters",
    "conv_weight_decay": "weight decay on conv kernels",
}
SETTING_VALUES = {
    ("class_weighting", "sqrt"): "square root of inverse frequency",
    ("class_weighting", "balanced"): "inverse frequency",
    ("input_norm", "per_image"): "each face standardised",
    ("input_norm", "dataset"): "dataset mean and spread",
    ("layout", "input_warp"): "the input image", ("layout", "paper"): "the feature maps",
    ("optimizer", "sgd"): "SGD with Nesterov momentum", ("optimizer", "adamw"): "AdamW",
    ("precision", "bf16"): "bfloat16", ("precision", "fp32"): "float32",
    ("schedule", "constant"): "constant", ("schedule", "onecycle"): "one cycle",
    ("optimizer", "adam"): "Adam", ("padding_mode", "zeros"): "zeros",
    ("name", "fer2013-crop"): "48x48 grayscale, framed like FER2013",
    ("backbone", "residual"): "residual blocks", ("backbone", "paper"): "the paper's",
}
PROBABILITIES = ("augment.erase", "augment.flip")  # 0 reads "off", p reads "p of the faces"
RANGES = ("augment.scale", "augment.erase_area", "augment.erase_ratio")  # [a, b] reads "a to b"
def readable(key: str, value) -> str:
    """One config change in words: ``("class_weighting", "sqrt")`` -> ``class weights: square
    root of inverse frequency``; ``("augment.erase", 0)`` -> ``random erasing: off``."""
    return ": ".join(setting(key, value))


def settings(config: dict) -> list[tuple[str, str]]:
    """Every field of a card's config section in words, ``(label, value)``, in the card's
    order; a nested section (a training config's ``model`` and ``augment``) is spelled out
    after the flat fields, augmentation keys as ``augment.KEY``."""
    flat = [(k, v) for k, v in config.items() if not isinstance(v, dict)]
    flat += [(k, v) for k, v in config.get("model", {}).items()]
    flat += [(f"augment.{k}", v) for k, v in config.get("augment", {}).items()]
    return [setting(k, v) for k, v in flat]


def setting(key: str, value) -> tuple[str, str]:
    """``readable`` as ``(label, value in words)``."""
    label = SETTING_LABELS.get(key, key.replace("_", " "))
    if isinstance(value, str) and (key, value) in SETTING_VALUES:
        text = SETTING_VALUES[(key, value)]
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif key in PROBABILITIES:
        text = "off" if not value else f"{value:.0%} of the faces"
    elif isinstance(value, (list, tuple)):
        text = (" to " if key in RANGES else ", ").join(str(v) for v in value)
    elif key in ("init", "teacher") and value:
        text = Path(str(value)).name
    else:
        text = "none" if value is None else str(value)
    return label, text


def describe(diff: dict) -> str:
    """A study row's changes in words, or ``— (baseline)`` when there are none."""
    return ", ".join(readable(k, v) for k, v in diff.items()) or "— (baseline)"
