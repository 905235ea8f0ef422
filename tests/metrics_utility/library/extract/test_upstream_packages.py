"""Packages metrics-utility 0.8 (and its older releases) left on a claim are read as they are: every row counted,
its metadata quirks named, never refused for what upstream itself wrote (docs/migrate.md)."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, date, datetime, timedelta

import pytest

from metrics_utility.library.extract import Extractor
from metrics_utility.library.storage import StorageDirectory
from testsupport import upstream_packages as up
from testsupport.report_data import COLUMNS, csv_bytes, pg_ts

pytestmark = pytest.mark.unit

UUID = '5f0b2a4c-9d1e-4c7b-8a6f-3e2d1c0b9a87'
DAY = date(2024, 4, 10)
START = datetime(2024, 4, 10, tzinfo=UTC)


def _rows(n: int, first_id: int = 1) -> list[dict]:
    at = START + timedelta(hours=9)
    return [
        {
            'id': first_id + i,
            'created': pg_ts(at),
            'modified': pg_ts(at),
            'host_name': f'web{i}.example.com',
            'host_remote_id': 100 + i,
            'ansible_host_variable': f'10.0.0.{i}' if i % 2 else None,
            'ok': 3,
            'dark': 0,
            'failures': 0,
            'skipped': 0,
            'ignored': 0,
            'rescued': 0,
            'processed': 1,
            'changed': 1,
            'failed': 'f',
            'job_created': pg_ts(at),
            'job_remote_id': 7,
            'job_template_remote_id': 3,
            'job_template_name': 'deploy',
            'inventory_remote_id': 2,
            'inventory_name': 'prod',
            'organization_remote_id': 1,
            'organization_name': 'Default',
            'project_remote_id': 4,
            'project_name': 'site',
        }
        for i in range(n)
    ]


def _jhs(n: int, columns: list[str] | None = None, first_id: int = 1) -> bytes:
    return csv_bytes(columns or COLUMNS['job_host_summary'], _rows(n, first_id))


def _read(base, keys=frozenset({'job_host_summary', 'data_collection_status'})):
    extractor = Extractor(StorageDirectory(base))
    packages = list(extractor.read_day(DAY, keys))
    return packages, [p.message for p in extractor.problems]


def test_a_daily_package_of_0_8_is_read_with_its_status_and_config(tmp_path):
    path = up.write_package(
        tmp_path, install_uuid=UUID, key='job_host_summary', since=START, until=START + timedelta(days=1), data=_jhs(4)
    )
    assert path.relative_to(tmp_path).as_posix() == (
        f'data/2024/04/10/{UUID}-2024-04-10-000000+0000-2024-04-11-000000+0000-0-job_host_summary.tar.gz'
    )
    (package,), problems = _read(tmp_path)
    assert problems == []
    assert package.install_uuid == UUID and package.config['metrics_utility_version'] == '0.8.20261025'
    table = package.tables['job_host_summary']
    assert table.num_rows == 4 and table.column('ansible_host_variable').to_pylist() == [
        None,
        '10.0.0.1',
        None,
        '10.0.0.3',
    ]
    status = package.tables['data_collection_status'].to_pylist()
    assert [(r['since'], r['until'], r['file_name'], r['status']) for r in status] == [
        (START, START + timedelta(days=1), 'job_host_summary.csv', 'ok')
    ]


def test_split_parts_and_a_partial_last_slice_are_all_read(tmp_path):
    until = START + timedelta(hours=13, minutes=37, seconds=1)
    for index, first in enumerate((1, 101)):
        up.write_package(
            tmp_path,
            install_uuid=UUID,
            key='job_host_summary',
            since=START,
            until=until,
            data=_jhs(3, first_id=first),
            index=index,
        )
    packages, problems = _read(tmp_path)
    assert problems == []
    assert sorted(p.name.rsplit('-', 2)[-2] for p in packages) == ['0', '1']
    assert sorted(i for p in packages for i in p.tables['job_host_summary'].column('id').to_pylist()) == [
        1,
        2,
        3,
        101,
        102,
        103,
    ]


def _omit(member):
    return lambda base: up.write_package(
        base,
        install_uuid=UUID,
        key='job_host_summary',
        since=START,
        until=START + timedelta(days=1),
        data=_jhs(2),
        **{member: False},
    )


def _variant(**kwargs):
    def write(base):
        return up.write_package(
            base,
            install_uuid=UUID,
            key='job_host_summary',
            since=START,
            until=START + timedelta(days=1),
            **{'data': _jhs(2), **kwargs},
        )

    return write


def _config_alone(base):
    path = up.write_package(
        base,
        install_uuid=UUID,
        key='job_host_summary',
        since=START,
        until=START + timedelta(days=1),
        data=b'',
        status=False,
        manifest=False,
    )
    with tarfile.open(path, 'r:gz') as tar:
        config = tar.extractfile('./config.json').read()
    with tarfile.open(path, 'w:gz') as tar:  # upstream never ships config.json without a data file
        info = tarfile.TarInfo('./config.json')
        info.size = len(config)
        tar.addfile(info, io.BytesIO(config))
    return path


def _missing(member: str) -> str:
    return (
        f'{member} is missing (a package without package_info.json, as metrics-utility writes it when that member '
        'could not be written); its rows are used'
    )


# (id, writer, rows read, exact problems, ansible_host values of the rows)
CASES = [
    (
        'collector-1.0-columns',
        _variant(data=_jhs(2, up.OLD_COLUMNS[('job_host_summary', '1.0')]), version='1.0'),
        2,
        [],
        [None, None],
    ),
    (
        'collector-1.1-columns',
        _variant(data=_jhs(2, up.OLD_COLUMNS[('job_host_summary', '1.1')]), version='1.1'),
        2,
        [],
        [None, '10.0.0.1'],
    ),
    (
        'extra-members',
        _variant(
            extra=(('./total_workers_vcpu.json', b'{"total_workers_vcpu": 4}'), ('./README', b'written by hand')),
        ),
        2,
        [],
        [None, '10.0.0.1'],
    ),
    ('empty-slice-header-only', _variant(data=(','.join(COLUMNS['job_host_summary']) + '\n').encode()), 0, [], []),
    ('name-without-key-0.6.0', _variant(name_key=None), 2, [], [None, '10.0.0.1']),
    ('name-unknown-key', _variant(name_key='unknown'), 2, [], [None, '10.0.0.1']),
    ('no-config-json', _omit('config'), 2, [_missing('config.json')], [None, '10.0.0.1']),
    ('no-status-csv', _omit('status'), 2, [_missing('data_collection_status.csv')], [None, '10.0.0.1']),
    ('no-manifest', _omit('manifest'), 2, [_missing('manifest.json')], [None, '10.0.0.1']),
    (
        'no-metadata-at-all',
        _variant(config=False, status=False, manifest=False),
        None,
        [
            'manifest.json is missing; config.json is missing; data_collection_status.csv is missing; '
            'none of its rows are used'
        ],
        [],
    ),
    (
        'config-json-alone',
        _config_alone,
        None,
        ['manifest.json is missing; data_collection_status.csv is missing; none of its rows are used'],
        [],
    ),
    (
        'member-in-a-folder',
        _variant(extra=(('./sub/job_host_summary.csv', b'id\n1\n'),)),
        None,
        ["member './sub/job_host_summary.csv' is not a plain file name; none of its rows are used"],
        [],
    ),
    (
        'csv-lacks-host-name',
        _variant(data=b'id,created,ok\n1,2024-04-10 09:00:00+00,1\n'),
        0,
        [
            "job_host_summary.csv lacks required column(s) 'host_name', 'job_remote_id', 'dark', 'failures', "
            "'skipped'; its rows are not used"
        ],
        [],
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('write', 'rows', 'problems', 'ansible_hosts'), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_what_upstream_wrote_is_read_with_an_exact_outcome(tmp_path, write, rows, problems, ansible_hosts):
    path = write(tmp_path)
    packages, found = _read(tmp_path)
    assert [message.replace(path.name, '<name>') for message in found] == problems
    if rows is None:
        assert packages == []
        return
    (package,) = packages
    table = package.tables.get('job_host_summary')
    assert (0 if table is None else table.num_rows) == rows
    assert package.install_uuid == UUID  # from config.json, or the name when config.json is missing
    if rows:
        assert table.column('ansible_host_variable').to_pylist() == ansible_hosts


def test_a_snapshot_package_has_one_instant_as_its_window(tmp_path):
    at = START + timedelta(hours=23, minutes=49, seconds=59)
    rows = [{'host_name': 'web1', 'host_id': 1, 'organization_name': 'Default'}]
    up.write_package(
        tmp_path, install_uuid=UUID, key='main_host', since=at, until=at, data=csv_bytes(COLUMNS['main_host'], rows)
    )
    (package,), problems = _read(tmp_path, frozenset({'main_host'}))
    assert problems == [] and package.tables['main_host'].column('host_name').to_pylist() == ['web1']
