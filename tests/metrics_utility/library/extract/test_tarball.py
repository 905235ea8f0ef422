"""Reading one package: typed tables, and refusal of corrupt, truncated or unsafe tarballs."""

import io
import tarfile
from datetime import UTC, datetime, timedelta

import pytest

from metrics_utility.library.extract import PackageTables, TarballError, read_tables
from testsupport.packages import edit
from testsupport.report_data import pg_ts, write_tarball

pytestmark = pytest.mark.unit

DAY = datetime(2024, 2, 29, tzinfo=UTC)


def _jhs(**extra):
    row = {
        'id': 1,
        'created': pg_ts(DAY),
        'modified': pg_ts(DAY + timedelta(hours=1, microseconds=120)),
        'host_name': 'web01',
        'host_remote_id': 7,
        'ok': 3,
        'dark': 0,
        'failed': 'f',
        'job_remote_id': 9,
        'organization_name': 'Zürich Netzwerk',
    }
    row.update(extra)
    return row


def test_tables_are_typed_as_the_collector_wrote_them(tmp_path):
    path = write_tarball(tmp_path, key='job_host_summary', rows=[_jhs()], since=DAY, until=DAY + timedelta(days=1))
    package = read_tables(path, path.name)
    table = package.tables['job_host_summary']
    row = table.to_pylist()[0]
    assert row['modified'] == DAY + timedelta(hours=1, microseconds=120)
    assert row['host_remote_id'] == 7
    assert row['failed'] is False
    assert row['ansible_host_variable'] is None  # empty field = NULL
    assert row['organization_name'] == 'Zürich Netzwerk'
    assert package.install_uuid
    assert package.tables['data_collection_status'].column('status').to_pylist() == ['ok']


def test_only_requested_keys_are_parsed(tmp_path):
    path = write_tarball(tmp_path, key='job_host_summary', rows=[_jhs()], since=DAY, until=DAY + timedelta(days=1))
    package = read_tables(path, path.name, frozenset({'data_collection_status'}))
    assert set(package.tables) == {'data_collection_status'}


def test_a_bad_value_becomes_null_and_is_reported(tmp_path):
    rows = [_jhs(), _jhs(id=2, ok='three', modified='yesterday')]
    path = write_tarball(tmp_path, key='job_host_summary', rows=rows, since=DAY, until=DAY + timedelta(days=1))
    package = read_tables(path, path.name)
    table = package.tables['job_host_summary']
    assert table.column('ok').to_pylist() == [3, None]
    assert table.column('modified').to_pylist()[1] is None
    assert any("column 'ok'" in w for w in package.warnings)
    assert any("column 'modified'" in w for w in package.warnings)


def test_a_missing_optional_column_reads_as_nulls(tmp_path):
    data = b'id,created,host_name,job_remote_id,ok,dark,failures,skipped\n1,,web01,9,2,0,0,0\n'
    path = write_tarball(tmp_path, key='job_host_summary', rows=[], since=DAY, until=DAY + timedelta(days=1))
    edit(path, 'job_host_summary.csv', lambda _: data)
    package = read_tables(path, 'x')
    table = package.tables['job_host_summary']
    assert table.column('job_created').to_pylist() == [None]
    assert table.column('ok').to_pylist() == [2]
    assert package.warnings == []


def test_a_missing_required_column_leaves_the_file_out(tmp_path):
    path = write_tarball(tmp_path, key='job_host_summary', rows=[_jhs()], since=DAY, until=DAY + timedelta(days=1))
    edit(path, 'job_host_summary.csv', lambda content: content.replace(b'host_name', b'name', 1))
    package = read_tables(path, 'x')
    assert 'job_host_summary' not in package.tables
    assert package.warnings == ["job_host_summary.csv lacks required column(s) 'host_name'; its rows are not used"]
    assert package.tables['data_collection_status'].num_rows == 1


def test_truncated_tarball_is_refused(tmp_path):
    path = write_tarball(
        tmp_path,
        key='job_host_summary',
        rows=[_jhs(id=i) for i in range(2000)],
        since=DAY,
        until=DAY + timedelta(days=1),
    )
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(TarballError, match=r'^truncated \.tar\.gz \(EOFError: '):
        read_tables(path, path.name)


def test_garbage_is_refused(tmp_path):
    path = tmp_path / 'x.tar.gz'
    path.write_bytes(b'this is not gzip')
    with pytest.raises(TarballError):
        read_tables(path, path.name)


def _tar(tmp_path, members, extra=None):
    path = tmp_path / 'evil.tar.gz'
    with tarfile.open(path, 'w:gz') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra:
            extra(tar)
    return path


@pytest.mark.parametrize('name', ['../job_host_summary.csv', '/etc/job_host_summary.csv', 'a/../../x.csv'])
def test_path_traversal_is_refused(tmp_path, name):
    path = _tar(tmp_path, [(name, b'id\n1\n')])
    with pytest.raises(TarballError, match=f'^member {name!r} is not a plain file name$'):
        read_tables(path, 'evil')


@pytest.mark.parametrize('kind', [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_links_and_devices_are_refused(tmp_path, kind):
    def add(tar):
        info = tarfile.TarInfo('./main_host.csv')
        info.type = kind
        info.linkname = '/etc/passwd'
        tar.addfile(info)

    path = _tar(tmp_path, [], add)
    with pytest.raises(TarballError, match=r"^member '\./main_host\.csv' is a link or special file$"):
        read_tables(path, 'evil')


def test_size_and_file_count_limits(tmp_path):
    path = _tar(tmp_path, [(f'./f{i}.json', b'{}') for i in range(5)])
    with pytest.raises(TarballError, match=r'^more than 4 members$'):
        read_tables(path, 'many', max_members=4)
    path = write_tarball(tmp_path, key='job_host_summary', rows=[_jhs()], since=DAY, until=DAY + timedelta(days=1))
    with pytest.raises(TarballError, match=r'^job_host_summary\.csv: over the size limit$'):
        read_tables(path, 'big', max_bytes=50)
    assert isinstance(read_tables(path, 'fine'), PackageTables)
