"""instants: UTC boundaries, Monday weeks, month arithmetic at month ends and leap years, naive input refused."""

from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics_utility.library import instants
from metrics_utility.library.instants import NaiveDatetimeError

pytestmark = pytest.mark.unit

REF = datetime(2024, 2, 29, 13, 47, 31, 123456, tzinfo=UTC)  # Thursday, leap day
aware = st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2900, 12, 31), timezones=st.sampled_from([UTC]))


def test_boundaries_of_a_leap_day():
    assert instants.this_minute(REF) == datetime(2024, 2, 29, 13, 47, tzinfo=UTC)
    assert instants.this_hour(REF) == datetime(2024, 2, 29, 13, tzinfo=UTC)
    assert instants.this_day(REF) == datetime(2024, 2, 29, tzinfo=UTC)
    assert instants.this_week(REF) == datetime(2024, 2, 26, tzinfo=UTC)  # Monday
    assert instants.this_month(REF) == datetime(2024, 2, 1, tzinfo=UTC)


def test_previous_units():
    assert instants.last_minute(REF) == datetime(2024, 2, 29, 13, 46, tzinfo=UTC)
    assert instants.last_hour(REF) == datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert instants.last_day(REF) == datetime(2024, 2, 28, tzinfo=UTC)
    assert instants.last_week(REF) == datetime(2024, 2, 19, tzinfo=UTC)
    assert instants.last_month(REF) == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ('ref', 'n', 'expected'),
    [
        (datetime(2024, 3, 31, 23, 59, tzinfo=UTC), 1, datetime(2024, 2, 1, tzinfo=UTC)),  # no 31 February
        (datetime(2024, 1, 31, tzinfo=UTC), 1, datetime(2023, 12, 1, tzinfo=UTC)),  # across the year
        (datetime(2024, 1, 15, tzinfo=UTC), 13, datetime(2022, 12, 1, tzinfo=UTC)),
        (datetime(2023, 12, 31, tzinfo=UTC), -1, datetime(2024, 1, 1, tzinfo=UTC)),  # forward
        (datetime(2024, 5, 31, tzinfo=UTC), 0, datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_months_ago(ref, n, expected):
    assert instants.months_ago(n, relative_to=ref) == expected


def test_days_ago_across_leap_day_and_year_end():
    assert instants.days_ago(1, relative_to=datetime(2024, 3, 1, 5, tzinfo=UTC)) == datetime(2024, 2, 29, tzinfo=UTC)
    assert instants.days_ago(1, relative_to=datetime(2023, 3, 1, 5, tzinfo=UTC)) == datetime(2023, 2, 28, tzinfo=UTC)
    assert instants.days_ago(366, relative_to=datetime(2024, 12, 31, tzinfo=UTC)) == datetime(2023, 12, 31, tzinfo=UTC)


def test_minutes_hours_weeks_ago():
    assert instants.minutes_ago(10, relative_to=REF) == datetime(2024, 2, 29, 13, 37, tzinfo=UTC)
    assert instants.hours_ago(14, relative_to=REF) == datetime(2024, 2, 28, 23, tzinfo=UTC)
    assert instants.weeks_ago(9, relative_to=REF) == datetime(2023, 12, 25, tzinfo=UTC)


def test_other_timezones_are_converted_to_utc():
    tokyo = datetime(2024, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=9)))  # 2024-02-29 23:30 UTC
    assert instants.this_day(tokyo) == datetime(2024, 2, 29, tzinfo=UTC)
    assert instants.this_day(tokyo).tzinfo is UTC
    assert instants.iso(tokyo) == '2024-02-29T23:30:00+00:00'


@pytest.mark.parametrize(
    'func',
    [instants.this_hour, instants.last_month, instants.iso, lambda d: instants.days_ago(1, relative_to=d)],
)
def test_naive_reference_is_refused(func):
    with pytest.raises(NaiveDatetimeError, match='has no timezone'):
        func(datetime(2024, 2, 29, 12))


def test_bad_counts_are_refused():
    with pytest.raises(TypeError, match='whole number'):
        instants.days_ago(1.5, relative_to=REF)
    with pytest.raises(TypeError, match='whole number'):
        instants.months_ago(True, relative_to=REF)


def test_now_is_aware_utc():
    value = instants.now()
    assert value.tzinfo is UTC
    assert instants.this_month().tzinfo is UTC


@given(aware)
def test_this_unit_is_a_floor(ref):
    for floor, unit in [
        (instants.this_minute, timedelta(minutes=1)),
        (instants.this_hour, timedelta(hours=1)),
        (instants.this_day, timedelta(days=1)),
        (instants.this_week, timedelta(weeks=1)),
    ]:
        start = floor(ref)
        assert start <= ref < start + unit
        assert floor(start) == start  # idempotent
    assert instants.this_week(ref).weekday() == 0
    month = instants.this_month(ref)
    assert month.day == 1 and month <= ref
    assert instants.months_ago(-1, relative_to=ref) > ref


@given(aware, st.integers(min_value=-400, max_value=400))
def test_month_arithmetic_is_consistent(ref, n):
    start = instants.months_ago(n, relative_to=ref)
    assert start.day == 1 and start.hour == 0 and start.tzinfo is UTC
    months = (ref.year - start.year) * 12 + ref.month - start.month
    assert months == n
    assert instants.months_ago(-n, relative_to=start) == instants.this_month(ref)


@given(aware, st.integers(min_value=0, max_value=5000))
def test_days_ago_is_whole_days_before_today(ref, n):
    value = instants.days_ago(n, relative_to=ref)
    assert instants.this_day(ref) - value == timedelta(days=n)


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('func', 'n', 'ref', 'message'),
    [
        (instants.days_ago, 99_999_999, REF, '99999999 days from 2024-02-29 leaves the supported years 1..9999'),
        (instants.days_ago, 10**12, REF, '1000000000000 days from 2024-02-29 leaves the supported years 1..9999'),
        (
            instants.minutes_ago,
            -(10**10),
            REF,
            '-10000000000 minutes from 2024-02-29 leaves the supported years 1..9999',
        ),
        (
            instants.hours_ago,
            1,
            datetime(1, 1, 1, 0, 30, tzinfo=UTC),
            '1 hours from 0001-01-01 leaves the supported years 1..9999',
        ),
        (
            instants.weeks_ago,
            -1,
            datetime(9999, 12, 31, tzinfo=UTC),
            '-1 weeks from 9999-12-27 leaves the supported years 1..9999',
        ),
    ],
    ids=[
        'days-past-year-1',
        'days-beyond-timedelta',
        'minutes-forward-past-9999',
        'hour-before-year-1',
        'week-after-9999',
    ],
)
def test_counts_that_leave_the_calendar_raise_overflow_naming_the_count(func, n, ref, message):
    with pytest.raises(OverflowError) as info:
        func(n, relative_to=ref)
    assert str(info.value) == message


class _Floating(tzinfo):
    """A tzinfo without an offset: such a datetime is naive although tzinfo is set."""

    def utcoffset(self, dt):
        return None


NO_ZONE = 'until=2024-02-29T12:00:00 has no timezone; pass a timezone-aware UTC datetime'
NOT_A_DATETIME = 'until must be a datetime with a timezone, got '
FIVE_EAST, FIVE_WEST = timezone(timedelta(hours=5)), timezone(timedelta(hours=-5))


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('value', 'error', 'message'),
    [
        (datetime(2024, 2, 29, 12), NaiveDatetimeError, NO_ZONE),
        (datetime(2024, 2, 29, 12, tzinfo=_Floating()), NaiveDatetimeError, NO_ZONE),
        ('2024-02-29T12:00:00Z', TypeError, NOT_A_DATETIME + 'str'),
        (1709208000, TypeError, NOT_A_DATETIME + 'int'),
        (None, TypeError, NOT_A_DATETIME + 'NoneType'),
        (datetime(2024, 2, 29).date(), TypeError, NOT_A_DATETIME + 'date'),
        (
            datetime.min.replace(tzinfo=FIVE_EAST),
            NaiveDatetimeError,
            'until=0001-01-01T00:00:00+05:00 is outside the years 1..9999 in UTC',
        ),
        (
            datetime.max.replace(tzinfo=FIVE_WEST),
            NaiveDatetimeError,
            'until=9999-12-31T23:59:59.999999-05:00 is outside the years 1..9999 in UTC',
        ),
    ],
    ids=[
        'naive',
        'tzinfo-without-offset',
        'iso-text',
        'epoch-seconds',
        'none',
        'date-only',
        'before-year-1-in-utc',
        'after-year-9999-in-utc',
    ],
)
def test_require_aware_refuses_what_is_not_an_instant(value, error, message):
    with pytest.raises(error) as caught:
        instants.require_aware('until', value)
    assert str(caught.value) == message


def test_require_aware_raises_the_callers_own_types_and_converts_to_utc():
    with pytest.raises(KeyError):
        instants.require_aware('x', 'text', naive=ValueError, wrong_type=KeyError)
    with pytest.raises(LookupError, match=r'^x=2024-02-29T12:00:00 has no timezone'):
        instants.require_aware('x', datetime(2024, 2, 29, 12), naive=LookupError)
    tokyo = datetime(2024, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=9)))
    assert instants.require_aware('x', tokyo) == datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    assert instants.require_aware('x', tokyo).tzinfo is UTC
