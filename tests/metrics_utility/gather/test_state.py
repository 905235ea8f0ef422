"""Watermark stores: round trip, forward only, atomic, damaged documents explained."""

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from metrics_utility.gather.state import FileStateStore, S3Lease, StateError, StorageStateStore, Watermarks
from metrics_utility.library.storage import StorageDirectory
from testsupport.waiting import wait_until

pytestmark = pytest.mark.unit

T1 = datetime(2024, 2, 29, tzinfo=UTC)
T2 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(params=['storage', 'file'])
def store(request, tmp_path):
    if request.param == 'storage':
        return StorageStateStore(StorageDirectory(tmp_path))
    return FileStateStore(tmp_path / 'state' / 'watermarks.json')


def test_round_trip_and_forward_only(store):
    assert store.load().shipped_until == {}
    marks = Watermarks(install_uuid='abc')
    assert marks.advance('job_host_summary', T2)
    assert not marks.advance('job_host_summary', T1)  # never backwards
    store.save(marks)
    loaded = store.load()
    assert loaded.get('job_host_summary') == T2
    assert loaded.install_uuid == 'abc'


def test_saving_leaves_no_temporary_files(tmp_path):
    store = FileStateStore(tmp_path / 'w.json')
    store.save(Watermarks({'a': T1}))
    store.save(Watermarks({'a': T2}))
    assert [p.name for p in tmp_path.iterdir()] == ['w.json']


@pytest.mark.parametrize(
    'content',
    [
        'not json',
        '{"version": 9, "shipped_until": {}}',
        '{"version": 1, "shipped_until": {"a": "yesterday"}}',
        '{"version": 1, "shipped_until": {"a": "2024-02-29T00:00:00"}}',
    ],
)
def test_damaged_documents_are_explained(tmp_path, content):
    path = tmp_path / 'w.json'
    path.write_text(content)
    with pytest.raises(StateError, match=r'w\.json') as info:
        FileStateStore(path).load()
    assert 'JSON' in str(info.value) or 'damaged' in str(info.value)


def test_document_is_readable_json(tmp_path):
    store = StorageStateStore(StorageDirectory(tmp_path))
    store.save(Watermarks({'job_host_summary': T1}, 'uuid-1'))
    data = json.loads((tmp_path / 'state' / 'watermarks.json').read_text())
    assert data == {
        'version': 1,
        'install_uuid': 'uuid-1',
        'shipped_until': {'job_host_summary': '2024-02-29T00:00:00+00:00'},
    }


# Concurrent writers: every save re-reads and merges under the location's lock (S3: compare-and-swap), so no update
# is lost and no mark moves back, whoever writes last.

BASE = datetime(2024, 1, 1, tzinfo=UTC)
ROUNDS = 10
WRITERS = 4


def make_store(kind: str, where: str, endpoint: str | None = None):
    if kind == 'file':
        return FileStateStore(Path(where) / 'watermarks.json')
    if kind == 'directory':
        return StorageStateStore(StorageDirectory(where))
    from metrics_utility.library.storage import StorageS3
    from testsupport.s3_server import ACCESS_KEY, SECRET_KEY

    bucket, endpoint = where.split('@', 1)
    return StorageStateStore(StorageS3(bucket, endpoint, 'us-east-1', ACCESS_KEY, SECRET_KEY, prefix='billing'))


def write_marks(store, name: str, rounds: int) -> None:
    """Each writer: its own key forward, and a shared key zig-zagging (it tries to move it back every other time)."""
    index = int(name.removeprefix('w'))
    for i in range(rounds):
        store.save(Watermarks({name: BASE + timedelta(days=i), 'shared': BASE + timedelta(days=i * 7 % 5 + index)}))


def expected_marks() -> dict[str, str]:
    marks = {f'w{i}': (BASE + timedelta(days=ROUNDS - 1)).isoformat() for i in range(WRITERS)}
    top = max(i * 7 % 5 for i in range(ROUNDS)) + WRITERS - 1
    return {**marks, 'shared': (BASE + timedelta(days=top)).isoformat()}


@pytest.mark.hostile
@pytest.mark.parametrize('kind', ['file', 'directory', 's3'])
@pytest.mark.parametrize('workers', ['threads', 'processes'])
def test_concurrent_writers_lose_no_update(kind, workers, tmp_path, request):
    where = str(tmp_path)
    if kind == 's3':
        s3_server, bucket = request.getfixturevalue('s3_server'), request.getfixturevalue('bucket')
        where = f'{bucket}@{s3_server.endpoint}'
    names = [f'w{i}' for i in range(WRITERS)]
    if workers == 'threads':
        with ThreadPoolExecutor(WRITERS) as pool:  # one store object per writer: separate open files, like processes
            list(pool.map(lambda name: write_marks(make_store(kind, where), name, ROUNDS), names))
    else:
        script = (
            'import sys\n'
            f'sys.path[:0] = {[str(Path(__file__).parent), str(Path(__file__).parents[2])]!r}\n'
            'from test_state import make_store, write_marks\n'
            f'write_marks(make_store({kind!r}, {where!r}), sys.argv[1], {ROUNDS})\n'
        )
        procs = [subprocess.Popen([sys.executable, '-c', script, name]) for name in names]
        assert [p.wait(120) for p in procs] == [0] * WRITERS
    document = make_store(kind, where).load()
    assert {k: v.isoformat() for k, v in document.shipped_until.items()} == expected_marks()


MERGES = [
    ({'a': T2}, {'a': T1}, {'a': T2}, 'stored-later-stays'),
    ({'a': T1}, {'a': T2}, {'a': T2}, 'saved-later-advances'),
    ({'a': T1}, {'b': T2}, {'a': T1, 'b': T2}, 'other-keys-kept'),
    ({}, {'a': T1}, {'a': T1}, 'first-save'),
    ({'a': T2}, {'a': T2}, {'a': T2}, 'equal-unchanged'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('stored', 'saved', 'result'), [pytest.param(s, v, r, id=i) for s, v, r, i in MERGES])
def test_a_save_merges_and_never_moves_a_mark_back(store, stored, saved, result):
    store.save(Watermarks(dict(stored), 'first-uuid'))
    marks = Watermarks(dict(saved), 'second-uuid')
    store.save(marks)
    assert store.load() == Watermarks(result, 'first-uuid') == marks  # the caller's view is the merged document


HOLD = """
import sys
sys.path[:0] = {paths!r}
from metrics_utility.gather.state import FileStateStore
with FileStateStore(sys.argv[1]).locked():
    print('locked', flush=True)
    sys.stdin.read()  # holds the lock until killed (or its standard input is closed)
"""


def _holder(path: Path) -> subprocess.Popen:
    script = HOLD.format(paths=[str(Path(__file__).parents[2])])
    proc = subprocess.Popen(
        [sys.executable, '-c', script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == 'locked\n'
    return proc


@pytest.mark.hostile
@pytest.mark.parametrize('leftover', ['killed-holder', 'garbage-lock-file', 'empty-lock-file'])
def test_a_lock_file_left_behind_never_blocks(leftover, tmp_path):
    path = tmp_path / 'watermarks.json'
    lock = tmp_path / '.watermarks.json.lock'
    if leftover == 'killed-holder':
        holder = _holder(path)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    else:
        lock.write_bytes(b'pid 1 on a-host-long-gone\n' if leftover == 'garbage-lock-file' else b'')
    assert lock.exists()  # left behind
    started = time.monotonic()
    FileStateStore(path, lock_timeout=5).save(Watermarks({'a': T1}))
    assert time.monotonic() - started < 1
    assert FileStateStore(path).load().get('a') == T1
    assert not lock.exists()  # the next holder removed it on release


@pytest.mark.hostile
def test_a_live_holder_makes_the_other_writer_give_up_with_a_clear_message(tmp_path):
    path = tmp_path / 'watermarks.json'
    holder = _holder(path)
    try:
        with pytest.raises(StateError) as info:
            FileStateStore(path, lock_timeout=1).save(Watermarks({'a': T1}))
    finally:
        holder.kill()
        holder.wait(10)
    assert str(info.value) == (
        f'the watermark document {path} stayed locked by another gather for 1s; only one gather '
        'at a time can ship to one target or state path'
    )
    assert not path.exists()


@pytest.mark.hostile
def test_a_lock_path_that_cannot_be_a_file_is_one_clear_error(tmp_path):
    path = tmp_path / 'watermarks.json'
    (tmp_path / '.watermarks.json.lock').mkdir()
    with pytest.raises(StateError) as info:
        FileStateStore(path).save(Watermarks({'a': T1}))
    assert str(info.value) == f'cannot lock the watermark document {path}: Is a directory'


@pytest.mark.hostile
@pytest.mark.parametrize('kind', ['storage', 'file'])
@pytest.mark.parametrize('obstacle', ['directory', 'dangling-link'])
def test_a_document_path_that_is_no_file_is_one_clear_error(kind, obstacle, tmp_path):
    """Not mistaken for a missing document (that would restart from the look-back horizon)."""
    path = tmp_path / 'state' / 'watermarks.json'
    path.parent.mkdir()
    if obstacle == 'directory':
        path.mkdir()
    else:
        path.symlink_to(tmp_path / 'gone')
    store = StorageStateStore(StorageDirectory(tmp_path)) if kind == 'storage' else FileStateStore(path)
    with pytest.raises(StateError) as info:
        store.load()
    where = f'directory {tmp_path}/state/watermarks.json' if kind == 'storage' else str(path)
    reason = 'Is a directory' if (kind, obstacle) == ('file', 'directory') else 'not a regular file'
    assert str(info.value) == f'cannot read watermarks from {where}: {reason}'


@pytest.mark.hostile
@pytest.mark.parametrize('holder', ['killed', 'alive'])
def test_an_s3_lease_of_a_dead_holder_runs_out_and_a_live_one_holds(holder, s3_server, bucket):
    from metrics_utility.library.storage import StorageS3
    from testsupport.s3_server import ACCESS_KEY, SECRET_KEY

    s3 = StorageS3(bucket, s3_server.endpoint, 'us-east-1', ACCESS_KEY, SECRET_KEY, prefix='billing')
    name = 'state/.watermarks.json.lock'

    def lease():  # a holder of its own each time (another gather)
        return S3Lease(s3, name, 'doc', timeout=6, lease=3, poll=0.1)()

    if holder == 'killed':
        assert s3.put_if_unchanged(name, b'{"holder": "a gather killed while holding it"}', None)
        started = time.monotonic()
        with lease():
            waited = time.monotonic() - started
            assert s3.age(name)[1] < 3
        assert 1 < waited < 6  # it ran out (3 s by the server's clock, whole seconds), then was taken over
        assert s3.age(name) is None  # removed on release
    else:
        with lease():
            # The holder's renewals keep it: wait until the server shows a rewrite made after the first lease ran out.
            client = s3_server.client()

            def written() -> datetime:
                return client.head_object(Bucket=bucket, Key=f'billing/{name}')['LastModified']

            first = written()
            wait_until(lambda: written() >= first + timedelta(seconds=3), 10, 'a renewal after the lease period')
            with pytest.raises(StateError) as info, lease():
                pytest.fail('took a live lease')
        assert str(info.value) == (
            'the watermark document doc stayed locked by another gather for 6s; only one gather '
            'at a time can ship to one target or state path'
        )
        assert s3.age(name) is None
