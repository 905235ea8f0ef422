"""build-report with METRICS_UTILITY_SHIP_TARGET=controller_db: RENEWAL_GUIDANCE read from `main_hostmetric` in a
read-only session as the SELECT-only role, the workbook written to SHIP_PATH (metrics-utility's target).

Truth is SQL over `main_hostmetric`: every hostname automated since --since appears once across the node sheets, and
the record counts and automation counters add up to the table's. The same report built from gathered packages of the
same rows is identical cell for cell.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from psycopg import sql

from metrics_utility.cli import _parser, main
from metrics_utility.commands.build_report import PROG, run

pytestmark = pytest.mark.integration
NOW = datetime(2024, 3, 2, 4, tzinfo=UTC)
SINCE = '12months'  # 2023-03-02: a new install gets a year of renewal guidance at once
NAME = 'reports/2024/03/RENEWAL_GUIDANCE-2023-03-02--2024-03-02.xlsx'
P = 'METRICS_UTILITY_'
NODE_SHEETS = ('Managed nodes', 'Managed nodes ephemeral', 'Deleted Managed nodes')


def _run(argv: list[str], env: dict[str, str], capsys) -> tuple[int, str, str]:
    code = run(_parser().parse_args(argv), env=env, now=NOW)
    out = capsys.readouterr()
    return code, out.out, out.err


def _env(ship: Path, db_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        P + 'SHIP_TARGET': 'controller_db',
        P + 'SHIP_PATH': str(ship),
        P + 'REPORT_TYPE': 'RENEWAL_GUIDANCE',
        **db_env,
        **extra,
    }


def _cells(path: Path) -> dict[str, list[tuple]]:
    book = load_workbook(path)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def _column(rows: list[tuple], title: str) -> list:
    index = rows[0].index(title)
    return [row[index] for row in rows[1:]]


@pytest.fixture(scope='module')
def from_db(controller_db, tmp_path_factory) -> dict[str, list[tuple]]:
    ship = tmp_path_factory.mktemp('controller_db')
    args = _parser().parse_args(['build_report', f'--since={SINCE}', '--ephemeral=1month'])
    assert run(args, env=_env(ship, controller_db.reader_env()), now=NOW) == 0
    sidecar = NAME.removesuffix('.xlsx') + '.json'  # the listing's billed quantity (library/reports/catalog.py)
    assert sorted(p.relative_to(ship).as_posix() for p in ship.rglob('*') if p.is_file()) == [sidecar, NAME]
    return _cells(ship / NAME)


def test_the_renewal_report_from_controller_db_equals_sql_truth(controller_db, from_db):
    with controller_db.connect_owner() as conn:
        hostnames, records, automations = conn.execute(
            'SELECT array_agg(DISTINCT hostname), count(DISTINCT hostname), sum(automated_counter) '
            "FROM main_hostmetric WHERE last_automation >= '2023-03-02T00:00:00+00:00'"
        ).fetchone()
    listed = [
        name for sheet in NODE_SHEETS for cell in _column(from_db[sheet], 'Host names') for name in cell.split(', ')
    ]
    assert sorted(listed) == sorted(hostnames) and records > 0
    assert sum(sum(_column(from_db[s], 'HostMetric record count')) for s in NODE_SHEETS) == records
    assert sum(sum(_column(from_db[s], 'Number of Automations')) for s in NODE_SHEETS) == automations
    summary = dict(row[:2] for row in from_db['Usage Reporting'][5:])
    assert summary['Automated hosts'] == len(from_db['Managed nodes']) - 1
    assert summary['Ephemeral automated hosts total'] == len(from_db['Managed nodes ephemeral']) - 1
    assert summary['Deleted Automated hosts'] == len(from_db['Deleted Managed nodes']) - 1
    assert from_db['Usage Reporting'][1][1] == '2023-03-02, 2024-03-02'


def test_the_same_report_from_gathered_packages_is_identical(controller_db, from_db, tmp_path, monkeypatch):
    with controller_db.connect_owner() as conn:  # the gather window below holds every row the report reads
        assert conn.execute('SELECT min(last_automation) FROM main_hostmetric').fetchone()[0] >= datetime(
            2024, 2, 20, tzinfo=UTC
        )
    for key in [k for k in __import__('os').environ if k.startswith(P)]:
        monkeypatch.delenv(key)
    gather_env = {
        **controller_db.reader_env(),
        P + 'SHIP_TARGET': 'directory',
        P + 'SHIP_PATH': str(tmp_path),
        P + 'OPTIONAL_COLLECTORS': 'main_hostmetric',
        P + 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR': 'true',
    }
    assert main(['gather', '--ship', '--since', '2024-02-20', '--until', '2024-03-02T04:00:00Z'], env=gather_env) == 0
    env = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), P + 'REPORT_TYPE': 'RENEWAL_GUIDANCE'}
    args = _parser().parse_args(['build-report', f'--since={SINCE}', '--ephemeral=1month'])
    assert run(args, env=env, now=NOW) == 0
    assert _cells(tmp_path / NAME) == from_db


def test_an_existing_report_is_kept_without_force(controller_db, tmp_path, capsys):
    (tmp_path / NAME).parent.mkdir(parents=True)
    (tmp_path / NAME).write_bytes(b'kept')
    code, out, err = _run(['build_report', f'--since={SINCE}'], _env(tmp_path, controller_db.reader_env()), capsys)
    assert (code, err, (tmp_path / NAME).read_bytes()) == (0, '', b'kept')
    assert out == f'{PROG}: {NAME} already exists in directory {tmp_path}; skipped (pass --force to rebuild it)\n'


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _no_select_role(db, name: str) -> dict[str, str]:
    """A login role that may connect and read main_host but not main_hostmetric."""
    with db.cluster.connect(autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier(name)))
    with db.connect_owner(autocommit=True) as conn:
        conn.execute(sql.SQL('GRANT SELECT ON main_host TO {}').format(sql.Identifier(name)))
    return {**db.reader_env(), P + 'DB_USER': name, P + 'DB_PASSWORD': 'pw'}


@pytest.mark.hostile
def test_an_unreachable_database_fails_the_run_with_one_line(controller_db, tmp_path, capsys):
    port = _closed_port()
    env = _env(tmp_path, {**controller_db.reader_env(), P + 'DB_PORT': str(port)})
    code, out, err = _run(['build_report', f'--since={SINCE}'], env, capsys)
    prefix = f'{PROG}: cannot connect to the controller database awx at 127.0.0.1:{port} as awx_reader: '
    assert (code, out, err.count('\n'), err.startswith(prefix), 'Connection refused' in err) == (1, '', 1, True, True)
    assert controller_db.reader_password not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.hostile
def test_a_role_without_select_on_main_hostmetric_is_named(scratch_db, tmp_path, capsys):
    env = _env(tmp_path, _no_select_role(scratch_db, f'{scratch_db.dbname}_nosel'))
    code, out, err = _run(['build_report', f'--since={SINCE}'], env, capsys)
    assert (code, out) == (1, '')
    assert err == (
        f'{PROG}: permission denied for table main_hostmetric: grant SELECT on main_hostmetric and '
        f'main_host to {scratch_db.dbname}_nosel\n'
    )


@pytest.mark.hostile
def test_a_wrong_password_fails_without_echoing_it(controller_db, tmp_path, capsys):
    env = _env(tmp_path, {**controller_db.reader_env(), P + 'DB_PASSWORD': 'not-the-Secret-9'})
    code, out, err = _run(['build_report', f'--since={SINCE}'], env, capsys)
    assert (code, out, 'password authentication failed' in err, 'not-the-Secret-9' in err) == (1, '', True, False)


CONFIG = [  # (id, extra env, argv, the problem line)
    ('ccsp', {P + 'REPORT_TYPE': 'CCSP'}, ['--month=2024-02'],
     f'{P}SHIP_TARGET=controller_db reads only RENEWAL_GUIDANCE from the controller database; a CCSP report reads '
     f'gathered packages: set {P}SHIP_TARGET=directory (or s3)'),
    ('ccspv2', {P + 'REPORT_TYPE': 'CCSPv2'}, [],
     f'{P}SHIP_TARGET=controller_db reads only RENEWAL_GUIDANCE from the controller database; a CCSPv2 report reads '
     f'gathered packages: set {P}SHIP_TARGET=directory (or s3)'),
    ('no-ship-path', {P + 'SHIP_PATH': ''}, [f'--since={SINCE}'],
     f'{P}SHIP_PATH is not set; expected the directory holding data/ and reports/'),
    ('ship-path-missing', {P + 'SHIP_PATH': '/nonexistent/metrics'}, [f'--since={SINCE}'],
     f"{P}SHIP_PATH='/nonexistent/metrics' is not an existing directory"),
    ('port-not-a-number', {P + 'DB_PORT': '54x2'}, [f'--since={SINCE}'],
     f"{P}DB_PORT='54x2': expected a whole number from 1 to 65535"),
    ('sslmode-bogus', {P + 'DB_SSLMODE': 'Require '}, [f'--since={SINCE}'],
     f"{P}DB_SSLMODE='Require': expected disable, allow, prefer, require, verify-ca or verify-full"),
    ('also-from', {}, [f'--since={SINCE}', '--also-from=/tmp'],
     'SHIP_TARGET=controller_db reads host metrics from the controller database only; additional package sources '
     '(--also-from, METRICS_UTILITY_ADDITIONAL_SHIP_PATHS) do not apply'),
    ('nul-in-target', {P + 'SHIP_TARGET': 'controller_db\x00'}, [f'--since={SINCE}'],
     f"{P}SHIP_TARGET contains a NUL byte; remove it"),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('extra', 'argv', 'problem'), [c[1:] for c in CONFIG], ids=[c[0] for c in CONFIG])
def test_configuration_problems_exit_2_before_any_connection(tmp_path, capsys, extra, argv, problem):
    env = _env(tmp_path, {P + 'DB_HOST': '192.0.2.1', P + 'DB_PASSWORD': 'pw'}, **extra)  # TEST-NET: never reached
    code, out, err = _run(['build_report', *argv], env, capsys)
    assert (code, out) == (2, '')
    assert f'  - {problem}\n' in err


@pytest.mark.hostile
def test_no_host_metrics_since_writes_no_report_and_exits_0(scratch_db, tmp_path, capsys):
    with scratch_db.connect_owner(autocommit=True) as conn:
        conn.execute('DELETE FROM main_hostmetric')
    code, out, err = _run(['build_report', f'--since={SINCE}'], _env(tmp_path, scratch_db.reader_env()), capsys)
    assert (code, err, list(tmp_path.iterdir())) == (0, '', [])
    assert out.splitlines()[0] == f'{PROG}: No billing data (no host metrics); no report written'
