"""Parse `--since` / `--until` values: ISO dates and datetimes, or relative forms, always in UTC.

Accepted (case-insensitive):
- `2024-02-29` → 2024-02-29 00:00 UTC; `2024-02-29T10:30` and `2024-02-29T10:30:00+02:00` (converted to UTC;
  a datetime without an offset is taken as UTC, never as the machine's local time);
- `10m`, `10min`, `10minute(s)` → the start of the minute 10 minutes ago;
- `2h`, `2hour(s)` → the start of the hour 2 hours ago;
- `2d`, `2day(s)` → midnight UTC at the start of the day, 1 day ago (`1d` is today 00:00, as metrics-utility);
- `1mo`, `1mon`, `1month(s)` → midnight UTC at the start of that day one month ago (day clamped to the month's
  length).
A bare number is rejected: it is ambiguous. So are `0d` (the day count starts at 1), negative counts, non-ASCII
digits, and anything outside the years 0001..9999 (e.g. `99999999d`, `10000-01-01`, or
`9999-12-31T23:59:59-01:00`, which is in the year 10000 in UTC): each gets one message naming the option.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from metrics_utility.library import instants
from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError

from .messages import shown

_UNITS = r'(?P<unit>m|min|mins|minutes?|h|hours?|d|days?|mo|mon|months?)'
_RELATIVE = re.compile(r'(?P<n>[0-9]+)\s*' + _UNITS, re.IGNORECASE)
_NEGATIVE = re.compile(r'-\s*[0-9]+\s*' + _UNITS, re.IGNORECASE)
_ISO_YEAR = re.compile(r'([0-9]+)-')  # the year of a value that looks like an ISO date
MAX_COUNT_DIGITS = 9  # more reaches beyond the year 1 in any unit; int() of thousands of digits is refused anyway
EXPECTED = (
    'expected an ISO date or datetime (2024-02-29, 2024-02-29T10:00:00Z) or a relative form such as 10m, 2h, 3d or 1mo'
)


class WhenError(MetricsUtilityError, ValueError):
    """A --since/--until value that cannot be understood."""

    exit_code = BAD_INPUT


def parse_when(text: str, now: datetime | None = None, option: str = '--since') -> datetime:
    """The UTC instant that `text` names, relative forms counted back from `now` (default: the current time)."""
    now = instants.now() if now is None else now
    value = text.strip()
    if not value:
        raise WhenError(f'{option} is empty; {EXPECTED}')
    if not value.isascii():
        raise WhenError(f'{option}={shown(text)} is not a date; {EXPECTED} (ASCII digits only)')
    match = _RELATIVE.fullmatch(value)
    if match:
        return _relative(match['n'], match['unit'].lower(), now, option, text)
    if _NEGATIVE.fullmatch(value):
        raise WhenError(f'{option}={shown(text)} is negative; relative forms count back from now, e.g. 3d')
    if re.fullmatch(r'[0-9]+', value):
        raise WhenError(f'{option}={shown(text)} is a bare number; add a unit (10m, 2h, 3d, 1mo) or give an ISO date')
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        year = _ISO_YEAR.match(value)
        if year and not 1 <= int(year[1][:6]) <= 9999:
            raise WhenError(f'{option}={shown(text)} is out of range; years run from 0001 to 9999') from None
        raise WhenError(f'{option}={shown(text)} is not a date; {EXPECTED}') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-02:00 is in the year 10000 in UTC
        raise WhenError(f'{option}={shown(text)} is out of range in UTC; years run from 0001 to 9999') from None


def _relative(digits: str, unit: str, now: datetime, option: str, text: str) -> datetime:
    """`digits` units back from `now`, each unit's start as documented above."""
    if unit.startswith('d') and not digits.strip('0'):
        raise WhenError(f'{option}={shown(text)}: days count from 1 (1d is today 00:00 UTC, 2d yesterday 00:00)')
    try:
        if len(digits.lstrip('0')) > MAX_COUNT_DIGITS:
            raise OverflowError
        n = int(digits)
        if unit.startswith('mo'):
            return _months_back(instants.this_day(now), n)
        if unit.startswith('m'):
            return instants.minutes_ago(n, relative_to=now)
        if unit.startswith('h'):
            return instants.hours_ago(n, relative_to=now)
        return instants.days_ago(n - 1, relative_to=now)
    except (OverflowError, ValueError):
        raise WhenError(f'{option}={shown(text)} is out of range: it reaches before the year 0001') from None


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
