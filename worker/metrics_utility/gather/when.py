"""Parse `--since` / `--until` values: ISO dates and datetimes, or relative forms, always in UTC.

Accepted (case-insensitive):
- `2024-02-29` → 2024-02-29 00:00 UTC; `2024-02-29T10:30` and `2024-02-29T10:30:00+02:00` (converted to UTC;
  a datetime without an offset is taken as UTC, never as the machine's local time);
- `10m`, `10min`, `10minute(s)` → the start of the minute 10 minutes ago;
- `2h`, `2hour(s)` → the start of the hour 2 hours ago;
- `2d`, `2day(s)` → midnight UTC at the start of the day, 1 day ago (`1d` is today 00:00, as metrics-utility);
- `1mo`, `1mon`, `1month(s)` → midnight UTC at the start of that day one month ago (day clamped to the month's
  length).
A bare number is rejected: it is ambiguous.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from metrics_utility.library import instants

_RELATIVE = re.compile(
    r'^(?P<n>\d+)\s*(?P<unit>m|min|mins|minutes?|h|hours?|d|days?|mo|mon|months?)$', re.IGNORECASE
)  # fmt: skip


class WhenError(ValueError):
    """A --since/--until value that cannot be understood."""


def parse_when(text: str, now: datetime | None = None, option: str = '--since') -> datetime:
    """The UTC instant that `text` names, relative forms counted back from `now` (default: the current time)."""
    now = instants.now() if now is None else now
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        n, unit = int(match['n']), match['unit'].lower()
        if unit.startswith('mo'):
            return _months_back(instants.this_day(now), n)
        if unit.startswith('m'):
            return instants.minutes_ago(n, relative_to=now)
        if unit.startswith('h'):
            return instants.hours_ago(n, relative_to=now)
        return instants.days_ago(max(n - 1, 0), relative_to=now)
    if re.fullmatch(r'\d+', value):
        raise WhenError(f'{option}={text!r} is a bare number; add a unit (10m, 2h, 3d, 1mo) or give an ISO date')
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        raise WhenError(
            f'{option}={text!r} is not a date; expected an ISO date or datetime (2024-02-29, 2024-02-29T10:00:00Z) '
            'or a relative form such as 10m, 2h, 3d or 1mo'
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _months_back(day: datetime, n: int) -> datetime:
    index = day.year * 12 + day.month - 1 - n
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return day.replace(year=year, month=month0 + 1, day=min(day.day, last))


def format_duration(delta: timedelta) -> str:
    """'3d 4h' style text for messages."""
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f'{days}d' if days else '', f'{hours}h' if hours else '', f'{minutes}m' if minutes else '']
    return ' '.join(p for p in parts if p) or f'{total}s'
