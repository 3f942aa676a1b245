"""An uploaded zip of labelled faces, opened in memory within hard limits.

The archive comes from a browser, so it is checked as a whole before a single member is
read: member count, declared total size, each member's and the whole archive's compression
ratio, folder depth; and any member that climbs out (``../``), is absolute, is a link, or
is itself an archive refuses the upload with a sentence saying which member and why.
Members are then read with a byte cap (a header may lie about sizes), into a dict in memory;
nothing touches the disk.
"""

from __future__ import annotations

import copy
import io
import stat
import sys
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["ZipLimits", "ZipRefused", "open_zip", "LIMITS"]

ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ",
                 b"\x28\xb5\x2f\xfd")


class ZipRefused(ValueError):
    """The upload is not a zip we open; ``str(e)`` says which member and why."""


@dataclass(frozen=True)
class ZipLimits:
    """Hard limits on an uploaded archive (a few thousand 48-px to phone-size faces fit)."""

    max_upload: int = 200 * 2**20        # bytes of the zip itself
    max_total: int = 1 * 2**30           # bytes of all members, uncompressed
    max_files: int = 20_000
    max_ratio: float = 100.0             # uncompressed / compressed, per member and overall
    max_depth: int = 6                   # folders a member may sit in


LIMITS = ZipLimits()


def _check_name(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ZipRefused(f"{name!r} is an absolute path; zips of labelled faces hold relative "
                         "paths such as happy/001.png")
    if ".." in path.parts:
        raise ZipRefused(f"{name!r} points outside the archive ('..'); refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ZipRefused(f"{name!r} is a symbolic link; zip the files themselves")
    if path.suffix.lower() in ARCHIVE_SUFFIXES:
        raise ZipRefused(f"{name!r} is an archive inside the archive; unpack it first")
    if len(path.parts) - 1 > limits.max_depth:
        raise ZipRefused(f"{name!r} is nested {len(path.parts) - 1} folders deep; the limit "
                         f"is {limits.max_depth}")


def _check_sizes(files: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(files) > limits.max_files:
        raise ZipRefused(f"{len(files)} files; the limit is {limits.max_files}")
    total = sum(i.file_size for i in files)
    if total > limits.max_total:
        raise ZipRefused(f"{total / 2**20:.0f} MiB uncompressed; the limit is "
                         f"{limits.max_total / 2**20:.0f} MiB")
    for info in files:
        if info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > 2**16:
            raise ZipRefused(f"{info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f}"
                             f"-fold; more than {limits.max_ratio:.0f}-fold looks like a zip bomb")
    packed = sum(i.compress_size for i in files)
    if total > 2**16 and total > limits.max_ratio * max(packed, 1):
        raise ZipRefused(f"the archive expands {total / max(packed, 1):.0f}-fold; more than "
                         f"{limits.max_ratio:.0f}-fold looks like a zip bomb")


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    # zipfile stops reading a member at the size its header declares, so a member holding
    # more would be cut short unseen: read it with no declared size (the read itself is
    # capped) and refuse the upload when a byte past the declared size is there.
    wider = copy.copy(info)
    wider.file_size = sys.maxsize
    with zf.open(wider) as f:
        data = f.read(min(info.file_size, budget) + 1)
    if len(data) > info.file_size or len(data) > budget:
        raise ZipRefused(f"{info.filename!r} holds more bytes than its header declares; refused")
    if data.startswith(ARCHIVE_MAGIC):
        raise ZipRefused(f"{info.filename!r} is an archive inside the archive; unpack it first")
    return data


def open_zip(data: bytes, limits: ZipLimits = LIMITS) -> dict[str, bytes]:
    """The files of an uploaded zip, path -> bytes, all in memory.

    Raises:
        ZipRefused: not a zip, over a limit, or a member that is absolute, climbs out with
            ``..``, is a link or an archive (the whole upload is refused, nothing is kept).
    """
    if len(data) > limits.max_upload:
        raise ZipRefused(f"the upload is {len(data) / 2**20:.0f} MiB; the limit is "
                         f"{limits.max_upload / 2**20:.0f} MiB")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as e:
        raise ZipRefused(f"not a zip file ({e})") from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            _check_name(info, limits)
        files = [i for i in infos if not i.is_dir()]
        _check_sizes(files, limits)
        out, budget = {}, limits.max_total
        try:
            for info in files:
                out[info.filename.replace("\\", "/")] = blob = _read(zf, info, budget)
                budget -= len(blob)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as e:
            raise ZipRefused(f"the zip is damaged or encrypted ({e})") from None
    if not out:
        raise ZipRefused("the zip holds no files")
    return out
