"""PostgreSQL advisory locks keyed by name, so two gathers never run over the same data at once.

Session-level locks are used (not transaction-level) because a gather spans many transactions. The lock key is the
64-bit value PostgreSQL derives from the name with `hashtextextended(name, 0)`, computed by the server, so every
client agrees on it. Taking and releasing a lock needs no write privileges: the SELECT-only role suffices.

A session lock lasts as long as its server session. Hold it on a session that runs nothing else and call
`detect_dead_client` on it: an idle backend notices at once when its client's socket closes (the process exited or
was killed), and TCP keepalives catch a client host that vanished without closing it. A backend busy with a long
query would only notice when the query ends (on PostgreSQL 14+ `detect_dead_client` also makes it check every few
seconds).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import psycopg

from metrics_utility.library.errors import MetricsUtilityError

Mode = Literal['try', 'wait']


class LockHeldError(MetricsUtilityError, RuntimeError):
    """Another session holds the advisory lock."""

    def __init__(self, name: str, waited: float | None = None) -> None:
        self.name = name
        self.waited = waited
        detail = f' after waiting {waited:.1f}s' if waited else ''
        super().__init__(
            f'another run holds the lock {name!r}{detail}; wait for it to finish and try again (do not give this '
            'run another lock name to get past it: runs of one target would then take turns on its state instead)'
        )


@contextmanager
def advisory_lock(
    conn: psycopg.Connection,
    name: str,
    mode: Mode = 'try',
    timeout: float | None = None,
    poll_interval: float = 0.2,
    shared: bool = False,
) -> Iterator[None]:
    """Hold the advisory lock `name` on `conn` for the duration of the block.

    mode='try' raises LockHeldError at once when the lock is held elsewhere. mode='wait' blocks until the lock is
    free, or raises LockHeldError after `timeout` seconds (no timeout: wait as long as it takes). `shared` takes
    the lock in shared mode: shared holders exclude an exclusive holder but not each other (backfill shards).
    """
    if mode not in ('try', 'wait'):
        raise ValueError(f"mode must be 'try' or 'wait', got {mode!r}")
    if not name:
        raise ValueError('lock name must not be empty')
    if conn.closed:
        raise psycopg.InterfaceError('the database connection is closed')

    started = time.monotonic()
    while not try_lock(conn, name, shared):
        waited = time.monotonic() - started
        if mode == 'try' or (timeout is not None and waited >= timeout):
            raise LockHeldError(name, waited if mode == 'wait' else None)
        time.sleep(poll_interval)
    try:
        yield
    finally:
        if not conn.closed:
            unlock = 'pg_advisory_unlock_shared' if shared else 'pg_advisory_unlock'
            _run(conn, f'SELECT {unlock}(hashtextextended(%s, 0))', name)


def try_lock(conn: psycopg.Connection, name: str, shared: bool = False) -> bool:
    """Take the session lock `name` if it is free (for `shared`: not held exclusively); never waits."""
    function = 'pg_try_advisory_lock_shared' if shared else 'pg_try_advisory_lock'
    return bool(_run(conn, f'SELECT {function}(hashtextextended(%s, 0))', name))


DEAD_CLIENT_CHECK = {
    'tcp_keepalives_idle': '10',  # seconds; server-side keepalives, so a vanished client host is noticed as well
    'tcp_keepalives_interval': '5',
    'tcp_keepalives_count': '3',
}
CONNECTION_CHECK_INTERVAL = '2s'  # PostgreSQL 14+: a running query checks that its client is still there


def detect_dead_client(conn: psycopg.Connection) -> None:
    """Make the server end this session soon after its client dies, releasing its locks (user-settable settings
    only; nothing is written, and older servers that lack a setting simply skip it)."""
    settings = dict(DEAD_CLIENT_CHECK)
    if conn.info.server_version >= 140000:
        settings['client_connection_check_interval'] = CONNECTION_CHECK_INTERVAL
    was_idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.cursor() as cur:
        for name, value in settings.items():
            cur.execute('SELECT set_config(%s, %s, false)', (name, value))
    if was_idle and not conn.autocommit:
        conn.commit()


def _run(conn: psycopg.Connection, sql: str, name: str) -> object:
    # Outside autocommit the lock query would open a transaction that stays open for the whole gather; end the one
    # we started (the session-scoped lock survives it), but never commit a transaction the caller had open.
    was_idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.cursor() as cur:
        value = cur.execute(sql, (name,)).fetchone()[0]
    if was_idle and not conn.autocommit:
        conn.commit()
    return value
