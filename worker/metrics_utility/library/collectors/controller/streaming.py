"""Streaming a query into size-limited CSV files with PostgreSQL COPY, and the session rules every query runs under.

`copy_to_csv` runs `COPY (<query>) TO STDOUT WITH CSV HEADER` and writes what the server sends straight into files:
no decoding, no re-encoding, no CSV parsing in Python, nothing held in memory beyond a batch of `BATCH_ROWS` rows.
PostgreSQL sends every row of a COPY, the header included, as one CopyData message and psycopg's `Copy` iterator
yields one message at a time, so the message boundaries are exactly the row boundaries, also for fields holding
newlines inside quotes. A part is closed before a row that would push it past `max_file_bytes` (so a part stays
within the limit unless one row alone is larger); every part starts with the header. A `Rewrite` may change rows on
the way (`host_columns` splices host variables in).

Empty results: when the query returns no rows, no file is kept and `[]` is returned (the collector contract's "no
data"). metrics-utility kept a header-only file to prove the collector ran; here the package's
`data_collection_status.csv` records that a collector ran, and an empty list cannot be mistaken for data.

`session` wraps a collector's statements in a transaction (a savepoint when the caller already has one open) with
`TimeZone=UTC` and ISO dates, so timestamps come out as `2024-02-29 09:05:00+00` whatever the connection's defaults,
with JIT off (its compile time does not pay back on exports), and never leaves the connection idle in a transaction.
"""

from __future__ import annotations

import os
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
    """Changes the rows of a COPY on their way to the files (`host_columns.SplicedRows`)."""

    def start(self, header: bytes) -> None:
        """Called with the header row, once the server has begun sending rows."""

    def join(self, rows: list[Any]) -> bytes:
        """The rewritten rows, concatenated."""

    def each(self, rows: list[Any]) -> list[bytes]:
        """The rewritten rows, one by one."""


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
    return output_dir / f'{stem}.part{index:04d}.csv'


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


def copy_to_csv(
    db: psycopg.Connection,
    query: Query,
    output_dir: Path,
    stem: str,
    params: Params = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    rewrite: Rewrite | None = None,
) -> list[Path]:
    """Stream `query` as CSV into `<stem>.csv` (or `<stem>.partNNNN.csv` parts when it needs several files).

    Rows are written `BATCH_ROWS` at a time (per-row Python work is most of the client's cost), row by row only where
    a part fills up. Files are created exclusively: an existing file of the same name is an error, never silently
    overwritten. Returns the files in order; `[]` when the query returned no rows.
    """
    if isinstance(query, str):
        query = sql.SQL(query)  # type: ignore[arg-type]
    statement = sql.SQL('COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)').format(query)
    single = output_dir / f'{stem}.csv'
    if single.exists():
        raise CollectorError(f'{single} already exists; give each collector run its own output_dir')
    parts: _Parts | None = None

    def flush(batch: list[Any]) -> None:
        if parts.open:
            data = rewrite.join(batch) if rewrite else b''.join(batch)
            if parts.fits(len(data)):
                parts.write(data, len(batch))
                return
        for row in rewrite.each(batch) if rewrite else batch:  # a first part, or one filling up: row by row
            parts.write_row(row)

    try:
        with db.cursor() as cur, cur.copy(statement, params) as copy:
            rows = iter(copy)
            header = bytes(next(rows, b''))
            parts = _Parts(output_dir, stem, header, max_file_bytes)
            if rewrite is not None:
                rewrite.start(header)
            batch: list[Any] = []
            for row in rows:  # psycopg's memoryviews own their buffers: safe to keep
                batch.append(row)
                if len(batch) == BATCH_ROWS:
                    flush(batch)
                    batch = []
            if batch:
                flush(batch)
    except BaseException:
        if parts is not None:
            parts.close()
            for path in parts.paths:
                path.unlink(missing_ok=True)
        raise
    finally:
        if parts is not None:
            parts.close()
    if parts is None or not parts.paths:
        return []
    if len(parts.paths) == 1:
        os.replace(parts.paths[0], single)
        return [single]
    return parts.paths
