"""Each command loads only what it uses: the CLI parses with light modules and a command imports its machinery when
it runs.

Why: a cold report of a small installation must fit in what Red Hat's metrics-utility needs (162 MiB), and every
gather paid ~0.7 s and ~100 MiB for pandas & co. that it never used. Each case runs the real entry point in a fresh
interpreter (`cli.main`, as the console script does) and lists the heavy distributions in `sys.modules` afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from testsupport.report_data import synthetic

DATA_STACK = frozenset({'numpy', 'openpyxl', 'pandas', 'pyarrow'})
S3 = frozenset({'boto3', 'botocore', 's3transfer'})
NETWORK = frozenset({'requests', 'urllib3'})
# Heavy third-party distributions (resident MiB when imported alone, bare python 8 MiB): pandas 101, pyarrow 51,
# openpyxl 36, boto3 34, psycopg 32, requests 27, pygal 17, prometheus_client 14.
HEAVY = DATA_STACK | S3 | NETWORK | {'aiohttp', 'cryptography', 'prometheus_client', 'psycopg', 'pygal', 'yaml'}
# What a directory gather must not load (it reads PostgreSQL and writes tarballs), and what a report from a directory
# must not load (it reads tarballs and writes a workbook).
NOT_IN_GATHER = DATA_STACK | S3 | {'pygal', 'aiohttp'}
NOT_IN_REPORT = S3 | NETWORK | {'psycopg', 'pygal', 'aiohttp', 'yaml', 'cryptography'}

PROBE = """
import json, sys
from metrics_utility import cli
code = cli.main(sys.argv[2:])
with open(sys.argv[1], 'w') as out:
    json.dump({'code': code, 'modules': sorted({name.partition('.')[0] for name in sys.modules})}, out)
"""


def run_entry(tmp_path: Path, argv: list[str], env: dict[str, str]) -> tuple[int, set[str], str, str]:
    """(exit code, heavy distributions loaded, stdout, stderr) of `metrics-utility *argv` in a fresh interpreter."""
    out = tmp_path / 'probe.json'
    clean = {k: v for k, v in os.environ.items() if not k.startswith('METRICS_UTILITY_')}
    done = subprocess.run(
        [sys.executable, '-c', PROBE, str(out), *argv],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.exists(), done.stderr
    probe = json.loads(out.read_text())
    return probe['code'], HEAVY & set(probe['modules']), done.stdout, done.stderr


@pytest.mark.unit
def test_help_lists_every_command_and_loads_nothing_heavy(tmp_path):
    code, heavy, out, err = run_entry(tmp_path, ['--help'], {})
    assert (code, heavy, err) == (0, set(), '')
    for command in ('gather', 'build-report', 'candlepin', 'check', 'reports', 'serve', 'demo'):
        assert f'    {command} ' in out or f'    {command}\n' in out, out


P = 'METRICS_UTILITY_'
REFUSED = [
    # (id, argv, env, exit code, stderr): refused before any work, with nothing heavy loaded
    (
        'gather-unknown-flag',
        ['gather', '--no-such-flag'],
        {},
        2,
        'metrics-utility gather: unrecognized arguments: --no-such-flag (see metrics-utility gather --help)\n',
    ),
    (
        'unknown-command',
        ['gatherr'],
        {},
        2,
        "metrics-utility: argument COMMAND: invalid choice: 'gatherr' (choose from 'gather', "
        "'gather_automation_controller_billing_data', 'build-report', 'build_report', 'candlepin', 'candlepin_manage', "
        "'check', 'reports', 'serve', 'demo') (see metrics-utility --help)\n",
    ),
    (
        'gather-bad-since',
        ['gather', '--since', 'yesterday'],
        {},
        2,
        "metrics-utility gather: invalid configuration:\n  - --since='yesterday' is not a date; expected an ISO date "
        'or datetime (2024-02-29, 2024-02-29T10:00:00Z) or a relative form such as 10m, 2h, 3d or 1mo\n',
    ),
    (
        'gather-bad-shard',
        ['gather', '--ship', '--shard', '3/2'],
        {},
        2,
        'metrics-utility gather: invalid configuration:\n  - --shard 3/2: expected 0 <= i < n <= 1000\n',
    ),
    (
        'report-bad-month',
        ['build-report', '--month', '2024-13'],
        {P + 'REPORT_TYPE': 'CCSPv2'},
        2,
        "metrics-utility build-report: invalid configuration:\n  - --month='2024-13' is not a month; expected YYYY-MM, "
        'e.g. 2024-02\n',
    ),
    (
        'report-s3-without-bucket',
        ['build-report', '--month', '2024-02'],
        {P + 'REPORT_TYPE': 'CCSPv2', P + 'SHIP_TARGET': 's3'},
        2,
        'metrics-utility build-report: invalid configuration:\n'
        f'  - {P}BUCKET_NAME is not set; expected the S3 bucket name\n'
        f'  - {P}BUCKET_ENDPOINT is not set; expected a URL like https://s3.us-east-1.amazonaws.com\n',
    ),
]


@pytest.mark.unit
@pytest.mark.hostile
@pytest.mark.parametrize(('argv', 'env', 'code', 'stderr'), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_refused_command_line_or_configuration_loads_nothing_heavy(tmp_path, argv, env, code, stderr):
    ship = tmp_path / 'ship'
    ship.mkdir()
    got_code, heavy, _, err = run_entry(
        tmp_path, argv, {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(ship), **env}
    )
    assert (got_code, heavy, err) == (code, set(), stderr)


@pytest.mark.integration
@pytest.mark.parametrize('mode', ['--ship', '--dry-run'])
def test_a_directory_gather_loads_no_data_stack_and_no_s3(tmp_path, controller_db, mode):
    ship = tmp_path / 'ship'
    ship.mkdir()
    summary = tmp_path / 'summary.json'
    argv = ['gather', mode, '--since', '2024-02-28', '--until', '2024-03-01', '--summary-file', str(summary)]
    if mode == '--dry-run':
        argv += ['--output', str(tmp_path / 'out')]
    env = {**controller_db.reader_env(), P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(ship)}
    code, heavy, _, err = run_entry(tmp_path, argv, env)
    assert code == 0, err
    assert json.loads(summary.read_text())['ok'] is True
    assert json.loads(summary.read_text())['rows'] > 0
    assert heavy & NOT_IN_GATHER == set(), sorted(heavy)
    assert 'psycopg' in heavy  # the probe sees what a gather really loads


@pytest.mark.integration
def test_a_report_from_a_directory_loads_no_database_driver_no_s3_and_no_network_client(tmp_path):
    synthetic(date(2024, 2, 27), 2).write(tmp_path)
    env = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), P + 'REPORT_TYPE': 'CCSPv2'}
    code, heavy, out, err = run_entry(tmp_path, ['build-report', '--month', '2024-02', '--sheets', 'all'], env)
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])['report'] == 'reports/2024/02/CCSPv2-2024-02.xlsx'
    assert heavy & NOT_IN_REPORT == set(), sorted(heavy)
    assert heavy >= DATA_STACK  # the probe sees what a report really loads


@pytest.mark.integration
def test_listing_and_getting_stored_reports_loads_no_data_stack(tmp_path):
    synthetic(date(2024, 2, 27), 2).write(tmp_path)
    env = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), P + 'REPORT_TYPE': 'CCSPv2'}
    code, _, _, err = run_entry(tmp_path, ['build-report', '--month', '2024-02'], env)
    assert code == 0, err
    code, heavy, out, err = run_entry(tmp_path, ['reports', 'list', '--json'], env)
    assert code == 0, err
    assert [entry['id'] for entry in json.loads(out)['reports']] == ['CCSPv2-2024-02']
    assert heavy == set(), sorted(heavy)
    target = tmp_path / 'got.xlsx'
    code, heavy, _, err = run_entry(tmp_path, ['reports', 'get', 'CCSPv2-2024-02', '-o', str(target)], env)
    assert code == 0, err
    assert target.read_bytes() == (tmp_path / 'reports/2024/02/CCSPv2-2024-02.xlsx').read_bytes()
    assert heavy == set(), sorted(heavy)
