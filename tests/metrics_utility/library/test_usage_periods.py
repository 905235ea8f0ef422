"""Usage by period: the periods themselves (pure), figures as the report counts them, and the per-day cache (what
is read again, what is never written)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from metrics_utility.library.reports import ReportOptions, build
from metrics_utility.library.storage import StorageDirectory, StorageError
from metrics_utility.library.storage.multi import MultiStorage
from metrics_utility.library.usage import month_to_date
from metrics_utility.library.usage_periods import Period, UsageReader, periods
from testsupport.report_data import synthetic, write_tarball

pytestmark = pytest.mark.unit
D = date

PERIODS = {
    'days': (
        'day',
        D(2026, 2, 27),
        D(2026, 3, 2),
        [
            ('2026-02-27', D(2026, 2, 27), D(2026, 2, 28)),
            ('2026-02-28', D(2026, 2, 28), D(2026, 3, 1)),
            ('2026-03-01', D(2026, 3, 1), D(2026, 3, 2)),
        ],
    ),
    'weeks-start-on-monday-and-clip': (
        'week',
        D(2026, 11, 5),
        D(2026, 11, 17),
        [
            ('2026-W45', D(2026, 11, 5), D(2026, 11, 9)),
            ('2026-W46', D(2026, 11, 9), D(2026, 11, 16)),
            ('2026-W47', D(2026, 11, 16), D(2026, 11, 17)),
        ],
    ),
    'iso-week-53-across-new-year': (
        'week',
        D(2026, 12, 28),
        D(2027, 1, 5),
        [('2026-W53', D(2026, 12, 28), D(2027, 1, 4)), ('2027-W01', D(2027, 1, 4), D(2027, 1, 5))],
    ),
    'iso-week-1-in-december': ('week', D(2025, 12, 29), D(2026, 1, 1), [('2026-W01', D(2025, 12, 29), D(2026, 1, 1))]),
    'months-clipped': (
        'month',
        D(2024, 1, 15),
        D(2024, 3, 10),
        [
            ('2024-01', D(2024, 1, 15), D(2024, 2, 1)),
            ('2024-02', D(2024, 2, 1), D(2024, 3, 1)),
            ('2024-03', D(2024, 3, 1), D(2024, 3, 10)),
        ],
    ),
    'quarters': (
        'quarter',
        D(2026, 3, 31),
        D(2026, 10, 1),
        [
            ('2026-Q1', D(2026, 3, 31), D(2026, 4, 1)),
            ('2026-Q2', D(2026, 4, 1), D(2026, 7, 1)),
            ('2026-Q3', D(2026, 7, 1), D(2026, 10, 1)),
        ],
    ),
    'years': (
        'year',
        D(2025, 12, 31),
        D(2027, 1, 2),
        [
            ('2025', D(2025, 12, 31), D(2026, 1, 1)),
            ('2026', D(2026, 1, 1), D(2027, 1, 1)),
            ('2027', D(2027, 1, 1), D(2027, 1, 2)),
        ],
    ),
    'one-day-of-a-year': ('year', D(2026, 6, 1), D(2026, 6, 2), [('2026', D(2026, 6, 1), D(2026, 6, 2))]),
}


@pytest.mark.parametrize(('by', 'since', 'until', 'expected'), PERIODS.values(), ids=list(PERIODS))
def test_periods_are_calendar_periods_clipped_to_the_range(by, since, until, expected):
    assert periods(by, since, until) == [Period(*p) for p in expected]


@pytest.fixture
def month(tmp_path: Path) -> Path:
    """Synthetic packages from 27 Feb to 2 Mar 2024 (no rollups yet)."""
    synthetic(date(2024, 2, 27), 5).write(tmp_path)
    return tmp_path


def test_a_month_equals_the_report_and_month_to_date(month, tmp_path_factory):
    storage = StorageDirectory(month)
    (february,) = UsageReader(storage).usage('month', date(2024, 2, 1), date(2024, 3, 1))
    out = tmp_path_factory.mktemp('out') / 'r.xlsx'
    options = ReportOptions('CCSPv2', date(2024, 2, 1), date(2024, 3, 1), month='2024-02', sheets=('jobs',))
    result = build(StorageDirectory(month), options, out)
    assert february.managed_nodes == result.quantity > 10
    assert february.job_runs == result.job_runs > 5
    mtd = month_to_date(StorageDirectory(month), date(2024, 2, 29))
    assert (february.managed_nodes, february.job_runs) == (mtd.unique_managed_nodes, mtd.job_runs)


def test_organizations_split_the_figures(month):
    reader = UsageReader(StorageDirectory(month))
    everyone = reader.usage('year', date(2024, 1, 1), date(2025, 1, 1))[0]
    parts = [reader.usage('year', date(2024, 1, 1), date(2025, 1, 1), org)[0] for org in ('Default', 'Acme, Inc.')]
    parts.append(reader.usage('year', date(2024, 1, 1), date(2025, 1, 1), 'Zürich Netzwerk')[0])
    assert sum(p.job_runs for p in parts) <= everyone.job_runs  # jobs without organization belong to none
    assert sum(p.task_runs for p in parts) <= everyone.task_runs
    assert all(p.managed_nodes > 0 for p in parts)
    nobody = reader.usage('year', date(2024, 1, 1), date(2025, 1, 1), 'No such org')[0]
    assert (nobody.managed_nodes, nobody.job_runs, nobody.task_runs) == (0, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_unchanged_days_are_not_read_again_and_changed_ones_are(month):
    clock = Clock()
    reader = UsageReader(StorageDirectory(month), ttl=60, clock=clock)
    first = reader.usage('day', date(2024, 2, 27), date(2024, 3, 3))
    assert reader.days_read == 5
    assert reader.usage('day', date(2024, 2, 27), date(2024, 3, 3)) == first
    clock.now = 120  # checked again: nothing changed, nothing read
    assert reader.usage('month', date(2024, 2, 1), date(2024, 4, 1))[0].managed_nodes > 0
    assert reader.days_read == 5
    since = datetime(2024, 2, 28, 12, tzinfo=UTC)
    row = {
        'id': 999_999,
        'host_name': 'late-host.example.com',
        'ok': 1,
        'job_remote_id': 987_654,
        'organization_name': 'Default',
        'job_template_name': 't',
        'created': since,
        'modified': since,
        'job_created': since,
    }
    write_tarball(month, key='job_host_summary', rows=[row], since=since, until=since + timedelta(hours=1))
    assert reader.usage('day', date(2024, 2, 28), date(2024, 2, 29)) == [first[1]]  # within the ttl: as before
    clock.now = 240
    (day,) = reader.usage('day', date(2024, 2, 28), date(2024, 2, 29))
    assert reader.days_read == 6  # only that day
    assert (day.managed_nodes, day.job_runs) == (first[1].managed_nodes + 1, first[1].job_runs + 1)


def test_days_without_rollups_are_not_written_unless_asked(month):
    span = (date(2024, 2, 1), date(2024, 4, 1))
    organizations = (None, 'Default', 'Acme, Inc.')
    in_memory = UsageReader(StorageDirectory(month))
    built = {org: in_memory.usage('day', *span, org) for org in organizations}
    assert not (month / 'rollups').exists()
    UsageReader(StorageDirectory(month), persist=True).usage('month', *span)
    assert sorted(p.parent.name for p in (month / 'rollups').rglob('manifest.json')) == ['01', '02', '27', '28', '29']
    persisted = UsageReader(StorageDirectory(month))  # from the persisted rollups' columns (pyarrow): same figures
    assert {org: persisted.usage('day', *span, org) for org in organizations} == built
    assert persisted.days_read == 5


class ReadOnlyDirectory(StorageDirectory):
    """A directory mounted read-only (root in a test ignores file modes, so the refusal is the mount's answer)."""

    def _store(self, name, kind, value):
        raise StorageError(f'cannot write {name} to {self.describe()}: Read-only file system')


def test_a_read_only_storage_still_answers(month, caplog):
    reader = UsageReader(ReadOnlyDirectory(month), persist=True)
    (february,) = reader.usage('month', date(2024, 2, 1), date(2024, 3, 1))
    assert february.managed_nodes > 10
    assert not (month / 'rollups').exists()
    assert 'cannot persist rollups of 2024-02-27' in caplog.text


def test_additional_sources_add_their_packages(tmp_path):
    main, other = tmp_path / 'main', tmp_path / 'other'
    synthetic(date(2024, 2, 27), 1).write(main)
    synthetic(date(2024, 2, 28), 1, install_uuid='7c0f6a52-9d1e-4c55-8a0b-3e2f1d4c5b6a', seed=9).write(other)
    alone = UsageReader(StorageDirectory(main)).usage('month', date(2024, 2, 1), date(2024, 3, 1))[0]
    both = UsageReader(MultiStorage(StorageDirectory(main), [StorageDirectory(other)]))
    combined = both.usage('month', date(2024, 2, 1), date(2024, 3, 1))[0]
    assert combined.job_runs > alone.job_runs
    assert not (other / 'rollups').exists()
