"""Putting parsed host variables (`hostvars`) into a collector's COPY output, with the database only reading.

A collector first runs a *hosts query* (`id, variables` of the hosts its rows refer to, or of every host when
`main_host` is small: `hosts_in_scope`); `HostVariables` reads those rows (only texts that `may_hold_keys`: the
server filters the rest out). The values then reach the output in one of two ways:

- `Splice` (plain output columns): the COPY query puts markers in the columns instead of values — the record
  separator `\\x1e` and the row's host id in the first column, `\\x1e` in the last — so the statement does not
  depend on the parse. The COPY is sent at once, and the variables are parsed in a worker thread *while the server
  executes it* (its joins and sort come before the first row); then the markers are replaced by the CSV of the
  values, a batch of rows at a time with one `split` and one `join` in C. A batch whose marker count is not exactly
  two per row has a field holding `\\x1e`: its rows are read field by field (PostgreSQL's CSV quotes a field
  exactly when it holds a delimiter, quote or line break), so such text is exported unchanged.
- `join_clause` (values used inside SQL, e.g. in `jsonb_build_object`): parse first, then hand the values to the
  server as literal arrays that the query LEFT JOINs.

Hosts whose variables are unreadable (`HostVars.unreadable`) get NULLs like hosts without values, and the rows that
refer to them are counted: `SplicedRows.unreadable` (tallied from the markers of each batch, only when there is such
a host, so the usual run pays nothing) and `unreadable_count` for `join_clause` output (one row per host).

At most `RAW_BUDGET` bytes of variables wait unparsed for the COPY; hosts beyond it are parsed as they are read, so
memory stays bounded whatever the inventory.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from .hostvars import KEY_PREFIX, NOTHING, HostVars, host_vars

FETCH_BATCH = 5000
RAW_BUDGET = 32 * 1024 * 1024
MARK = b'\x1e'
ALL_HOSTS_BELOW = 100_000
ALL_HOSTS = 'SELECT h.id, h.variables FROM main_host h'


def hosts_in_scope(db: psycopg.Connection, scoped: sql.Composable) -> sql.Composable:
    """`scoped` (the hosts a window's rows refer to), or every host when `main_host` holds fewer than `ALL_HOSTS_BELOW`.

    Finding a window's hosts scans its rows a second time (AWX has no index on `main_jobhostsummary.modified`), while
    reading a small `main_host` costs the server a fraction of that; the extra hosts are parsed in the background
    while the server works on the export. The size is the planner's estimate (`pg_class.reltuples`, no scan); a table
    never analysed counts as large.
    """
    estimate = db.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass('main_host')").fetchone()
    if estimate is not None and 0 <= estimate[0] < ALL_HOSTS_BELOW:
        return sql.SQL(ALL_HOSTS)
    return scoped


def candidates(hosts_query: sql.Composable) -> sql.Composable:
    """The statement actually sent: `hosts_query` without the texts that cannot hold the keys."""
    return sql.SQL(
        'SELECT id, variables FROM ({hosts}) AS hosts '
        'WHERE strpos(variables, {prefix}) > 0 OR strpos(variables, chr(92)) > 0'
    ).format(hosts=hosts_query, prefix=sql.Literal(KEY_PREFIX))


class HostVariables:
    """The parsed variables of every host a hosts query returns (columns `id, variables`, one row per host)."""

    def __init__(
        self, db: psycopg.Connection, hosts_query: sql.Composable, params: Any = None, raw_budget: int = RAW_BUDGET
    ) -> None:
        self._found: dict[int, HostVars] = {}
        self._raw: list[tuple[int, str]] = []
        waiting = 0
        with db.cursor(name='metrics_utility_host_variables') as cur:
            cur.itersize = FETCH_BATCH
            cur.execute(candidates(hosts_query), params)
            for host_id, text in cur:
                if waiting < raw_budget:
                    self._raw.append((host_id, text))
                    waiting += len(text)
                else:
                    self._add(host_id, text)

    def _add(self, host_id: int, text: str) -> None:
        found = host_vars(text)
        if found != NOTHING:  # hosts without any value are left out: they export NULLs anyway
            self._found[host_id] = found

    def parsed(self) -> dict[int, HostVars]:
        """Host id → values, for hosts with at least one value (parses what is still waiting)."""
        for host_id, text in self._raw:
            self._add(host_id, text)
        self._raw = []
        return self._found


def fetch(db: psycopg.Connection, hosts_query: sql.Composable, params: Any = None) -> dict[int, HostVars]:
    """Read and parse at once (for `join_clause`)."""
    return HostVariables(db, hosts_query, params).parsed()


def unreadable_count(found: Mapping[int, HostVars]) -> int:
    """How many of `found` could not be read (for outputs with one row per host, such as `main_host`)."""
    return sum(1 for values in found.values() if values.unreadable)


def join_clause(found: Mapping[int, HostVars]) -> tuple[sql.Composable, dict[str, list]]:
    """`unnest(...) AS hv(host_id, ansible_host, ansible_connection, ansible_port)` and its parameters."""
    ids = list(found)
    params = {
        'hv_ids': ids,
        'hv_hosts': [found[i].ansible_host for i in ids],
        'hv_connections': [found[i].ansible_connection for i in ids],
        'hv_ports': [found[i].ansible_port for i in ids],
    }
    clause = sql.SQL(
        'unnest(%(hv_ids)s::integer[], %(hv_hosts)s::text[], %(hv_connections)s::text[], %(hv_ports)s::integer[]) '
        'AS hv(host_id, ansible_host, ansible_connection, ansible_port)'
    )
    return clause, params


@dataclass(frozen=True)
class Splice:
    """Adjacent output columns filled from host variables: `columns` maps each output name to a `HostVars` field."""

    key: str  # SQL expression for the row's host id (NULL: no host, the columns stay NULL)
    columns: tuple[tuple[str, str], ...]

    def select(self) -> sql.Composable:
        """The marker columns for the COPY query's select list: every row gets exactly two markers."""
        key = sql.SQL("chr(30) || COALESCE(({})::text, '')").format(sql.SQL(self.key))
        names = [sql.Identifier(name) for name, _ in self.columns]
        if len(names) == 1:
            return sql.SQL('{} || chr(30) AS {}').format(key, names[0])
        middle = [sql.SQL('NULL::text AS {}').format(name) for name in names[1:-1]]
        last = sql.SQL('chr(30) AS {}').format(names[-1])
        return sql.SQL(', ').join([sql.SQL('{} AS {}').format(key, names[0]), *middle, last])

    def rows(self, hosts: HostVariables, encoding: str) -> SplicedRows:
        """The rewrite for `streaming.copy_to_csv`; starts parsing `hosts` in the background right away."""
        return SplicedRows(self, hosts, encoding)


class SplicedRows:
    """A `streaming.Rewrite` putting each host's values where `Splice.select` put its markers.

    The parse runs in a worker thread, started before the COPY is sent: the server sends nothing until its sort is
    done (and buffers even the COPY's first message), and meanwhile this process only waits on the socket.
    """

    def __init__(self, splice: Splice, hosts: HostVariables, encoding: str) -> None:
        self._gaps = b',' * (len(splice.columns) - 1)  # the bytes between the markers, after the host id
        self._first_column = splice.columns[0][0].encode()
        fields = [HostVars._fields.index(field) for _, field in splice.columns]
        pool = ThreadPoolExecutor(1, thread_name_prefix='metrics-utility-host-variables')
        self._rendering = pool.submit(self._render, hosts, fields, encoding)
        pool.shutdown(wait=False)
        self._values: dict[bytes, bytes] = {}
        self._unreadable_keys: frozenset[bytes] = frozenset()
        self._before: re.Pattern[bytes] | None = None
        self.unreadable = 0  # rows written for hosts whose variables could not be read
        self._split: tuple[list[Any], list[bytes]] | None = None

    def fork(self) -> SplicedRows:
        """Another rewrite over the same parse (one per concurrent stream), counting its own rows."""
        other = copy.copy(self)
        other.unreadable, other._split = 0, None
        return other

    def _render(self, hosts: HostVariables, fields: list[int], encoding: str) -> tuple[dict[bytes, bytes], frozenset]:
        parsed = hosts.parsed()
        values = {
            b'%d' % host_id + self._gaps: b','.join(_csv(found[i], encoding) for i in fields)
            for host_id, found in parsed.items()
        }
        return values, frozenset(b'%d' % host_id + self._gaps for host_id, found in parsed.items() if found.unreadable)

    def start(self, header: bytes) -> bytes:
        self._values, self._unreadable_keys = self._rendering.result()
        first = header.rstrip(b'\r\n').split(b',').index(self._first_column)
        self._before = re.compile(rb'(?:(?:"(?:[^"]|"")*"|[^,"]*),){%d}' % first)  # the fields before the markers
        return header

    def tally(self, rows: list[Any]) -> None:
        """Count the rows of `rows` that refer to a host with unreadable variables (once per batch written)."""
        if not self._unreadable_keys:
            return
        bad = self._unreadable_keys
        parts = b''.join(rows).split(MARK)
        if len(parts) == 2 * len(rows) + 1:
            self.unreadable += sum(map(bad.__contains__, parts[1::2]))
            self._split = (rows, parts)  # `join` of the same batch reuses the split
        else:
            self.unreadable += sum(1 for row in rows if self._key(bytes(row)) in bad)

    def join(self, rows: list[Any]) -> bytes:
        split, self._split = self._split, None
        parts = split[1] if split is not None and split[0] is rows else b''.join(rows).split(MARK)
        if len(parts) != 2 * len(rows) + 1:
            return b''.join(self.each(rows))  # some field holds \x1e: row by row
        get, gaps = self._values.get, self._gaps
        parts[1::2] = [get(key, gaps) for key in parts[1::2]]
        return b''.join(parts)

    def each(self, rows: list[Any]) -> list[bytes]:
        return [self._row(bytes(row)) for row in rows]

    def _row(self, row: bytes) -> bytes:
        parts = row.split(MARK)
        if len(parts) == 3:
            return parts[0] + self._values.get(parts[1], self._gaps) + parts[2]
        start, end = self._markers(row)
        return row[:start] + self._values.get(row[start + 1 : end], self._gaps) + row[end + 1 :]

    def _markers(self, row: bytes) -> tuple[int, int]:
        start = self._before.match(row).end()  # some other field holds \x1e: find the markers by position
        return start, row.index(MARK, start + 1)

    def _key(self, row: bytes) -> bytes:
        parts = row.split(MARK)
        if len(parts) == 3:
            return parts[1]
        start, end = self._markers(row)
        return row[start + 1 : end]


def _csv(value: str | int | None, encoding: str) -> bytes:
    """One field as PostgreSQL's CSV writes it: NULL empty, quoted only when it holds a delimiter, quote or newline."""
    if value is None:
        return b''
    text = str(value)
    if text == '' or any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text.encode(encoding)
