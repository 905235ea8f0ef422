"""Reports over a claim that metrics-utility filled, alone or together with us: equal to SQL over the controller.

April 2024 of a month-long synthetic controller. (a) metrics-utility gathered all of it, in three hourly-CronJob-like
runs (partial days where a run stopped). (b) metrics-utility gathered days 1–10 up to 13:37:01, our first gather
continued from its watermark in the controller database, and then one more of its runs (a CronJob not yet removed)
shipped 10 April 13:37:01 to 12 April 06:00 again: day 12 holds the same summaries twice, under other names. Either
way CCSPv2 and RENEWAL_GUIDANCE must count each summary and each host metric exactly once (docs/migrate.md).
"""

from __future__ import annotations

import itertools
import json
import os
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from metrics_utility.cli import main
from metrics_utility.demo.database import build
from metrics_utility.demo.generator import DatasetSpec
from testsupport import upstream_packages as up
from testsupport.controller_truth import reachable_summaries

from .commands.conftest import shipped_ids

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APRIL = (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC))
KEYS = ['job_host_summary', 'main_jobevent', 'main_indirectmanagednodeaudit', 'main_hostmetric']
STOP = datetime(2024, 4, 10, 13, 37, 1, tzinfo=UTC)  # where metrics-utility's last run before the switch ended


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 4, day, hour, tzinfo=UTC)


@pytest.fixture(scope='module')
def month(postgres):
    db, _ = build(postgres, DatasetSpec(scale='small', start=APRIL[0], days=30, seed=11), dbname='upstream_month')
    with db.connect_owner() as conn:
        install_uuid = conn.execute("SELECT value #>> '{}' FROM conf_setting WHERE key = 'INSTALL_UUID'").fetchone()[0]
    return db, install_uuid


def _upstream_runs(month, ship: Path, work: Path, *bounds: datetime) -> list[Path]:
    """metrics-utility's gathers between consecutive `bounds` (each run resumes where the previous one stopped)."""
    db, install_uuid = month
    paths: list[Path] = []
    with db.connect_reader() as conn:
        for number, (start, until) in enumerate(itertools.pairwise(bounds)):
            paths += up.gather(
                conn,
                ship,
                work / f'run{number}-{start:%d%H}',
                install_uuid=install_uuid,
                keys=KEYS,
                start=start,
                until=until,
            )
    return paths


def _run(env: dict[str, str], *argv: str) -> int:
    saved = {k: v for k, v in os.environ.items() if k.startswith('METRICS_UTILITY_')}
    for key in saved:
        del os.environ[key]
    os.environ.update(env)
    try:
        return main(list(argv))
    finally:
        for key in env:
            os.environ.pop(key, None)
        os.environ.update(saved)


def _env(db, ship: Path, **extra: str) -> dict[str, str]:
    return {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PRICE_PER_NODE': '11.50',
        **extra,
    }


def _reports(db, ship: Path) -> tuple:
    env = _env(db, ship)
    assert _run(env, 'build-report', '--month', '2024-04', '--sheets', 'all') == 0
    assert _run(env, 'build-report', '--type', 'RENEWAL_GUIDANCE', '--since', '2024-04-01') == 0
    ccsp = load_workbook(ship / 'reports/2024/04/CCSPv2-2024-04.xlsx')
    (renewal,) = (ship / 'reports').rglob('RENEWAL_GUIDANCE-*.xlsx')
    return ccsp, load_workbook(renewal)


@pytest.fixture(scope='module')
def upstream_only(month, tmp_path_factory):
    ship, work = tmp_path_factory.mktemp('upstream-only'), tmp_path_factory.mktemp('upstream-work')
    packages = _upstream_runs(month, ship, work, APRIL[0], STOP, at(20, 8), APRIL[1])
    return packages, *_reports(month[0], ship)


@pytest.fixture(scope='module')
def mixed(month, tmp_path_factory):
    db, _ = month
    ship, work = tmp_path_factory.mktemp('mixed'), tmp_path_factory.mktemp('mixed-work')
    theirs = _upstream_runs(month, ship, work, APRIL[0], at(5, 9), STOP)
    with db.connect_owner() as conn:
        up.set_last_entries(conn, up.last_entries(dict.fromkeys(KEYS, STOP)))
    summary = work / 'summary.json'
    env = _env(
        db,
        ship,
        METRICS_UTILITY_OPTIONAL_COLLECTORS='main_jobevent,main_indirectmanagednodeaudit,main_hostmetric',
        METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS='30',
    )
    try:
        assert _run(env, 'gather', '--ship', '--until', '2024-05-01', '--summary-file', str(summary)) == 0
    finally:
        with db.connect_owner() as conn:
            up.set_last_entries(conn, None)
    ours = sorted(set((ship / 'data').rglob('*.tar.gz')) - set(theirs))
    late = _upstream_runs(month, ship, work / 'late', STOP, at(12, 6))
    return (theirs, ours, late, json.loads(summary.read_text()), *_reports(db, ship))


# -- truth from the controller database ------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def truth(month):
    """April's reachable summaries (identity, organization, job, template) and its host metrics."""
    db, _ = month
    with db.connect_owner() as conn:
        summaries = [summary[:4] for summary in reachable_summaries(conn, APRIL)]
        ids = {
            r[0]
            for r in conn.execute('SELECT id FROM main_jobhostsummary WHERE modified >= %s AND modified < %s', APRIL)
        }
        metrics = conn.execute('SELECT hostname FROM main_hostmetric WHERE last_automation >= %s', APRIL[:1])
        hostnames = sorted(r[0] for r in metrics)
    return summaries, ids, hostnames


def _table(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]


def _check_ccsp(report, truth) -> None:
    summaries, _, _ = truth
    assert report['Usage Reporting']['G8'].value == len({identity for identity, *_ in summaries}) > 100
    nodes, jobs = defaultdict(set), defaultdict(set)
    for identity, org, job, _ in summaries:
        nodes[org].add(identity)
        jobs[org].add(job)
    rows = {row['Organization name']: row for row in _table(report['Usage by organizations'])}
    assert {org: (row['Unique managed nodes automated'], row['Job runs']) for org, row in rows.items()} == {
        org: (len(nodes[org]), len(jobs[org])) for org in nodes
    }
    runs = defaultdict(set)
    for _, org, job, template in summaries:
        runs[(org, template)].add(job)
    assert {(r['Organization name'], r['Job template name']): r['Job runs'] for r in _table(report['Jobs'])} == {
        key: len(value) for key, value in runs.items()
    }


def _check_renewal(report, truth) -> None:
    _, _, hostnames = truth
    rows = _table(report['Managed nodes']) + _table(report['Deleted Managed nodes'])
    listed = sorted(name.strip() for row in rows for name in str(row['Host names']).split(','))
    assert listed == hostnames and len(hostnames) > 50  # every host metric once, none twice
    assert sum(row['HostMetric record count'] for row in rows) == len(hostnames)


# -- (a) only upstream's packages -------------------------------------------------------------------------------------


def test_upstream_packages_alone_hold_every_summary_once(upstream_only, truth):
    packages, *_ = upstream_only
    counts = shipped_ids(packages)
    assert set(counts) == truth[1] and set(counts.values()) == {1}
    assert any('-2024-04-10-133701+0000-' in p.name for p in packages)  # partial days where a run stopped


def test_ccspv2_over_upstream_packages_equals_sql(upstream_only, truth):
    _check_ccsp(upstream_only[1], truth)


def test_renewal_guidance_over_upstream_packages_equals_sql(upstream_only, truth):
    _check_renewal(upstream_only[2], truth)


# -- (b) a month that mixes upstream's packages and ours -------------------------------------------------------------


def test_our_first_gather_continued_at_upstreams_watermark(mixed, truth):
    theirs, ours, late, summary, *_ = mixed
    assert summary['ok'] and summary['started_from'] == dict.fromkeys(KEYS, 'controller-watermark')
    assert min(p.name.split('-')[5:9] for p in ours if p.name.endswith('-job_host_summary.tar.gz')) == [
        '2024',
        '04',
        '10',
        '133701+0000',
    ]
    before = shipped_ids(theirs + ours)  # before upstream's late run: every summary exactly once
    assert set(before) == truth[1] and set(before.values()) == {1}
    stored = sorted(ours[0].parents[3].rglob('*.tar.gz'))
    twice = {i for i, n in shipped_ids(stored).items() if n == 2}
    # the overlapping day: upstream's late run stored 12 April 00:00-06:00 beside our whole 12 April (other names);
    # its other windows had the names of ours and replaced them with the same rows
    assert twice and twice == set(shipped_ids([p for p in late if p.parent.name == '12']))
    assert set(shipped_ids(stored).values()) == {1, 2}


def test_ccspv2_over_a_mixed_month_equals_sql(mixed, truth):
    _check_ccsp(mixed[4], truth)


def test_renewal_guidance_over_a_mixed_month_equals_sql(mixed, truth):
    _check_renewal(mixed[5], truth)
