"""The time filter every windowed collector uses: `since <= column < until`, as literal UTC timestamps.

The bounds are bound client-side into the COPY statement (COPY takes no server-side parameters), so the server sees
literal `timestamptz` constants: the planner can use indexes and prune partitions on them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg import sql


def condition(column: str) -> sql.Composable:
    """`<column> >= %(since)s AND <column> < %(until)s` for a dotted column name."""
    ident = sql.Identifier(*column.split('.'))
    return sql.SQL('({col} >= %(since)s AND {col} < %(until)s)').format(col=ident)


def params(since: datetime, until: datetime) -> dict[str, datetime]:
    return {'since': since.astimezone(UTC), 'until': until.astimezone(UTC)}
