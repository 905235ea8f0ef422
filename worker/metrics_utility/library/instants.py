"""Time boundaries in UTC, for choosing collection windows.

Every function returns a timezone-aware UTC datetime. `this_<unit>` is the start of the unit containing the
reference instant, `last_<unit>` the start of the unit before it, and `<unit>s_ago(n)` the start of the unit `n`
units before the current one. The reference instant is `relative_to` when given (it must be timezone-aware; it is
converted to UTC) and the current time otherwise. Weeks start on Monday. Because month results are always the first
of a month, month arithmetic never lands on a day that does not exist (31 March minus one month is 1 February).
A count that would leave the years 1..9999 raises OverflowError naming the count (negative counts go forward).

Windows built from these values follow the project's contract: `since` included, `until` excluded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = [
    'days_ago',
    'hours_ago',
    'iso',
    'last_day',
    'last_hour',
    'last_minute',
    'last_month',
    'last_week',
    'minutes_ago',
    'months_ago',
    'now',
    'require_aware',
    'this_day',
    'this_hour',
    'this_minute',
    'this_month',
    'this_week',
    'weeks_ago',
]


class NaiveDatetimeError(ValueError):
    """A datetime without a timezone was given where an instant in time is required."""


def now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(tz=UTC)


def require_aware(
    name: str, value: object, naive: type[Exception] = NaiveDatetimeError, wrong_type: type[Exception] = TypeError
) -> datetime:
    """`value` converted to UTC; raises `naive` when it has no UTC offset (it would silently be taken as local time)
    and `wrong_type` when it is not a datetime at all. Callers pass their own exception types, so each layer keeps
    reporting its errors its own way; the messages name `name`."""
    if not isinstance(value, datetime):
        raise wrong_type(f'{name} must be a datetime with a timezone, got {type(value).__name__}')
    if value.tzinfo is None or value.utcoffset() is None:
        raise naive(f'{name}={value.isoformat()} has no timezone; pass a timezone-aware UTC datetime')
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise naive(f'{name}={value.isoformat()} is outside the years 1..9999 in UTC') from None


def _reference(relative_to: datetime | None) -> datetime:
    return now() if relative_to is None else require_aware('relative_to', relative_to)


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f'n must be a whole number, got {n!r}')
    return n


def _back(start: datetime, n: int, unit: str) -> datetime:
    """`start` minus `n` units; OverflowError with a message that names the count when leaving years 1..9999."""
    try:
        return start - timedelta(**{unit: _count(n)})
    except OverflowError:
        raise OverflowError(f'{n} {unit} from {start.date().isoformat()} leaves the supported years 1..9999') from None


def this_minute(relative_to: datetime | None = None) -> datetime:
    """Start of the minute containing the reference instant."""
    return _reference(relative_to).replace(second=0, microsecond=0)


def this_hour(relative_to: datetime | None = None) -> datetime:
    """Start of the hour containing the reference instant."""
    return _reference(relative_to).replace(minute=0, second=0, microsecond=0)


def this_day(relative_to: datetime | None = None) -> datetime:
    """UTC midnight starting the day that contains the reference instant."""
    return _reference(relative_to).replace(hour=0, minute=0, second=0, microsecond=0)


def this_week(relative_to: datetime | None = None) -> datetime:
    """Monday 00:00 UTC of the week containing the reference instant."""
    day = this_day(relative_to)
    return day - timedelta(days=day.weekday())


def this_month(relative_to: datetime | None = None) -> datetime:
    """The first of the month, 00:00 UTC, of the month containing the reference instant."""
    return this_day(relative_to).replace(day=1)


def minutes_ago(n: int, relative_to: datetime | None = None) -> datetime:
    """Start of the minute `n` minutes before the current minute."""
    return _back(this_minute(relative_to), n, 'minutes')


def hours_ago(n: int, relative_to: datetime | None = None) -> datetime:
    """Start of the hour `n` hours before the current hour."""
    return _back(this_hour(relative_to), n, 'hours')


def days_ago(n: int, relative_to: datetime | None = None) -> datetime:
    """Midnight UTC `n` days before the current day."""
    return _back(this_day(relative_to), n, 'days')


def weeks_ago(n: int, relative_to: datetime | None = None) -> datetime:
    """Monday 00:00 UTC `n` weeks before the current week."""
    return _back(this_week(relative_to), n, 'weeks')


def months_ago(n: int, relative_to: datetime | None = None) -> datetime:
    """The first of the month `n` months before the current month (negative `n` goes forward)."""
    start = this_month(relative_to)
    index = start.year * 12 + (start.month - 1) - _count(n)
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(f'{n} months from {start.date().isoformat()} leaves the supported years 1..9999')
    return start.replace(year=year, month=month0 + 1)


def last_minute(relative_to: datetime | None = None) -> datetime:
    """Start of the minute before the current one."""
    return minutes_ago(1, relative_to)


def last_hour(relative_to: datetime | None = None) -> datetime:
    """Start of the previous full hour."""
    return hours_ago(1, relative_to)


def last_day(relative_to: datetime | None = None) -> datetime:
    """Midnight UTC starting yesterday."""
    return days_ago(1, relative_to)


def last_week(relative_to: datetime | None = None) -> datetime:
    """Monday 00:00 UTC of the previous week."""
    return weeks_ago(1, relative_to)


def last_month(relative_to: datetime | None = None) -> datetime:
    """The first of the previous month, 00:00 UTC."""
    return months_ago(1, relative_to)


def iso(value: datetime) -> str:
    """ISO 8601 text of an aware datetime in UTC, e.g. '2024-02-29T00:00:00+00:00'.

    This is the form used in SQL literals, file names' metadata and JSON; naive values are refused so a local
    time can never pass for UTC.
    """
    return _reference(value).isoformat()
