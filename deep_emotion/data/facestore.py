"""Photos through the face path once: aligned crops cached by the files' content hash.

Each file's bytes are hashed; a crop already made from the same bytes with the same
alignment (same detector, framing and settings) is reused, so adding ten photos to a folder
of ten thousand aligns ten.  What could not be used is kept with its reason: unreadable
bytes, no face, several faces (the largest is used, as the dataset loaders do).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deep_emotion.data.base import cache_dir
from deep_emotion.faces import ALIGNMENT_NAME, DETECTOR_NAME, FRAME, FaceImageError, read_faces

__all__ = ["Aligned", "align_files", "signature", "OK", "SEVERAL", "NO_FACE", "UNREADABLE"]

OK, SEVERAL, NO_FACE, UNREADABLE = "ok", "several faces", "no face", "unreadable"
STORE_VERSION = 1


@dataclass(frozen=True)
class Aligned:
    """What the face path made of one file.

    crop:   uint8 (FRAME, FRAME) grayscale face, or None when the file gave none.
    status: OK, SEVERAL (largest face used), NO_FACE or UNREADABLE.
    reason: a sentence for the manifest ("" when OK).
    faces:  faces the detector found (0 with ``aligned`` or when unreadable).
    score:  detector score of the face used (1.0 for an aligned crop, 0 for none).
    """

    crop: np.ndarray | None
    status: str
    reason: str
    faces: int
    score: float


def signature(aligned: bool) -> str:
    """Changes whenever the same bytes would give another crop, so stale entries are unused."""
    from deep_emotion.faces import detect

    spec = [STORE_VERSION, FRAME, aligned, ALIGNMENT_NAME]
    if not aligned:
        spec += [DETECTOR_NAME, detect.DETECT_MAX_SIDE, detect.DETECT_MIN_SIDE,
                 detect.MIN_FACE_PIXELS, detect.MIN_SCORE, detect.CONFIRM_CASCADES]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:12]


def align_bytes(data: bytes, name: str, aligned: bool) -> Aligned:
    """One file's bytes through the face path (``read_faces``; no detection if ``aligned``)."""
    try:
        photo = read_faces(data, name=name, size=FRAME, detect=not aligned)
    except FaceImageError as e:
        return Aligned(None, UNREADABLE, str(e), 0, 0.0)
    if aligned:
        return Aligned(photo.crops[0], OK, "", 0, 1.0)
    if not photo.faces:
        return Aligned(None, NO_FACE, f"no face found by {DETECTOR_NAME}", 0, 0.0)
    n, score = len(photo.faces), float(photo.faces[0].score)
    if n > 1:
        return Aligned(photo.crops[0], SEVERAL, f"{n} faces found; the largest is used", n, score)
    return Aligned(photo.crops[0], OK, "", 1, score)


def _store_path(source_key: str, aligned: bool) -> Path:
    return cache_dir() / "userdata" / f"{source_key}-{signature(aligned)}.faces.npz"


def _load_store(path: Path) -> dict[str, Aligned]:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            crops = z["crops"]
    except Exception:  # noqa: BLE001 - a missing or damaged store is simply rebuilt
        return {}
    return {sha: Aligned(crops[i] if m[0] in (OK, SEVERAL) else None, *m)
            for i, (sha, m) in enumerate(meta.items())}


def _save_store(path: Path, store: dict[str, Aligned]) -> None:
    empty = np.zeros((FRAME, FRAME), np.uint8)
    meta = {sha: [a.status, a.reason, a.faces, a.score] for sha, a in store.items()}
    crops = np.stack([empty if a.crop is None else a.crop for a in store.values()]) \
        if store else np.zeros((0, FRAME, FRAME), np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # torchrun ranks may race
        np.savez(tmp, meta=json.dumps(meta), crops=crops)
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache must not stop loading; the next load aligns again


def align_files(paths: list[Path], source_key: str, aligned: bool = False,
                progress: bool = False) -> tuple[list[Aligned], str]:
    """Align every file, reusing crops cached for the same bytes.

    Args:
        paths: image files, in dataset order.
        source_key: names the cache file (one per dataset source).
        aligned: take each file as a face crop (no detection).
        progress: show a tqdm bar while new files are aligned.

    Returns:
        One ``Aligned`` per path, and the sha256 over the files' content hashes in order.
    """
    from tqdm import tqdm

    store_path = _store_path(source_key, aligned)
    store = _load_store(store_path)
    digest, results, added = hashlib.sha256(), [], 0
    for path in tqdm(paths, desc="aligning faces", unit="file", disable=not progress):
        try:
            data = path.read_bytes()
        except OSError as e:
            results.append(Aligned(None, UNREADABLE, f"cannot read: {e.strerror}", 0, 0.0))
            continue
        sha = hashlib.sha256(data).hexdigest()
        digest.update(sha.encode())
        if sha not in store:
            store[sha] = align_bytes(data, path.name, aligned)
            added += 1
        results.append(store[sha])
    if added:
        _save_store(store_path, store)
    return results, digest.hexdigest()
