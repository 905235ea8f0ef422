from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from metrics_utility.library.slicing import Window, daily_slices


def d(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_whole_days_end_at_utc_midnight():
    assert daily_slices(d(2024, 1, 1), d(2024, 1, 3)) == [
        (d(2024, 1, 1), d(2024, 1, 2)),
        (d(2024, 1, 2), d(2024, 1, 3)),
    ]


def test_partial_first_and_last_days_across_leap_day():
    assert daily_slices(d(2024, 2, 28, 15), d(2024, 3, 1, 6)) == [
        (d(2024, 2, 28, 15), d(2024, 2, 29)),
        (d(2024, 2, 29), d(2024, 3, 1)),
        (d(2024, 3, 1), d(2024, 3, 1, 6)),
    ]


def test_window_inside_one_day_is_one_slice():
    assert daily_slices(d(2024, 5, 1, 1), d(2024, 5, 1, 2)) == [(d(2024, 5, 1, 1), d(2024, 5, 1, 2))]


def test_other_offsets_are_cut_at_utc_midnight_not_local_midnight():
    cest = timezone(timedelta(hours=2))
    slices = daily_slices(datetime(2024, 6, 1, 1, tzinfo=cest), datetime(2024, 6, 2, 1, tzinfo=cest))
    assert slices == [(d(2024, 5, 31, 23), d(2024, 6, 1)), (d(2024, 6, 1), d(2024, 6, 1, 23))]
    assert all(s.tzinfo is UTC and u.tzinfo is UTC for s, u in slices)


def test_slices_tile_the_window_without_gaps():
    slices = daily_slices(d(2023, 12, 30, 7, 30), d(2024, 1, 4, 0, 0, 1))
    assert slices[0][0] == d(2023, 12, 30, 7, 30) and slices[-1][1] == d(2024, 1, 4, 0, 0, 1)
    assert all(a[1] == b[0] for a, b in pairwise(slices))
    assert all(u.time() == datetime.min.time() for _, u in slices[:-1])


def test_empty_window_has_no_slices():
    assert daily_slices(d(2024, 1, 1), d(2024, 1, 1)) == []


@pytest.mark.parametrize(
    ('since', 'until', 'message'),
    [
        (datetime(2024, 1, 1), d(2024, 1, 2), 'no timezone'),
        (d(2024, 1, 1), datetime(2024, 1, 2), 'no timezone'),
        (d(2024, 1, 2), d(2024, 1, 1), 'must not be after'),
    ],
)
def test_bad_windows_are_refused(since, until, message):
    with pytest.raises(ValueError, match=message):
        daily_slices(since, until)


@pytest.mark.hostile
def test_the_last_representable_day_is_one_slice_without_a_next_midnight():
    """No midnight follows 9999-12-31; its slice ends at `until` instead of overflowing."""
    assert daily_slices(d(9999, 12, 30, 5), d(9999, 12, 31, 23, 59, 59)) == [
        (d(9999, 12, 30, 5), d(9999, 12, 31)),
        (d(9999, 12, 31), d(9999, 12, 31, 23, 59, 59)),
    ]


def test_slices_are_windows_cut_at_utc_midnight_including_the_leap_day():
    now = d(2024, 3, 2, 10, 7)
    slices = daily_slices(d(2024, 2, 28, 15), now)
    assert slices == [
        Window(d(2024, 2, 28, 15), d(2024, 2, 29)),
        Window(d(2024, 2, 29), d(2024, 3, 1)),
        Window(d(2024, 3, 1), d(2024, 3, 2)),
        Window(d(2024, 3, 2), now),
    ]
    assert (slices[-1].since, slices[-1].until) == (d(2024, 3, 2), now)
    assert slices[-1].as_json() == {'since': '2024-03-02T00:00:00+00:00', 'until': '2024-03-02T10:07:00+00:00'}
    assert daily_slices(now, now) == []
