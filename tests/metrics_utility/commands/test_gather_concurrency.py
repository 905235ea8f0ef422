"""Two `gather --ship` processes of one target at once, under different lock names; SIGKILL during a long query; a
damaged watermark document.

The two gathers are real CLI processes on the real PostgreSQL. A test transaction holds an ACCESS EXCLUSIVE lock on
the collected tables until both gathers hold their advisory locks and have read the state, so both plan their
windows from the same watermarks; then it lets go. Whatever the interleaving, every window must reach the target
exactly once and every watermark must end at the later of both runs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from metrics_utility.cli import _parser
from testsupport.waiting import wait_until

from .conftest import s3_env
from .test_gather import directory_env, tarballs, truth
from .test_gather_console import console, console_env  # noqa: F401 (the console fixture)

pytestmark = pytest.mark.integration

EARLY, LATE = '2024-03-01T12:00:00Z', '2024-03-02'
MEMBERS = {'job_host_summary': './job_host_summary.csv', 'main_jobevent': './main_jobevent.csv'}
LOCK_RELEASE_LIMIT = 5.0  # seconds after SIGKILL by which the gather lock must be free


def lock_name(suffix: str | None) -> str:
    return (
        f'gather_automation_controller_billing_{suffix}_lock' if suffix else 'gather_automation_controller_billing_lock'
    )


def advisory_holders(conn: psycopg.Connection, name: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        'AND objid = (hashtextextended(%s, 0) & 4294967295)::oid',
        (name,),
    ).fetchone()[0]


def lock_waiters(conn: psycopg.Connection) -> int:
    """Sessions waiting for a table lock (pg_locks shows every session's locks to any role; only the gathers wait)."""
    return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND NOT granted").fetchone()[0]


def gathers_settled(superuser: psycopg.Connection, sessions: int) -> bool:
    """Every gather session (lock and work, `application_name` metrics-utility) exists and is idle or waits on a
    table lock (reading other sessions' activity needs a superuser). With parallel streams (docs/collectors.md) the
    session that exported the streams' snapshot is idle inside its transaction while the streams read."""
    rows = superuser.execute(
        "SELECT state, wait_event_type FROM pg_stat_activity WHERE application_name = 'metrics-utility'"
    ).fetchall()
    superuser.rollback()
    return len(rows) >= sessions and all(
        state in ('idle', 'idle in transaction') or wait == 'Lock' for state, wait in rows
    )


def process_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith('METRICS_UTILITY_')}
    return {**base, **env, **extra}


def gather_args(until: str, collectors: str) -> list[str]:
    return [
        sys.executable,
        '-m',
        'metrics_utility.cli',
        'gather',
        '--ship',
        '--until',
        until,
        '--collectors',
        collectors,
    ]


@contextlib.contextmanager
def tables_locked(db, *tables: str) -> Iterator[psycopg.Connection]:
    """Hold ACCESS EXCLUSIVE on `tables` (a collector's COPY waits server-side) until the block's owner lets go."""
    with db.connect_owner() as gate:
        gate.execute(f'LOCK TABLE {", ".join(tables)} IN ACCESS EXCLUSIVE MODE')
        yield gate
        gate.rollback()


@dataclass(frozen=True)
class Run:
    until: str
    collectors: str


@dataclass(frozen=True)
class Case:
    target: str  # directory | s3 | crc
    first: Run
    second: Run


JHS, EVENTS, BOTH = 'job_host_summary', 'main_jobevent', 'job_host_summary,main_jobevent'
CASES = [
    pytest.param(Case('directory', Run(EARLY, JHS), Run(LATE, JHS)), id='directory-one-collector-different-until'),
    pytest.param(Case('directory', Run(LATE, JHS), Run(LATE, JHS)), id='directory-one-collector-same-until'),
    pytest.param(Case('directory', Run(LATE, JHS), Run(EARLY, EVENTS)), id='directory-different-collectors'),
    pytest.param(Case('directory', Run(EARLY, BOTH), Run(LATE, BOTH)), id='directory-two-collectors-different-until'),
    pytest.param(Case('crc', Run(EARLY, JHS), Run(LATE, JHS)), id='crc-one-collector-different-until'),
    pytest.param(Case('crc', Run(LATE, JHS), Run(LATE, JHS)), id='crc-one-collector-same-until'),
    pytest.param(Case('crc', Run(LATE, BOTH), Run(EARLY, EVENTS)), id='crc-overlapping-collectors'),
    pytest.param(Case('s3', Run(LATE, JHS), Run(LATE, EVENTS)), id='s3-different-collectors'),
    pytest.param(Case('s3', Run(EARLY, JHS), Run(LATE, JHS)), id='s3-one-collector-different-until'),
]


def ids_in(blobs: list[bytes], member: str) -> Counter:
    seen: Counter = Counter()
    for blob in blobs:
        with tarfile.open(fileobj=io.BytesIO(blob), mode='r:gz') as tar:
            try:
                data = tar.extractfile(member)
            except KeyError:
                continue
            seen.update(int(row['id']) for row in csv.DictReader(io.TextIOWrapper(data, encoding='utf-8')))
    return seen


@pytest.mark.hostile
@pytest.mark.slow
@pytest.mark.parametrize('case', CASES)
def test_two_gathers_with_different_lock_names_ship_every_window_once(case, controller_db, tmp_path, request):
    if case.target == 'directory':
        env = directory_env(controller_db, tmp_path / 'ship')
    elif case.target == 's3':
        s3_server, bucket = request.getfixturevalue('s3_server'), request.getfixturevalue('bucket')
        env = s3_env(controller_db, s3_server.endpoint, bucket)
    else:
        sso, upload, ingress, bundle = request.getfixturevalue('console')
        env = console_env(controller_db, tmp_path, sso, upload, bundle)
    runs = {'a': case.first, 'b': case.second}
    with tables_locked(controller_db, 'main_jobhostsummary', 'main_jobevent'), controller_db.connect_owner() as probe:
        probe.autocommit = True
        gathers = {
            suffix: subprocess.Popen(
                gather_args(run.until, run.collectors),
                env=process_env(env, METRICS_UTILITY_COLLECTOR_LOCK_SUFFIX=suffix),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for suffix, run in runs.items()
        }
        # Both hold their own lock and have read the (same) watermarks; at least one waits in its first COPY.
        wait_until(
            lambda: all(advisory_holders(probe, lock_name(s)) for s in runs) and lock_waiters(probe) >= 1,
            60,
            'both gathers to start',
        )
        # Both have loaded the watermarks: each work session is blocked on the locked tables or idle (waiting for
        # the state location's lock or lease), none is still mid-query.
        with controller_db.cluster.connect(controller_db.dbname) as watcher:
            wait_until(lambda: gathers_settled(watcher, 2 * len(runs)), 60, 'both gathers to settle')
    for suffix, proc in gathers.items():
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, f'gather {suffix}: {err[-2000:]}'

    if case.target == 'directory':
        blobs = [p.read_bytes() for p in tarballs(tmp_path / 'ship')]
        marks = json.loads((tmp_path / 'ship' / 'state' / 'watermarks.json').read_text())['shipped_until']
    elif case.target == 's3':
        client = s3_server.client()
        keys = [o['Key'] for o in client.list_objects_v2(Bucket=bucket, Prefix='billing/data/').get('Contents', [])]
        blobs = [client.get_object(Bucket=bucket, Key=k)['Body'].read() for k in keys]
        state = client.get_object(Bucket=bucket, Key='billing/state/watermarks.json')['Body'].read()
        marks = json.loads(state)['shipped_until']
    else:
        blobs = list(ingress.accepted)
        marks = json.loads((tmp_path / 'state' / 'watermarks.json').read_text())['shipped_until']

    expected_marks: dict[str, str] = {}
    for run in runs.values():
        for key in run.collectors.split(','):
            until = '2024-03-01T12:00:00+00:00' if run.until == EARLY else '2024-03-02T00:00:00+00:00'
            expected_marks[key] = max(expected_marks.get(key, until), until)
    assert marks == expected_marks  # the later of both runs, none lost, none moved back
    for key, until in expected_marks.items():
        seen = ids_in(blobs, MEMBERS[key])
        assert seen and set(seen.values()) == {1}, f'{key}: rows received more than once'
        if key == 'job_host_summary':
            assert set(seen) == truth(controller_db, '2024-01-01', until)


@pytest.mark.hostile
@pytest.mark.slow
@pytest.mark.parametrize('suffix', [pytest.param(None, id='default-lock'), pytest.param('nightly', id='own-suffix')])
def test_sigkill_during_a_long_query_releases_the_lock_within_seconds(suffix, controller_db, tmp_path):
    """The killed gather's COPY waits server-side (a table lock held by the test) and would hold its session, and the
    advisory lock with it, for as long as that wait lasts; the lock lives on an idle session of its own instead."""
    ship = tmp_path / 'ship'
    extra = {'METRICS_UTILITY_COLLECTOR_LOCK_SUFFIX': suffix} if suffix else {}
    env = process_env(directory_env(controller_db, ship, **extra))
    name = lock_name(suffix)
    args = gather_args(LATE, JHS)
    with tables_locked(controller_db, 'main_jobhostsummary'), controller_db.connect_owner() as probe:
        probe.autocommit = True
        victim = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Blocked: each of its streams' COPY waits for the table (docs/collectors.md, parallel streams).
        wait_until(lambda: advisory_holders(probe, name) == 1 and lock_waiters(probe) >= 1, 60, 'the gather to block')
        victim.kill()
        victim.wait(10)
        released = wait_until(lambda: advisory_holders(probe, name) == 0, 30, 'the lock to be released')
        print(f'\nadvisory lock released {released:.2f}s after SIGKILL (limit {LOCK_RELEASE_LIMIT}s)')
        assert released < LOCK_RELEASE_LIMIT
        # PostgreSQL 14+: the orphaned query checks for its client and ends too, long before the table lock would let
        # it go (the table stays locked until this block ends).
        ended = wait_until(lambda: lock_waiters(probe) == 0, 30, 'the orphaned query to end')
        print(f'orphaned query ended {ended:.2f}s after SIGKILL')
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    seen = ids_in([p.read_bytes() for p in tarballs(ship)], MEMBERS[JHS])
    assert set(seen) == truth(controller_db, '2024-01-01', LATE) and set(seen.values()) == {1}


def gather_in_process(env: dict[str, str], *args: str) -> int:
    parsed = _parser().parse_args(['gather', *args])
    return parsed.func(parsed, env=dict(env))


RECOVERY = (
    "fix it, or delete it: the next gather then starts after the packages the target holds or the controller's "
    'AUTOMATION_ANALYTICS_LAST_ENTRIES, else at the look-back horizon (console.redhat.com cannot be listed: it would '
    'receive those windows a second time)'
)
DAMAGED = [
    (b'', 'is not JSON (Expecting value: line 1 column 1 (char 0))', 'empty'),
    (
        b'{"version": 1, "shipped_until": {"job_host_su',
        'is not JSON (Unterminated string starting at: line 1 column 34 (char 33))',
        'truncated',
    ),
    (b'\xff\xfe\x00garbage', 'is not UTF-8 text', 'binary-garbage'),
    (b'[]', 'is damaged (expected a JSON object, found an array)', 'array'),
    (b'null', 'is damaged (expected a JSON object, found null)', 'null'),
    (b'"2024-03-01T00:00:00+00:00"', 'is damaged (expected a JSON object, found a string)', 'bare-string'),
    (b'{"version": 2, "shipped_until": {}}', 'is damaged (unsupported version 2, expected 1)', 'future-version'),
    (b'{"version": "1", "shipped_until": {}}', "is damaged (unsupported version '1', expected 1)", 'version-as-text'),
    (
        b'{"version": 1}',
        'is damaged ("shipped_until" must be an object of collector: timestamp, found null)',
        'no-shipped-until',
    ),
    (
        b'{"version": 1, "shipped_until": ["job_host_summary"]}',
        'is damaged ("shipped_until" must be an object of collector: timestamp, found an array)',
        'marks-as-array',
    ),
    (
        b'{"version": 1, "shipped_until": {"job_host_summary": 1709251200}}',
        "is damaged ('job_host_summary': expected an ISO 8601 timestamp, found a number)",
        'epoch-number',
    ),
    (
        b'{"version": 1, "shipped_until": {"job_host_summary": NaN}}',
        "is damaged ('job_host_summary': expected an ISO 8601 timestamp, found a number)",
        'nan',
    ),
    (
        b'{"version": 1, "shipped_until": {"job_host_summary": "yesterday"}}',
        "is damaged ('job_host_summary': 'yesterday' is not an ISO 8601 timestamp)",
        'not-a-timestamp',
    ),
    (
        b'{"version": 1, "shipped_until": {"job_host_summary": "2024-02-29T00:00:00"}}',
        "is damaged ('job_host_summary': naive timestamp 2024-02-29T00:00:00 (no time zone))",
        'naive',
    ),
    (
        b'{"version": 1, "shipped_until": {"job_host_summary": "9999-12-31T00:00:00+00:00"}}',
        "is damaged ('job_host_summary': 9999-12-31T00:00:00+00:00 is later than now, {now}; a clock set wrong or an "
        'edited document)',
        'far-future',
    ),
    (
        b'{"version": 1, "install_uuid": 42, "shipped_until": {}}',
        'is damaged ("install_uuid" must be a string or null, found a number)',
        'uuid-number',
    ),
    (b'[' * 100_000 + b']' * 100_000, 'is not JSON (nested too deeply)', 'deep-nesting'),
    (
        b'{"version": 1' + b'0' * 5000 + b'}',
        'is not JSON (Exceeds the limit (4300 digits) for integer string '
        'conversion: value has 5001 digits; use sys.set_int_max_str_digits() to increase the limit)',
        'huge-integer',
    ),
    (
        b'{"version": 1, "shipped_until": {}, "pad": "' + b'x' * (1 << 20) + b'"}',
        'is damaged (larger than 1048576 bytes)',
        'oversized',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('content', 'detail'), [pytest.param(c, d, id=i) for c, d, i in DAMAGED])
def test_a_damaged_watermark_document_fails_the_run_with_one_clear_line(
    content, detail, controller_db, tmp_path, capsys
):
    """Decided: never guess. A reset would upload the look-back horizon to console.redhat.com again; a guessed mark
    could skip data. The run stops before collecting anything (exit 1) and the document is left as it was."""
    ship = tmp_path / 'ship'
    document = ship / 'state' / 'watermarks.json'
    document.parent.mkdir(parents=True)
    document.write_bytes(content)
    summary = tmp_path / 'summary.json'
    env = directory_env(controller_db, ship, METRICS_UTILITY_OPTIONAL_COLLECTORS='')
    assert gather_in_process(env, '--ship', '--until', LATE, '--summary-file', str(summary)) == 1
    err = capsys.readouterr().err
    if '{now}' in detail:  # the run's now is not known beforehand: take it from the message
        detail = detail.replace('{now}', err.split('later than now, ', 1)[1].split(';', 1)[0])
    message = f'the watermark document directory {ship}/state/watermarks.json {detail}; {RECOVERY}'
    assert err == f'metrics-utility gather: {message}\n'
    assert json.loads(summary.read_text())['error'] == message
    assert json.loads(summary.read_text())['ok'] is False
    assert document.read_bytes() == content  # never overwritten
    assert not tarballs(ship)  # nothing collected or shipped


@pytest.mark.hostile
def test_unknown_collectors_and_other_offsets_in_the_document_are_kept(controller_db, tmp_path):
    """Safe recovery: marks of collectors this run does not know (a newer worker's) and non-UTC offsets are read
    as the instants they are; the merge keeps them."""
    ship = tmp_path / 'ship'
    document = ship / 'state' / 'watermarks.json'
    document.parent.mkdir(parents=True)
    document.write_text(
        json.dumps(
            {
                'version': 1,
                'install_uuid': None,
                'shipped_until': {
                    'job_host_summary': '2024-03-01T05:00:00+05:00',
                    'from_a_newer_worker': '2024-02-01T00:00:00+00:00',
                },
            }
        )
    )
    env = directory_env(controller_db, ship, METRICS_UTILITY_OPTIONAL_COLLECTORS='')
    assert gather_in_process(env, '--ship', '--until', LATE) == 0
    marks = json.loads(document.read_text())['shipped_until']
    assert marks == {
        'from_a_newer_worker': '2024-02-01T00:00:00+00:00',
        'job_host_summary': '2024-03-02T00:00:00+00:00',
    }
    seen = ids_in([p.read_bytes() for p in tarballs(ship)], MEMBERS[JHS])
    assert set(seen) == truth(controller_db, '2024-03-01', LATE) and set(seen.values()) == {1}
