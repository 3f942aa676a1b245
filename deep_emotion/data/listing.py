"""Which files a user's labelled dataset holds: a folder per emotion, or a CSV/TSV list.

Both layouts become one ``Listing``: the image files with their emotion (a word of the
vocabulary), optional subject and split, and every file or row that was left out with the
reason, so nothing is dropped silently (the reasons go into the dataset's manifest).

Folder layout (torchvision ``ImageFolder``)::

    faces/Happy/001.jpg  faces/angry/x.png  ...           or
    faces/train/happy/001.jpg  faces/test/sad/7.png  ...  (split folders first)

List layout: a header row with a path column and a label column, optional ``subject`` and
``split`` columns; paths relative to the list file.  Labels are emotion names, or integers
into a declared class order (``classes=``), as AffectNet's ``expression`` column is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from deep_emotion.data.base import DatasetError
from deep_emotion.emotions import SYNONYMS, emotion_from_name
from deep_emotion.faces.decode import FORMATS

__all__ = ["Entry", "Listing", "label_paths", "list_folder", "list_csv", "parse_classes", "IMAGE_SUFFIXES",
           "SPLIT_NAMES", "PATH_COLUMNS", "LABEL_COLUMNS"]

IMAGE_SUFFIXES = frozenset(ext for exts in FORMATS.values() for ext in exts)
# Split names people use -> the roles the "official" protocol reads (train / val / test).
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val",
               "validation": "val", "publictest": "val", "test": "test", "testing": "test",
               "privatetest": "test"}
PATH_COLUMNS = ("path", "file", "filename", "file_name", "image", "image_path", "filepath",
                "subdirectory_filepath")
LABEL_COLUMNS = ("label", "emotion", "expression", "class", "category")


@dataclass(frozen=True)
class Entry:
    """One labelled image file: its path, the name shown to people, emotion, subject, split."""

    path: Path
    name: str
    emotion: str
    subject: str | None = None
    split: str | None = None


@dataclass
class Listing:
    """The usable entries and the left-out files/rows as (name, reason)."""

    entries: list[Entry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    classes: tuple[str, ...] | None = None  # a declared class order, else None


def _accepted() -> str:
    groups: dict[str, list[str]] = {}
    for word, emotion in SYNONYMS.items():
        groups.setdefault(emotion, []).append(word)
    return "; ".join("/".join(sorted(set(v), key=len)) for v in groups.values())


def _emotion_of(folders: list[str], where: str) -> dict[str, str]:
    """Folder name -> emotion; DatasetError naming the unknown folders and the accepted names."""
    if not folders:
        raise DatasetError(f"{where}: no files in emotion folders; lay the faces out as "
                           "happy/001.png, sad/002.jpg, ... (one folder per emotion)")
    mapped = {f: emotion_from_name(f) for f in folders}
    unknown = [f for f, e in mapped.items() if e is None]
    if unknown:
        raise DatasetError(
            f"{where}: every subfolder must be named after an emotion; found {folders}, of "
            f"which {unknown} are not emotions" +
            f". Accepted names (any case): {_accepted()}")
    return mapped


def _top(parts: list[tuple[str, ...]], depth: int) -> list[str]:
    return sorted({p[depth] for p in parts if len(p) > depth + 1})


def label_paths(files: list[str], where: str) -> tuple[list[tuple[str, str, str | None]],
                                                       list[tuple[str, str]]]:
    """Relative file paths ("Happy/1.png", "train/sad/2.jpg") -> (name, emotion, split) per
    image, and (name, reason) per left-out file; a single wrapping folder is looked through.

    Raises:
        DatasetError: a folder where an emotion folder belongs is not named after an emotion.
    """
    parts, skipped = [], []
    for f in sorted(files):
        p = tuple(f.split("/"))
        if any(x.startswith(".") for x in p) or p[0] == "__MACOSX":
            skipped.append((f, "hidden file"))
        else:
            parts.append(p)
    tops = _top(parts, 0)
    skip = 1 if len(tops) == 1 and tops[0].lower() not in SPLIT_NAMES \
        and emotion_from_name(tops[0]) is None else 0
    split_layer = all(t.lower() in SPLIT_NAMES for t in _top(parts, skip)) and _top(parts, skip)
    depth = skip + (1 if split_layer else 0)
    emotions = _emotion_of(_top(parts, depth), where)
    images = []
    for p in parts:
        name = "/".join(p)
        if len(p) <= depth + 1:
            skipped.append((name, "not inside an emotion folder"))
        elif PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((name, f"not an image file ({PurePosixPath(name).suffix or 'no extension'})"))
        else:
            split = SPLIT_NAMES[p[skip].lower()] if split_layer else None
            images.append((name, emotions[p[depth]], split))
    return images, skipped


def list_folder(root: str | Path) -> Listing:
    """The images of a folder-per-emotion dataset (optionally under split folders).

    Raises:
        DatasetError: the folder is missing, or a subfolder is not named after an emotion.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    images, skipped = label_paths(files, str(root))
    out = Listing(skipped=skipped)
    for name, emotion, split in images:
        if (root / name).is_file():
            out.entries.append(Entry(root / name, name, emotion, split=split))
        else:
            out.skipped.append((name, "broken link"))
    return out


def parse_classes(classes: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A declared class order (``"neutral,happy,sad"`` or a list) in the vocabulary's words."""
    names = [c for c in (classes.split(",") if isinstance(classes, str) else classes) if c.strip()]
    mapped = [emotion_from_name(c) for c in names]
    unknown = [c for c, m in zip(names, mapped) if m is None]
    if unknown or not names:
        raise DatasetError(f"declared classes {names}: {unknown} are not emotions; accepted "
                           f"names (any case): {_accepted()}")
    if len(set(mapped)) != len(mapped):
        raise DatasetError(f"declared classes {names} name an emotion twice")
    return tuple(mapped)


def _column(header: list[str], accepted: tuple[str, ...], what: str, path: Path) -> int:
    lower = [h.strip().lower() for h in header]
    for name in accepted:
        if name in lower:
            return lower.index(name)
    raise DatasetError(f"{path}: no {what} column; the header has {header}, a {what} column is "
                       f"named one of {list(accepted)} (any case)")


def _reader(path: Path):
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if path.suffix.lower() in (".tsv", ".tab"):
        delimiter = "\t"
    else:
        first = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=first.count)
    return csv.reader(text.splitlines(), delimiter=delimiter)


def _label(value: str, classes: tuple[str, ...] | None) -> str:
    """The emotion a label cell names; ValueError with the reason for a bad cell."""
    value = value.strip()
    if value.lstrip("-").isdigit():
        if classes is None:
            raise ValueError(f"label {value} is a number but no class order was declared "
                             "(pass the classes in label order, e.g. --classes neutral,happy,...)")
        if not 0 <= int(value) < len(classes):
            raise ValueError(f"label {value} is outside the {len(classes)} declared classes "
                             f"(0..{len(classes) - 1})")
        return classes[int(value)]
    emotion = emotion_from_name(value)
    if emotion is None:
        raise ValueError(f"label {value!r} is not an emotion" if value else "empty label")
    return emotion


def _row_entry(row: list[str], cols: dict[str, int | None], base: Path,
               classes: tuple[str, ...] | None) -> Entry:
    """One list row as an Entry; ValueError with the reason for a bad row."""
    need = max(i for i in cols.values() if i is not None)
    if len(row) <= need:
        raise ValueError(f"{len(row)} fields, the header has at least {need + 1}")
    file = row[cols["path"]].strip()
    if not file:
        raise ValueError("empty path")
    emotion = _label(row[cols["label"]], classes)
    split = row[cols["split"]].strip() if cols["split"] is not None else ""
    if split and split.lower() not in SPLIT_NAMES:
        raise ValueError(f"split {split!r} is not one of {sorted(set(SPLIT_NAMES))}")
    path = base / file
    if not path.is_file():
        raise ValueError("file not found")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"not an image file ({path.suffix or 'no extension'})")
    subject = row[cols["subject"]].strip() if cols["subject"] is not None else None
    return Entry(path, file, emotion, subject or None, SPLIT_NAMES.get(split.lower()))


def list_csv(path: str | Path, classes: str | list[str] | None = None) -> Listing:
    """The images of a CSV/TSV list; bad rows are skipped with their line number and reason.

    Raises:
        DatasetError: the file is missing, has no path or label column, or no usable row.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetError(f"{path}: no such list file")
    declared = parse_classes(classes) if classes else None
    rows = list(_reader(path))
    if not rows:
        raise DatasetError(f"{path} is empty; expected a header row such as path,label")
    header = rows[0]
    lower = [h.strip().lower() for h in header]
    cols = {"path": _column(header, PATH_COLUMNS, "path", path),
            "label": _column(header, LABEL_COLUMNS, "label", path),
            "subject": lower.index("subject") if "subject" in lower else None,
            "split": lower.index("split") if "split" in lower else None}
    out = Listing(classes=declared)
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            out.entries.append(_row_entry(row, cols, path.parent, declared))
        except ValueError as e:
            out.skipped.append((f"{path.name} line {line}", str(e)))
    if not out.entries:
        reasons = "; ".join(f"{n}: {r}" for n, r in out.skipped[:3])
        raise DatasetError(f"{path}: no usable row ({reasons})")
    return out
