"""--since/--until parsing: ISO and relative forms, always UTC."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from metrics_utility.settings.when import WhenError, format_duration, parse_when

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


@pytest.mark.parametrize(
    ('text', 'message'),
    [('42', 'bare number'), ('yesterday', 'not a date'), ('2024-02-30', 'not a date'), ('10y', 'not a date')],
)
def test_bad_values_name_the_option(text, message):
    with pytest.raises(WhenError, match=message) as info:
        parse_when(text, NOW, option='--until')
    assert '--until' in str(info.value)


def test_format_duration():
    assert format_duration(timedelta(days=3, hours=4, minutes=5)) == '3d 4h 5m'
    assert format_duration(timedelta(seconds=7)) == '7s'


EXPECTED = (
    'expected an ISO date or datetime (2024-02-29, 2024-02-29T10:00:00Z) or a relative form such as 10m, 2h, 3d or 1mo'
)
OUT_OF_RANGE = 'is out of range: it reaches before the year 0001'


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('text', 'message'),
    [
        ('99999999d', f"--since='99999999d' {OUT_OF_RANGE}"),
        ('30000mo', f"--since='30000mo' {OUT_OF_RANGE}"),
        ('999999999m', None),  # the largest count accepted: about 1,900 years back
        ('1000000000m', f"--since='1000000000m' {OUT_OF_RANGE}"),
        ('9' * 5000 + 'd', f"--since='{'9' * 200}'… (5001 characters) {OUT_OF_RANGE}"),  # beyond int()'s limit
        ('0000-01-01', "--since='0000-01-01' is out of range; years run from 0001 to 9999"),
        ('10000-01-01', "--since='10000-01-01' is out of range; years run from 0001 to 9999"),
        (
            '9999-12-31T23:59:59-01:00',
            "--since='9999-12-31T23:59:59-01:00' is out of range in UTC; years run from 0001 to 9999",
        ),
        (
            '0001-01-01T00:30+01:00',
            "--since='0001-01-01T00:30+01:00' is out of range in UTC; years run from 0001 to 9999",
        ),
        ('-3d', "--since='-3d' is negative; relative forms count back from now, e.g. 3d"),
        ('0d', "--since='0d': days count from 1 (1d is today 00:00 UTC, 2d yesterday 00:00)"),
        ('٣d', f"--since='٣d' is not a date; {EXPECTED} (ASCII digits only)"),
        ('', f'--since is empty; {EXPECTED}'),
        (' \t ', f'--since is empty; {EXPECTED}'),
    ],
    ids=[
        '99999999d',
        '30000mo',
        'max-minutes',
        'minutes-overflow',
        '5000-digits',
        'year-0',
        'year-10000',
        'offset-into-year-10000',
        'offset-before-year-1',
        'negative',
        '0d',
        'arabic-indic-digit',
        'empty',
        'whitespace',
    ],
)
def test_hostile_values_get_one_message_naming_the_option(text, message):
    if message is None:
        assert parse_when(text, NOW) == datetime(122, 12, 3, 23, 38, tzinfo=UTC)
        return
    with pytest.raises(WhenError) as info:
        parse_when(text, NOW)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('0m', datetime(2024, 3, 31, 10, 17, tzinfo=UTC)),
        ('0h', datetime(2024, 3, 31, 10, tzinfo=UTC)),
        ('0mo', datetime(2024, 3, 31, tzinfo=UTC)),
        ('0001d', datetime(2024, 3, 31, tzinfo=UTC)),
    ],
)
def test_zero_counts_of_minutes_hours_and_months_are_now(text, expected):
    """The operator renders --until=<untilLag> and its CRD accepts 0m: it means the current minute."""
    assert parse_when(text, NOW) == expected
