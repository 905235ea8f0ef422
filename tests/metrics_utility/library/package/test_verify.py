"""read_package: safe reading, checksum verification, extraction, and metrics-utility's own packages."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from metrics_utility.library.package import Package, PackageFile, PackageVerificationError, read_package

STATUS = b'collection_start_timestamp,since,until,file_name,status,elapsed\r\n'


def one_package(kit: SimpleNamespace, out: Path, work: Path) -> PackageFile:
    package = Package(
        config={'install_uuid': kit.UUID},
        collectors=[kit.csv_a(sizes=[500], output_dir=work)],
        since=kit.SINCE,
        until=kit.UNTIL,
        output_dir=out,
    )
    return next(package.build())


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, 'w:gz') as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def rewrite(source: Path, target: Path, change: dict[str, bytes]) -> Path:
    """Copy a package, replacing some members' content (headers say the new size, checksums stay old)."""
    with tarfile.open(source, 'r:gz') as tar:
        members = [(m, change.get(m.name, tar.extractfile(m).read())) for m in tar.getmembers()]  # type: ignore[union-attr]
    return write_tar(target, members)


def test_a_package_reads_back_verified(kit: SimpleNamespace, out: Path, work: Path) -> None:
    contents = read_package(one_package(kit, out, work).path)
    assert contents.verified and contents.data_members == ['fake_csv_a.csv']
    assert contents.members['fake_csv_a.csv'].rows == 49
    assert contents.config['install_uuid'] == kit.UUID and contents.status[0]['status'] == 'ok'
    assert contents.info is not None and contents.info['count'] == 1


def test_extraction_writes_wanted_members_only(kit: SimpleNamespace, out: Path, work: Path, tmp_path: Path) -> None:
    package = one_package(kit, out, work)
    target = tmp_path / 'x'
    target.mkdir()
    contents = read_package(package.path, extract_to=target)
    assert contents.files == {'fake_csv_a.csv': target / 'fake_csv_a.csv'}
    assert (target / 'fake_csv_a.csv').read_bytes() == kit.members(package.path)['./fake_csv_a.csv']
    assert read_package(package.path, extract_to=tmp_path, names={'main_host.csv'}).files == {}


def test_changed_data_is_detected(kit: SimpleNamespace, out: Path, work: Path, tmp_path: Path) -> None:
    package = one_package(kit, out, work)
    original = kit.members(package.path)['./fake_csv_a.csv']
    forged = rewrite(package.path, tmp_path / 'forged.tar.gz', {'./fake_csv_a.csv': original.replace(b'abcd', b'abce')})
    target = tmp_path / 'x'
    target.mkdir()
    with pytest.raises(PackageVerificationError, match='sha256 does not match') as caught:
        read_package(forged, extract_to=target)
    assert caught.value.problems == ['fake_csv_a.csv: sha256 does not match package_info.json']
    assert list(target.iterdir()) == []  # nothing unverified is left behind


def test_a_dropped_row_is_detected(kit: SimpleNamespace, out: Path, work: Path, tmp_path: Path) -> None:
    package = one_package(kit, out, work)
    original = kit.members(package.path)['./fake_csv_a.csv']
    forged = rewrite(package.path, tmp_path / 'f.tar.gz', {'./fake_csv_a.csv': original[:-10]})
    with pytest.raises(PackageVerificationError, match=r'48 rows, package_info\.json says 49'):
        read_package(forged)


@pytest.mark.parametrize(
    ('name', 'kind'),
    [
        ('../evil.csv', tarfile.REGTYPE),
        ('./a/b.csv', tarfile.REGTYPE),
        ('/etc/x.csv', tarfile.REGTYPE),
        ('./link.csv', tarfile.SYMTYPE),
        ('./hard.csv', tarfile.LNKTYPE),
        ('./dev.csv', tarfile.CHRTYPE),
    ],
)
def test_unsafe_members_are_refused(tmp_path: Path, name: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = '/etc/passwd' if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ''
    path = write_tar(tmp_path / 'bad.tar.gz', [(info, b'x' if kind == tarfile.REGTYPE else b'')])
    with pytest.raises(PackageVerificationError, match=r'member .* is'):
        read_package(path)


def test_limits_on_members_and_bytes(tmp_path: Path) -> None:
    many = write_tar(tmp_path / 'many.tar.gz', [(tarfile.TarInfo(f'./f{i}.csv'), b'a\n') for i in range(5)])
    with pytest.raises(PackageVerificationError, match='more than 4 members'):
        read_package(many, max_members=4)
    with pytest.raises(PackageVerificationError, match='over the size limit'):
        read_package(many, max_bytes=7)


def test_not_a_tarball(tmp_path: Path) -> None:
    path = tmp_path / 'x.tar.gz'
    path.write_bytes(b'not gzip at all')
    with pytest.raises(PackageVerificationError, match='not a readable'):
        read_package(path)


def test_metrics_utility_packages_are_read_unverified(tmp_path: Path) -> None:
    """A 2024 upstream package: data, config.json, status, flat manifest; no checksums to verify."""
    manifest = {'job_host_summary.csv': '1.1', 'config.json': '1.0', 'data_collection_status.csv': '1.0'}
    path = write_tar(
        tmp_path / 'upstream.tar.gz',
        [
            (tarfile.TarInfo('./job_host_summary.csv'), b'id,host_name\n1,a\n'),
            (tarfile.TarInfo('./config.json'), b'{"install_uuid": "u"}'),
            (tarfile.TarInfo('./data_collection_status.csv'), STATUS + b'x,,,job_host_summary.csv,ok,0\r\n'),
            (tarfile.TarInfo('./manifest.json'), json.dumps(manifest).encode()),
        ],
    )
    contents = read_package(path)
    assert not contents.verified and contents.members['job_host_summary.csv'].rows == 1


def test_missing_metadata_is_listed(tmp_path: Path) -> None:
    path = write_tar(tmp_path / 'bare.tar.gz', [(tarfile.TarInfo('./main_host.csv'), b'a\n')])
    with pytest.raises(PackageVerificationError) as caught:
        read_package(path)
    assert caught.value.problems == [
        'manifest.json is missing',
        'config.json is missing',
        'data_collection_status.csv is missing',
    ]
