"""build(): a report trusts nothing it did not verify.

Three days of real packages (written by the gather's own `Package`, so they carry checksums and row counts); the
middle day's package is tampered with as someone with write access to the storage could. Every case asserts the
exact problem listed for it, that none of its rows is billed (the billed quantity is exactly the untampered days'
hosts), that the problem reaches the workbook's status sheet, and that the rest of the period still builds.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from metrics_utility.library.reports import ReportOptions, build
from metrics_utility.library.storage import StorageDirectory
from testsupport import packages
from testsupport.packages import add, drop, edit, edit_json, jhs_rows, reseal, rewrite, ship

pytestmark = pytest.mark.unit

DAYS = (date(2024, 2, 1), date(2024, 2, 2), date(2024, 2, 3))
HOSTS = {DAYS[0]: ['a1', 'a2'], DAYS[1]: ['b1', 'b2', 'b3'], DAYS[2]: ['c1']}
UNTAMPERED = 3  # a1, a2, c1
CSV = 'job_host_summary.csv'
NESTED = b'[' * 100_000 + b']' * 100_000


def period(base: Path, work: Path) -> Path:
    """Ship the three days; return the middle day's package (the one the cases tamper with)."""
    paths = [ship(base, day, jhs_rows(day, HOSTS[day], job=i + 1), work=work) for i, day in enumerate(DAYS)]
    return paths[1]


def options() -> ReportOptions:
    return ReportOptions(
        'CCSPv2',
        date(2024, 2, 1),
        date(2024, 3, 1),
        '2024-02',
        sheets=('ccsp_summary', 'data_collection_status'),
        generated=datetime(2024, 3, 2, tzinfo=UTC),
    )


def member(path: Path, name: str) -> bytes:
    return next(content for info, content in packages.members(path) if info.name == f'./{name}')


def header(name: str, size: int, kind: bytes = tarfile.REGTYPE, link: str = '') -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


# -- tampering (each returns nothing: it rewrites the package in place) -----------------------------------------------


def rename_host(path: Path) -> None:
    edit(path, CSV, lambda content: content.replace(b',b2,', b',x2,'))


def add_row(path: Path) -> None:
    edit(path, CSV, lambda content: content + content.splitlines(keepends=True)[-1].replace(b',b3,', b',b4,'))


def remove_row(path: Path) -> None:
    edit(path, CSV, lambda content: b''.join(content.splitlines(keepends=True)[:-1]))


def zero_ok_counts(path: Path) -> None:
    edit(path, CSV, lambda content: content.replace(b',0,0,2,', b',0,0,0,'))


def forge_checksum(path: Path) -> None:
    edit_json(
        path,
        'package_info.json',
        lambda info: info | {'files': info['files'] | {CSV: {**info['files'][CSV], 'sha256': '0' * 64}}},
    )


def without_info_files(path: Path) -> None:
    edit_json(path, 'package_info.json', lambda info: {k: v for k, v in info.items() if k != 'files'})


def info_not_json(path: Path) -> None:
    edit(path, 'package_info.json', lambda _: b'{"files": ')


def drop_info(path: Path) -> None:
    drop(path, 'package_info.json')


def drop_manifest(path: Path) -> None:
    drop(path, 'manifest.json')
    reseal(path)


def drop_status(path: Path) -> None:
    drop(path, 'data_collection_status.csv')
    reseal(path)


def drop_config(path: Path) -> None:
    drop(path, 'config.json')
    reseal(path)


def extra_member(path: Path) -> None:
    add(path, header('./main_host.csv', 0), b'')


def duplicate_member(path: Path) -> None:
    add(path, header(f'./{CSV}', 0), b'')


def sealed(change: Callable[[Path], None]) -> Callable[[Path], None]:
    """`change`, then package_info.json rewritten to match: checks beyond checksums must still catch it."""

    def tamper(path: Path) -> None:
        change(path)
        reseal(path)

    tamper.__name__ = change.__name__
    return tamper


def config_nested(path: Path) -> None:
    edit(path, 'config.json', lambda _: NESTED)


def config_list(path: Path) -> None:
    edit(path, 'config.json', lambda _: b'["install_uuid"]')


def config_latin1(path: Path) -> None:
    edit(path, 'config.json', lambda _: '{"controller_url_base": "https://zürich"}'.encode('latin-1'))


def config_huge(path: Path) -> None:
    edit(path, 'config.json', lambda _: b'{"x": "' + b' ' * (17 << 20) + b'"}')


def manifest_nested(path: Path) -> None:
    edit(path, 'manifest.json', lambda _: b'{"a": ' * 100_000 + b'1' + b'}' * 100_000)


def manifest_list(path: Path) -> None:
    edit(path, 'manifest.json', lambda _: b'[]')


def status_header(path: Path) -> None:
    edit(path, 'data_collection_status.csv', lambda _: b'when,what\r\n1,2\r\n')


def status_field(path: Path) -> None:
    edit(path, 'data_collection_status.csv', lambda content: content + b'"' + b'x' * 200_000 + b'"\r\n')


def lacks_host_name(path: Path) -> None:
    edit(path, CSV, lambda content: content.replace(b',host_name,', b',hostname,', 1))


def lacks_counts(path: Path) -> None:
    edit(path, CSV, lambda content: content.replace(b',dark,', b',unreachable,', 1).replace(b',ok,', b',okay,', 1))


# -- the container ----------------------------------------------------------------------------------------------------


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def not_gzip(path: Path) -> None:
    path.write_bytes(b'PK\x03\x04 a zip file, not a package')


def empty_file(path: Path) -> None:
    path.write_bytes(b'')


def bad_deflate(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[10] = 0x07  # first deflate block: BFINAL=1, BTYPE=11 (reserved)
    path.write_bytes(bytes(data))


def unsafe(name: str, kind: bytes = tarfile.REGTYPE, link: str = '') -> Callable[[Path], None]:
    def tamper(path: Path) -> None:
        content = b'x,y' if kind == tarfile.REGTYPE else b''
        add(path, header(name, len(content), kind, link), content, first=True)

    return tamper


def header_bomb(path: Path) -> None:
    """A member whose header announces 2 GiB: refused before a byte of it is inflated."""
    tar = header(f'./{CSV}', 2 << 30).tobuf(format=tarfile.PAX_FORMAT) + b'x' * 4096
    path.write_bytes(gzip.compress(tar, mtime=0))


def many_members(path: Path) -> None:
    current = packages.members(path)
    rewrite(path, current + [(header(f'./extra{i}.json', 2), b'{}') for i in range(100)])


def header_shorter(path: Path) -> None:
    """The tar header says fewer bytes than the member holds: the rest would be read as the next header."""
    buffer = io.BytesIO()
    content = member(path, CSV)
    buffer.write(header(f'./{CSV}', 100).tobuf(format=tarfile.PAX_FORMAT))
    buffer.write(content + b'\0' * (-len(content) % 512))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))


def sizes(path: Path) -> dict[str, int]:
    """The CSV's size and the size of its last row, as the package recorded them."""
    content = member(path, CSV)
    return {CSV: len(content), 'row': len(content.splitlines(keepends=True)[-1])}


CASES: list[tuple[str, Callable[[Path], None], Callable[[dict[str, int]], str]]] = [
    ('host-renamed', rename_host, lambda s: f'{CSV}: sha256 does not match package_info.json'),
    (
        'row-added',
        add_row,
        lambda s: (
            f'{CSV}: {s[CSV] + s["row"]} bytes, package_info.json says {s[CSV]}; '
            f'{CSV}: sha256 does not match package_info.json; {CSV}: 4 rows, package_info.json says 3'
        ),
    ),
    (
        'row-removed',
        remove_row,
        lambda s: (
            f'{CSV}: {s[CSV] - s["row"]} bytes, package_info.json says {s[CSV]}; '
            f'{CSV}: sha256 does not match package_info.json; {CSV}: 2 rows, package_info.json says 3'
        ),
    ),
    ('counts-zeroed', zero_ok_counts, lambda s: f'{CSV}: sha256 does not match package_info.json'),
    ('checksum-forged', forge_checksum, lambda s: f'{CSV}: sha256 does not match package_info.json'),
    ('info-without-files', without_info_files, lambda s: 'package_info.json has no "files" object'),
    (
        'info-not-json',
        info_not_json,
        lambda s: 'package_info.json is not JSON (Expecting value: line 1 column 11 (char 10))',
    ),
    ('info-removed', drop_info, lambda s: 'manifest.json lists package_info.json, which is not in the package'),
    ('manifest-missing', drop_manifest, lambda s: 'manifest.json is missing'),
    (
        'status-missing',
        drop_status,
        lambda s: (
            'data_collection_status.csv is missing; manifest.json lists '
            'data_collection_status.csv, which is not in the package'
        ),
    ),
    (
        'config-missing',
        drop_config,
        lambda s: 'config.json is missing; manifest.json lists config.json, which is not in the package',
    ),
    ('extra-member', extra_member, lambda s: 'main_host.csv is not described in package_info.json'),
    ('duplicate-member', duplicate_member, lambda s: f"member '{CSV}' appears twice"),
    ('config-nested-100k', sealed(config_nested), lambda s: 'config.json is not JSON (nested too deeply)'),
    ('config-not-object', sealed(config_list), lambda s: 'config.json is not an object'),
    (
        'config-not-utf8',
        sealed(config_latin1),
        lambda s: "config.json is not JSON ('utf-8' codec can't decode byte 0xfc in position 34: invalid start byte)",
    ),
    ('config-17mib', sealed(config_huge), lambda s: 'config.json: over the size limit'),
    ('manifest-nested-100k', sealed(manifest_nested), lambda s: 'manifest.json is not JSON (nested too deeply)'),
    ('manifest-not-object', sealed(manifest_list), lambda s: 'manifest.json is not an object'),
    (
        'status-wrong-header',
        sealed(status_header),
        lambda s: (
            "data_collection_status.csv: header is 'when,what', "
            "expected 'collection_start_timestamp,since,until,file_name,status,elapsed,unreadable_rows'"
        ),
    ),
    (
        'status-huge-field',
        sealed(status_field),
        lambda s: 'data_collection_status.csv is not CSV (field larger than field limit (131072))',
    ),
    (
        'truncated',
        truncate,
        lambda s: 'truncated .tar.gz (EOFError: Compressed file ended before the end-of-stream marker was reached)',
    ),
    ('not-gzip', not_gzip, lambda s: "not a readable .tar.gz (BadGzipFile: Not a gzipped file (b'PK'))"),
    ('empty-file', empty_file, lambda s: 'not a readable .tar.gz (ReadError: empty file)'),
    (
        'corrupt-deflate',
        bad_deflate,
        lambda s: 'not a readable .tar.gz (IsalError: Error -1 Invalid deflate block found)',
    ),
    (
        'parent-path',
        unsafe('../job_host_summary.csv'),
        lambda s: "member '../job_host_summary.csv' is not a plain file name",
    ),
    (
        'absolute-path',
        unsafe('/etc/job_host_summary.csv'),
        lambda s: "member '/etc/job_host_summary.csv' is not a plain file name",
    ),
    ('nested-path', unsafe('./a/../../x.csv'), lambda s: "member './a/../../x.csv' is not a plain file name"),
    (
        'symlink',
        unsafe(f'./{CSV}', tarfile.SYMTYPE, '/etc/passwd'),
        lambda s: f"member './{CSV}' is a link or special file",
    ),
    (
        'hardlink',
        unsafe('./main_host.csv', tarfile.LNKTYPE, f'./{CSV}'),
        lambda s: "member './main_host.csv' is a link or special file",
    ),
    (
        'fifo',
        unsafe('./main_host.csv', tarfile.FIFOTYPE),
        lambda s: "member './main_host.csv' is a link or special file",
    ),
    ('header-bomb-2gib', header_bomb, lambda s: f'{CSV}: over the size limit'),
    ('101-members', many_members, lambda s: 'more than 100 members'),
    (
        'header-shorter-than-data',
        header_shorter,  # the CSV's rest ends the archive: the metadata is not found
        lambda s: 'manifest.json is missing; config.json is missing; data_collection_status.csv is missing',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('tamper', 'expected'), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_tampered_package_is_a_listed_problem_and_never_billed(
    tmp_path: Path, tamper: Callable[[Path], None], expected: Callable[[dict[str, int]], str]
) -> None:
    base, work = tmp_path / 'ship', tmp_path / 'work'
    target = period(base, work)
    facts = sizes(target)
    tamper(target)
    result = build(StorageDirectory(base), options(), tmp_path / 'report.xlsx')
    message = f'{expected(facts)}; none of its rows are used'
    assert [(p.day, p.name, p.message) for p in result.problems] == [(DAYS[1], target.name, message)]
    assert result.quantity == UNTAMPERED
    sheet = load_workbook(tmp_path / 'report.xlsx')['Data collection status']
    assert [DAYS[1].isoformat(), target.name, message] in [list(row[:3]) for row in sheet.iter_rows(values_only=True)]


COLUMN_CASES = [
    ('lacks-host_name', sealed(lacks_host_name), f"{CSV} lacks required column(s) 'host_name'; its rows are not used"),
    ('lacks-ok-and-dark', sealed(lacks_counts), f"{CSV} lacks required column(s) 'ok', 'dark'; its rows are not used"),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('tamper', 'expected'), [c[1:] for c in COLUMN_CASES], ids=[c[0] for c in COLUMN_CASES])
def test_a_csv_lacking_a_required_column_is_a_listed_problem_not_zero(
    tmp_path: Path, tamper: Callable[[Path], None], expected: str
) -> None:
    base, work = tmp_path / 'ship', tmp_path / 'work'
    target = period(base, work)
    tamper(target)
    result = build(StorageDirectory(base), options(), tmp_path / 'report.xlsx')
    assert [(p.day, p.name, p.message) for p in result.problems] == [(DAYS[1], target.name, expected)]
    assert result.quantity == UNTAMPERED


def test_untampered_packages_are_all_billed(tmp_path: Path) -> None:
    period(tmp_path / 'ship', tmp_path / 'work')
    result = build(StorageDirectory(tmp_path / 'ship'), options(), tmp_path / 'report.xlsx')
    assert result.problems == [] and result.quantity == UNTAMPERED + len(HOSTS[DAYS[1]])


def test_json_config_of_the_period_is_read_verified(tmp_path: Path) -> None:
    """The per-installation sheet's config reader is the verifier too: a nested config is no traceback."""
    target = period(tmp_path / 'ship', tmp_path / 'work')
    sealed(config_nested)(target)
    from metrics_utility.library.extract.multi import read_config

    assert read_config(target) == {}
    assert json.loads(member(target, 'manifest.json'))  # the package is otherwise intact


@pytest.mark.parametrize(
    ('kind', 'sheets'),
    [('CCSPv2', ('ccsp_summary', 'managed_nodes')), ('CCSP', ())],
    ids=['ccspv2-default-like', 'ccsp-v1'],
)
def test_without_the_status_sheet_problems_get_their_own_sheet(tmp_path: Path, kind: str, sheets: tuple) -> None:
    target = period(tmp_path / 'ship', tmp_path / 'work')
    rename_host(target)
    options = ReportOptions(
        kind, date(2024, 2, 1), date(2024, 3, 1), '2024-02', sheets=sheets, generated=datetime(2024, 3, 2, tzinfo=UTC)
    )
    result = build(StorageDirectory(tmp_path / 'ship'), options, tmp_path / 'report.xlsx')
    assert result.quantity == UNTAMPERED
    rows = list(load_workbook(tmp_path / 'report.xlsx')['Problems'].iter_rows(values_only=True))
    message = f'{CSV}: sha256 does not match package_info.json; none of its rows are used'
    assert [list(row[:3]) for row in rows[1:]] == [['Day', 'Package', 'Problem'], ['2024-02-02', target.name, message]]


def test_a_clean_period_has_no_problems_sheet(tmp_path: Path) -> None:
    period(tmp_path / 'ship', tmp_path / 'work')
    options = ReportOptions('CCSPv2', date(2024, 2, 1), date(2024, 3, 1), '2024-02', sheets=('ccsp_summary',))
    build(StorageDirectory(tmp_path / 'ship'), options, tmp_path / 'report.xlsx')
    assert 'Problems' not in load_workbook(tmp_path / 'report.xlsx').sheetnames


def test_rollups_of_the_unverified_reader_are_rebuilt(tmp_path: Path) -> None:
    """Daily rollups written before verification existed (format 1) may hold a tampered package's rows: they are
    read again, not trusted, although they record the package as it is now (name, size, mtime)."""
    base = tmp_path / 'ship'
    target = period(base, tmp_path / 'work')
    assert build(StorageDirectory(base), options(), tmp_path / 'first.xlsx').quantity == UNTAMPERED + 3
    rename_host(target)
    stat = target.stat()
    for path in (base / 'rollups').glob('2024/02/*/manifest.json'):  # as the unverified reader left them
        manifest = json.loads(path.read_text())
        for source in manifest['sources']:
            if source['name'].endswith(target.name):
                source.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        path.write_text(json.dumps(manifest | {'version': 1}))
    result = build(StorageDirectory(base), options(), tmp_path / 'second.xlsx')
    assert result.quantity == UNTAMPERED and result.days_rebuilt == 3
    assert [p.message for p in result.problems] == [
        f'{CSV}: sha256 does not match package_info.json; none of its rows are used'
    ]


def test_the_status_sheet_shows_the_rows_exported_with_unreadable_documents(tmp_path):
    """A package's data_collection_status.csv counts the rows whose host variables or event data could not be read
    (exported with NULLs); the workbook's status sheet shows that count per collection, and upstream's packages,
    which lack the column, show an empty cell."""
    base = tmp_path / 'ship'
    for i, day in enumerate(DAYS):
        ship(base, day, jhs_rows(day, HOSTS[day], job=i + 1), work=tmp_path / 'work', unreadable=(0, 3, 0)[i])
    result = build(StorageDirectory(base), options(), tmp_path / 'report.xlsx')
    assert result.problems == []
    ws = load_workbook(tmp_path / 'report.xlsx')['Data collection status']
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(r for r in rows if r and r[0] == 'Collection timestamp')
    column = header.index('Unreadable rows')
    counts = {r[1].date(): r[column] for r in rows[rows.index(header) + 1 :] if r and r[3] == CSV}
    assert counts == {DAYS[0]: 0, DAYS[1]: 3, DAYS[2]: 0}
