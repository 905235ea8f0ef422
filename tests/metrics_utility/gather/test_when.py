"""--since/--until parsing: ISO and relative forms, always UTC."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from metrics_utility.gather.when import WhenError, format_duration, parse_when

pytestmark = pytest.mark.unit

NOW = datetime(2024, 3, 31, 10, 17, 42, tzinfo=UTC)


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('2024-02-29', datetime(2024, 2, 29, tzinfo=UTC)),
        ('2024-02-29T10:30', datetime(2024, 2, 29, 10, 30, tzinfo=UTC)),  # no offset: UTC, never local time
        ('2024-02-29T10:30:00Z', datetime(2024, 2, 29, 10, 30, tzinfo=UTC)),
        ('2024-02-29T10:30:00+02:00', datetime(2024, 2, 29, 8, 30, tzinfo=UTC)),
        ('10m', datetime(2024, 3, 31, 10, 7, tzinfo=UTC)),
        ('10min', datetime(2024, 3, 31, 10, 7, tzinfo=UTC)),
        ('2minutes', datetime(2024, 3, 31, 10, 15, tzinfo=UTC)),
        ('2h', datetime(2024, 3, 31, 8, tzinfo=UTC)),
        ('1d', datetime(2024, 3, 31, tzinfo=UTC)),
        ('2days', datetime(2024, 3, 30, tzinfo=UTC)),
        ('1mo', datetime(2024, 2, 29, tzinfo=UTC)),  # 31 March minus a month: clamped to the leap day
        ('13months', datetime(2023, 2, 28, tzinfo=UTC)),
        (' 3D ', datetime(2024, 3, 29, tzinfo=UTC)),
    ],
)
def test_forms(text, expected):
    value = parse_when(text, NOW)
    assert value == expected
    assert value.tzinfo is UTC


def test_relative_to_a_non_utc_now():
    tokyo_now = NOW.astimezone(timezone(timedelta(hours=9)))
    assert parse_when('1d', tokyo_now) == datetime(2024, 3, 31, tzinfo=UTC)


@pytest.mark.parametrize(('text', 'message'), [('42', 'bare number'), ('yesterday', 'not a date'),
                                               ('2024-02-30', 'not a date'), ('10y', 'not a date')])  # fmt: skip
def test_bad_values_name_the_option(text, message):
    with pytest.raises(WhenError, match=message) as info:
        parse_when(text, NOW, option='--until')
    assert '--until' in str(info.value)


def test_format_duration():
    assert format_duration(timedelta(days=3, hours=4, minutes=5)) == '3d 4h 5m'
    assert format_duration(timedelta(seconds=7)) == '7s'
