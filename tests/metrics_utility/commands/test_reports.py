"""`metrics-utility reports list|get`: the table and JSON, the copy (file or stdout), and one exact message with
its exit code for every wrong way to ask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics_utility.cli import main
from metrics_utility.library.reports import catalog

pytestmark = pytest.mark.unit
NOV = 'reports/2026/11/CCSPv2-2026-11.xlsx'
NOV_CCSP = 'reports/2026/11/CCSP-2026-11.xlsx'
RANGE = 'reports/2026/10/CCSPv2-2026-10-01--2026-10-15.xlsx'


@pytest.fixture
def ship(tmp_path: Path) -> Path:
    base = tmp_path / 'ship'
    for name, body in ((NOV, b'november v2'), (NOV_CCSP, b'november'), (RANGE, b'half of october')):
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(body)
    entry = catalog.parse_name(NOV)
    sidecar = {'type': 'CCSPv2', 'since': '2026-11-01', 'until': '2026-12-01', 'quantity': 1234, 'jobRuns': 56}
    (base / catalog.sidecar_name(NOV)).write_text(json.dumps(sidecar))
    assert entry is not None
    return base


def _env(ship: Path) -> dict[str, str]:
    return {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(ship)}


def test_list_prints_a_table(ship, capsys):
    assert main(['reports', 'list'], env=_env(ship)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ['ID', 'TYPE', 'PERIOD'],
        ['CCSP-2026-11', 'CCSP', '2026-11'],
        ['CCSPv2-2026-11', 'CCSPv2', '2026-11'],
        ['CCSPv2-2026-10-01--2026-10-15', 'CCSPv2', '2026-10-01..2026-10-15'],
    ]
    assert lines[2].split()[-1] == '1234' and lines[1].split()[-1] == '-'


def test_list_json_is_the_apis_shape(ship, capsys):
    assert main(['reports', 'list', '--json'], env=_env(ship)) == 0
    reports = json.loads(capsys.readouterr().out)['reports']
    assert reports[1] == {
        'id': 'CCSPv2-2026-11',
        'type': 'CCSPv2',
        'since': '2026-11-01',
        'until': '2026-12-01',
        'month': '2026-11',
        'name': NOV,
        'size': len(b'november v2'),
        'modified': reports[1]['modified'],
        'billedQuantity': 1234,
    }


def test_list_of_an_empty_storage_says_so(tmp_path, capsys):
    assert main(['reports', 'list'], env=_env(tmp_path)) == 0
    assert capsys.readouterr().out == f'no reports in directory {tmp_path}\n'


@pytest.mark.parametrize(
    ('argv', 'body'),
    [
        (['--month', '2026-11', '--type', 'CCSPv2'], b'november v2'),
        (['--month', '2026-11', '--type', 'CCSP'], b'november'),
        (['CCSPv2-2026-10-01--2026-10-15'], b'half of october'),
    ],
    ids=['month-and-type', 'other-type', 'by-id'],
)
def test_get_copies_the_report(ship, tmp_path, argv, body, capsys):
    out = tmp_path / 'out.xlsx'
    assert main(['reports', 'get', *argv, '-o', str(out)], env=_env(ship)) == 0
    assert out.read_bytes() == body
    assert capsys.readouterr().err.endswith(f'-> {out} ({len(body)} B)\n')


def test_get_without_output_writes_the_report_file_name_here(ship, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(['reports', 'get', 'CCSPv2-2026-11'], env=_env(ship)) == 0
    assert (tmp_path / 'CCSPv2-2026-11.xlsx').read_bytes() == b'november v2'


def test_get_to_stdout(ship, capfdbinary):
    assert main(['reports', 'get', 'CCSP-2026-11', '-o', '-'], env=_env(ship)) == 0
    assert capfdbinary.readouterr().out == b'november'


P = 'metrics-utility reports get: '
HOSTILE = {
    'nothing-named': (
        [],
        2,
        P + 'invalid configuration:\n  - name the report: an id (see reports list) or --month YYYY-MM [--type TYPE]',
    ),
    'id-and-month': (
        ['CCSP-2026-11', '--month', '2026-11'],
        2,
        P + 'invalid configuration:\n  - give a report id or --month (and --type), not both',
    ),
    'bad-month': (
        ['--month', '2026-13'],
        2,
        P + "invalid configuration:\n  - --month='2026-13' is not a month; expected YYYY-MM, e.g. 2026-11",
    ),
    'month-with-control-characters': (
        ['--month', '2026-11\n'],
        2,
        P + "invalid configuration:\n  - --month='2026-11\\n' is not a month; expected YYYY-MM, e.g. 2026-11",
    ),
    'bad-type': (
        ['--month', '2026-11', '--type', 'ccspv2'],
        2,
        P + "invalid configuration:\n  - --type='ccspv2' is "
        'not a report type; expected one of: CCSP, CCSPv2, RENEWAL_GUIDANCE',
    ),
    'ambiguous': (['--month', '2026-11'], 2, P + '2026-11 has several reports (CCSP, CCSPv2); choose one with --type'),
    'no-such-month': (['--month', '2026-09'], 2, P + 'no report for 2026-09; see metrics-utility reports list'),
    'no-such-type': (
        ['--month', '2026-10', '--type', 'CCSP'],
        2,
        P + 'no CCSP report for 2026-10; see metrics-utility reports list',
    ),
    'range-has-no-month': (
        ['--month', '2026-10', '--type', 'CCSPv2'],
        2,
        P + 'no CCSPv2 report for 2026-10; see metrics-utility reports list',
    ),
    'no-such-id': (['CCSPv2-2026-09'], 2, P + "no report 'CCSPv2-2026-09'; see metrics-utility reports list"),
    'traversal-id': (['../../etc/passwd'], 2, P + "no report '../../etc/passwd'; see metrics-utility reports list"),
    'empty-output': (
        ['CCSP-2026-11', '-o', ' '],
        2,
        P + "invalid configuration:\n  - -o is empty; expected a file path, or '-' for stdout",
    ),
    'output-is-a-directory': (
        ['CCSP-2026-11', '-o', '{tmp}'],
        2,
        P + "-o '{tmp}' is a directory; expected a file path",
    ),
    'output-exists': (
        ['CCSP-2026-11', '-o', '{tmp}/exists.xlsx'],
        2,
        P + "-o '{tmp}/exists.xlsx' exists; pass --force to overwrite it",
    ),
    'output-folder-missing': (
        ['CCSP-2026-11', '-o', '{tmp}/no/such/dir/r.xlsx'],
        2,
        P + "-o '{tmp}/no/such/dir/r.xlsx' cannot be written (No such file or directory)",
    ),
    'output-with-nul': (
        ['CCSP-2026-11', '-o', '{tmp}/a\x00b.xlsx'],
        2,
        P + "-o '{tmp}/a\\x00b.xlsx' cannot be written (embedded null byte)",
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('argv', 'code', 'message'), HOSTILE.values(), ids=list(HOSTILE))
def test_get_refuses_with_one_message_and_exit_code(ship, tmp_path, argv, code, message, capsys):
    (tmp_path / 'exists.xlsx').write_bytes(b'keep me')
    argv = [a.replace('{tmp}', str(tmp_path)) for a in argv]
    assert main(['reports', 'get', *argv], env=_env(ship)) == code
    assert capsys.readouterr().err == message.replace('{tmp}', str(tmp_path)) + '\n'
    assert (tmp_path / 'exists.xlsx').read_bytes() == b'keep me'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['exists.xlsx', 'ship']


def test_get_force_replaces_an_existing_file(ship, tmp_path):
    out = tmp_path / 'exists.xlsx'
    out.write_bytes(b'old')
    assert main(['reports', 'get', 'CCSP-2026-11', '-o', str(out), '--force'], env=_env(ship)) == 0
    assert out.read_bytes() == b'november'


STORAGE = {
    'unset-target': (
        {},
        'metrics-utility reports list: invalid configuration:\n  - METRICS_UTILITY_SHIP_TARGET is not '
        'set; expected one of: directory, s3',
    ),
    'crc-target': (
        {'METRICS_UTILITY_SHIP_TARGET': 'crc'},
        'metrics-utility reports list: invalid configuration:\n  - '
        "METRICS_UTILITY_SHIP_TARGET='crc' is not supported here; expected one of: directory, s3",
    ),
    'missing-directory': (
        {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': '/no/such'},
        'metrics-utility reports list: invalid configuration:\n  - '
        "METRICS_UTILITY_SHIP_PATH='/no/such' is not an existing directory",
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('env', 'message'), STORAGE.values(), ids=list(STORAGE))
def test_list_without_a_readable_storage_is_a_configuration_error(env, message, capsys):
    assert main(['reports', 'list'], env=env) == 2
    assert capsys.readouterr().err == message + '\n'
