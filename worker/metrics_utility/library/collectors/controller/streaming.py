"""Streaming a query into size-limited CSV files with PostgreSQL COPY, and the session rules every query runs under.

`copy_to_csv` runs `COPY (<query>) TO STDOUT WITH CSV HEADER` and writes what the server sends straight into files:
no decoding, no re-encoding, no CSV parsing in Python, nothing held in memory beyond a batch of `BATCH_ROWS` rows.
PostgreSQL sends every row of a COPY, the header included, as one CopyData message and psycopg's `Copy` iterator
yields one message at a time, so the message boundaries are exactly the row boundaries, also for fields holding
newlines inside quotes. A part is closed before a row that would push it past `max_file_bytes` (so a part stays
within the limit unless one row alone is larger); every part starts with the header. A `Rewrite` may change rows on
the way (`host_columns` splices host variables in). `CsvOutput` is the same output fed by several COPY statements
with one header (`events` exports hour by hour after a failed COPY): `mark()` / `rewind()` drop what a failed COPY
wrote, so no row is written twice.

File names: every run of a collector writes names of its own, `<stem>.<run>.csv` (or `<stem>.<run>.partNNNN.csv`)
with `<run>` random, so several calls (several windows of one job) can share one output directory before one Package
packs them; package members are named by the collector's key, never by these files.

Empty results: when the query returns no rows, no file is kept and `[]` is returned (the collector contract's "no
data"). metrics-utility kept a header-only file to prove the collector ran; here the package's
`data_collection_status.csv` records that a collector ran, and an empty list cannot be mistaken for data.

`session` wraps a collector's statements in a transaction (a savepoint when the caller already has one open) with
`TimeZone=UTC` and ISO dates, so timestamps come out as `2024-02-29 09:05:00+00` whatever the connection's defaults,
with JIT off (its compile time does not pay back on exports), and never leaves the connection idle in a transaction.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql

from ..base import CollectorError

DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024

Query = sql.Composable | str
Params = Sequence[Any] | Mapping[str, Any] | None
BATCH_ROWS = 1000


class Rewrite(Protocol):
    """Changes the rows of a COPY on their way to the files (`host_columns.SplicedRows`, `events.ParsedEvents`)."""

    def start(self, header: bytes) -> bytes:
        """Called with the header row, once the server has begun sending rows; returns the header to write."""

    def join(self, rows: list[Any]) -> bytes:
        """The rewritten rows, concatenated."""

    def each(self, rows: list[Any]) -> list[bytes]:
        """The rewritten rows, one by one."""

    def tally(self, rows: list[Any]) -> None:
        """Called once for every batch of rows written (the rewrite counts what it needs to)."""


@contextmanager
def session(db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A transaction with UTC timestamps for one collector run; nothing in it writes."""
    with db.transaction():
        # JIT compilation costs tens of milliseconds per query and does not pay back on streaming exports.
        before = db.execute(
            "SELECT current_setting('TimeZone'), current_setting('DateStyle'), current_setting('jit'), "
            "set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, MDY', true), "
            "set_config('jit', 'off', true)"
        ).fetchone()
        yield db
        # SET LOCAL inside a savepoint outlives it until the caller's transaction ends: put the caller's values back.
        db.execute(
            "SELECT set_config('TimeZone', %s, true), set_config('DateStyle', %s, true), set_config('jit', %s, true)",
            before[:3],
        )


def table_exists(db: psycopg.Connection, table: str) -> bool:
    """Whether `table` is visible; checked before querying because a failed query aborts the transaction."""
    return db.execute('SELECT to_regclass(%s) IS NOT NULL', (table,)).fetchone()[0]


def part_name(output_dir: Path, stem: str, index: int) -> Path:
    """Part `index` of the run whose file stem is `stem` (`<key>.<run>`)."""
    return output_dir / f'{stem}.part{index:04d}.csv'


def run_stem(key: str) -> str:
    """`<key>.<run>`: a file stem no other run of any collector uses (random, as the collector contract allows)."""
    return f'{key}.{uuid.uuid4().hex[:12]}'


class _Parts:
    """CSV parts of at most `limit` bytes (unless one row alone is larger), each starting with the header."""

    def __init__(self, output_dir: Path, stem: str, header: bytes, limit: int) -> None:
        self.output_dir, self.stem, self.header, self.limit = output_dir, stem, header, limit
        self.paths: list[Path] = []
        self._out = None
        self._size = self._rows = 0

    @property
    def open(self) -> bool:
        return self._out is not None

    def fits(self, size: int) -> bool:
        return self._size + size <= self.limit

    def write(self, data: bytes, rows: int) -> None:
        """Whole rows that fit the open part."""
        self._out.write(data)
        self._size += len(data)
        self._rows += rows

    def write_row(self, row: Any) -> None:
        n = len(row)
        if self._out is None or (self._size + n > self.limit and self._rows):
            self.close()
            path = part_name(self.output_dir, self.stem, len(self.paths))
            self.paths.append(path)
            self._out = open(path, 'xb')  # noqa: SIM115 - closed when rolling over, or by the caller
            self._out.write(self.header)
            self._size, self._rows = len(self.header), 0
        self._out.write(row)
        self._size += n
        self._rows += 1

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def mark(self) -> tuple[int, int, int]:
        """Where the output stands now, for `rewind`."""
        if self._out is not None:
            self._out.flush()
        return len(self.paths), self._size, self._rows

    def rewind(self, mark: tuple[int, int, int]) -> None:
        """Drop everything written after `mark` (the rows of a failed COPY), so no row is written twice."""
        count, size, rows = mark
        self.close()
        for path in self.paths[count:]:
            path.unlink(missing_ok=True)
        del self.paths[count:]
        if count:
            os.truncate(self.paths[-1], size)
            self._out = open(self.paths[-1], 'ab')  # noqa: SIM115 - closed when rolling over, or by the caller
            self._size, self._rows = size, rows

    def discard(self) -> None:
        self.close()
        for path in self.paths:
            path.unlink(missing_ok=True)


class CsvOutput:
    """The CSV files of one collector run, fed by one COPY or by several with the same columns (`events`).

    `mark()` before a COPY and `rewind(mark)` after it failed drop the rows it already wrote: every row reaches the
    files exactly once. `finish()` returns the files; `discard()` removes them (on any failure).
    """

    def __init__(self, output_dir: Path, key: str, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
        self.stem = run_stem(key)
        self.single = output_dir / f'{self.stem}.csv'
        self.output_dir, self.key, self.limit = output_dir, key, max_file_bytes
        self.parts: _Parts | None = None

    def mark(self) -> tuple[int, int, int] | None:
        return None if self.parts is None else self.parts.mark()

    def rewind(self, mark: tuple[int, int, int] | None) -> None:
        if self.parts is None:
            return
        if mark is None:
            self.parts.discard()
            self.parts = None
        else:
            self.parts.rewind(mark)

    def discard(self) -> None:
        if self.parts is not None:
            self.parts.discard()
        self.single.unlink(missing_ok=True)  # a name of this run only (`run_stem`): `finish` may have made it

    def copy(self, db: psycopg.Connection, query: Query, params: Params = None, rewrite: Rewrite | None = None) -> None:
        """Stream one `COPY (query) TO STDOUT` into the files (a later COPY's header must equal the first's)."""
        if isinstance(query, str):
            query = sql.SQL(query)  # type: ignore[arg-type]
        statement = sql.SQL('COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)').format(query)

        def flush(batch: list[Any]) -> None:
            if rewrite is not None:
                rewrite.tally(batch)
            parts = self.parts
            if parts.open:
                data = rewrite.join(batch) if rewrite else b''.join(batch)
                if parts.fits(len(data)):
                    parts.write(data, len(batch))
                    return
            for row in rewrite.each(batch) if rewrite else batch:  # a first part, or one filling up: row by row
                parts.write_row(row)

        with db.cursor() as cur, cur.copy(statement, params) as copy:
            rows = iter(copy)
            header = bytes(next(rows, b''))
            if rewrite is not None:
                header = rewrite.start(header)
            if self.parts is None:
                self.parts = _Parts(self.output_dir, self.stem, header, self.limit)
            elif header != self.parts.header:
                raise CollectorError(f'{self.key}: a later COPY sent another header ({header[:200]!r})')
            batch: list[Any] = []
            for row in rows:  # psycopg's memoryviews own their buffers: safe to keep
                batch.append(row)
                if len(batch) == BATCH_ROWS:
                    flush(batch)
                    batch = []
            if batch:
                flush(batch)

    def finish(self) -> list[Path]:
        """The files, in order: `<stem>.csv` when one part was enough; `[]` when no row was written."""
        parts = self.parts
        if parts is None:
            return []
        parts.close()
        if not parts.paths:
            return []
        if len(parts.paths) == 1:
            if self.single.exists():  # only if another writer took a name of this run: never overwrite it
                raise CollectorError(f'{self.single} already exists')
            os.replace(parts.paths[0], self.single)
            return [self.single]
        return parts.paths


def combine(paths: list[Path], limit: int) -> list[Path]:
    """Consecutive CSV files with one header (the parts of concurrent streams, in order) merged into as few files as
    fit `limit`: each file is appended whole, without its header, to the one before while the sum fits. Data that
    fit one part with one stream fit one file here, so the number of packages does not depend on the streams."""
    kept: list[Path] = []
    size = 0
    for path in paths:
        with open(path, 'rb') as source:
            header = source.readline()
            body = path.stat().st_size - len(header)
            if kept and size + body <= limit:
                with open(kept[-1], 'ab') as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
                size += body
                path.unlink()
                continue
        kept.append(path)
        size = len(header) + body
    return kept


def copy_to_csv(
    db: psycopg.Connection,
    query: Query,
    output_dir: Path,
    stem: str,
    params: Params = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    rewrite: Rewrite | None = None,
) -> list[Path]:
    """Stream `query` as CSV into `<stem>.<run>.csv` (or `<stem>.<run>.partNNNN.csv` parts when it needs several).

    Rows are written `BATCH_ROWS` at a time (per-row Python work is most of the client's cost), row by row only where
    a part fills up. Files are created exclusively under a name of this run (`run_stem`): an existing file is never
    overwritten. Returns the files in order; `[]` when the query returned no rows.
    """
    out = CsvOutput(output_dir, stem, max_file_bytes)
    try:
        out.copy(db, query, params, rewrite)
        return out.finish()
    except BaseException:
        out.discard()
        raise
