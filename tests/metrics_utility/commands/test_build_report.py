"""The build-report command in-process: periods, overwrite rules, corrupt and empty months, bad input."""

import json
import tarfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from metrics_utility.cli import _parser
from metrics_utility.commands.build_report import PROG, run
from testsupport import packages
from testsupport.report_data import synthetic

pytestmark = pytest.mark.unit
NOW = datetime(2024, 3, 2, 4, tzinfo=UTC)


def _run(argv, env, capsys):
    args = _parser().parse_args(argv)
    code = run(args, env=env, now=NOW)
    out = capsys.readouterr()
    return code, out.out, out.err


def _env(path, **extra):
    return {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        **extra,
    }


def test_default_month_is_the_previous_one_and_existing_reports_are_kept(tmp_path, capsys):
    synthetic(date(2024, 2, 28), 2).write(tmp_path)
    code, out, _ = _run(['build_report'], _env(tmp_path), capsys)
    assert code == 0
    report = tmp_path / 'reports/2024/02/CCSPv2-2024-02.xlsx'
    assert report.is_file() and '"quantity"' in out
    mtime = report.stat().st_mtime_ns
    code, out, _ = _run(['build-report'], _env(tmp_path), capsys)
    assert code == 0 and 'already exists' in out and report.stat().st_mtime_ns == mtime
    code, out, _ = _run(['build-report', '--force', '--sheets', 'all'], _env(tmp_path), capsys)
    assert code == 0 and report.stat().st_mtime_ns != mtime
    assert 'Data collection status' in load_workbook(report).sheetnames


def test_range_until_is_inclusive_and_named_as_the_original(tmp_path, capsys):
    synthetic(date(2024, 2, 28), 3).write(tmp_path)
    code, out, _ = _run(['build-report', '--since', '2024-02-29', '--until', '2024-02-29'], _env(tmp_path), capsys)
    assert code == 0
    assert (tmp_path / 'reports/2024/02/CCSPv2-2024-02-29--2024-02-29.xlsx').is_file()
    assert '"since": "2024-02-29", "until": "2024-02-29"' in out


def test_corrupt_tarball_is_reported_and_the_report_still_built(tmp_path, capsys):
    paths = synthetic(date(2024, 2, 27), 3).write(tmp_path)
    broken = next(p for p in paths if '2024-02-28' in p.name and p.name.endswith('job_host_summary.tar.gz'))
    broken.write_bytes(broken.read_bytes()[:200])
    code, _, err = _run(['build-report', '--sheets', 'ccsp_summary,data_collection_status'], _env(tmp_path), capsys)
    assert code == 0 and broken.name in err
    ws = load_workbook(tmp_path / 'reports/2024/02/CCSPv2-2024-02.xlsx')['Data collection status']
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c]
    assert broken.name in values
    assert 'job_host_summary.csv' in values  # its missing day shows as a gap


def test_empty_month_writes_nothing(tmp_path, capsys):
    code, out, _ = _run(['build-report', '--month', '2024-01'], _env(tmp_path), capsys)
    assert code == 0 and 'No billing data' in out
    assert not (tmp_path / 'reports').exists()


@pytest.mark.hostile
@pytest.mark.parametrize('month', ['2024-04', '2024-4', '9999-12'], ids=['next-month', 'next-month-short', 'year-9999'])
def test_a_month_that_has_not_begun_is_a_warning_and_no_report(tmp_path, capsys, month):
    """metrics-utility finds no data for such a month and ends with 0; so do we, saying why (docs/upstream.md)."""
    synthetic(date(2024, 2, 28), 2).write(tmp_path)
    summary_file = tmp_path / 'summary.json'
    code, out, err = _run(['build-report', '--month', month, f'--summary-file={summary_file}'], _env(tmp_path), capsys)
    label = f'{month[:4]}-{int(month[5:]):02d}'
    assert (code, out) == (0, '')
    assert (
        err == f'{PROG}: warning: --month={label} has not begun (this month is 2024-03): no data, no report written\n'
    )
    assert not (tmp_path / 'reports').exists()
    summary = json.loads(summary_file.read_text())
    assert (summary['ok'], summary['error'], summary.get('report')) == (True, None, None)


def test_every_problem_is_reported_together(tmp_path, capsys):
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path / 'missing'),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PRICE_PER_NODE': '-3',
        'METRICS_UTILITY_OPTIONAL_CCSP_REPORT_SHEETS': 'ccsp_summary,bogus',
    }
    code, _, err = _run(['build-report', '--until', '2024-02-01', '--ephemeral', '3d'], env, capsys)
    assert code == 2
    for text in ('SHIP_PATH', 'PRICE_PER_NODE', "'bogus'", '--until requires --since', '--ephemeral applies'):
        assert text in err


def test_renewal_requires_since(tmp_path, capsys):
    code, _, err = _run(
        ['build-report', '--month', '2024-02'], _env(tmp_path, METRICS_UTILITY_REPORT_TYPE='RENEWAL_GUIDANCE'), capsys
    )
    assert code == 2 and 'requires --since' in err and 'takes --since only' in err


def test_summary_file_follows_the_operator_contract(tmp_path, capsys):
    synthetic(date(2024, 2, 28), 2).write(tmp_path)
    summary = tmp_path / 'termination-log'
    code, _, _ = _run(['build-report', '--summary-file', str(summary)], _env(tmp_path), capsys)
    written = json.loads(summary.read_text())
    assert code == 0 and written['ok'] and written['command'] == 'build-report'
    assert written['report'] == 'reports/2024/02/CCSPv2-2024-02.xlsx' and written['target'] == 'directory'
    code, _, _ = _run(['build-report', '--summary-file', str(summary), '--month', '2024-13'], _env(tmp_path), capsys)
    written = json.loads(summary.read_text())
    assert code == 2 and not written['ok'] and "--month='2024-13'" in written['error']


def test_also_from_combines_installations_and_writes_only_to_the_main_storage(tmp_path, capsys):
    main, other = tmp_path / 'a', tmp_path / 'b'
    synthetic(date(2024, 2, 28), 2, install_uuid='11111111-1111-4111-8111-111111111111').write(main)
    synthetic(date(2024, 2, 28), 2, seed=9, install_uuid='22222222-2222-4222-8222-222222222222').write(other)
    code, out, _ = _run(['build-report', '--also-from', str(other)], _env(main), capsys)
    assert code == 0
    sheets = load_workbook(main / 'reports/2024/02/CCSPv2-2024-02.xlsx').sheetnames
    assert 'Usage by installations' in sheets  # default sheets + two installations
    assert not (other / 'reports').exists() and not (other / 'rollups').exists()
    alone, _, _ = _run(['build-report', '--force'], _env(main), capsys)
    assert alone == 0
    assert 'Usage by installations' not in load_workbook(main / 'reports/2024/02/CCSPv2-2024-02.xlsx').sheetnames
    assert json.loads(out.strip().splitlines()[-1])['quantity'] > 0


def test_bad_additional_sources_exit_2_naming_them(tmp_path, capsys):
    synthetic(date(2024, 2, 28), 1).write(tmp_path)
    env = _env(tmp_path, METRICS_UTILITY_ADDITIONAL_SHIP_PATHS=f'{tmp_path / "nope"};s3://bucket')
    code, _, err = _run(['build-report'], env, capsys)
    assert code == 2
    assert 'METRICS_UTILITY_ADDITIONAL_SHIP_PATHS' in err and 'nope' in err and 'BUCKET_ENDPOINT' in err


# -- a report trusts nothing it did not verify (issue 17, class 3) -------------------------------------------------

CSV = 'job_host_summary.csv'


def _period(base, work, days=3):
    """`days` days of real (verifiable) packages from Feb 1; day i bills hosts h<i>-0 … h<i>-<i> (i + 1 hosts)."""
    paths = []
    for i in range(days):
        day = date(2024, 2, 1 + i)
        paths.append(
            packages.ship(base, day, packages.jhs_rows(day, [f'h{i}-{n}' for n in range(i + 1)], job=i + 1), work=work)
        )
    return paths


def _symlink(path):
    info = tarfile.TarInfo(f'./{CSV}')
    info.type, info.linkname = tarfile.SYMTYPE, '/etc/passwd'
    packages.add(path, info, first=True)


def _sealed(change):
    def tamper(path):
        change(path)
        packages.reseal(path)

    return tamper


CLI_CASES = [
    (
        'csv-edited',
        lambda p: packages.edit(p, CSV, lambda c: c.replace(b',h1-0,', b',zz-0,')),
        f'{CSV}: sha256 does not match package_info.json; none of its rows are used',
    ),
    (
        'config-nested',
        _sealed(lambda p: packages.edit(p, 'config.json', lambda _: b'{"a":' * 100_000 + b'}' * 100_000)),
        'config.json is not JSON (nested too deeply); none of its rows are used',
    ),
    (
        'lacks-host_name',
        _sealed(lambda p: packages.edit(p, CSV, lambda c: c.replace(b'host_name', b'host', 1))),
        f"{CSV} lacks required column(s) 'host_name'; its rows are not used",
    ),
    (
        'truncated',
        lambda p: p.write_bytes(p.read_bytes()[:300]),
        'truncated .tar.gz (EOFError: Compressed file ended before the end-of-stream marker was reached); '
        'none of its rows are used',
    ),
    ('symlink', _symlink, f"member './{CSV}' is a link or special file; none of its rows are used"),
    (
        'not-gzip',
        lambda p: p.write_bytes(b'\x1f\x8b but not really'),
        'not a readable .tar.gz (BadGzipFile: Unknown compression method); none of its rows are used',
    ),
    (
        'manifest-missing',
        _sealed(lambda p: packages.drop(p, 'manifest.json')),
        'manifest.json is missing; none of its rows are used',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('tamper', 'message'), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_a_tampered_package_is_listed_in_the_summary_and_not_billed(tmp_path, capsys, tamper, message):
    base = tmp_path / 'ship'
    target = _period(base, tmp_path / 'work')[1]
    tamper(target)
    summary = tmp_path / 'termination-log'
    code, out, err = _run(['build-report', '--summary-file', str(summary)], _env(base), capsys)
    written = json.loads(summary.read_text())
    assert code == 0 and written['ok'] is True
    assert written['quantity'] == 1 + 3  # days 1 and 3; day 2's two hosts are not billed
    assert written['problem_count'] == 1 and written['problems'] == [f'2024-02-02 {target.name}: {message}']
    assert f'{PROG}: warning: 2024-02-02 {target.name}: {message}\n' in err
    assert '"problems": 1' in out


@pytest.mark.hostile
def test_many_long_problems_keep_the_summary_within_4_kib(tmp_path, capsys):
    base = tmp_path / 'ship'
    paths = _period(base, tmp_path / 'work', days=12)
    for path in paths[1:]:
        info = tarfile.TarInfo('./' + 'é' * 300 + '.csv')
        info.size = 1
        packages.add(path, info, b'x', first=True)
    summary = tmp_path / 'termination-log'
    code, _, err = _run(['build-report', '--summary-file', str(summary)], _env(base), capsys)
    text = summary.read_text()
    written = json.loads(text)
    assert code == 0 and len(text.encode()) <= 4096
    assert written['quantity'] == 1 and written['problem_count'] == 11 and len(written['problems']) == 5
    assert all(len(json.dumps(line)) <= 300 and line.endswith('…') for line in written['problems'])
    assert written['problems'][0].startswith(f'2024-02-02 {paths[1].name}: member ')
    assert err.count(f'{PROG}: warning: ') == 11


def test_a_monthly_report_leaves_the_month_usage_digest_serve_reads(tmp_path, capsys):
    """build-report stores `rollups/usage/2024-02.parquet`; a server just started answers February from it alone,
    with the report's billed quantity; a range report within a month leaves none."""
    from metrics_utility.library.storage import StorageDirectory
    from metrics_utility.library.usage_periods import UsageReader

    synthetic(date(2024, 2, 27), 2).write(tmp_path)
    code, _, _ = _run(['build-report', '--since', '2024-02-27', '--until', '2024-02-28'], _env(tmp_path), capsys)
    assert code == 0 and not (tmp_path / 'rollups/usage').exists()
    code, out, err = _run(['build-report', '--month', '2024-02'], _env(tmp_path), capsys)
    assert code == 0 and err == ''
    assert sorted(p.name for p in (tmp_path / 'rollups/usage').iterdir()) == ['2024-02.parquet']
    reader = UsageReader(StorageDirectory(tmp_path))
    (february,) = reader.usage('month', date(2024, 2, 1), date(2024, 3, 1))
    assert (reader.days_read, reader.digests_built) == (0, 0)
    assert february.managed_nodes == json.loads(out.splitlines()[-1])['quantity'] > 10


def test_a_usage_digest_that_cannot_be_stored_costs_only_a_warning(tmp_path, capsys, caplog):
    synthetic(date(2024, 2, 27), 2).write(tmp_path)
    (tmp_path / 'rollups').mkdir()
    (tmp_path / 'rollups/usage').write_text('a file where the digests folder goes')
    code, out, _ = _run(['build-report', '--month', '2024-02'], _env(tmp_path), capsys)
    assert code == 0 and (tmp_path / 'reports/2024/02/CCSPv2-2024-02.xlsx').is_file() and '"quantity"' in out
    assert [r.getMessage()[:43] for r in caplog.records if 'usage digest' in r.getMessage()] == [
        'cannot store the usage digest of 2024-02 (c'
    ]


def _sized(tmp_path):
    """Packages of two days plus things that are not packages of the period; (storage, their byte sizes)."""
    from metrics_utility.library.storage import StorageDirectory

    paths = synthetic(date(2024, 2, 27), 2).write(tmp_path)
    (tmp_path / 'data/2024/02/27/notes.txt').write_text('not a package')
    synthetic(date(2024, 3, 1), 1).write(tmp_path)  # after the period
    return StorageDirectory(str(tmp_path)), sum(p.stat().st_size for p in paths)


SIZES = {
    # id: (how the report sees the storage, the answer): only packages of the period count; unknown sizes are None
    'directory': ('directory', 'total'),
    'directory-among-several': ('multi', 'total'),
    'sizes-not-told': ('unsized', None),  # e.g. S3: its listing holds no sizes
    'listing-fails': ('fails', None),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('view', 'expected'), SIZES.values(), ids=list(SIZES))
def test_package_bytes_counts_the_periods_packages_or_says_it_cannot(tmp_path, view, expected):
    from metrics_utility.commands.build_report import package_bytes
    from metrics_utility.library.storage import StorageError
    from metrics_utility.library.storage.multi import MultiStorage

    class Unsized(MultiStorage):
        def stat(self, name):
            return {}

    storage, total = _sized(tmp_path)
    if view == 'fails':

        def refuse(pattern):
            raise StorageError('listing refused')

        storage.glob = refuse
    elif view != 'directory':
        storage = (MultiStorage if view == 'multi' else Unsized)(storage, [])
    assert package_bytes(storage, date(2024, 2, 1), date(2024, 3, 1)) == (total if expected == 'total' else None)
