"""`metrics-utility gather` at scale, end to end on the synthetic controller database: sharded backfill, retention
as the gather's last step, a disk that fills up during a gather, and the Elasticsearch KPI sink."""

from __future__ import annotations

import errno
import json
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import trustme

from metrics_utility.cli import _parser
from metrics_utility.library import lock
from metrics_utility.library.package import parse_tarball_name
from metrics_utility.library.storage import directory as directory_module
from testsupport.elasticsearch import ElasticsearchBulk
from testsupport.https_servers import HTTPSServer

from .conftest import shipped_ids
from .test_gather import SINCE, UNTIL, directory_env, tarballs, truth

pytestmark = pytest.mark.integration
LOCK = 'gather_automation_controller_billing_lock'


def gather(env: dict[str, str], *args: str) -> int:
    """In-process, with an explicit environment (so several can run at once in threads)."""
    parsed = _parser().parse_args(['gather', *args])
    return parsed.func(parsed, env=dict(env))


def names(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in tarballs(root)}


def watermarks(root: Path) -> dict[str, str]:
    return json.loads((root / 'state' / 'watermarks.json').read_text())['shipped_until']


def test_sharded_backfill_ships_exactly_what_one_gather_ships(controller_db, tmp_path):
    single, sharded = tmp_path / 'single', tmp_path / 'sharded'
    assert gather(directory_env(controller_db, single), '--ship', '--since', SINCE, '--until', UNTIL) == 0

    env = directory_env(controller_db, sharded)
    summaries = [tmp_path / f'shard-{i}.json' for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        codes = list(
            pool.map(
                lambda i: gather(
                    env,
                    '--ship',
                    '--since',
                    SINCE,
                    '--until',
                    UNTIL,
                    '--shard',
                    f'{i}/3',
                    '--summary-file',
                    str(summaries[i]),
                ),
                range(3),
            )
        )
    assert codes == [0, 0, 0]
    assert names(sharded) == names(single)
    counts = shipped_ids(tarballs(sharded))
    assert set(counts) == truth(controller_db) and set(counts.values()) == {1}
    events = shipped_ids(tarballs(sharded), './main_jobevent.csv')
    assert events == shipped_ids(tarballs(single), './main_jobevent.csv')
    assert watermarks(sharded) == watermarks(single)
    # Slice p went to shard p mod 3 (4 daily slices: 2, 1, 1 per shard and collector).
    done = [json.loads(p.read_text())['backfill'] for p in summaries]
    assert [d['slices'] for d in done] == [4, 2, 2] and {d['run'] for d in done} == {
        '20240227T000000Z-20240302T000000Z-3'
    }
    assert UNTIL_ISO in [d['merged'].get('job_host_summary') for d in done]  # the last shard merged it all


UNTIL_ISO = '2024-03-02T00:00:00+00:00'


def test_a_missing_shard_holds_the_watermark_until_it_ran(controller_db, tmp_path):
    ship = tmp_path / 'ship'
    env = directory_env(controller_db, ship, METRICS_UTILITY_OPTIONAL_COLLECTORS='job_host_summary')
    for index in (0, 2):  # shard 1 (slice 1: 2024-02-28) has not run yet
        assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL, '--shard', f'{index}/3') == 0
    assert watermarks(ship) == {'job_host_summary': '2024-02-28T00:00:00+00:00'}  # only slice 0 is contiguous
    # A retried shard skips what it finished: shard 0 ships nothing again, but merges.
    before = {p: p.stat().st_mtime_ns for p in tarballs(ship)}
    summary = tmp_path / 's.json'
    assert (
        gather(env, '--ship', '--since', SINCE, '--until', UNTIL, '--shard', '0/3', '--summary-file', str(summary)) == 0
    )
    assert json.loads(summary.read_text())['backfill']['slices'] == 0
    assert {p: p.stat().st_mtime_ns for p in tarballs(ship)} == before
    assert (
        gather(env | {'JOB_COMPLETION_INDEX': '1'}, '--ship', '--since', SINCE, '--until', UNTIL, '--shard', '3') == 0
    )
    assert watermarks(ship) == {'job_host_summary': UNTIL_ISO}
    counts = shipped_ids(tarballs(ship))
    assert set(counts) == truth(controller_db) and set(counts.values()) == {1}


def test_shards_exclude_the_scheduled_gather_and_need_a_fixed_window(controller_db, tmp_path, capsys):
    env = directory_env(controller_db, tmp_path / 'ship')
    with controller_db.connect_reader() as conn, lock.advisory_lock(conn, LOCK, shared=True):
        assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL) == 1  # a running backfill holds it shared
        assert 'another run holds the lock' in capsys.readouterr().err
    assert gather(env, '--ship', '--since', SINCE, '--shard', '0/2') == 2
    assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL, '--shard', '2/2') == 2
    assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL, '--shard', '2') == 2  # no JOB_COMPLETION_INDEX
    err = capsys.readouterr().err
    assert 'needs both --since and --until' in err and 'expected 0 <= i < n' in err and 'JOB_COMPLETION_INDEX' in err


def test_retention_runs_last_and_reports_what_is_stored(controller_db, tmp_path):
    ship = tmp_path / 'ship'
    env = directory_env(controller_db, ship, METRICS_UTILITY_OPTIONAL_COLLECTORS='job_host_summary')
    assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL) == 0
    sizes = {p.relative_to(ship).as_posix(): p.stat().st_size for p in ship.rglob('*') if p.is_file()}
    days = sorted({parse_tarball_name(n).since for n in sizes if n.startswith('data/')})
    oldest = [n for n in sizes if n.startswith('data/') and parse_tarball_name(n).since == days[0]]
    # Room for all but the oldest day (plus slack: timings in package_info.json vary a few bytes between runs).
    limit = sum(sizes.values()) - sum(sizes[n] for n in oldest) + 1000
    summary = tmp_path / 'summary.json'
    env['METRICS_UTILITY_RETENTION_MAX_BYTES'] = str(limit)
    assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL, '--summary-file', str(summary)) == 0
    left = names(ship)
    assert not any(n in left for n in oldest) and len(left) == len([n for n in sizes if n.startswith('data/')]) - 1
    result = json.loads(summary.read_text())
    assert result['stored_bytes'] == sum(p.stat().st_size for p in ship.rglob('*') if p.is_file()) <= limit
    assert result['stored_objects'] == len(left) + 1  # the packages and the watermark document
    assert result['retention']['deleted_objects'] == len(oldest) and result['retention']['max_bytes'] == limit
    assert result['volume']['bytes'] >= result['volume']['free_bytes'] > 0
    # With an upload stage, only what it uploaded may go: nothing is uploaded yet, so nothing goes even at 0 bytes.
    env |= {'METRICS_UTILITY_RETENTION_MAX_BYTES': '0', 'METRICS_UTILITY_RETENTION_UPLOAD_STATE': 'state/up.json'}
    assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL, '--summary-file', str(summary)) == 0
    blocked = json.loads(summary.read_text())['retention']
    assert blocked['deleted_objects'] == 0 and blocked['blocked_objects'] == len(left) + 1  # the re-shipped day too
    uploaded = {'version': 1, 'install_uuid': None, 'shipped_until': {'job_host_summary': '2024-02-29T00:00:00+00:00'}}
    (ship / 'state' / 'up.json').write_text(json.dumps(uploaded))
    assert gather(env, '--ship', '--collectors', 'main_host') == 0  # any gather prunes at its end
    assert {parse_tarball_name(n).since.day for n in names(ship) if n.endswith('job_host_summary.tar.gz')} == {29, 1}


class FullDisk:
    """Files opened for writing below `root` fail with ENOSPC once `free` bytes were written: a volume filling up,
    seen by the real StorageDirectory (temp file, fsync, rename) and the real runner."""

    def __init__(self, root: Path, free: int) -> None:
        self.root = str(root)
        self.free = free
        self.real = os.fdopen

    def fdopen(self, fd: int, mode: str = 'r', *args, **kwargs):
        stream = self.real(fd, mode, *args, **kwargs)
        if 'w' not in mode or not os.readlink(f'/proc/self/fd/{fd}').startswith(self.root):
            return stream
        return _Limited(stream, self)


class _Limited:
    def __init__(self, stream, disk: FullDisk) -> None:
        self._stream = stream
        self._disk = disk

    def write(self, data) -> int:
        if len(data) > self._disk.free:
            self._disk.free = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._disk.free -= len(data)
        return self._stream.write(data)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)

    def __enter__(self) -> _Limited:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()


def test_a_full_disk_fails_cleanly_and_the_rerun_ships_every_window_once(controller_db, tmp_path, monkeypatch):
    probe, ship = tmp_path / 'probe', tmp_path / 'ship'
    only = {'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'job_host_summary'}
    assert gather(directory_env(controller_db, probe, **only), '--ship', '--since', SINCE, '--until', UNTIL) == 0
    total = sum(p.stat().st_size for p in tarballs(probe))
    env = directory_env(controller_db, ship, **only)
    disk = FullDisk(ship, free=total // 2)
    monkeypatch.setattr(directory_module.os, 'fdopen', disk.fdopen)
    summary = tmp_path / 'summary.json'
    assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL, '--summary-file', str(summary)) == 1
    failed = json.loads(summary.read_text())
    assert not failed['ok'] and 'No space left on device' in failed['error']
    assert not [p for p in ship.rglob('*') if p.name.startswith('.')]  # no temp file left behind
    shipped = tarballs(ship)
    assert 0 < len(shipped) < len(tarballs(probe))
    for path in shipped:  # every visible package is whole
        with tarfile.open(path, 'r:gz') as tar:
            assert 'package_info.json' in [m.name.lstrip('./') for m in tar.getmembers()]
    state = ship / 'state' / 'watermarks.json'
    mark = json.loads(state.read_text())['shipped_until'].get('job_host_summary') if state.exists() else None
    shipped_until = max(parse_tarball_name(p.name).until for p in shipped).isoformat()
    assert mark is None or mark <= shipped_until  # the watermark never passes what is on disk
    # Space is freed: the rerun resumes and ships every row exactly once.
    monkeypatch.setattr(directory_module.os, 'fdopen', disk.real)
    assert gather(env, '--ship', '--since', SINCE, '--until', UNTIL) == 0
    counts = shipped_ids(tarballs(ship))
    assert set(counts) == truth(controller_db) and set(counts.values()) == {1}


API_KEY = 'kpi-api-key-Hx71qa'


def test_kpi_documents_for_every_shipped_file_and_run(controller_db, tmp_path):
    ca = trustme.CA()
    bundle = tmp_path / 'ca.pem'
    ca.cert_pem.write_to_path(str(bundle))
    bulk = ElasticsearchBulk(api_key=API_KEY)
    ship = tmp_path / 'ship'
    summary = tmp_path / 'summary.json'
    with HTTPSServer(ca, bulk) as server:
        env = directory_env(
            controller_db,
            ship,
            METRICS_UTILITY_ELASTICSEARCH_URL=server.url(''),
            METRICS_UTILITY_ELASTICSEARCH_API_KEY=API_KEY,
            METRICS_UTILITY_ELASTICSEARCH_CA_BUNDLE=str(bundle),
        )
        args = ('--ship', '--since', SINCE, '--until', UNTIL, '--summary-file', str(summary))
        assert gather(env, *args) == 0
        docs = bulk.documents('metrics-utility-kpi')
        files = [d for d in docs.values() if d['type'] == 'file']
        runs = [d for d in docs.values() if d['type'] == 'run']
        members = []
        for path in tarballs(ship):
            with tarfile.open(path, 'r:gz') as tar:
                members += [
                    (path.name, m.name.lstrip('./'))
                    for m in tar.getmembers()
                    if m.name.endswith('.csv') and 'data_collection_status' not in m.name
                ]
        assert sorted((d['object'].rsplit('/', 1)[-1], d['file']) for d in files) == sorted(members)
        jhs_rows = sum(d['rows'] for d in files if d['collector'] == 'job_host_summary')
        assert jhs_rows == sum(shipped_ids(tarballs(ship)).values())
        assert all(len(d['sha256']) == 64 and d['install_uuid'] and d['status'] == 'ok' for d in files)
        assert (
            len(runs) == 1 and runs[0]['status'] == 'ok' and runs[0]['rows'] == json.loads(summary.read_text())['rows']
        )
        assert json.loads(summary.read_text())['kpi'] == {'documents': len(docs), 'error': None}
        # Re-shipping overwrites the file documents; a new run document is added.
        assert gather(env, *args) == 0
        again = bulk.documents('metrics-utility-kpi')
        assert len([d for d in again.values() if d['type'] == 'file']) == len(files)
        assert len([d for d in again.values() if d['type'] == 'run']) == 2
        # A failing KPI sink never fails the gather: the error is in the summary.
        bulk.fail_items(1000, status=400, type_='mapper_parsing_exception')
        assert gather(env, *args) == 0
        result = json.loads(summary.read_text())
        assert result['ok'] and 'mapper_parsing_exception' in result['kpi']['error']
    assert API_KEY not in summary.read_text()
    assert all(API_KEY.encode() not in p.read_bytes() for p in ship.rglob('*') if p.is_file())


def test_kpi_settings_are_checked(controller_db, tmp_path, capsys):
    env = directory_env(
        controller_db,
        tmp_path,
        METRICS_UTILITY_ELASTICSEARCH_URL='es:9200',
        METRICS_UTILITY_ELASTICSEARCH_USERNAME='u',
        METRICS_UTILITY_RETENTION_MAX_AGE_DAYS='0',
    )
    assert gather(env, '--ship') == 2
    err = capsys.readouterr().err
    assert (
        'ELASTICSEARCH_URL' in err and 'ELASTICSEARCH_PASSWORD: set both' in err and 'RETENTION_MAX_AGE_DAYS=0' in err
    )


def test_kpi_url_with_credentials_is_refused_without_echoing_them(controller_db, tmp_path, capsys):
    env = directory_env(controller_db, tmp_path, METRICS_UTILITY_ELASTICSEARCH_URL=f'https://elastic:{API_KEY}@es:9200')
    assert gather(env, '--ship') == 2
    captured = capsys.readouterr()
    assert 'ELASTICSEARCH_URL holds credentials' in captured.err
    assert API_KEY not in captured.err + captured.out
