"""A CSV written so that nothing half-done ever sits under its real name, and an interrupted
run can carry on where it stopped.

Rows go to ``NAME.part`` (flushed after every batch) beside ``NAME.part.json``, which records
what the rows were computed from (the fingerprint: input file, its size and mtime, the
settings).  ``commit()`` renames the part to ``NAME``; ``discard()`` removes both (on a
damaged input: nothing half-written stays).  After an interruption (Ctrl-C, a crash, a
power cut) the part stays: ``resume()`` returns its rows when the fingerprint and header match,
a torn last line dropped, and the caller decides which of them to keep.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["ResumableCsv"]


class ResumableCsv:
    """Args: path: the final CSV; columns: its header; fingerprint: JSON-able facts that must
    be equal for a part file to be continued (anything else starts afresh)."""

    def __init__(self, path: str | Path, columns: Sequence[str], fingerprint: dict):
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.meta = self.path.with_name(self.path.name + ".part.json")
        self.columns = list(columns)
        self.fingerprint = json.loads(json.dumps(fingerprint))  # as it reads back from disk
        self._file: io.TextIOBase | None = None
        self._writer = None

    def resume(self) -> list[dict[str, str]]:
        """Rows of an earlier, interrupted run with the same fingerprint; [] when there is none
        (or it was made from something else, or is unreadable)."""
        try:
            if json.loads(self.meta.read_text()) != self.fingerprint:
                return []
            text = self.part.read_text(newline="")
        except (OSError, ValueError):
            return []
        if not text.endswith("\n"):
            text = text[:text.rfind("\n") + 1]  # a torn last line
        reader = csv.reader(io.StringIO(text))
        if next(reader, None) != self.columns:
            return []
        return [dict(zip(self.columns, row)) for row in reader if len(row) == len(self.columns)]

    def start(self, keep: Iterable[dict[str, str]] = ()) -> None:
        """Begin writing: the header, then ``keep`` (rows from ``resume`` to carry over)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.meta.write_text(json.dumps(self.fingerprint))
        self._file = self.part.open("w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.columns)
        self._writer.writerows([row[c] for c in self.columns] for row in keep)
        self._file.flush()

    def write(self, rows: Iterable[Sequence]) -> None:
        """Append rows (in ``columns`` order) and flush them to disk."""
        self._writer.writerows(rows)
        self._file.flush()

    def close(self) -> None:
        """Close the part file, keeping it for a later ``resume``."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def commit(self) -> Path:
        """All rows written: the part becomes ``path``."""
        self.close()
        os.replace(self.part, self.path)
        self.meta.unlink(missing_ok=True)
        return self.path

    def discard(self) -> None:
        """The input was bad: remove every trace of this run."""
        self.close()
        self.part.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)
