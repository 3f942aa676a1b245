"""Result tables written so that an interrupted run resumes: CSV (or Parquet) by groups.

A run writes rows in groups, one group per input (a photo's faces, a video's frames).  A
group goes to disk in one write, flushed and synced, and every row carries the size of its
group (``count_column``), so on reopening a table any trailing partial line or incomplete
group (the process died mid-write) is cut off, and the keys of the complete groups are the
inputs already done.  Parquet cannot be appended to, so a ``.parquet`` table is journalled
as ``NAME.parquet.partial.csv`` and converted when the run finishes.

Per-shard tables of a ``torchrun`` job are merged with ``merge_groups``: groups ordered by
the inputs' global order, so the merged file is the one a single process writes.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["ResumableTable", "probability_columns", "read_groups", "merge_groups", "finish", "write_table",
           "journal_path", "reopen", "done_keys", "SUFFIXES"]

SUFFIXES = (".csv", ".parquet")


def probability_columns(classes: Sequence[str]) -> list[str]:
    """One column per class probability, ``p_<class>``, in the network's class order."""
    return [f"p_{c}" for c in classes]


def journal_path(out: Path) -> Path:
    """The CSV rows are appended to: ``out`` itself, or ``out.partial.csv`` for Parquet."""
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{out}: results are written as .csv or .parquet")
    return out if out.suffix.lower() == ".csv" else out.with_name(out.name + ".partial.csv")


def _groups(rows: list[dict], key: str, count: str) -> list[list[dict]]:
    """Consecutive rows of one key; the last group dropped if shorter than it says."""
    groups: list[list[dict]] = []
    for row in rows:
        if groups and groups[-1][0][key] == row[key]:
            groups[-1].append(row)
        else:
            groups.append([row])
    if groups and len(groups[-1]) < max(1, int(groups[-1][0][count] or 0)):
        groups.pop()
    return groups


def read_groups(path: Path, key: str, count: str) -> tuple[list[str], list[list[dict]], int]:
    """Header, complete groups, and the byte length they span (what a resume keeps)."""
    raw = Path(path).read_bytes()
    raw = raw[:raw.rfind(b"\n") + 1]  # a partial last line is never a row
    text = raw.decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    groups = _groups(list(reader), key, count)
    header = list(reader.fieldnames or [])
    lines = 1 + sum(len(g) for g in groups)  # header + kept rows (rows never hold newlines)
    kept = len("".join(text.splitlines(keepends=True)[:lines]).encode("utf-8"))
    return header, groups, kept if header else 0


class ResumableTable:
    """Append-only result table with resume (see the module docstring).

    Args:
        path: the journal file (``journal_path(out)``).
        columns: the header; a journal with another header is an error, not overwritten.
        key: the column naming the input a group belongs to (e.g. ``file``).
        count: the column holding the number of rows of the group (0 counts as 1).
    """

    def __init__(self, path: Path, columns: Sequence[str], key: str, count: str) -> None:
        self.path, self.columns, self.key, self.count = Path(path), list(columns), key, count
        self.done: set[str] = set()
        kept = 0
        if self.path.is_file() and self.path.stat().st_size:
            header, groups, kept = read_groups(self.path, key, count)
            if header and header != self.columns:
                raise ValueError(f"{self.path} has other columns ({len(header)}) than this run "
                                 f"writes ({len(self.columns)}); choose another output file")
            self.done = {g[0][key] for g in groups}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+b")
        self._file.truncate(kept)
        if kept == 0:
            self._write([self.columns])

    def _write(self, rows: Iterable[Sequence]) -> None:
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self._file.write(buf.getvalue().encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def write_group(self, rows: list[dict]) -> None:
        """All rows of one input, in one write; each row's ``count`` must equal len(rows)."""
        self._write([[_cell(r.get(c)) for c in self.columns] for r in rows])
        self.done.add(str(rows[0][self.key]))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "ResumableTable":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cell(value) -> str:
    """Cells as a single process and every shard write them: floats with 6 decimals."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def merge_groups(journals: Sequence[Path], out: Path, key: str, count: str,
                 order: Sequence[str]) -> int:
    """Merge complete groups of per-shard journals into ``out`` (CSV or Parquet), groups in
    ``order`` of their key (keys not in ``order`` first, as found); returns the row count."""
    header, groups = None, {}
    for path in journals:
        h, gs, _ = read_groups(path, key, count)
        header = header or h
        groups.update({g[0][key]: g for g in gs})
    rank = {k: i for i, k in enumerate(order)}
    keys = sorted(groups, key=lambda k: rank.get(k, -1))
    rows = [[r[c] for c in header] for k in keys for r in groups[k]]
    write_table(out, header or [], rows)
    return len(rows)


def write_table(out: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write string rows to ``out`` atomically, as CSV or (by suffix) Parquet."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".parquet":
        _write_parquet(tmp, header, rows)
    else:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    tmp.replace(out)


def _write_parquet(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Numbers as float64 (empty cells null), everything else as strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {}
    for i, name in enumerate(header):
        values = [r[i] for r in rows]
        try:
            columns[name] = pa.array([float(v) if v != "" else None for v in values],
                                     type=pa.float64())
        except ValueError:
            columns[name] = pa.array(values, type=pa.string())
    pq.write_table(pa.table(columns), path)


def reopen(out: Path) -> None:
    """Turn a finished ``.parquet`` table back into its journal, so that a new run adds to it
    instead of replacing it (a CSV table is its own journal and needs nothing)."""
    out, journal = Path(out), journal_path(out)
    if journal == out or journal.exists() or not out.is_file():
        return
    import pyarrow.parquet as pq

    table = pq.read_table(out).to_pylist()
    header = list(pq.read_schema(out).names)
    write_table(journal, header, [[_parquet_cell(r[c]) for c in header] for r in table])


def _parquet_cell(value) -> str:
    """A Parquet value as the journal wrote it: Parquet stored every number as float64, so
    whole numbers (indices, counts, boxes) go back to integers, fractions to 6 decimals."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _cell(value)


def done_keys(journal: Path, key: str, count: str) -> set[str]:
    """Keys whose rows are complete in ``journal`` (none when it does not exist)."""
    return {g[0][key] for g in read_groups(journal, key, count)[1]} if Path(journal).is_file() \
        else set()


def finish(out: Path, key: str, count: str) -> None:
    """Turn a finished ``.parquet`` journal into the Parquet file (a CSV needs nothing)."""
    out = Path(out)
    journal = journal_path(out)
    if journal == out:
        return
    header, groups, _ = read_groups(journal, key, count)
    write_table(out, header, [[r[c] for c in header] for g in groups for r in g])
    journal.unlink()
