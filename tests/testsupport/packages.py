"""Real, verifiable packages (written by the gather pipeline's own `Package`) with report-shaped rows, and ways to
tamper with them as a hostile person with write access to the storage would.

`report_data.write_tarball` writes metrics-utility's format (no `package_info.json`, so nothing to verify); these
packages carry checksums and row counts, so the report's verification has something to catch.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from metrics_utility.library.collectors.base import Collector, CollectorInfo, Files
from metrics_utility.library.package import Package

from .report_data import COLUMNS, INSTALL_UUID, VERSIONS, csv_bytes, pg_ts


def _write_csv(data: bytes, output_dir: Path, key: str, unreadable: int) -> list[Path]:
    path = output_dir / f'{key}.csv'
    path.write_bytes(data)
    return Files([path], unreadable)


def csv_collector(key: str, data: bytes, output_dir: Path, unreadable: int = 0) -> Collector:
    """A CSV collector of `key` returning `data` as its file (`unreadable`: rows it exported with NULLs because a
    stored document could not be read); built directly (not registered: the real collectors own the registry's
    keys)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    return Collector(
        CollectorInfo(key, VERSIONS[key], 'csv', 'windowed', f'test {key}'),
        _write_csv,
        {'data': data, 'output_dir': output_dir, 'key': key, 'unreadable': unreadable},
    )


def jhs_rows(day: date, hosts: list[str], job: int) -> list[dict[str, Any]]:
    """One reachable job host summary per host, for job `job` on `day`."""
    at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    return [
        {
            'id': job * 1000 + i,
            'created': pg_ts(at),
            'modified': pg_ts(at),
            'host_name': host,
            'host_remote_id': i + 1,
            'ok': 2,
            'dark': 0,
            'failures': 0,
            'skipped': 0,
            'failed': 'f',
            'job_created': pg_ts(at),
            'job_remote_id': job,
            'job_template_name': 'deploy',
            'organization_name': 'Org',
        }
        for i, host in enumerate(hosts)
    ]


def ship(
    base: Path,
    day: date,
    rows: list[dict[str, Any]],
    *,
    key: str = 'job_host_summary',
    work: Path,
    data: bytes | None = None,
    unreadable: int = 0,
) -> Path:
    """Package one day's rows as a gather would and store it at `<base>/data/YYYY/MM/DD/<name>`."""
    since = datetime(day.year, day.month, day.day, tzinfo=UTC)
    out = work / f'out-{day}-{key}'
    out.mkdir(parents=True)
    content = csv_bytes(COLUMNS[key], rows) if data is None else data
    package = Package(
        config={'install_uuid': INSTALL_UUID, 'controller_version': '4.6.8'},
        collectors=[csv_collector(key, content, work / f'collect-{day}-{key}', unreadable)],
        since=since,
        until=since + timedelta(days=1),
        output_dir=out,
    )
    (built,) = list(package.build())
    target = base / built.object_name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(built.path, target)
    return target


# -- tampering ---------------------------------------------------------------------------------------------------------


def members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path, 'r:gz') as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else b'') for m in tar.getmembers()]  # type: ignore[union-attr]


def rewrite(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    """Write `members` back as the package at `path` (each header's size follows its new content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for info, content in members:
            if info.isfile():
                info.size = len(content)
            tar.addfile(info, io.BytesIO(content) if info.isfile() else None)
    path.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=1, mtime=0))


def edit(path: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    """Replace member `./<name>`'s content by `change(content)`; checksums in package_info.json stay as they were."""
    rewrite(path, [(info, change(content) if info.name == f'./{name}' else content) for info, content in members(path)])


def edit_json(path: Path, name: str, change: Callable[[Any], Any]) -> None:
    edit(path, name, lambda content: json.dumps(change(json.loads(content))).encode())


def drop(path: Path, name: str) -> None:
    rewrite(path, [(info, content) for info, content in members(path) if info.name != f'./{name}'])


def add(path: Path, info: tarfile.TarInfo, content: bytes = b'', *, first: bool = False) -> None:
    current = members(path)
    rewrite(path, [(info, content), *current] if first else [*current, (info, content)])


def reseal(path: Path) -> None:
    """Make `package_info.json` describe the members as they are now (sha256, size, rows), as a forger who knows the
    format would: what verification then still catches is what it checks beyond checksums."""
    current = members(path)
    present = {info.name.removeprefix('./'): content for info, content in current}
    info_json = json.loads(present['package_info.json'])
    files = {}
    for name, content in present.items():
        if name == 'package_info.json':
            continue
        entry = dict(info_json['files'].get(name, {}))
        entry.update(size=len(content), sha256=hashlib.sha256(content).hexdigest())
        if name.endswith('.csv'):
            entry['rows'] = max(content.count(b'\n') - 1, 0)
        files[name] = entry
    info_json['files'] = files
    sealed = json.dumps(info_json).encode()
    rewrite(path, [(info, sealed if info.name == './package_info.json' else content) for info, content in current])
