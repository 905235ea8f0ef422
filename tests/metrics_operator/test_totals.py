"""Cumulative totals in status: each finished Job counted once, however often it is folded (pure)."""

from __future__ import annotations

import pytest

from metrics_operator import job_records, status, totals, worker_summary

pytestmark = pytest.mark.unit
READY = status.ReadyState('True', 'Reconciled', 'ok')


def record(name: str, finished: str, outcome: str = 'succeeded', rows: int | None = 10) -> job_records.JobRecord:
    found = (
        worker_summary.Summary(ok=outcome == 'succeeded', rows=rows, bytes=100, packages=1)
        if rows is not None
        else None
    )
    return job_records.JobRecord(name=name, kind='gather', outcome=outcome, finished=finished, summary=found)


def compose(previous: dict, jobs: list[job_records.JobRecord]) -> dict:
    new, _ = status.compose(previous, READY, jobs, generation=1, enabled=['gather'], now='2026-03-02T10:00:00Z')
    return new


def test_each_job_counts_once_across_folds_and_relists():
    first = [record('g-1', '2026-03-02T04:01:00Z'), record('g-2', '2026-03-02T05:01:00Z', 'failed', rows=None)]
    once = compose({}, first)
    assert once['gather']['totals'] == {'succeeded': 1, 'failed': 1, 'rows': 10, 'bytes': 100, 'packages': 1}
    assert once['gather']['countedThrough'] == {'finishTime': '2026-03-02T05:01:00Z', 'job': 'g-2'}
    # The same Jobs seen again (timer, restart re-list) change nothing; a new one adds its figures only.
    assert compose(once, first) == once
    later = compose(once, [*first, record('g-3', '2026-03-02T06:01:00Z', rows=5)])
    assert later['gather']['totals'] == {'succeeded': 2, 'failed': 1, 'rows': 15, 'bytes': 200, 'packages': 2}
    # History limits removed the old Jobs: totals stay.
    assert (
        compose(later, [record('g-3', '2026-03-02T06:01:00Z', rows=5)])['gather']['totals'] == later['gather']['totals']
    )


def test_active_jobs_and_nothing_new_write_nothing():
    active = job_records.JobRecord(name='g-9', kind='gather', outcome='active')
    assert totals.accumulate({}, []) == {}
    assert 'totals' not in compose({}, [active]).get('gather', {})


def test_report_and_usage_figures_reach_status():
    report = job_records.JobRecord(
        name='r-1',
        kind='report',
        outcome='succeeded',
        finished='2026-03-02T04:05:00Z',
        summary=worker_summary.Summary(
            ok=True, report='reports/2026/02/CCSPv2-2026-02.xlsx', quantity=42, period='2026-02'
        ),
    )
    usage = worker_summary.MonthUsage(month='2026-03', unique_managed_nodes=17, job_runs=5)
    gather = job_records.JobRecord(
        name='g-1',
        kind='gather',
        outcome='succeeded',
        finished='2026-03-02T04:01:00Z',
        summary=worker_summary.Summary(ok=True, rows=1, usage=usage),
    )
    new, _ = status.compose({}, READY, [report, gather], generation=1, enabled=['gather', 'report'], now='x')
    assert new['report']['billedQuantity'] == 42 and new['report']['lastPeriod'] == '2026-02'
    assert new['gather']['usage'] == {'month': '2026-03', 'uniqueManagedNodes': 17, 'jobRuns': 5}
