"""`gather --ship` to a directory with console.redhat.com as the second, put-only target (gather/secondary.py).

Real parts: the synthetic controller database (SELECT-only role), the directory target and HTTPS stand-ins for SSO
and ingress with real TLS. The secondary receives every stored package exactly once, a failing secondary leaves
the primary's run ok and its own watermark in place, the next run sends the backlog, and retention keeps what the
secondary has not confirmed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics_utility.cli import main
from metrics_utility.gather.state import RECOVERY
from testsupport.https_servers import Reply
from testsupport.secrets import CLIENT_SECRET

from .test_gather import SINCE, UNTIL, truth
from .test_gather_console import console, console_env, uploaded_ids  # noqa: F401 (the console fixture)

pytestmark = pytest.mark.integration

P = 'METRICS_UTILITY_'
UNTIL_ISO = '2024-03-02T00:00:00+00:00'
RETRY_NOW = {'Retry-After': '0'}  # the client's retries happen at once, so the tests are quick


def dual_env(db, tmp_path: Path, stubs, **extra: str) -> dict[str, str]:
    sso, upload, _ingress, bundle = stubs
    env = console_env(db, tmp_path, sso, upload, bundle)
    del env[P + 'STATE_PATH']  # the secondary's watermarks live in the primary storage
    env.update(
        {
            P + 'SHIP_TARGET': 'directory',
            P + 'SHIP_PATH': str(tmp_path / 'ship'),
            P + 'SECONDARY_TARGET': 'crc',
            P + 'MAX_GATHER_PERIOD_DAYS': '3650',  # the synthetic data lies in 2024: within the look-back horizon
            **extra,
        }
    )
    return env


def run(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[int, dict]:
    summary = tmp_path / 'summary.json'
    code = main(['gather', '--ship', '--until', UNTIL, '--summary-file', str(summary), *args], env=env)
    return code, json.loads(summary.read_text())


def stored(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / 'ship' / 'data').rglob('*.tar.gz'))


def console_marks(tmp_path: Path) -> dict[str, str]:
    return json.loads((tmp_path / 'ship' / 'state' / 'console.json').read_text())['shipped_until']


def test_failing_secondary_catches_up_and_receives_every_package_once(controller_db, tmp_path, console):  # noqa: F811
    ingress = console[2]
    env = dual_env(controller_db, tmp_path, console)

    # console.redhat.com answers 503 for the whole run: the primary run is ok, the secondary's error is in the
    # summary, its watermark stays at its start.
    ingress.failing = Reply(503, {'errors': [{'detail': 'maintenance'}]}, RETRY_NOW)
    code, summary = run(env, tmp_path, '--since', SINCE)
    packages = stored(tmp_path)
    assert code == 0 and summary['ok'] is True and summary['error'] is None
    assert summary['packages'] == len(packages) > 1
    secondary = summary['secondary']
    assert (secondary['target'], secondary['ok'], secondary['windows'], secondary['packages']) == ('crc', False, 0, 0)
    assert secondary['pending'] == len(packages) and '503' in secondary['error']
    start = console_marks(tmp_path)
    assert start['job_host_summary'] < '2024-02-27' and not ingress.accepted

    # It recovers: the next run (nothing new for the primary) sends the backlog, oldest first.
    ingress.failing = None
    code, summary = run(env, tmp_path)
    assert code == 0 and summary['packages'] == 0
    secondary = summary['secondary']
    assert (secondary['ok'], secondary['error'], secondary['pending']) == (True, None, 0)
    assert secondary['packages'] == len(packages) == len(ingress.accepted)
    assert secondary['last_window']['until'] == UNTIL_ISO
    assert console_marks(tmp_path)['job_host_summary'] == UNTIL_ISO
    assert sorted(ingress.accepted) == sorted(p.read_bytes() for p in packages)

    # And never again.
    code, summary = run(env, tmp_path)
    assert (code, summary['secondary']['packages'], summary['secondary']['pending']) == (0, 0, 0)
    counts = uploaded_ids(ingress.accepted)
    assert set(counts) == truth(controller_db, SINCE, UNTIL) and set(counts.values()) == {1}


def test_retention_keeps_what_the_secondary_has_not_confirmed(controller_db, tmp_path, console):  # noqa: F811
    ingress = console[2]
    env = dual_env(controller_db, tmp_path, console, **{P + 'RETENTION_MAX_BYTES': '1'})
    ingress.failing = Reply(503, {}, RETRY_NOW)
    code, summary = run(env, tmp_path, '--since', SINCE)
    packages = stored(tmp_path)
    assert code == 0 and len(packages) > 1
    assert summary['retention']['deleted_objects'] == 0
    assert summary['retention']['blocked_objects'] == len(packages)

    ingress.failing = None
    code, summary = run(env, tmp_path)
    assert code == 0 and summary['secondary']['packages'] == len(packages) == len(ingress.accepted)
    assert summary['retention']['deleted_objects'] == len(packages) and stored(tmp_path) == []


DAMAGED = [  # (id, document, the reason in the StateError message)
    ('not-json', b'{"version": 1,', 'is not JSON (Expecting property name enclosed in double quotes: line 1 column 15 '
     '(char 14))'),
    ('wrong-version', b'{"version": 7, "shipped_until": {}}', 'is damaged (unsupported version 7, expected 1)'),
    ('naive-mark', b'{"version": 1, "shipped_until": {"job_host_summary": "2024-01-01T00:00:00"}}',
     "is damaged ('job_host_summary': naive timestamp 2024-01-01T00:00:00 (no time zone))"),
    ('not-utf8', b'\xff\xfe', 'is not UTF-8 text'),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('document', 'reason'), [c[1:] for c in DAMAGED], ids=[c[0] for c in DAMAGED])
def test_a_damaged_secondary_document_sends_nothing_and_keeps_every_package(
    controller_db,
    tmp_path,
    console,  # noqa: F811
    document,
    reason,
):
    ingress = console[2]
    env = dual_env(controller_db, tmp_path, console, **{P + 'RETENTION_MAX_BYTES': '1'})
    state = tmp_path / 'ship' / 'state' / 'console.json'
    state.parent.mkdir(parents=True)
    state.write_bytes(document)
    code, summary = run(env, tmp_path, '--since', SINCE)
    packages = stored(tmp_path)
    where = f'directory {tmp_path / "ship"}/state/console.json'
    assert (code, summary['ok']) == (0, True)
    assert summary['secondary']['error'] == f'the watermark document {where} {reason}; {RECOVERY}'
    assert not ingress.accepted and state.read_bytes() == document
    assert summary['retention']['blocked_objects'] == len(packages) > 1  # nothing it may not have is deleted


ECHOES = [  # (id, the ingress reply that echoes the service-account secret)
    ('json-body', Reply(400, {'errors': [{'detail': f'bad client_secret={CLIENT_SECRET}'}]})),
    ('header', Reply(400, {'errors': []}, {'x-debug': CLIENT_SECRET})),
    ('detail-only', Reply(400, {'detail': CLIENT_SECRET})),
]


@pytest.mark.hostile
@pytest.mark.parametrize('reply', [c[1] for c in ECHOES], ids=[c[0] for c in ECHOES])
def test_a_server_echoing_the_secret_never_reaches_the_summary_or_the_log(
    controller_db,
    tmp_path,
    console,  # noqa: F811
    capsys,
    reply,
):
    ingress = console[2]
    ingress.failing = reply
    env = dual_env(controller_db, tmp_path, console)
    code, summary = run(env, tmp_path, '--since', SINCE)
    err = capsys.readouterr().err
    assert (code, summary['ok'], summary['secondary']['ok']) == (0, True, False)
    assert '400' in summary['secondary']['error']
    text = (tmp_path / 'summary.json').read_text()
    assert CLIENT_SECRET not in text and CLIENT_SECRET not in err


def test_upstream_console_cronjob_keeps_its_watermarks_on_the_claim(controller_db, tmp_path, console):  # noqa: F811
    """Upstream's `<name>-metrics-utility-gather-console` CronJob: SHIP_TARGET=crc, SHIP_PATH=/metrics-utility (the
    mounted claim), no STATE_PATH. The watermarks go to SHIP_PATH/state/crc-watermarks.json; a rerun sends nothing
    twice."""
    sso, upload, ingress, bundle = console
    claim = tmp_path / 'metrics-utility'
    claim.mkdir()
    env = console_env(controller_db, tmp_path, sso, upload, bundle)
    del env[P + 'STATE_PATH']
    env[P + 'SHIP_PATH'] = str(claim)
    assert main(['gather', '--ship', '--since', SINCE, '--until', UNTIL], env=env) == 0
    marks = json.loads((claim / 'state' / 'crc-watermarks.json').read_text())['shipped_until']
    assert marks['job_host_summary'] == UNTIL_ISO
    sent = len(ingress.accepted)
    assert main(['gather', '--ship', '--until', UNTIL], env=env) == 0
    assert len(ingress.accepted) == sent
    counts = uploaded_ids(ingress.accepted)
    assert set(counts) == truth(controller_db, SINCE, UNTIL) and set(counts.values()) == {1}


EXIT_2 = [  # (id, env beside a directory target, stderr)
    ('unknown-secondary', {P + 'SECONDARY_TARGET': 's3'},
     f"metrics-utility gather: invalid configuration:\n  - {P}SECONDARY_TARGET='s3': expected crc "
     '(console.redhat.com)\n'),
    ('secondary-without-its-settings', {P + 'SECONDARY_TARGET': 'crc'},
     f"metrics-utility gather: invalid configuration:\n  - {P}BILLING_PROVIDER='': expected aws\n"
     f'  - {P}BILLING_ACCOUNT_ID: expected the 12-digit AWS account id\n'
     f'  - {P}SERVICE_ACCOUNT_ID and {P}SERVICE_ACCOUNT_SECRET: expected the console.redhat.com service account, '
     f"or a client certificate ({P}CRC_CLIENT_CERT/_KEY) or the controller's identity ({P}CANDLEPIN_ENABLED=true) "
     'to upload with\n'),
    ('secondary-plain-http-ingress', {P + 'SECONDARY_TARGET': 'crc', P + 'BILLING_PROVIDER': 'aws',
                                      P + 'BILLING_ACCOUNT_ID': '123456789012', P + 'SERVICE_ACCOUNT_ID': 'id',
                                      P + 'SERVICE_ACCOUNT_SECRET': CLIENT_SECRET,
                                      P + 'CRC_INGRESS_URL': 'http://ingress.example/upload'},
     "metrics-utility gather: cannot set up the secondary target crc: ingress_url 'http://ingress.example/upload' "
     'must use https:// (credentials are sent to it)\n'),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('extra', 'stderr'), [c[1:] for c in EXIT_2], ids=[c[0] for c in EXIT_2])
def test_wrong_secondary_settings_exit_2_before_any_work(tmp_path, capsys, extra, stderr):
    env = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), **extra}
    assert main(['gather', '--ship'], env=env) == 2
    assert capsys.readouterr().err == stderr
    assert list(tmp_path.iterdir()) == []
