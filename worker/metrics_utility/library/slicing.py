"""Cutting a collection window into daily slices that end at UTC midnight.

Daily slices keep each CSV in the storage folder of its own day and let a failed day be retried alone. The first
slice runs from `since` to the next UTC midnight, then whole days follow, and the last slice ends at `until`
(since included, until excluded, as every window in this project).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

from metrics_utility.library.instants import require_aware


class Window(NamedTuple):
    """A collection window `[since, until)` (since included, until excluded), timezone-aware."""

    since: datetime
    until: datetime

    def as_json(self) -> dict[str, str]:
        return {'since': self.since.isoformat(), 'until': self.until.isoformat()}


def daily_slices(since: datetime, until: datetime) -> list[Window]:
    """Windows covering `[since, until)` whose inner boundaries are UTC midnights.

    `daily_slices(2024-02-28T15:00Z, 2024-03-01T06:00Z)` gives `[28 15:00, 29 00:00)`, `[29 00:00, 03-01 00:00)`,
    `[03-01 00:00, 03-01 06:00)`. An empty window (`since == until`) gives no slices; `since > until` is an error.
    """
    start, end = require_aware('since', since, ValueError), require_aware('until', until, ValueError)
    if start > end:
        raise ValueError(f'since ({start.isoformat()}) must not be after until ({end.isoformat()})')
    slices: list[Window] = []
    while start < end:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        stop = end if day.date() == date.max else min(day + timedelta(days=1), end)  # no midnight after 9999-12-31
        slices.append(Window(start, stop))
        start = stop
    return slices
