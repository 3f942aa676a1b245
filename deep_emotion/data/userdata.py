"""Your own labelled faces as a ``FaceDataset``: ``folder:PATH`` and ``csv:FILE`` sources.

A source spec names the layout and the path, with options after ``?``::

    folder:/data/raf-db/aligned
    csv:/data/affectnet/validation.csv?classes=neutral,happy,sad,surprise,fear,disgust,anger,contempt
    folder:/data/crops?aligned=1

``load_dataset`` accepts these specs wherever a dataset name is used (CLI ``--data``, a
training config's ``dataset``, the dashboard), and the spec is what cards record, so a
checkpoint trained on a folder re-finds it for ``evaluate``.  Photos go through the face path
once (``facestore``); every left-out file is listed with its reason in a manifest beside the
cache (``manifest_path``) and counted in ``FaceDataset.meta["manifest"]``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import numpy as np
import torch

from deep_emotion.data.base import DatasetError, FaceDataset, cache_dir
from deep_emotion.data.facestore import NO_FACE, OK, SEVERAL, UNREADABLE, align_files
from deep_emotion.data.listing import Listing, list_csv, list_folder
from deep_emotion.emotions import DISPLAY_ORDER
from deep_emotion.faces import ALIGNMENT_NAME, DETECTOR_NAME

__all__ = ["KINDS", "make_spec", "parse_spec", "load_user", "load_members",
           "manifest_path",
           "is_user_spec"]

KINDS = ("folder", "csv")
OPTIONS = ("aligned", "classes")


def is_user_spec(name: str) -> bool:
    """True for ``folder:...`` / ``csv:...`` (a user's files), False for registered names."""
    return name.partition(":")[0] in KINDS and ":" in name


def make_spec(kind: str, path: str | Path, *, aligned: bool = False,
              classes: str | list[str] | None = None) -> str:
    """The canonical spec: absolute path, options only when set (cards store this string)."""
    if kind not in KINDS:
        raise DatasetError(f"unknown source {kind!r}; use one of {[k + ':PATH' for k in KINDS]}")
    options = {}
    if aligned:
        options["aligned"] = "1"
    if classes:
        options["classes"] = classes if isinstance(classes, str) else ",".join(classes)
    spec = f"{kind}:{Path(path).expanduser().resolve()}"
    return spec + (f"?{urlencode(options, safe=',')}" if options else "")


def parse_spec(spec: str) -> tuple[str, Path, dict]:
    """``"csv:a.csv?classes=x,y"`` -> ("csv", Path("a.csv"), {"classes": "x,y"})."""
    kind, _, rest = spec.partition(":")
    if kind not in KINDS or not rest:
        raise DatasetError(f"{spec!r} is not a data source; write folder:PATH or csv:FILE")
    path, _, query = rest.partition("?")
    options = dict(parse_qsl(query))
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise DatasetError(f"{spec!r}: unknown options {sorted(unknown)}; known: {list(OPTIONS)}")
    return kind, Path(path).expanduser(), options


def manifest_path(spec: str) -> Path:
    """Where the manifest of a source's left-out files is written (beside the face cache)."""
    return cache_dir() / "userdata" / f"{_source_key(spec)}.manifest.json"


def _source_key(spec: str) -> str:
    kind, path, options = parse_spec(spec)
    canonical = make_spec(kind, path, aligned=options.get("aligned") == "1",
                          classes=options.get("classes"))
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def _manifest(spec: str, listing: Listing, aligned: list, n_used: int,
              write: bool = True) -> dict:
    """Counts and the left-out files with reasons; written to ``manifest_path(spec)``, or
    (``write=False``, for uploads that stay in memory) returned under ``left_out``."""
    listed = [{"file": n, "reason": r, "kind": "skipped"} for n, r in listing.skipped]
    faces = [{"file": e.name, "reason": a.reason, "kind": a.status}
             for e, a in zip(listing.entries, aligned) if a.status != OK]
    statuses = [a.status for a in aligned]
    counts = {"files": len(listing.entries), "faces_used": n_used,
              "skipped": len(listing.skipped), "unreadable": statuses.count(UNREADABLE),
              "no_face": statuses.count(NO_FACE), "several_faces": statuses.count(SEVERAL)}
    if not write:
        return {**counts, "left_out": listed + faces}
    path = manifest_path(spec)
    document = {"source": spec, "counts": counts, "files": listed + faces}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1) + "\n")
    except OSError:
        pass  # a read-only cache: the counts still travel in meta
    return {**counts, "manifest": str(path)}


def _classes(listing: Listing) -> tuple[str, ...]:
    if listing.classes:
        return listing.classes
    present = {e.emotion for e in listing.entries}
    return tuple(c for c in DISPLAY_ORDER if c in present)


def load_user(spec: str, split: str | None = None, progress: bool = False) -> FaceDataset:
    """A user's labelled faces from a spec (see the module docstring).

    Returns:
        FaceDataset named ``spec``: uint8 (N, 48, 48) faces of the files that gave one, labels
        into the present emotions (FER2013's order, or the declared one), groups from a
        ``subject`` column, splits from a ``split`` column or split folders, names = paths as
        listed; ``meta["manifest"]`` holds the counts of left-out files and the manifest path.

    Raises:
        DatasetError: a missing path, an unknown folder or class name, or no usable face.
    """
    kind, path, options = parse_spec(spec)
    spec = make_spec(kind, path, aligned=options.get("aligned") == "1",
                     classes=options.get("classes"))
    listing = list_folder(path) if kind == "folder" else list_csv(path, options.get("classes"))
    aligned, _ = align_files([e.path for e in listing.entries], _source_key(spec),
                             aligned=options.get("aligned") == "1", progress=progress)
    keep = [i for i, a in enumerate(aligned) if a.crop is not None]
    meta = _manifest(spec, listing, aligned, len(keep))
    if not keep:
        raise DatasetError(f"{path}: none of {len(listing.entries)} files gave a face; see "
                           f"{meta['manifest']}")
    return _dataset(spec, path, listing, aligned, keep, meta, split)


def _dataset(spec, path, listing, aligned, keep, meta, split) -> FaceDataset:
    entries = [listing.entries[i] for i in keep]
    classes = _classes(listing)
    digest = hashlib.sha256()
    for e, i in zip(entries, keep):
        digest.update(f"{e.name}\0{e.emotion}\0{e.subject}\0{e.split}\0".encode())
        digest.update(aligned[i].crop.tobytes())
    has_split = any(e.split for e in entries)
    dataset = FaceDataset(
        name=spec, images=torch.from_numpy(np.stack([aligned[i].crop for i in keep])),
        labels=torch.tensor([classes.index(e.emotion) for e in entries], dtype=torch.int64),
        classes=classes, source=str(path), sha256=digest.hexdigest(),
        splits=np.array([e.split or "" for e in entries]) if has_split else None,
        groups=np.array([e.subject or "" for e in entries])
        if any(e.subject for e in entries) else None,
        names=np.array([e.name for e in entries]),
        meta={"preprocessing": ALIGNMENT_NAME, "detector": DETECTOR_NAME, "manifest": meta,
              "scores": np.array([aligned[i].score for i in keep], dtype=np.float32)})
    return dataset if split is None else dataset.split(split)


def load_members(name: str, members: dict[str, bytes], aligned: bool = False,
                 progress=None) -> FaceDataset:
    """A labelled dataset from files held in memory (an uploaded zip's members), laid out as
    a folder per emotion; nothing is written (the manifest lives in ``meta["manifest"]``).
    ``progress(done, total)``, if given, is called after each image.

    Raises:
        DatasetError: unknown emotion folder names, or no usable face.
    """
    from deep_emotion.data.facestore import align_bytes
    from deep_emotion.data.listing import Entry, label_paths

    images, skipped = label_paths(list(members), name)
    listing = Listing(entries=[Entry(Path(n), n, e, split=s) for n, e, s in images],
                      skipped=skipped)
    results = []
    for e in listing.entries:
        results.append(align_bytes(members[e.name], Path(e.name).name, aligned))
        if progress:
            progress(len(results), len(listing.entries))
    keep = [i for i, a in enumerate(results) if a.crop is not None]
    meta = _manifest(name, listing, results, len(keep), write=False)
    if not keep:
        raise DatasetError(f"{name}: none of {len(listing.entries)} images gave a face")
    return _dataset(name, Path(name), listing, results, keep, meta, None)
