"""The API's query parameters, checked as pure functions: each bad value is one exact 400 message.

Why strict: every parameter reaches the storage layer (dates become object prefixes) or an answer, so only the
documented forms pass: ISO dates `YYYY-MM-DD`, one value per parameter, no control characters, bounded lengths,
ranges that end after they start and span at most MAX_RANGE_DAYS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from metrics_utility.library.usage_periods import BY, By
from metrics_utility.settings.messages import shown

MAX_RANGE_DAYS = 3660  # ten years of days
MAX_COLLECTION_DAYS = 366
MAX_FUTURE_DAYS = 366  # until may reach into the next year (a year's chart), no further
MAX_VALUE_CHARS = 512
FIRST_DAY = date(1970, 1, 1)
_DAY = re.compile(r'[0-9]{4}-[0-9]{2}-[0-9]{2}')
USAGE_PARAMETERS = ('by', 'since', 'until', 'organization', 'mode')
COLLECTION_PARAMETERS = ('since', 'until')
MODES = ('raw', 'plot')


class ParameterError(ValueError):
    """A query parameter is not acceptable; the message is the API's 400 answer."""


@dataclass(frozen=True)
class UsageQuery:
    by: By
    since: date
    until: date
    organization: str | None
    mode: str


@dataclass(frozen=True)
class RangeQuery:
    since: date
    until: date


def _single(query: Mapping[str, Sequence[str]], allowed: tuple[str, ...]) -> dict[str, str]:
    """Each parameter given once, known, printable and of bounded length."""
    unknown = sorted(k for k in query if k not in allowed)
    if unknown:
        raise ParameterError(f'unknown parameter {shown(unknown[0])}; expected some of: {", ".join(allowed)}')
    values = {}
    for name in allowed:
        given = list(query.get(name, ()))
        if not given:
            continue
        if len(given) > 1:
            raise ParameterError(f'parameter {name} is given {len(given)} times; give it once')
        value = given[0]
        if len(value) > MAX_VALUE_CHARS:
            raise ParameterError(f'parameter {name} is too long ({len(value)} characters; at most {MAX_VALUE_CHARS})')
        if any(not c.isprintable() for c in value):
            raise ParameterError(f'parameter {name}={shown(value)} contains control characters')
        values[name] = value
    return values


def parse_day(name: str, value: str) -> date:
    if not _DAY.fullmatch(value):
        raise ParameterError(f'{name}={shown(value)} is not a date; expected YYYY-MM-DD (UTC), e.g. 2026-11-01')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ParameterError(f'{name}={shown(value)} is not a day of the calendar; expected YYYY-MM-DD') from None


def _range(values: dict[str, str], today: date, default_days: int, max_days: int) -> RangeQuery:
    until = parse_day('until', values['until']) if 'until' in values else today + timedelta(days=1)
    since = parse_day('since', values['since']) if 'since' in values else until - timedelta(days=default_days)
    if since < FIRST_DAY:
        raise ParameterError(f'since={since} is before {FIRST_DAY}; no controller holds older data')
    if until > today + timedelta(days=MAX_FUTURE_DAYS):
        raise ParameterError(f'until={until} is more than {MAX_FUTURE_DAYS} days after today ({today})')
    if since >= until:
        raise ParameterError(f'since={since} is not before until={until} (until is excluded)')
    if (until - since).days > max_days:
        raise ParameterError(f'the range {since} to {until} spans {(until - since).days} days; at most {max_days}')
    return RangeQuery(since, until)


def usage_query(query: Mapping[str, Sequence[str]], today: date) -> UsageQuery:
    """`by` (default month), `since`/`until` (default: the year before tomorrow), `organization`, `mode`."""
    values = _single(query, USAGE_PARAMETERS)
    by = values.get('by', 'month')
    if by not in BY:
        raise ParameterError(f'by={shown(by)} is not a period; expected one of: {", ".join(BY)}')
    mode = values.get('mode', 'raw')
    if mode not in MODES:
        raise ParameterError(f'mode={shown(mode)} is not a mode; expected raw or plot')
    organization = values.get('organization')
    if organization is not None and not organization.strip():
        raise ParameterError('organization is empty; leave it out for every organization')
    span = _range(values, today, 365, MAX_RANGE_DAYS)
    return UsageQuery(by, span.since, span.until, organization, mode)  # type: ignore[arg-type]


def collection_query(query: Mapping[str, Sequence[str]], today: date) -> RangeQuery:
    """`since`/`until` of the collection view (default: the last 30 days, today included)."""
    return _range(_single(query, COLLECTION_PARAMETERS), today, 30, MAX_COLLECTION_DAYS)
