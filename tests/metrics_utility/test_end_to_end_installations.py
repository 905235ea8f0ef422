"""Two controllers, one report: gather two synthetic controller databases with the CLI, build February 2024's CCSPv2.

The databases have different seeds, hence different install_uuids, and share host names and identities by
construction (the scenario's `web01.example.com` → `10.0.0.11`, and a common pool of `nodeNNNNNN` names), plus
organizations of the same name. Two layouts are checked against SQL over both databases:

- `shared`: both gathered into one directory (several install_uuids in one storage), default sheets — the
  per-installation sheet appears on its own because two installations are present;
- `combined`: each gathered into its own directory, combined with `--also-from`, every sheet.

Truth: a managed node is an identity (top-level ansible_host parsed from the host's variables, else the name) with
a reachable summary modified in February; the billed quantity is the union over both databases; organizations of
the same name are one organization; per-installation rows are each database's own figures.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from metrics_utility.cli import main
from metrics_utility.demo.database import ControllerDatabase, build
from metrics_utility.demo.generator import DatasetSpec
from metrics_utility.library.reports import ReportOptions
from metrics_utility.library.reports import build as build_report
from metrics_utility.library.reports.installations import TOTAL
from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.storage.multi import MultiStorage
from testsupport.controller_truth import reachable_summaries

from .test_end_to_end import FEB, _env, _table, check_usage_by_organizations

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECOND_SPEC = DatasetSpec(scale='small', start=datetime(2024, 2, 27, tzinfo=UTC), days=3, seed=11)
URL = 'https://controller.example.com'  # TOWER_URL_BASE of the synthetic controllers


@dataclass(frozen=True)
class Summary:
    install: str
    identity: str
    org: str
    job: int
    tasks: int


@pytest.fixture(scope='module')
def second_db(postgres) -> ControllerDatabase:
    db, _ = build(postgres, SECOND_SPEC, dbname='awx_second')
    return db


@pytest.fixture(scope='module')
def dbs(controller_db, second_db) -> list[ControllerDatabase]:
    assert controller_db.install_uuid != second_db.install_uuid
    return [controller_db, second_db]


def _run(env: dict[str, str], *argv: str) -> None:
    """One CLI run with exactly `env` as its METRICS_UTILITY_* settings."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        _env(monkeypatch, {'METRICS_UTILITY_SHIP_TARGET': 'directory', **env})
        assert main(list(argv)) == 0
    finally:
        monkeypatch.undo()


def _gather(db: ControllerDatabase, ship: Path) -> None:
    env = {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_PATH': str(ship),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_jobevent',
    }
    _run(env, 'gather', '--ship', '--since', '2024-02-27', '--until', '2024-03-02')


def _report(ship: Path, *flags: str) -> None:
    env = {'METRICS_UTILITY_SHIP_PATH': str(ship), 'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2'}
    _run(env, 'build-report', '--month', '2024-02', *flags)


@pytest.fixture(scope='module')
def ships(dbs, tmp_path_factory) -> dict[str, Path]:
    """Each database gathered into its own directory and, separately, both into one shared directory."""
    own = []
    shared = tmp_path_factory.mktemp('shared')
    for i, db in enumerate(dbs):
        ship = tmp_path_factory.mktemp(f'ship{i}')
        _gather(db, ship)
        _gather(db, shared)
        own.append(ship)
    return {'a': own[0], 'b': own[1], 'shared': shared}


@pytest.fixture(scope='module')
def reports(ships) -> dict[str, object]:
    _report(ships['shared'])
    _report(ships['a'], '--sheets', 'all', '--also-from', str(ships['b']))
    return {
        layout: load_workbook(ships[ship] / 'reports/2024/02/CCSPv2-2024-02.xlsx')
        for layout, ship in (('shared', 'shared'), ('combined', 'a'))
    }


@pytest.fixture(scope='module')
def truth(dbs) -> list[Summary]:
    """Every reachable February summary of both databases, with its identity and installation."""
    out = []
    for db in dbs:
        with db.connect_owner() as conn:
            rows = reachable_summaries(conn, FEB)
        out += [Summary(db.install_uuid, identity, org, job, tasks) for identity, org, job, _, tasks in rows]
    return out


def _identities_of(truth: list[Summary], install: str | None = None) -> set[str]:
    return {s.identity for s in truth if install is None or s.install == install}


def test_the_two_installations_share_identities_and_organization_names(dbs, truth):
    """The premise: without overlap the test would prove nothing about de-duplication across controllers."""
    a, b = (_identities_of(truth, db.install_uuid) for db in dbs)
    assert len(a & b) >= 10 and a - b and b - a
    orgs_a, orgs_b = ({s.org for s in truth if s.install == db.install_uuid} for db in dbs)
    assert orgs_a & orgs_b


@pytest.mark.parametrize('layout', ['shared', 'combined'])
def test_billed_quantity_is_the_union_of_identities(reports, truth, layout):
    expected = len(_identities_of(truth))
    assert expected > 100
    assert reports[layout]['Usage Reporting']['G8'].value == expected
    assert {row['Host name'] for row in _table(reports[layout]['Managed nodes'])} == _identities_of(truth)


@pytest.mark.parametrize('layout', ['shared', 'combined'])
def test_organizations_of_the_same_name_are_one_organization(reports, truth, layout):
    runs = ((s.org, s.identity, (s.install, s.job), s.tasks) for s in truth)
    check_usage_by_organizations(reports[layout]['Usage by organizations'], runs)


@pytest.mark.parametrize('layout', ['shared', 'combined'])
def test_usage_by_installations(reports, truth, dbs, layout):
    rows = {row['Installation (install_uuid)']: row for row in _table(reports[layout]['Usage by installations'])}
    assert set(rows) == {db.install_uuid for db in dbs} | {TOTAL}
    a, b = (_identities_of(truth, db.install_uuid) for db in dbs)
    for db, other in zip(dbs, (b, a), strict=True):
        mine = [s for s in truth if s.install == db.install_uuid]
        row = rows[db.install_uuid]
        assert row['Unique managed nodes automated'] == len({s.identity for s in mine})
        assert row['Job runs'] == len({s.job for s in mine})
        assert row['Non-unique managed nodes automated'] == len({(s.identity, s.job) for s in mine})
        assert row['Number of task runs'] == sum(s.tasks for s in mine)
        assert row['Managed nodes also automated by another installation'] == len({s.identity for s in mine} & other)
        assert row['Controller URL'] == URL
        assert row['Controller version']
    total = rows[TOTAL]
    assert total['Unique managed nodes automated'] == len(a | b) < len(a) + len(b)  # counted once, not summed
    assert total['Job runs'] == len({(s.install, s.job) for s in truth})
    assert total['Number of task runs'] == sum(s.tasks for s in truth)
    assert total['Managed nodes also automated by another installation'] == len(a & b)


def test_combined_sources_keep_rollups_per_installation_in_the_main_storage(reports, ships, dbs):
    main_ship, other = ships['a'], ships['b']
    for db in dbs:
        assert (main_ship / f'rollups/installations/{db.install_uuid}/2024/02/29/manifest.json').is_file()
    assert not (main_ship / 'rollups/2024').exists()  # the single-storage layout is untouched
    assert not (other / 'rollups').exists() and not (other / 'reports').exists()  # the source stays read-only


def test_combined_rerun_reads_the_persisted_rollups(reports, ships, tmp_path):
    storage = MultiStorage(StorageDirectory(ships['a']), [StorageDirectory(ships['b'])])
    options = ReportOptions('CCSPv2', date(2024, 2, 1), date(2024, 3, 1), '2024-02')
    result = build_report(storage, options, tmp_path / 'again.xlsx')
    assert result.days_rebuilt == 0
    assert result.quantity == reports['combined']['Usage Reporting']['G8'].value


def test_a_new_package_in_one_source_rebuilds_only_that_installation(reports, ships, dbs, tmp_path):
    """Copy the second source, touch one of its packages: only its installation's day is rebuilt."""
    copy = tmp_path / 'b'
    shutil.copytree(ships['b'], copy)
    main_copy = tmp_path / 'a'
    shutil.copytree(ships['a'], main_copy)
    (package,) = [p for p in (copy / 'data/2024/02/28').glob('*job_host_summary.tar.gz')][:1]
    os.utime(package, ns=(package.stat().st_atime_ns, package.stat().st_mtime_ns + 1_000_000_000))
    storage = MultiStorage(StorageDirectory(main_copy), [StorageDirectory(copy)])
    manifest = main_copy / f'rollups/installations/{dbs[0].install_uuid}/2024/02/28/manifest.json'
    before = manifest.stat().st_mtime_ns
    result = build_report(
        storage, ReportOptions('CCSPv2', date(2024, 2, 1), date(2024, 3, 1), '2024-02'), tmp_path / 'r.xlsx'
    )
    assert result.days_rebuilt == 1
    assert manifest.stat().st_mtime_ns == before  # the first installation's rollup of that day was not rewritten
