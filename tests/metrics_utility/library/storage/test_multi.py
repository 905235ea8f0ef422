"""MultiStorage: packages read from every storage, everything else (rollups, reports, writes) in the main one."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from metrics_utility.library.storage import StorageDirectory, StorageError, StorageS3, StorageSegment
from metrics_utility.library.storage.multi import MultiStorage
from testsupport.s3_server import ACCESS_KEY, SECRET_KEY, S3Server

DAY = 'data/2024/02/29'


def _dirs(tmp_path: Path) -> tuple[StorageDirectory, StorageDirectory]:
    main, other = StorageDirectory(tmp_path / 'main'), StorageDirectory(tmp_path / 'other')
    main.put(f'{DAY}/a-1.tar.gz', fileobj=_bytes(b'main a'))
    main.put(f'{DAY}/same.tar.gz', fileobj=_bytes(b'main copy'))
    main.put('reports/2024/02/CCSPv2-2024-02.xlsx', fileobj=_bytes(b'ours'))
    other.put(f'{DAY}/b-1.tar.gz', fileobj=_bytes(b'other b'))
    other.put(f'{DAY}/same.tar.gz', fileobj=_bytes(b'other copy'))
    other.put('reports/2024/03/CCSPv2-2024-03.xlsx', fileobj=_bytes(b'theirs'))
    other.put('rollups/2024/02/29/manifest.json', dict={'theirs': True})
    return main, other


def _bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


@pytest.mark.unit
def test_packages_are_united_and_read_from_the_first_storage_listing_them(tmp_path):
    main, other = _dirs(tmp_path)
    multi = MultiStorage(main, [other])
    assert multi.glob(f'{DAY}/*.tar.gz') == [f'{DAY}/a-1.tar.gz', f'{DAY}/b-1.tar.gz', f'{DAY}/same.tar.gz']
    with multi.get(f'{DAY}/b-1.tar.gz') as path:
        assert path.read_bytes() == b'other b'
    with multi.get(f'{DAY}/same.tar.gz') as path:
        assert path.read_bytes() == b'main copy'
    assert multi.exists(f'{DAY}/b-1.tar.gz')
    assert multi.stat(f'{DAY}/b-1.tar.gz')['size'] == len(b'other b')


@pytest.mark.unit
def test_reports_and_rollups_of_another_source_are_invisible(tmp_path):
    main, other = _dirs(tmp_path)
    multi = MultiStorage(main, [other])
    assert not multi.exists('reports/2024/03/CCSPv2-2024-03.xlsx')
    assert not multi.exists('rollups/2024/02/29/manifest.json')
    assert multi.glob('reports/*/*/*.xlsx') == ['reports/2024/02/CCSPv2-2024-02.xlsx']
    assert 'reports/2024/03/CCSPv2-2024-03.xlsx' not in multi.list_sizes()


@pytest.mark.unit
def test_writes_and_removals_reach_the_main_storage_only(tmp_path):
    main, other = _dirs(tmp_path)
    multi = MultiStorage(main, [other])
    multi.glob(f'{DAY}/*.tar.gz')  # cached listing must follow writes
    multi.put(f'{DAY}/c-1.tar.gz', dict={'x': 1})
    multi.put('rollups/x/manifest.json', dict={'x': 1})
    assert main.exists(f'{DAY}/c-1.tar.gz') and main.exists('rollups/x/manifest.json')
    assert not other.exists(f'{DAY}/c-1.tar.gz') and not other.exists('rollups/x/manifest.json')
    assert f'{DAY}/c-1.tar.gz' in multi.glob(f'{DAY}/*.tar.gz')
    multi.remove(f'{DAY}/b-1.tar.gz')
    multi.remove(f'{DAY}/same.tar.gz')
    assert other.exists(f'{DAY}/b-1.tar.gz') and other.exists(f'{DAY}/same.tar.gz')  # never modified
    assert not main.exists(f'{DAY}/same.tar.gz')
    with multi.get(f'{DAY}/same.tar.gz') as path:  # now the other source's copy is the one read
        assert path.read_bytes() == b'other copy'


@pytest.mark.unit
def test_upload_only_targets_cannot_be_sources(tmp_path):
    with pytest.raises(StorageError, match='upload-only'):
        MultiStorage(StorageDirectory(tmp_path), [StorageSegment(write_key='k')])


@pytest.mark.integration
def test_a_bucket_prefix_as_additional_source(tmp_path, s3_server: S3Server, bucket: str):
    s3 = StorageS3(
        bucket,
        endpoint=s3_server.endpoint,
        region='us-east-1',
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        prefix='controller-b',
    )
    s3.put(f'{DAY}/b-1.tar.gz', fileobj=_bytes(b'from s3'))
    main = StorageDirectory(tmp_path)
    main.put(f'{DAY}/a-1.tar.gz', fileobj=_bytes(b'local'))
    multi = MultiStorage(main, [s3])
    assert multi.glob(f'{DAY}/*.tar.gz') == [f'{DAY}/a-1.tar.gz', f'{DAY}/b-1.tar.gz']
    with multi.get(f'{DAY}/b-1.tar.gz') as path:
        assert path.read_bytes() == b'from s3'
    assert 'read-only packages from' in multi.describe() and bucket in multi.describe()


@pytest.mark.unit
def test_listings_are_cached_until_refreshed(tmp_path):
    main, other = _dirs(tmp_path)
    multi = MultiStorage(main, [other])
    before = multi.glob(f'{DAY}/*.tar.gz')
    other.put(f'{DAY}/late-1.tar.gz', fileobj=_bytes(b'late'))
    assert multi.glob(f'{DAY}/*.tar.gz') == before  # one consistent listing per build
    multi.refresh()
    assert f'{DAY}/late-1.tar.gz' in multi.glob(f'{DAY}/*.tar.gz')
