"""`metrics-utility candlepin register|renew` against a local Candlepin over real TLS (tests/testsupport/candlepin.py).

Every case asserts the exact exit code, stdout and stderr, the requests Candlepin saw and the stored files; and no
output ever holds the password, a private key or a certificate.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from metrics_utility.cli import _parser, main
from metrics_utility.commands import candlepin_manage
from metrics_utility.library.candlepin.client import MAX_ANSWER_BYTES
from metrics_utility.library.candlepin.store import CERT_FILE, KEY_FILE, UUID_FILE
from metrics_utility.library.storage.http import RetryPolicy
from testsupport.candlepin import CandlepinState, FakeCandlepin
from testsupport.https_servers import Reply, ca_bundle_fixture, tls_ca_fixture  # noqa: F401 (fixtures)
from testsupport.proxy import ConnectProxy

P = 'METRICS_UTILITY_'
PROG = 'metrics-utility candlepin'
USER = 'alice'
PASSWORD = 'Pass-word-4711'


@pytest.fixture
def candlepin(tls_ca):
    state = CandlepinState(users={USER: PASSWORD}, owners={USER: ['acme']})
    with FakeCandlepin(tls_ca, state) as server:
        yield server


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog, tmp_path):
    """Every test: the log records (retries, warnings, debug) hold no password, key or certificate either."""
    caplog.set_level(logging.DEBUG)
    yield
    assert_no_secrets(caplog.text, tmp_path / 'candlepin-certs')


@pytest.fixture
def cert_dir(tmp_path) -> Path:
    return tmp_path / 'candlepin-certs'


@pytest.fixture
def env(candlepin, ca_bundle, cert_dir) -> dict[str, str]:
    return {
        P + 'CANDLEPIN_URL': candlepin.api,
        P + 'CANDLEPIN_CA': ca_bundle,
        P + 'CANDLEPIN_CERT_DIR': str(cert_dir),
        P + 'RH_USERNAME': USER,
        P + 'RH_PASSWORD': PASSWORD,
    }


def run(argv: list[str], env: dict[str, str], capsys) -> tuple[int, str, str]:
    """The command in-process (no sleeping between retries); asserts nothing secret reached its output."""
    args = _parser().parse_args(argv)
    code = candlepin_manage.run(args, env, retry=RetryPolicy(attempts=2, sleep=lambda _: None))
    out = capsys.readouterr()
    assert_no_secrets(out.out + out.err, Path(env.get(P + 'CANDLEPIN_CERT_DIR', '/nonexistent')))
    return code, out.out, out.err


def assert_no_secrets(text: str, cert_dir: Path) -> None:
    assert PASSWORD not in text
    assert base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode() not in text
    assert 'PRIVATE KEY' not in text and 'CERTIFICATE-----' not in text
    for name in (CERT_FILE, KEY_FILE):
        if (cert_dir / name).exists():
            body = ''.join((cert_dir / name).read_bytes().decode('ascii', 'replace').splitlines()[1:-1])
            assert not body or body[:40] not in text


def stored(cert_dir: Path) -> tuple[str, str, str]:
    return tuple((cert_dir / name).read_text() for name in (UUID_FILE, CERT_FILE, KEY_FILE))  # type: ignore[return-value]


def calls(candlepin: FakeCandlepin) -> list[str]:
    return [f'{r.method} {r.path.removeprefix(FakeCandlepin.PREFIX)}' for r in candlepin.requests]


def register(candlepin: FakeCandlepin, env: dict[str, str], capsys) -> str:
    code, _, err = run(['candlepin', 'register', '--org', 'acme'], env, capsys)
    assert (code, err) == (0, '')
    candlepin.requests.clear()
    return next(iter(candlepin.state.consumers))


@pytest.mark.unit
def test_register_with_org_stores_the_issued_identity_0600(candlepin, env, cert_dir, capsys):
    code, out, err = run(['candlepin', 'register', '--org', 'acme'], env, capsys)
    [consumer] = candlepin.state.consumers.values()
    assert (code, err) == (0, '')
    assert out.startswith(f"registered consumer {consumer.uuid} in organization 'acme'; certificate valid until 20")
    assert out.endswith(f'; stored in {cert_dir}\n')
    assert calls(candlepin) == ['POST /consumers?owner=acme']
    assert candlepin.requests[0].json()['type'] == {'label': 'system'}
    assert stored(cert_dir) == (consumer.uuid, consumer.cert_pem, consumer.key_pem)
    assert sorted(os.listdir(cert_dir)) == sorted([CERT_FILE, KEY_FILE, UUID_FILE])
    assert {stat.S_IMODE((cert_dir / n).stat().st_mode) for n in os.listdir(cert_dir)} == {0o600}


@pytest.mark.unit
def test_register_without_org_discovers_the_users_only_org(candlepin, env, cert_dir, capsys):
    code, out, err = main_like(['candlepin_manage', 'register'], env, capsys)
    [consumer] = candlepin.state.consumers.values()
    assert (code, err) == (0, '')
    assert out.startswith(f"registered consumer {consumer.uuid} in organization 'acme';")
    assert calls(candlepin) == [f'GET /users/{USER}/owners', 'POST /consumers?owner=acme']
    assert stored(cert_dir)[0] == consumer.uuid


def main_like(argv: list[str], env: dict[str, str], capsys) -> tuple[int, str, str]:
    """Through the CLI entry point (the alias and the last guard), for cases that need no retries."""
    code = main(argv, env)
    out = capsys.readouterr()
    assert_no_secrets(out.out + out.err, Path(env[P + 'CANDLEPIN_CERT_DIR']))
    return code, out.out, out.err


@pytest.mark.unit
def test_renew_far_from_expiry_only_checks_in(candlepin, env, cert_dir, capsys):
    uuid = register(candlepin, env, capsys)
    before = stored(cert_dir)
    code, out, err = run(['candlepin', 'renew'], env, capsys)
    consumer = candlepin.state.consumers[uuid]
    assert (code, err) == (0, '')
    assert out.startswith(f'checked in consumer {uuid}; certificate valid until ')
    assert out.endswith(' (364 days), regenerated within 30 days of expiry\n')
    assert calls(candlepin) == [f'PUT /consumers/{uuid}']
    assert (consumer.checkins, consumer.regenerations, stored(cert_dir)) == (1, 0, before)
    assert uuid in candlepin.requests[0].client_cert_subject.split(', ')  # its own certificate (CN = uuid)


@pytest.mark.unit
def test_renew_near_expiry_regenerates_and_replaces_the_files_atomically(candlepin, env, cert_dir, capsys):
    candlepin.state.validity = timedelta(days=10)
    uuid = register(candlepin, env, capsys)
    old = stored(cert_dir)
    inodes = {n: (cert_dir / n).stat().st_ino for n in (CERT_FILE, KEY_FILE)}
    candlepin.state.validity = timedelta(days=400)
    code, out, err = run(['candlepin', 'renew'], env, capsys)
    consumer = candlepin.state.consumers[uuid]
    assert (code, err) == (0, '')
    assert out.startswith(f'checked in consumer {uuid}; certificate regenerated, valid until 20')
    assert calls(candlepin) == [f'PUT /consumers/{uuid}', f'POST /consumers/{uuid}']
    assert (consumer.checkins, consumer.regenerations) == (1, 1)
    assert stored(cert_dir) == (uuid, consumer.cert_pem, consumer.key_pem) and stored(cert_dir)[1:] != old[1:]
    assert all((cert_dir / n).stat().st_ino != inode for n, inode in inodes.items())  # renamed over, not rewritten
    assert sorted(os.listdir(cert_dir)) == sorted([CERT_FILE, KEY_FILE, UUID_FILE])  # no temporary file left
    assert {stat.S_IMODE((cert_dir / n).stat().st_mode) for n in os.listdir(cert_dir)} == {0o600}


@pytest.mark.unit
def test_renew_force_regenerates_far_from_expiry(candlepin, env, cert_dir, capsys):
    uuid = register(candlepin, env, capsys)
    code, _, err = run(['candlepin', 'renew', '--force'], env, capsys)
    assert (code, err, calls(candlepin)) == (0, '', [f'PUT /consumers/{uuid}', f'POST /consumers/{uuid}'])


@pytest.mark.unit
def test_register_again_needs_force(candlepin, env, cert_dir, capsys):
    uuid = register(candlepin, env, capsys)
    code, out, err = run(['candlepin', 'register', '--org', 'acme'], env, capsys)
    assert (code, out, err, calls(candlepin)) == (
        0,
        f'consumer {uuid} is already registered in {cert_dir}; nothing done (--force registers a new one)\n',
        '',
        [],
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


REGISTER = "registering a consumer in organization 'acme' at {api}"
OWNERS = f'listing the organizations of {USER} at {{api}}'
PEM_CERT = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'
PEM_KEY = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'
HOSTILE_REGISTER = [  # (id, argv after register, env changes, scripted replies, exit code, stderr)
    (
        'wrong-password',
        ['--org', 'acme'],
        {P + 'RH_PASSWORD': 'wrong-password'},
        [],
        1,
        f'{REGISTER} failed: Candlepin refused the username or password of {USER} (HTTP 401): Invalid Credentials',
    ),
    (
        'wrong-password-discovering-org',
        [],
        {P + 'RH_PASSWORD': 'wrong-password'},
        [],
        1,
        f'{OWNERS} failed: Candlepin refused the username or password of {USER} (HTTP 401): Invalid Credentials',
    ),
    (
        'no-such-org',
        ['--org', 'nope'],
        {},
        [],
        1,
        "registering a consumer in organization 'nope' at {api} failed: no organization 'nope' this user may "
        'register in (HTTP 404): Organization with id nope could not be found.',
    ),
    (
        'user-in-no-org',
        [],
        {},
        [Reply(200, [])],
        1,
        f'{USER} may register in no organization; ask an organization administrator',
    ),
    (
        'user-in-two-orgs',
        [],
        {},
        [Reply(200, [{'key': 'acme'}, {'key': 'emca'}])],
        2,
        f"invalid configuration:\n  - {USER} belongs to 2 organizations ('acme', 'emca'): choose one in "
        f'{P}CANDLEPIN_ORG',
    ),
    (
        'owners-not-a-list',
        [],
        {},
        [Reply(200, {'key': 'acme'})],
        1,
        f'{OWNERS}: the answer is not a list of organizations with a "key"',
    ),
    (
        'not-json',
        ['--org', 'acme'],
        {},
        [Reply(200, '<html>portal</html>')],
        1,
        f'{REGISTER}: the answer (HTTP 200) is not JSON; is the URL a Candlepin API?',
    ),
    (
        'huge',
        ['--org', 'acme'],
        {},
        [Reply(200, b'{"uuid": "' + b'a' * (MAX_ANSWER_BYTES + 10) + b'"}')],
        1,
        f'{REGISTER}: the answer is larger than {MAX_ANSWER_BYTES} bytes; not a Candlepin answer',
    ),
    (
        'missing-fields',
        ['--org', 'acme'],
        {},
        [Reply(200, {'uuid': 'c-1'})],
        1,
        f'{REGISTER}: the answer lacks idCert.cert, idCert.key',
    ),
    (
        'json-list',
        ['--org', 'acme'],
        {},
        [Reply(200, [1, 2])],
        1,
        f'{REGISTER}: the answer lacks uuid, idCert.cert, idCert.key',
    ),
    (
        'uuid-path-traversal',
        ['--org', 'acme'],
        {},
        [Reply(200, {'uuid': '../../etc/passwd', 'idCert': {'cert': PEM_CERT, 'key': PEM_KEY}})],
        1,
        f'{REGISTER}: the answer holds no valid consumer uuid',
    ),
    (
        'not-pem',
        ['--org', 'acme'],
        {},
        [Reply(200, {'uuid': 'c-1', 'idCert': {'cert': 'x', 'key': 'y'}})],
        1,
        f'{REGISTER}: the answer holds no PEM certificate and key',
    ),
    (
        'pem-not-der',
        ['--org', 'acme'],
        {},
        [Reply(200, {'uuid': 'c-1', 'idCert': {'cert': PEM_CERT, 'key': PEM_KEY}})],
        1,
        'the certificate Candlepin issued cannot be read: the certificate is not valid DER',
    ),
    (
        'echoes-password',
        ['--org', 'acme'],
        {},
        [Reply(401, {'displayMessage': f'bad password {PASSWORD}'})],
        1,
        f'{REGISTER} failed: Candlepin refused the username or password of {USER} (HTTP 401): bad password ***',
    ),
    (
        'echoes-basic-auth',
        ['--org', 'acme'],
        {},
        [Reply(400, {'displayMessage': 'got ' + base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode()})],
        1,
        f"{REGISTER} failed: no organization 'acme' this user may register in (HTTP 400): got ***",
    ),
    ('server-error-twice', ['--org', 'acme'], {}, [Reply(503), Reply(503)], 1, f'{REGISTER} failed: HTTP 503'),
    (
        'registration-disabled',
        ['--org', 'acme'],
        {P + 'CANDLEPIN_REGISTRATION_ENABLED': 'false'},
        [],
        2,
        f'invalid configuration:\n  - {P}CANDLEPIN_REGISTRATION_ENABLED is false: registration is switched off',
    ),
    (
        'no-credentials',
        ['--org', 'acme'],
        {P + 'RH_PASSWORD': ''},
        [],
        2,
        f'invalid configuration:\n  - {P}RH_USERNAME and {P}RH_PASSWORD (or --username/--password): both are needed '
        'to register',
    ),
    (
        'storage-db',
        ['--org', 'acme'],
        {P + 'CANDLEPIN_STORAGE': 'db'},
        [],
        2,
        f"invalid configuration:\n  - {P}CANDLEPIN_STORAGE='db': expected local (db is not supported: the worker only "
        'reads the controller database)',
    ),
    (
        'url-plain-http',
        ['--org', 'acme'],
        {P + 'CANDLEPIN_URL': 'http://candlepin.example/candlepin'},
        [],
        2,
        f"invalid configuration:\n  - {P}CANDLEPIN_URL='http://candlepin.example/candlepin': expected "
        'https://host/path (the password and the consumer key are sent to it)',
    ),
    (
        'url-not-a-url',
        ['--org', 'acme', '--candlepin-url', 'candlepin.example'],
        {},
        [],
        2,
        f"invalid configuration:\n  - {P}CANDLEPIN_URL='candlepin.example': expected https://host/path (the password "
        'and the consumer key are sent to it)',
    ),
    (
        'url-with-password',
        ['--org', 'acme'],
        {P + 'CANDLEPIN_URL': f'https://{USER}:{PASSWORD}@cp.example/'},
        [],
        2,
        f'invalid configuration:\n  - {P}CANDLEPIN_URL holds credentials (user:password@host), which would reach logs '
        f'and ConfigMaps: give them in {P}RH_USERNAME/{P}RH_PASSWORD instead',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('argv', 'changes', 'replies', 'code', 'stderr'),
    [c[1:] for c in HOSTILE_REGISTER],
    ids=[c[0] for c in HOSTILE_REGISTER],
)
def test_register_failures(candlepin, env, cert_dir, capsys, argv, changes, replies, code, stderr):
    candlepin.script(*replies)
    result = run(['candlepin', 'register', *argv], {**env, **changes}, capsys)
    assert result == (code, '', f'{PROG}: {stderr.format(api=candlepin.api)}\n')
    assert not cert_dir.exists()  # nothing stored


@pytest.mark.hostile
def test_candlepin_down(env, cert_dir, capsys):
    port = free_port()
    api = f'https://127.0.0.1:{port}/candlepin'
    result = run(['candlepin', 'register', '--org', 'acme'], {**env, P + 'CANDLEPIN_URL': api}, capsys)
    assert result == (
        1,
        '',
        f"{PROG}: registering a consumer in organization 'acme' at {api} failed after 2 attempts: cannot reach "
        f'127.0.0.1:{port}: Connection refused\n',
    )


HOSTILE_RENEW = [  # (id, how the store or Candlepin is spoiled, exit code, stderr)
    ('no-identity', 'empty', 1, 'no identity in {dir}; run `metrics-utility candlepin register` first'),
    ('incomplete-store', 'no-key', 1, 'the identity in {dir} is incomplete: key.pem missing'),
    ('uuid-file-garbage', 'uuid-garbage', 1, '{dir}/consumer_uuid does not hold a consumer UUID'),
    ('cert-file-binary', 'cert-binary', 1, '{dir}/cert.pem is not ASCII text: not an identity file'),
    ('cert-file-not-pem', 'cert-text', 1, 'the stored certificate in {dir} cannot be read: no PEM certificate'),
    (
        'consumer-deleted-in-candlepin',
        'deleted',
        1,
        'checking in consumer {uuid} failed: Candlepin refused the consumer certificate (HTTP 401): Unauthorized; '
        'register again',
    ),
    (
        'consumer-gone',
        'gone',
        1,
        'checking in consumer {uuid} failed: the consumer was deleted in Candlepin (HTTP 410); register again',
    ),
    (
        'regenerated-for-another-consumer',
        'other',
        1,
        'regenerating the certificate of consumer {uuid}: the answer is for another consumer (c-2)',
    ),
    (
        'certificate-expired',
        'expired',
        1,
        'the certificate of consumer {uuid} in {dir} expired on {day}; register again with '
        '`metrics-utility candlepin register --force`',
    ),
    (
        'lifecycle-disabled',
        'disabled',
        2,
        f'invalid configuration:\n  - {P}CANDLEPIN_LIFECYCLE_ENABLED is false: check-in and renewal are switched off',
    ),
    (
        'renewal-days-out-of-range',
        'days',
        2,
        f"invalid configuration:\n  - {P}CANDLEPIN_RENEWAL_DAYS='٣': expected a whole number from 1 to 3650",
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('spoil', 'code', 'stderr'), [c[1:] for c in HOSTILE_RENEW], ids=[c[0] for c in HOSTILE_RENEW])
def test_renew_failures(candlepin, env, cert_dir, capsys, spoil, code, stderr):
    uuid = '' if spoil == 'empty' else register(candlepin, env, capsys)
    changes: dict[str, str] = {}
    if spoil == 'no-key':
        (cert_dir / KEY_FILE).unlink()
    elif spoil == 'uuid-garbage':
        (cert_dir / UUID_FILE).write_text('x\n../etc')
    elif spoil == 'cert-binary':
        (cert_dir / CERT_FILE).write_bytes(b'\xff\xfe')
    elif spoil == 'cert-text':
        (cert_dir / CERT_FILE).write_text('hello')
    elif spoil == 'deleted':
        del candlepin.state.consumers[uuid]
    elif spoil == 'gone':
        candlepin.script(Reply(410, {'displayMessage': 'gone'}))
    elif spoil == 'other':
        cert, key = candlepin.issue('c-2')
        candlepin.script(Reply(204), Reply(200, {'uuid': 'c-2', 'idCert': {'cert': cert, 'key': key}}))
        changes[P + 'CANDLEPIN_RENEWAL_DAYS'] = '3650'
    elif spoil == 'expired':
        cert, key = candlepin.issue(uuid, validity=timedelta(seconds=-1))
        (cert_dir / CERT_FILE).write_text(cert)
        (cert_dir / KEY_FILE).write_text(key)
    elif spoil == 'disabled':
        changes[P + 'CANDLEPIN_LIFECYCLE_ENABLED'] = 'false'
    elif spoil == 'days':
        changes[P + 'CANDLEPIN_RENEWAL_DAYS'] = '٣'
    before = stored(cert_dir) if uuid and spoil not in ('no-key', 'cert-binary') else None
    result = run(['candlepin', 'renew'], {**env, **changes}, capsys)
    day = f'{datetime.now(UTC):%Y-%m-%d}'
    assert result == (code, '', f'{PROG}: {stderr.format(dir=cert_dir, uuid=uuid, day=day)}\n')
    assert calls(candlepin) == ([f'PUT /consumers/{uuid}'] if spoil in ('deleted', 'gone', 'other') else []) + (
        [f'POST /consumers/{uuid}'] if spoil == 'other' else []
    )
    if before is not None:
        assert stored(cert_dir) == before  # a failed renewal leaves the identity as it was


@pytest.mark.unit
def test_every_call_goes_through_the_proxy(candlepin, env, cert_dir, capsys):
    with ConnectProxy() as proxy:
        code, _, err = run(['candlepin', 'register', f'--proxy={proxy.url}'], env, capsys)
        assert (code, err) == (0, '')
        code, _, err = run(['candlepin', 'renew', '--force'], {**env, P + 'PROXY_URL': proxy.url}, capsys)
        assert (code, err) == (0, '')
        target = f'127.0.0.1:{candlepin.port}'
        assert len(calls(candlepin)) == 4 and set(proxy.targets()) == {target} and len(proxy.targets()) >= 2


@pytest.mark.hostile
@pytest.mark.parametrize('variable', ['CANDLEPIN_CA', 'CA_BUNDLE'])
def test_a_candlepin_with_an_untrusted_certificate_is_refused(candlepin, env, tmp_path, capsys, variable):
    """The message names the variable the CA came from: Candlepin's own, else the shared bundle."""
    other = tmp_path / 'other-ca.pem'
    trustme.CA().cert_pem.write_to_path(str(other))
    given = {k: v for k, v in env.items() if k != P + 'CANDLEPIN_CA'} | {P + variable: str(other)}
    code, out, err = run(['candlepin', 'register', '--org', 'acme'], given, capsys)
    assert (code, out, calls(candlepin)) == (1, '', [])
    assert err.startswith(
        f"{PROG}: registering a consumer in organization 'acme' at {candlepin.api} failed: cannot verify the TLS "
        f'certificate of 127.0.0.1:{candlepin.port} (certificate verify failed'
    )
    assert err.endswith(  # the reason between comes from OpenSSL and varies with its version
        f"): it is not trusted by the CA bundle '{other}'; set {P}{variable} to a PEM bundle holding the CA that "
        'signed it (a TLS-inspecting proxy needs its CA too)\n'
    )
