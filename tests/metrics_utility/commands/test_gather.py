"""`metrics-utility gather` end to end on the synthetic controller database (SELECT-only role).

Every shipped window is checked against the database: each job host summary of the window is shipped exactly once,
after failures, reruns and a SIGKILL in the middle of a run.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metrics_utility.cli import main
from metrics_utility.demo.generator import SECRET_SETTINGS
from metrics_utility.library.lock import advisory_lock
from testsupport.s3_server import SECRET_KEY

from .conftest import s3_env, shipped_ids

pytestmark = pytest.mark.integration

SINCE, UNTIL = '2024-02-27', '2024-03-02'


def truth(db, since=SINCE, until=UNTIL) -> set[int]:
    with db.connect_owner() as conn:
        rows = conn.execute(
            'SELECT id FROM main_jobhostsummary WHERE modified >= %s AND modified < %s', (since, until)
        ).fetchall()
    return {r[0] for r in rows}


def gather(monkeypatch, env: dict[str, str], *args: str) -> int:
    for key in [k for k in os.environ if k.startswith('METRICS_UTILITY_')]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return main(['gather', *args])


def directory_env(db, ship_path: Path, **extra: str) -> dict[str, str]:
    return {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship_path),
        **extra,
    }


def tarballs(root: Path) -> list[Path]:
    return sorted((root / 'data').rglob('*.tar.gz'))


def test_ship_to_a_directory_exactly_once_and_resume(controller_db, tmp_path, monkeypatch, capsys):
    ship = tmp_path / 'ship'
    summary_file = tmp_path / 'summary.json'
    env = directory_env(controller_db, ship)
    assert (
        gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL, '--summary-file', str(summary_file)) == 0
    )
    files = tarballs(ship)
    assert files and all(p.parent.relative_to(ship / 'data').as_posix().count('/') == 2 for p in files)
    counts = shipped_ids(files)
    assert set(counts) == truth(controller_db) and set(counts.values()) == {1}
    events = shipped_ids(files, './main_jobevent.csv')
    assert events  # the default optional collector ran too
    summary = json.loads(summary_file.read_text())
    assert summary['ok'] and summary['command'] == 'gather' and summary['target'] == 'directory'
    assert summary['rows'] >= len(counts) and summary['packages'] == len(files)
    assert summary['window'] == {'since': '2024-02-27T00:00:00+00:00', 'until': '2024-03-02T00:00:00+00:00'}
    marks = json.loads((ship / 'state' / 'watermarks.json').read_text())['shipped_until']
    assert marks == {'job_host_summary': '2024-03-02T00:00:00+00:00', 'main_jobevent': '2024-03-02T00:00:00+00:00'}

    # Shipping the same window again overwrites: same names, still exactly once.
    assert gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL) == 0
    assert tarballs(ship) == files
    assert set(shipped_ids(tarballs(ship)).values()) == {1}


def test_incremental_runs_leave_no_gap(controller_db, tmp_path, monkeypatch):
    ship = tmp_path / 'ship'
    env = directory_env(controller_db, ship, METRICS_UTILITY_OPTIONAL_COLLECTORS='')
    # No --since: the first run starts at the horizon (until - 28 days) and stops mid-day; the second resumes there.
    assert gather(monkeypatch, env, '--ship', '--until', '2024-02-29T13:37:00Z') == 0
    first = set(tarballs(ship))
    assert gather(monkeypatch, env, '--ship', '--until', UNTIL) == 0
    assert first < set(tarballs(ship))
    counts = shipped_ids(tarballs(ship))
    assert set(counts) == truth(controller_db, '2024-02-03', UNTIL) and set(counts.values()) == {1}
    # Re-shipping the whole leap day replaces both of its partial-day packages instead of adding a third.
    assert gather(monkeypatch, env, '--ship', '--since', '2024-02-29', '--until', '2024-03-01') == 0
    day = sorted(p.name for p in (ship / 'data' / '2024' / '02' / '29').iterdir())
    assert len(day) == 1 and '-2024-02-29-000000+0000-2024-03-01-000000+0000-' in day[0]
    counts = shipped_ids(tarballs(ship))
    assert set(counts) == truth(controller_db, '2024-02-03', UNTIL) and set(counts.values()) == {1}


def _dry_run_leap_eve(monkeypatch, env: dict[str, str], out: Path) -> int:
    """`gather --dry-run` of job_host_summary for 28 Feb 2024 into `out`."""
    argv = ['--dry-run', '--since', '2024-02-28', '--until', '2024-02-29', '--output', str(out)]
    return gather(monkeypatch, env, *argv, '--collectors', 'job_host_summary')


def test_dry_run_ships_nothing(controller_db, tmp_path, monkeypatch):
    out = tmp_path / 'out'
    env = directory_env(controller_db, tmp_path / 'ship')
    assert _dry_run_leap_eve(monkeypatch, env, out) == 0
    built = sorted(out.rglob('*.tar.gz'))
    assert built and set(shipped_ids(built)) == truth(controller_db, '2024-02-28', '2024-02-29')
    assert not (tmp_path / 'ship').exists()


def test_s3_errors_then_recovery_ship_every_window_once(
    controller_db, tmp_path, monkeypatch, capsys, s3_server, bucket, faulty_s3
):
    env = s3_env(controller_db, faulty_s3.endpoint, bucket, METRICS_UTILITY_OPTIONAL_COLLECTORS='')
    summary_file = tmp_path / 'summary.json'
    # Every upload fails (500s beyond the retries): the run fails and no watermark moves.
    faulty_s3.fail(None, when=lambda method, path: method == 'PUT' and '/data/' in path)
    assert (
        gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL, '--summary-file', str(summary_file)) == 1
    )
    failed = json.loads(summary_file.read_text())
    assert not failed['ok'] and 'job_host_summary' in failed['error']
    client = s3_server.client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix='billing/state/')
    assert listed.get('KeyCount', 0) == 0  # no watermark saved
    # The store recovers: a rerun ships everything, exactly once.
    faulty_s3.fail(0)
    assert gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL) == 0
    keys = [o['Key'] for o in client.list_objects_v2(Bucket=bucket, Prefix='billing/data/')['Contents']]
    local = []
    for i, key in enumerate(sorted(keys)):
        path = tmp_path / f'{i}.tar.gz'
        client.download_file(bucket, key, str(path))
        local.append(path)
    counts = shipped_ids(local)
    assert set(counts) == truth(controller_db) and set(counts.values()) == {1}
    # Secrets never reach the tarballs, the summary or the logs.
    secrets = [SECRET_KEY, controller_db.reader_password, *SECRET_SETTINGS.values()]
    printed = capsys.readouterr()
    blobs = [p.read_bytes() for p in local] + [summary_file.read_bytes(), (printed.out + printed.err).encode()]
    for blob in blobs:
        text = gzip.decompress(blob) if blob[:2] == b'\x1f\x8b' else blob
        assert not any(s.encode() in text for s in secrets)


def test_a_failed_window_discards_the_next_window_collected_ahead(
    controller_db, tmp_path, monkeypatch, s3_server, bucket, faulty_s3
):
    """The second day's upload of job_host_summary fails: its first day stays shipped, the third day (collected
    while the second was packaged) is not shipped, and a rerun ships every row exactly once."""
    env = s3_env(controller_db, faulty_s3.endpoint, bucket, METRICS_UTILITY_OPTIONAL_COLLECTORS='')
    faulty_s3.fail(None, when=lambda method, path: method == 'PUT' and '/data/2024/02/28/' in path)
    assert gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL) == 1
    client = s3_server.client()

    def shipped() -> list[str]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix='billing/data/').get('Contents', [])
        return sorted(o['Key'] for o in listed if o['Key'].endswith('-job_host_summary.tar.gz'))

    assert [key.split('/')[2:5] for key in shipped()] == [['2024', '02', '27']]
    faulty_s3.fail(0)
    assert gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL) == 0
    local = []
    for i, key in enumerate(shipped()):
        client.download_file(bucket, key, str(tmp_path / f'{i}.tar.gz'))
        local.append(tmp_path / f'{i}.tar.gz')
    counts = shipped_ids(local)
    assert set(counts) == truth(controller_db) and set(counts.values()) == {1}


def test_concurrent_gather_is_refused(controller_db, tmp_path, monkeypatch, capsys):
    env = directory_env(controller_db, tmp_path / 'ship')
    with controller_db.connect_reader() as conn, advisory_lock(conn, 'gather_automation_controller_billing_lock'):
        code = gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL)
    assert code == 1
    assert 'another run holds the lock' in capsys.readouterr().err
    assert not (tmp_path / 'ship' / 'state').exists()


@pytest.mark.hostile
@pytest.mark.parametrize('days', ['0', ' +0 ', '-0'], ids=['zero', 'padded-plus-zero', 'minus-zero'])
def test_a_look_back_of_0_days_gathers_nothing_and_ends_well(controller_db, tmp_path, monkeypatch, capsys, days):
    """metrics-utility takes MAX_GATHER_PERIOD_DAYS=0 (an empty window) and ends with 0; so do we, saying so."""
    summary_file = tmp_path / 'summary.json'
    env = directory_env(controller_db, tmp_path / 'ship', METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS=days)
    (tmp_path / 'ship').mkdir()
    code = gather(monkeypatch, env, '--ship', f'--summary-file={summary_file}')
    err = capsys.readouterr().err
    assert code == 0
    assert 'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS=0: an empty look-back window, nothing gathered' in err
    assert tarballs(tmp_path / 'ship') == [] and not (tmp_path / 'ship' / 'state').exists()
    summary = json.loads(summary_file.read_text())
    assert (summary['ok'], summary['packages'], summary['error']) == (True, 0, None)


def test_bad_configuration_lists_every_problem(controller_db, tmp_path, monkeypatch, capsys):
    env = {**controller_db.reader_env(), 'METRICS_UTILITY_SHIP_TARGET': 'ftp'}
    env['METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS'] = '-1'
    code = gather(monkeypatch, env, '--ship', '--since', 'yesterday', '--until', '42')
    err = capsys.readouterr().err
    assert code == 2
    for part in (
        "--since='yesterday'",
        "--until='42' is a bare number",
        "SHIP_TARGET='ftp'",
        'MAX_GATHER_PERIOD_DAYS=-1',
    ):
        assert part in err


def test_unreachable_database_is_one_clear_line(tmp_path, monkeypatch, capsys):
    env = {
        'METRICS_UTILITY_DB_HOST': '127.0.0.1',
        'METRICS_UTILITY_DB_PORT': '1',
        'METRICS_UTILITY_DB_PASSWORD': 'pw-x1',
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
    }
    assert gather(monkeypatch, env, '--ship', '--since', SINCE, '--until', UNTIL) == 1
    err = capsys.readouterr().err
    assert 'cannot connect to the controller database' in err and 'pw-x1' not in err


@pytest.mark.slow
def test_sigkill_in_the_middle_then_rerun_ships_every_window_once(controller_db, tmp_path):
    ship = tmp_path / 'ship'
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith('METRICS_UTILITY_')},
        **directory_env(controller_db, ship, METRICS_UTILITY_PACKAGE_MAX_BYTES='65536'),
    }
    args = [sys.executable, '-m', 'metrics_utility.cli', 'gather', '--ship', '--since', SINCE, '--until', UNTIL]
    victim = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(tarballs(ship)) < 3:
        with contextlib.suppress(subprocess.TimeoutExpired):
            victim.wait(0.01)  # waits on the process; returns early only if it ended by itself
        assert victim.returncode is None, 'the gather finished before it could be killed; make it slower'
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert len(tarballs(ship)) >= 3  # it was killed after shipping some packages
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    counts = shipped_ids(tarballs(ship))
    assert set(counts) == truth(controller_db) and set(counts.values()) == {1}
    assert not list(ship.rglob('*.part'))  # no half-written file visible


@pytest.mark.parametrize(
    ('runtime', 'install_type'),
    [({'container': 'oci'}, 'openshift'), ({'KUBERNETES_SERVICE_HOST': '10.0.0.1'}, 'k8s')],
    ids=['oci-runtime', 'pod'],
)
def test_config_json_names_the_install_type_the_settings_detected(
    controller_db, tmp_path, monkeypatch, runtime, install_type
):
    """The settings layer detects the install type once and the config collector receives it as a parameter."""
    import tarfile

    for name in ('container', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / 'out'
    env = directory_env(controller_db, tmp_path / 'ship', **runtime)
    assert _dry_run_leap_eve(monkeypatch, env, out) == 0
    with tarfile.open(sorted(out.rglob('*.tar.gz'))[0]) as tar:
        config = json.load(tar.extractfile('./config.json'))
    assert config['platform']['type'] == install_type
