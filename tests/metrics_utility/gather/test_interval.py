"""Window planning: horizon, watermarks, explicit windows, snapshots."""

from datetime import UTC, datetime, timedelta

import pytest

from metrics_utility.gather.interval import IntervalError, check_window, plan
from metrics_utility.gather.state import Watermarks
from metrics_utility.library.slicing import Window

pytestmark = pytest.mark.unit

NOW = datetime(2024, 3, 2, 10, 7, tzinfo=UTC)


def test_first_run_starts_at_the_horizon():
    (p,) = plan(['job_host_summary'], [], Watermarks(), NOW, max_days=2)
    assert p.windows[0].since == NOW - timedelta(days=2)
    assert p.windows[-1].until == NOW
    assert all(w.since < w.until for w in p.windows)


def test_each_collector_resumes_at_its_own_watermark():
    marks = Watermarks({'job_host_summary': datetime(2024, 3, 1, tzinfo=UTC), 'main_jobevent': NOW})
    jhs, events = plan(['job_host_summary', 'main_jobevent'], [], marks, NOW)
    assert jhs.windows == [
        Window(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)),
        Window(datetime(2024, 3, 2, tzinfo=UTC), NOW),
    ]
    assert events.windows == []  # up to date


def test_a_watermark_older_than_the_horizon_is_reported():
    marks = Watermarks({'job_host_summary': datetime(2023, 1, 1, tzinfo=UTC)})
    (p,) = plan(['job_host_summary'], [], marks, NOW, max_days=28)
    assert p.windows[0].since == NOW - timedelta(days=28)
    assert 'older than the 28-day horizon' in p.notes[0]


def test_until_in_the_future_is_clamped():
    (p,) = plan(
        ['job_host_summary'],
        [],
        Watermarks({'job_host_summary': NOW - timedelta(hours=1)}),
        NOW,
        until=NOW + timedelta(days=1),
    )
    assert p.windows[-1].until == NOW
    assert 'in the future' in p.notes[0]


def test_explicit_window_and_watermark_rules():
    since = datetime(2024, 2, 29, tzinfo=UTC)
    until = datetime(2024, 3, 1, tzinfo=UTC)
    behind = Watermarks({'job_host_summary': datetime(2024, 2, 29, 12, tzinfo=UTC)})
    (p,) = plan(['job_host_summary'], [], behind, NOW, since=since, until=until)
    assert p.windows == [Window(since, until)] and p.advances_watermark
    gap = Watermarks({'job_host_summary': datetime(2024, 2, 20, tzinfo=UTC)})
    (p,) = plan(['job_host_summary'], [], gap, NOW, since=since, until=until)
    assert not p.advances_watermark  # would jump over 20..29 Feb
    assert 'watermark kept' in p.notes[0]


def test_explicit_window_errors():
    with pytest.raises(IntervalError, match='not before'):
        plan(['x'], [], Watermarks(), NOW, since=NOW, until=NOW - timedelta(hours=1))
    with pytest.raises(IntervalError, match='more than the look-back horizon of 28 days'):
        plan(['x'], [], Watermarks(), NOW, since=NOW - timedelta(days=40))


def test_snapshot_collectors_get_one_window_ending_at_until():
    (p,) = plan([], ['main_host'], Watermarks(), NOW)
    assert p.snapshot and not p.advances_watermark
    assert p.windows == [Window(NOW - timedelta(seconds=1), NOW)]


def test_put_only_targets_never_get_an_uploaded_slice_again():
    marks = Watermarks({'job_host_summary': datetime(2024, 3, 1, tzinfo=UTC)})
    since = datetime(2024, 2, 28, tzinfo=UTC)
    (again,) = plan(['job_host_summary'], [], marks, NOW, since=since)
    assert again.windows[0].since == since  # readable targets: re-shipping overwrites
    (skipped,) = plan(['job_host_summary'], [], marks, NOW, since=since, skip_shipped=True)
    assert skipped.windows[0].since == datetime(2024, 3, 1, tzinfo=UTC)
    assert 'already uploaded' in skipped.notes[0]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('since', 'until', 'max_days', 'message'),
    [
        (
            None,
            datetime(1, 1, 2, tzinfo=UTC),
            28,
            '--until 0001-01-02T00:00:00+00:00 is too early: the look-back horizon of 28 days reaches before the '
            'year 0001',
        ),
        (
            datetime(2024, 3, 2, tzinfo=UTC),
            datetime(2024, 3, 1, tzinfo=UTC),
            28,
            '--since 2024-03-02T00:00:00+00:00 is not before --until 2024-03-01T00:00:00+00:00',
        ),
        (
            datetime(2099, 1, 1, tzinfo=UTC),
            None,
            28,
            '--since 2099-01-01T00:00:00+00:00 is not before --until 2024-03-02T10:07:00+00:00',
        ),
        (
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, tzinfo=UTC),
            3650,
            '--since 0001-01-01T00:00:00+00:00 .. --until 2024-03-02T10:07:00+00:00 spans 738946d 10h 7m, more than '
            'the look-back horizon of 3650 days (METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS); gather in several runs or '
            'raise the horizon',
        ),
    ],
    ids=['until-year-1', 'since-after-until', 'since-in-the-future', 'year-1-to-9999'],
)
def test_windows_that_cannot_be_gathered_are_refused_before_any_connection(since, until, max_days, message):
    with pytest.raises(IntervalError) as info:
        check_window(since, until, NOW, max_days)
    assert str(info.value) == message
