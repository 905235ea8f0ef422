"""What the event collectors share: the result event types and a one-parse extraction of `event_data`.

`main_jobevent.event_data` is JSON stored as text and may hold `\\u0000` or lone surrogate escapes, which `jsonb`
refuses. As AWX analytics does, every `\\u` is rewritten to `\\u005cu` (an escaped backslash followed by `u`) before
the cast, so those escapes arrive as literal text instead of aborting the query. The cast happens **once per row**,
inside `jsonb_to_record` in a LATERAL join, which returns all the wanted keys from that single parse
(metrics-utility casts once per key: four parses per row, ~3x the server CPU, see performance-baselines §3.2).

Text that does not look like a JSON object (not `{...}`) yields NULLs instead of failing the whole collector.
The rewrite only changes values containing `\\u` escapes; module, role and duration values are plain ASCII.
"""

from __future__ import annotations

from psycopg import sql

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


def event_list(events: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(', ').join(sql.Literal(e) for e in events)


def extract(alias: str, columns: str, source: str = 'e') -> sql.Composable:
    """`LEFT JOIN LATERAL jsonb_to_record(<event_data, cast once>) AS <alias>(<columns>) ON true`."""
    return sql.SQL(
        'LEFT JOIN LATERAL jsonb_to_record(CASE WHEN left({src}.event_data, 1) = {open} '
        'AND right({src}.event_data, 1) = {close} '
        'THEN replace({src}.event_data, {esc}, {escaped})::jsonb END) AS {alias}({columns}) ON true'
    ).format(
        src=sql.Identifier(source),
        open=sql.Literal('{'),
        close=sql.Literal('}'),
        esc=sql.Literal('\\u'),
        escaped=sql.Literal('\\u005cu'),
        alias=sql.Identifier(alias),
        columns=sql.SQL(columns),
    )
