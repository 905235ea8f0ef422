"""Database → gather → build-report, with every billed figure recomputed directly from the controller database.

The report month is February 2024 of the standard dataset (27–29 Feb, and 1 Mar outside the month). Expected values
come from SQL over the synthetic controller tables (testsupport.controller_truth parses host identity on its own).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from metrics_utility.cli import main
from testsupport.controller_truth import REACHABLE, identities, reachable_summaries

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FEB = ('2024-02-01', '2024-03-01')


def _env(monkeypatch, values: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith('METRICS_UTILITY_')]:
        monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope='module')
def report(controller_db, tmp_path_factory):
    """Gather the whole dataset with the CLI, then build the February CCSPv2 report with every sheet."""
    ship = tmp_path_factory.mktemp('ship')
    monkeypatch = pytest.MonkeyPatch()
    try:
        _env(
            monkeypatch,
            {
                **controller_db.reader_env(),
                'METRICS_UTILITY_SHIP_TARGET': 'directory',
                'METRICS_UTILITY_SHIP_PATH': str(ship),
                'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_jobevent,main_host,main_indirectmanagednodeaudit',
                'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
                'METRICS_UTILITY_PRICE_PER_NODE': '11.50',
            },
        )
        assert main(['gather', '--ship', '--since', '2024-02-27', '--until', '2024-03-02']) == 0
        assert main(['build-report', '--month', '2024-02', '--sheets', 'all']) == 0
    finally:
        monkeypatch.undo()
    (path,) = list(Path(ship, 'reports').rglob('*.xlsx'))
    assert path.relative_to(ship).as_posix() == 'reports/2024/02/CCSPv2-2024-02.xlsx'
    return load_workbook(path)


@pytest.fixture(scope='module')
def truth(controller_db):
    """Reachable summaries of February: (identity, organization, job id, template, task runs)."""
    with controller_db.connect_owner() as conn:
        hosts = identities(conn)
        summaries = reachable_summaries(conn, FEB)
        events = conn.execute(
            """
            SELECT e.event_data, e.job_id, e.host_name FROM main_jobevent e
            JOIN main_jobhostsummary s ON s.job_id = e.job_id AND s.host_name = e.host_name
            WHERE s.modified >= %s AND s.modified < %s
              AND e.event IN ('runner_on_ok', 'runner_on_failed', 'runner_on_skipped', 'runner_on_unreachable')
            """,
            FEB,
        ).fetchall()
        identity_of = {
            (job, name): hosts.get(host_id) or name
            for host_id, name, _, job, _, _ in conn.execute(
                'SELECT s.host_id, s.host_name, 0, s.job_id, 0, 0 FROM main_jobhostsummary s '
                'WHERE s.modified >= %s AND s.modified < %s',
                FEB,
            )
        }
        indirect = {
            r[0]
            for r in conn.execute(
                """
            SELECT DISTINCT a.name FROM main_indirectmanagednodeaudit a JOIN main_unifiedjob u ON u.id = a.job_id
            WHERE u.finished >= %s AND u.finished < %s
              AND EXISTS (SELECT 1 FROM main_jobhostsummary s WHERE s.job_id = a.job_id
                          AND s.modified >= %s AND s.modified < %s)""",
                FEB + FEB,
            )
        }
    return summaries, events, identity_of, indirect


def _table(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]


def test_billed_quantity_is_the_unique_reachable_identities(report, truth):
    summaries, *_ = truth
    expected = len({identity for identity, *_ in summaries})
    assert expected > 100
    assert report['Usage Reporting']['G8'].value == expected


def check_usage_by_organizations(sheet, runs: Iterable[tuple[str, Any, Any, int]]) -> None:
    """The sheet's rows are the figures recomputed from `runs`: (organization, node identity, job, task runs) per
    host summary. A job is whatever tells jobs apart (with several installations: its installation and id)."""
    nodes, jobs, pairs, tasks = defaultdict(set), defaultdict(set), defaultdict(set), defaultdict(int)
    for org, identity, job, task_runs in runs:
        nodes[org].add(identity)
        jobs[org].add(job)
        pairs[org].add((identity, job))
        tasks[org] += task_runs
    rows = {row['Organization name']: row for row in _table(sheet)}
    assert set(rows) == set(nodes)
    for org, row in rows.items():
        assert row['Unique managed nodes automated'] == len(nodes[org]), org
        assert row['Job runs'] == len(jobs[org]), org
        assert row['Non-unique managed nodes automated'] == len(pairs[org]), org
        assert row['Number of task runs'] == tasks[org], org


def test_usage_by_organizations(report, truth):
    summaries, *_ = truth
    runs = ((org, identity, job, task_runs) for identity, org, job, _, task_runs in summaries)
    check_usage_by_organizations(report['Usage by organizations'], runs)


def test_jobs_sheet(report, truth):
    summaries, *_ = truth
    runs = defaultdict(set)
    for _, org, job, template, _ in summaries:
        runs[(org, template)].add(job)
    rows = {(row['Organization name'], row['Job template name']): row['Job runs'] for row in _table(report['Jobs'])}
    assert rows == {key: len(jobs) for key, jobs in runs.items()}


@pytest.fixture(scope='module')
def reachable_pairs(controller_db):
    """(job id, host name) of February's summaries with a reachable result: the only way to a content-sheet node."""
    with controller_db.connect_owner() as conn:
        return set(
            conn.execute(
                f"""
            SELECT s.job_id, s.host_name FROM main_jobhostsummary s
            WHERE s.modified >= %s AND s.modified < %s AND {REACHABLE}""",
                FEB,
            ).fetchall()
        )


@pytest.mark.parametrize(
    ('key', 'sheet'),
    [('module', 'Usage by modules'), ('collection', 'Usage by collections'), ('role', 'Usage by roles')],
)
def test_content_usage(report, truth, reachable_pairs, key, sheet):
    _, events, identity_of, _ = truth
    runs, nodes = defaultdict(int), defaultdict(set)
    for text, job, host in events:
        data = json.loads(text)  # Python's json accepts the \u0000 escapes PostgreSQL's jsonb refuses
        module = data.get('resolved_action') or data.get('task_action')
        parts = module.split('.')
        name = {
            'module': module,
            'collection': '.'.join(parts[:2]) if len(parts) >= 3 else 'No collection used',
            'role': data.get('resolved_role') or data.get('role') or 'No role used',
        }[key]
        runs[name] += 1
        if (job, host) in reachable_pairs:  # unreachable-only summaries never make a node (docs/reports.md)
            nodes[name].add(identity_of[(job, host)])
    rows = {row[f'{key.capitalize()} name']: row for row in _table(report[sheet])}
    assert set(rows) == set(runs)
    for name, row in rows.items():
        assert row['Number of task runs'] == runs[name], name
        assert row['Unique managed nodes automated'] == len(nodes[name]), name


def test_indirect_nodes_are_reported_apart(report, truth):
    summaries, _, _, indirect = truth
    assert indirect
    assert {row['Host name'] for row in _table(report['Indirectly Managed nodes'])} == indirect
    direct = {row['Host name'] for row in _table(report['Managed nodes'])}
    assert direct == {identity for identity, *_ in summaries}
    assert report['Usage Reporting']['G8'].value == len(direct)  # indirect nodes never change the billed figure
