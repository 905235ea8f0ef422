"""What the event collectors share: the result event types, a one-parse extraction of `event_data`, and the export
that one unreadable `event_data` cannot stop.

`main_jobevent.event_data` is JSON stored as text and may hold `\\u0000` or lone surrogate escapes, which `jsonb`
refuses. As AWX analytics does, every `\\u` is rewritten to `\\u005cu` (an escaped backslash followed by `u`) before
the cast, so those escapes arrive as literal text instead of aborting the query. The cast happens **once per row**,
in a LATERAL subquery whose keys are read from that single parse with `->>` / `->` (metrics-utility casts once per
key: four parses per row, about three times the server CPU).
Text that does not look like a JSON object (not `{...}`: its first and last character, `parsed`) yields NULLs (no
event data, not counted).

**Unreadable event data.** Text that looks like `{...}` but is not JSON the server can read (broken syntax, nesting
beyond its stack, a number beyond `numeric`) makes the cast raise, which would abort the whole COPY. The database is
read-only (no function may be created) and PostgreSQL 13-15 cannot test JSON without casting, so `copy_events` keeps
the fast path and falls back only where it fails: the window's COPY runs in a savepoint; when the server refuses a
document, the rows already written are dropped (`CsvOutput.rewind`) and the window is exported again one hour
partition at a time, each hour by the fast COPY first and, only for an hour that fails again, by a COPY that sends
the raw `event_data` (no cast: it cannot fail) parsed here in Python (`ParsedEvents`). There, a document that does not
parse gives NULLs in the extracted columns and is counted (`Files.unreadable`); every other row comes out
byte-identical to the fast path (the extracted values are rendered as `jsonb_to_record` renders them). Every row is
written exactly once.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
from psycopg import sql

from ..base import Files
from . import partitions, streaming, streams
from .csv_export import CsvRun
from .streaming import CsvOutput

log = logging.getLogger(__name__)

RESULT_EVENTS = (
    'runner_on_ok',
    'runner_on_failed',
    'runner_on_unreachable',
    'runner_on_skipped',
    'runner_retry',
    'runner_on_async_ok',
    'runner_item_on_ok',
    'runner_item_on_failed',
    'runner_item_on_skipped',
)

# What the server raises when it cannot read a document: data exceptions (class 22: invalid JSON, numeric overflow)
# and program limits (class 54: jsonb size limits; 54001 "stack depth limit exceeded" for deep nesting, which psycopg
# files under OperationalError). Anything else (connection lost, cancelled) is not about the data and fails the
# collector as before.
UNREADABLE_ERRORS = (psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded, psycopg.errors.StatementTooComplex)

RAW_COLUMN = 'event_data_raw'


def event_list(events: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(', ').join(sql.Literal(e) for e in events)


def parsed(source: str = 'e') -> sql.Composable:
    """The `event_data` of `source` cast to jsonb once: NULL unless it looks like an object (`{...}`).

    The `{...}` test reads two characters, not the text: `starts_with` for the first, and for the last the last byte
    of the text as sent to this session (`textsend`: the bytes, in the client encoding, without a scan). A text ends
    with `}` exactly when that byte is `}` in UTF-8 (in any encoding a `}` ends with that byte, and in UTF-8 no other
    character does); `LIKE '{%}'` walks every character of every document (about a tenth of the statement's server
    time, bench/gather.py) and `right(text, 1)` counts them. In a client encoding where a character's last byte may be
    `}` (SJIS), such a text is cast, fails, and its hour takes the Python path, which gives the same NULLs."""
    src = sql.Identifier(source)
    return sql.SQL(
        'CASE WHEN starts_with({src}.event_data, {brace}) AND octet_length({src}.event_data) > 1 THEN '
        'CASE WHEN get_byte(textsend({src}.event_data), octet_length({src}.event_data) - 1) = {closing} '
        'THEN replace({src}.event_data, {esc}, {escaped})::jsonb END END'
    ).format(
        src=src,
        brace=sql.Literal('{'),
        closing=sql.Literal(ord('}')),
        esc=sql.Literal('\\u'),
        escaped=sql.Literal('\\u005cu'),
    )


def extract(alias: str, columns: str, source: str = 'e') -> sql.Composable:
    """`LEFT JOIN LATERAL (SELECT j->>'k' AS k, … FROM (SELECT <event_data, cast once> AS j OFFSET 0) …) AS <alias>`.

    `columns` as a record's column list (`name text, other jsonb`): text columns take `->>` (the value as
    `jsonb_to_record` gives it to a text column: strings unescaped, anything else as jsonb prints it), jsonb columns
    `->`. The cast sits in a subquery that `OFFSET 0` keeps from being inlined into each key (one parse per row);
    reading the keys from the parsed value costs the server less than building a record from it (bench/gather.py,
    tests/.../test_events.py compares with `jsonb_to_record`)."""
    keys = []
    for column in columns.split(','):
        name, kind = column.strip().rsplit(' ', 1)
        arrow = {'text': '->>', 'jsonb': '->'}.get(kind)
        if arrow is None:
            raise ValueError(f'extract: column {name} has type {kind}; only text and jsonb are extracted')
        keys.append(
            sql.SQL('parsed.j {arrow} {key} AS {name}').format(
                arrow=sql.SQL(arrow), key=sql.Literal(name.strip('"')), name=sql.Identifier(name.strip('"'))
            )
        )
    return sql.SQL(
        'LEFT JOIN LATERAL (SELECT {keys} FROM (SELECT {parsed} AS j OFFSET 0) AS parsed) AS {alias} ON true'
    ).format(keys=sql.SQL(', ').join(keys), parsed=parsed(source), alias=sql.Identifier(alias))


def no_extract(alias: str, columns: str) -> sql.Composable:
    """The same columns as `extract`, all NULL, without touching `event_data` (the slow path fills them in)."""
    return sql.SQL('LEFT JOIN LATERAL jsonb_to_record(NULL::jsonb) AS {alias}({columns}) ON true').format(
        alias=sql.Identifier(alias), columns=sql.SQL(columns)
    )


@dataclass(frozen=True)
class EventExport:
    """One event collector's export: `template` has `{extract}`, `{partitions}` and `{raw}` (after the last column).

    `derive` gives, from a parsed `event_data` (None: not an object), the text of each output column that depends on
    it, as the fast query renders it (None for NULL).
    """

    template: sql.Composable | str
    fixed: Mapping[str, sql.Composable]
    columns: str
    ranges: list[tuple[datetime, datetime]]
    params: Mapping[str, Any]
    derive: Callable[[dict[str, Any] | None], dict[str, str | None]]
    alias: str = 'ed'
    source: str = 'e'
    weights: Mapping[datetime, int] = field(default_factory=dict)  # per hour partition: how much its jobs hold
    hour_jobs: Mapping[datetime, tuple[int, ...]] = field(default_factory=dict)  # per hour partition: its jobs' ids

    @classmethod
    def of_jobs(
        cls,
        jobs: list[tuple[Any, ...]],
        template: sql.Composable | str,
        fixed: Mapping[str, sql.Composable],
        columns: str,
        params: Mapping[str, Any],
        derive: Callable[[dict[str, Any] | None], dict[str, str | None]],
    ) -> EventExport | None:
        """The export of the events of `jobs` (id, created[, weight: e.g. its summaries]), pruned to their hour
        partitions; None without jobs."""
        if not jobs:
            return None
        ranges = partitions.hour_ranges(job[1] for job in jobs)
        job_ids = sorted(job[0] for job in jobs)
        weights: Counter[datetime] = Counter()
        hour_jobs: dict[datetime, list[int]] = {}
        for job in jobs:
            hour = job[1].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            weights[hour] += job[2] if len(job) > 2 else 1
            hour_jobs.setdefault(hour, []).append(job[0])
        by_hour = {hour: tuple(sorted(ids)) for hour, ids in hour_jobs.items()}
        return cls(
            template,
            fixed,
            columns,
            ranges,
            {**params, 'job_ids': job_ids},
            derive,
            weights=dict(weights),
            hour_jobs=by_hour,
        )

    def params_for(self, ranges: list[tuple[datetime, datetime]]) -> Mapping[str, Any]:
        """The parameters of the query over `ranges` (whole hours): only the jobs created in those hours, the only
        ones whose events those partitions hold (`job_created` is the job's `created`). A piece's statement then
        carries its own jobs, not the window's: the planner weighs the `ANY` list for every partition it keeps (a
        `medium` day in six pieces: 53 ms of planning with the window's list in each, 16 ms with their own)."""
        if not self.hour_jobs:
            return self.params
        hours = {start for start, _ in partitions.hours(ranges)}
        ids = sorted(job for hour, jobs in self.hour_jobs.items() if hour in hours for job in jobs)
        return {**self.params, 'job_ids': ids}

    def _query(self, extraction: sql.Composable, ranges: list[tuple[datetime, datetime]], raw: bool) -> sql.Composable:
        template = sql.SQL(self.template) if isinstance(self.template, str) else self.template
        raw_column = sql.SQL(', {}.event_data AS {}').format(sql.Identifier(self.source), sql.Identifier(RAW_COLUMN))
        return template.format(
            **self.fixed,
            extract=extraction,
            partitions=partitions.job_created_condition(f'{self.source}.job_created', ranges),
            raw=raw_column if raw else sql.SQL(''),
        )

    def fast(self, ranges: list[tuple[datetime, datetime]] | None = None) -> sql.Composable:
        """The query casting `event_data` on the server (one parse per row)."""
        ranges = self.ranges if ranges is None else ranges
        return self._query(extract(self.alias, self.columns, self.source), ranges, raw=False)

    def safe(self, ranges: list[tuple[datetime, datetime]]) -> sql.Composable:
        """The query that cannot fail on a document: extracted columns NULL, the raw text as an extra last column."""
        return self._query(no_extract(self.alias, self.columns), ranges, raw=True)


def fast_query(export: EventExport | None) -> tuple[sql.Composable, dict] | None:
    """The event COPY query (fast path) and its parameters, or None when nothing is in scope (for EXPLAIN)."""
    return None if export is None else (export.fast(), dict(export.params))


def collect(run: CsvRun, export: EventExport | None) -> Files:
    """An event collector's result: its export copied (`copy_events`), or no file when nothing is in scope."""
    return Files() if export is None else copy_events(run, export)


def copy_events(run: CsvRun, export: EventExport) -> Files:
    """Export `export` into the run's CSV parts, as concurrent streams over disjoint hour partitions when the run has
    streams (`streams.py`); a document the server cannot read never stops it (see the module doc)."""
    pieces = partitions.split(export.ranges, export.weights, streams.shares(run.streams))
    outputs = [CsvOutput(run.output_dir, run.key, run.max_file_bytes) for _ in pieces]
    try:
        unreadable = streams.run(
            run.db,
            run.streams,
            [
                partial(_copy_ranges, export=export, ranges=p, out=o, stem=run.key)
                for p, o in zip(pieces, outputs, strict=True)
            ],
        )
        files = streaming.combine([path for out in outputs for path in out.finish()], run.max_file_bytes)
        return Files(files, sum(unreadable))
    except BaseException:
        for out in outputs:
            out.discard()
        raise


def _copy_ranges(
    db: psycopg.Connection, *, export: EventExport, ranges: list[tuple[datetime, datetime]], out: CsvOutput, stem: str
) -> int:
    """The events of `ranges` into `out`: one fast COPY, or hour by hour after the server refused a document; returns
    how many documents could not be read."""
    unreadable = 0
    start = out.mark()
    try:
        with db.transaction():
            out.copy(db, export.fast(ranges), export.params_for(ranges))
    except UNREADABLE_ERRORS as exc:
        out.rewind(start)  # the failed COPY's rows are dropped: each hour below writes them again, once
        log.warning(
            '%s: the server cannot read some event_data (%s); exporting hour by hour',
            stem,
            str(exc).splitlines()[0],
        )
        for hour in partitions.hours(ranges):
            mark = out.mark()
            try:
                with db.transaction():
                    out.copy(db, export.fast([hour]), export.params_for([hour]))
            except UNREADABLE_ERRORS:
                out.rewind(mark)
                parsed = ParsedEvents(export.derive, db.info.encoding)
                with db.transaction():
                    out.copy(db, export.safe([hour]), export.params_for([hour]), rewrite=parsed)
                unreadable += parsed.unreadable
                log.warning(
                    '%s: %d event(s) of the hour %s with unreadable event_data exported with NULLs',
                    stem,
                    parsed.unreadable,
                    hour[0].isoformat(),
                )
    return unreadable


# -- the slow path: event_data parsed in Python, rendered as the server renders it -------------------------------------

# One field of PostgreSQL's CSV and what ends it: quoted exactly when it holds a delimiter, quote or line break.
_FIELD = re.compile(rb'("(?:[^"]|"")*"|[^,"\r\n]*)(,|\n|\r\n)')
NUMERIC_MAX_INTEGER_DIGITS = 131072  # PostgreSQL numeric: beyond these the cast fails, so the document is unreadable
NUMERIC_MAX_SCALE = 16383


class UnreadableDocument(ValueError):
    """JSON that PostgreSQL's jsonb would refuse although Python's json accepts it (NaN, huge numbers)."""


def _constant(name: str) -> Any:
    raise UnreadableDocument(f'{name} is not JSON')


def _number(text: str) -> Decimal:
    value = Decimal(text)
    if len(text) > 64 or 'e' in text or 'E' in text:  # only these can exceed numeric's range: check them exactly
        _, digits, exponent = value.as_tuple()
        if len(digits) + exponent > NUMERIC_MAX_INTEGER_DIGITS or -exponent > NUMERIC_MAX_SCALE:
            raise UnreadableDocument('number beyond the range of numeric')
    return value


_JSON = json.JSONDecoder(parse_float=_number, parse_int=_number, parse_constant=_constant)


def parse_event_data(text: str | None) -> tuple[dict[str, Any] | None, bool]:
    """(the object, unreadable) of one `event_data`, read as the fast path's cast reads it; never raises."""
    if text is None or not text.startswith('{') or not text.endswith('}'):
        return None, False
    try:
        value = _JSON.decode(text.replace('\\u', '\\u005cu'))
    except Exception:  # broken syntax, RecursionError, MemoryError: NULLs, counted
        return None, True
    return (value, False) if isinstance(value, dict) else (None, True)


class _Text(str):
    """Output text on `jsonb_text`'s work stack (anything else there is a value still to render)."""


def jsonb_text(value: Any) -> str:
    """`value` as PostgreSQL prints a jsonb value: keys by length then bytes, `", "` and `": "` separators.

    Iterative (an explicit stack), so a document as deep as `json` reads renders without recursion."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is _Text:
            out.append(item)
        elif item is None:
            out.append('null')
        elif item is True or item is False:
            out.append('true' if item else 'false')
        elif isinstance(item, str):
            out.append(_json_string(item))
        elif isinstance(item, Decimal):
            out.append(numeric_text(item))
        elif isinstance(item, list):
            stack.append(_Text(']'))
            for index in range(len(item) - 1, -1, -1):
                stack.append(item[index])
                if index:
                    stack.append(_Text(', '))
            stack.append(_Text('['))
        elif isinstance(item, dict):
            keys = sorted(item, key=lambda k: (len(k.encode()), k.encode()))
            stack.append(_Text('}'))
            for index in range(len(keys) - 1, -1, -1):
                stack.append(item[keys[index]])
                stack.append(_Text(_json_string(keys[index]) + ': '))
                if index:
                    stack.append(_Text(', '))
            stack.append(_Text('{'))
        else:
            out.append(_json_string(str(item)))
    return ''.join(out)


def numeric_text(value: Decimal) -> str:
    """PostgreSQL's numeric output: plain digits, the scale the literal had, no negative zero."""
    text = format(value, 'f')
    return text[1:] if value.is_zero() and text.startswith('-') else text


_ESCAPES = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t'}
_TO_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _json_string(text: str) -> str:
    return '"' + _TO_ESCAPE.sub(lambda m: _ESCAPES.get(m[0], f'\\u{ord(m[0]):04x}'), text) + '"'


def record_text(value: Any) -> str | None:
    """A JSON value as `jsonb_to_record` gives it to a `text` column: strings unquoted, null NULL, the rest as jsonb."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return jsonb_text(value)


def csv_field(value: str | None, encoding: str) -> bytes:
    """One field as PostgreSQL's CSV writes it: NULL empty, quoted only when it holds a delimiter, quote or newline."""
    if value is None:
        return b''
    if value == '' or any(c in value for c in ',"\r\n'):
        value = '"' + value.replace('"', '""') + '"'
    return value.encode(encoding)


class ParsedEvents:
    """A `streaming.Rewrite` for `EventExport.safe` rows: fills the extracted columns from the raw `event_data` (the
    last column, dropped), counting the documents that cannot be read (`unreadable`)."""

    def __init__(self, derive: Callable[[dict[str, Any] | None], dict[str, str | None]], encoding: str) -> None:
        self._derive, self._encoding = derive, encoding
        self._positions: dict[int, str] = {}
        self._batch: list[Any] | None = None
        self._rewritten: list[bytes] = []
        self.unreadable = 0

    def start(self, header: bytes) -> bytes:
        names = [name.decode(self._encoding) for name, _ in self._fields(header)]
        if names[-1] != RAW_COLUMN:
            raise ValueError(f'the last column is {names[-1]!r}, expected {RAW_COLUMN}')
        derived = self._derive(None)
        self._positions = {names.index(name): name for name in derived}
        return header[: header.rindex(b',')] + b'\n'

    def tally(self, rows: list[Any]) -> None:
        """Parse the batch (counting its unreadable documents once); `join` / `each` then return the result."""
        self._batch, self._rewritten = rows, [self._row(bytes(row)) for row in rows]

    def join(self, rows: list[Any]) -> bytes:
        return b''.join(self.each(rows))

    def each(self, rows: list[Any]) -> list[bytes]:
        if rows is not self._batch:
            self.tally(rows)
        return self._rewritten

    @staticmethod
    def _fields(row: bytes) -> list[tuple[bytes, bytes]]:
        fields, at = [], 0
        while at < len(row):
            match = _FIELD.match(row, at)
            fields.append(match.groups())
            at = match.end()
        return fields

    def _row(self, row: bytes) -> bytes:
        fields = [field for field, _ in self._fields(row)]
        raw = fields.pop()
        text = None if raw == b'' else (raw[1:-1].replace(b'""', b'"') if raw[:1] == b'"' else raw)
        data, unreadable = parse_event_data(None if text is None else text.decode(self._encoding))
        try:
            values = self._derive(data)
        except Exception:  # a document Python read but cannot render: NULLs, counted, never a failed export
            values, unreadable = self._derive(None), True
        self.unreadable += unreadable
        for index, name in self._positions.items():
            fields[index] = csv_field(values[name], self._encoding)
        return b','.join(fields) + b'\n'
