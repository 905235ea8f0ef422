"""A window's export as several concurrent streams, each on its own read-only connection, all on one snapshot.

One COPY keeps one server backend busy on one core while the client mostly waits; a window split into disjoint
pieces (hour partitions of events, `modified` sub-windows of summaries) runs as `Streams.count` COPYs at once.
The collector splits, `run` runs the pieces:

- **one snapshot**: the first stream opens a `REPEATABLE READ READ ONLY` transaction and exports its snapshot
  (`pg_export_snapshot()`); every other stream imports it (`SET TRANSACTION SNAPSHOT`) before its first query. All
  pieces read the database as of one instant, so rows inserted while the streams run are in no piece or, for a piece
  whose bounds hold them, in exactly that one: the union is what one COPY at that instant returns, whatever the count;
- **threads**: psycopg releases the GIL while it waits on a socket, so the backends work in parallel;
- **errors**: the first failure cancels the other streams' statements (`cancel_safe`), every connection is closed,
  and that failure is raised: the collector fails as a whole and its caller discards every piece's files.

With one stream, or one piece, the pieces run one after another on the collector's own connection (no extra session).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg import sql

from metrics_utility.library.lock import detect_dead_client

from ..base import CollectorParameterError
from .streaming import session

log = logging.getLogger(__name__)

T = TypeVar('T')
Piece = Callable[[psycopg.Connection], T]
MAX_STREAMS = 16
ROUNDS = (3, 2, 1)  # relative weight of each round of pieces (`shares`)


@dataclass(frozen=True)
class Streams:
    """How many concurrent read streams a window's export may use, and how to open their sessions."""

    connect: Callable[[], psycopg.Connection]
    count: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or not 1 <= self.count <= MAX_STREAMS:
            raise CollectorParameterError(
                f'streams: the count must be a whole number from 1 to {MAX_STREAMS}, got {self.count!r}'
            )


def count(streams: Streams | None) -> int:
    """How many streams a collector's window export may use (1 without streams)."""
    return 1 if streams is None else streams.count


def shares(streams: Streams | None) -> list[float]:
    """The weights of the pieces to cut a window into when the pieces need no order (events), in the order the
    streams take them: one piece without streams; with streams `ROUNDS` rounds of one piece per stream, each round's
    pieces lighter than the last (halves, thirds, sixths of a stream's share). A stream takes the next piece as soon
    as it is free, so the heavy pieces go first and the last ones are small: where a piece's weight (an estimate:
    summaries per hour, not events) was wrong, the streams still end close together."""
    if streams is None or streams.count == 1:
        return [1.0]
    return [float(weight) for weight in ROUNDS for _ in range(streams.count)]


def run(db: psycopg.Connection, streams: Streams | None, pieces: Sequence[Piece[T]]) -> list[T]:
    """Each piece's result, in the order of `pieces`; see the module docstring."""
    if streams is None or streams.count == 1 or len(pieces) <= 1:
        return [piece(db) for piece in pieces]
    opened: list[psycopg.Connection] = []
    try:
        snapshot = None
        for _ in range(min(streams.count, len(pieces))):
            conn = streams.connect()
            opened.append(conn)
            detect_dead_client(conn)  # a killed gather's streams end with it, as its own session does
            snapshot = _begin(conn, snapshot)
        return _in_threads(opened, pieces)
    finally:
        for conn in opened:
            conn.close()


def _begin(conn: psycopg.Connection, snapshot: str | None) -> str:
    """Start `conn`'s read-only repeatable-read transaction on `snapshot` (None: export a new one); returns it."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    if snapshot is None:
        snapshot = conn.execute('SELECT pg_export_snapshot()').fetchone()[0]
    else:
        conn.execute(sql.SQL('SET TRANSACTION SNAPSHOT {}').format(sql.Literal(snapshot)))
    # The streams are the parallelism: no parallel workers of the server's on top of each (N streams stay N backends),
    # and none of the tuple queues that move every row from a worker to its stream's backend. (Set in the snapshot's
    # transaction, which every piece runs in: a SET before it would be rolled back with the idle check above.)
    conn.execute('SET LOCAL max_parallel_workers_per_gather = 0')
    return snapshot


def _in_threads(conns: list[psycopg.Connection], pieces: Sequence[Piece[T]]) -> list[T]:
    results: list[T | None] = [None] * len(pieces)
    errors: list[BaseException] = []
    lock = threading.Lock()
    waiting = iter(range(len(pieces)))
    failed = threading.Event()

    busy = [0.0] * len(conns)
    done = [0] * len(conns)

    def work(stream: int, conn: psycopg.Connection) -> None:
        while not failed.is_set():
            with lock:
                index = next(waiting, None)
            if index is None:
                return
            try:
                began = time.perf_counter()
                with session(conn):
                    results[index] = pieces[index](conn)
                busy[stream] += time.perf_counter() - began
                done[stream] += 1
            except BaseException as exc:  # handed to the caller's thread below
                with lock:
                    errors.append(exc)
                failed.set()
                return

    threads = [
        threading.Thread(target=work, args=(i, conn), name=f'metrics-utility-stream-{i}', daemon=True)
        for i, conn in enumerate(conns)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        _join(threads, conns, failed)
    except BaseException:  # interrupted (KeyboardInterrupt, SystemExit): stop the streams before closing them
        failed.set()
        _join(threads, conns, failed)
        raise
    if errors:
        raise errors[0]
    log.debug(
        'streams: %d pieces on %d streams in %.3f s; per stream busy %s s, pieces %s',
        len(pieces),
        len(conns),
        time.perf_counter() - began,
        ' '.join(f'{seconds:.3f}' for seconds in busy),
        ' '.join(str(count) for count in done),
    )
    return results  # type: ignore[return-value]


def _join(threads: list[threading.Thread], conns: list[psycopg.Connection], failed: threading.Event) -> None:
    """Wait for every stream; once one failed, keep cancelling the statements of those still running."""
    while any(thread.is_alive() for thread in threads):
        if failed.is_set():
            for thread, conn in zip(threads, conns, strict=True):
                if thread.is_alive():
                    conn.cancel_safe(timeout=5)
        for thread in threads:
            thread.join(timeout=0.05 if failed.is_set() else 0.2)
            if failed.is_set():
                break
