"""Partition pruning for `main_jobevent`, which is RANGE-partitioned by the hour of `job_created`.

A join from jobs to events cannot be pruned at plan time, so PostgreSQL would open every hourly partition (24-48 a
day, thousands over the retention period). Instead the collectors first read the `created` time of the jobs in scope,
turn them into merged hour ranges and put those ranges into the event query as literal timestamps
(`e.job_created >= '…' AND e.job_created < '…' OR …`): the planner then scans only the partitions that can hold
events of those jobs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from psycopg import sql

HOUR = timedelta(hours=1)


def hour_ranges(created: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted, merged `[start, end)` ranges of whole UTC hours containing every given instant."""
    hours = sorted({t.astimezone(UTC).replace(minute=0, second=0, microsecond=0) for t in created})
    ranges: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + HOUR)
        else:
            ranges.append((hour, hour + HOUR))
    return ranges


def hours(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Each whole hour of `ranges` as its own range (one partition each: the event collectors' fallback unit)."""
    found = []
    for start, end in ranges:
        while start < end:
            found.append((start, start + HOUR))
            start += HOUR
    return found


def split(
    ranges: list[tuple[datetime, datetime]], weights: Mapping[datetime, int], shares: int | Sequence[float]
) -> list[list[tuple[datetime, datetime]]]:
    """`ranges` cut into pieces of consecutive whole hours whose total weights follow `shares` (a count: that many
    equal shares), as far as whole hours allow (`weights`: per hour start, e.g. the summaries of the jobs created in
    it; hours missing there weigh 1). At most one piece per hour: with fewer hours than shares, the last shares get
    none. Every hour is in exactly one piece, so the pieces' events are disjoint and together are those of `ranges`."""
    all_hours = hours(ranges)
    shares = [1.0] * shares if isinstance(shares, int) else [float(share) for share in shares]
    count = max(1, min(len(shares), len(all_hours)))
    weight = [max(1, weights.get(start, 1)) for start, _ in all_hours]
    total, whole = sum(weight), sum(shares) or 1.0
    bounds = list(itertools.accumulate(share / whole * total for share in shares))  # cumulative weight per cut
    pieces: list[list[tuple[datetime, datetime]]] = []
    current: list[datetime] = []
    done = 0
    for index, (start, _) in enumerate(all_hours):
        current.append(start)
        done += weight[index]
        left_hours, left_pieces = len(all_hours) - index - 1, count - len(pieces) - 1
        if left_pieces and (done >= bounds[len(pieces)] - 1e-9 * total or left_hours == left_pieces):
            pieces.append(hour_ranges(current))
            current = []
    if current:
        pieces.append(hour_ranges(current))
    return pieces


def job_created_condition(column: str, ranges: list[tuple[datetime, datetime]]) -> sql.Composable:
    """A literal OR-list of ranges on `column` (`FALSE` when there are none)."""
    if not ranges:
        return sql.SQL('FALSE')
    ident = sql.Identifier(*column.split('.'))
    parts = [
        sql.SQL('({c} >= {a}::timestamptz AND {c} < {b}::timestamptz)').format(
            c=ident, a=sql.Literal(start.isoformat()), b=sql.Literal(end.isoformat())
        )
        for start, end in ranges
    ]
    return sql.SQL('({})').format(sql.SQL(' OR ').join(parts))
