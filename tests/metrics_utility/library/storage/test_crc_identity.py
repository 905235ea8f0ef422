"""StorageCRCIdentity: mutual TLS with an in-memory identity against an ingress that demands a client certificate
(ssl CERT_REQUIRED, trustme CA), falling back to SSO + service account when the certificate is refused.

The host rewrite is a pure function (table below); one test checks it end to end with a resolver override:
`socket.getaddrinfo` answers 127.0.0.1 for `cert.console.redhat.com` only, and the ingress stand-in's certificate
names that host, so the client really connects to `cert.console.redhat.com` with verification on.
"""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest
import trustme

from metrics_utility.library.storage import (
    ClientIdentity,
    RetryPolicy,
    StorageCRC,
    StorageCRCIdentity,
    StorageError,
    cert_ingress_url,
)
from metrics_utility.library.storage.crc_identity import IdentityUsed
from testsupport.console import accepted
from testsupport.https_servers import HTTPSServer, Recorded, Reply, form_parts
from testsupport.proxy import ConnectProxy
from testsupport.secrets import CLIENT_ID, CLIENT_SECRET, assert_secret_free, exception_texts, logged

pytestmark = pytest.mark.integration

NAME = 'data/2024/02/29/uuid-2024-02-29-000000+0000-0-job_host_summary.tar.gz'
SUBJECT = 'consumer-4b5a@example.com'


def identity_from(cert: trustme.LeafCert, source='controller', key: trustme.LeafCert | None = None) -> ClientIdentity:
    return ClientIdentity(
        cert.cert_chain_pems[0].bytes().decode(), (key or cert).private_key_pem.bytes().decode(), source
    )


def pem_material(*identities: ClientIdentity) -> list[str]:
    """The base64 body lines of every certificate and key (the full ones: a PEM's short last line such as `rQ==` is
    too short to tell a leak from chance), or the whole value when it is not PEM: none of it may show up anywhere."""
    lines = []
    for identity in identities:
        for pem in (identity.cert_pem, identity.key_pem):
            body = [line for line in pem.splitlines() if len(line) >= 32 and not line.startswith('-----')]
            lines += body if '-----BEGIN' in pem else [pem] if pem else []
    return lines


@pytest.fixture
def good(tls_ca: trustme.CA) -> ClientIdentity:
    return identity_from(tls_ca.issue_cert(SUBJECT))


@pytest.fixture
def stranger() -> ClientIdentity:
    """A certificate of a CA the ingress does not trust: refused in the handshake."""
    return identity_from(trustme.CA().issue_cert(SUBJECT))


@pytest.fixture
def tarball(tmp_path: Path) -> Path:
    path = tmp_path / 'package.tar.gz'
    path.write_bytes(b'\x1f\x8b identity payload' * 100)
    return path


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    path = tmp_path / 'job'
    path.mkdir()
    return path


def service_account(sso_server: HTTPSServer, ingress_server: HTTPSServer, ca_bundle: str, sleeps) -> StorageCRC:
    return StorageCRC(
        CLIENT_ID,
        CLIENT_SECRET,
        ingress_server.url('/api/ingress/v1/upload'),
        sso_url=sso_server.url('/token'),
        verify_cert_path=ca_bundle,
        retry=RetryPolicy(sleep=sleeps),
    )


def test_the_controller_identity_is_accepted_and_its_files_are_private_and_gone(
    mtls_ingress_server: HTTPSServer, ca_bundle, good, tarball, tls_dir, caplog
):
    seen_files: list[tuple[str, int]] = []

    def look(request: Recorded) -> Reply:  # while the upload runs, the PEM files exist, readable by us only
        for path in tls_dir.rglob('*'):
            seen_files.append((path.name if path.is_file() else 'directory', stat.S_IMODE(path.stat().st_mode)))
        return accepted(request)

    mtls_ingress_server.responder = look
    crc = StorageCRCIdentity(
        good, mtls_ingress_server.url('/api/ingress/v1/upload'), verify_cert_path=ca_bundle, tls_dir=tls_dir
    )
    crc.put(NAME, filename=tarball)
    [request] = mtls_ingress_server.requests
    assert SUBJECT in (request.client_cert_subject or '')
    assert 'Authorization' not in request.headers
    [part] = form_parts(request)
    assert part.get_payload(decode=True) == tarball.read_bytes()
    assert sorted(seen_files) == [('cert.pem', 0o600), ('directory', 0o700), ('key.pem', 0o600)]
    assert list(tls_dir.iterdir()) == [], 'the PEM files are removed after the upload'
    assert crc.identity_used == IdentityUsed('controller', None)
    assert crc.last_upload is not None and crc.last_upload.status == 202
    assert len(pem_material(good)) >= 10, 'the scan looks for every full line of the certificate and the key'
    assert_secret_free([*logged(caplog), crc.describe(), repr(good)], pem_material(good))


def test_a_refused_certificate_falls_back_to_the_service_account(
    mtls_ingress_server, ingress_server, sso_server, ca_bundle, stranger, tarball, tls_dir, sleeps, caplog
):
    crc = StorageCRCIdentity(
        stranger,
        mtls_ingress_server.url('/api/ingress/v1/upload'),
        verify_cert_path=ca_bundle,
        fallback=service_account(sso_server, ingress_server, ca_bundle, sleeps),
        retry=RetryPolicy(sleep=sleeps),
        tls_dir=tls_dir,
    )
    crc.put(NAME, filename=tarball)
    assert mtls_ingress_server.requests == [], 'refused in the handshake'
    [upload] = ingress_server.requests
    assert upload.headers['Authorization'] == f'Bearer {sso_server.responder.issued[0]}'
    assert form_parts(upload)[0].get_payload(decode=True) == tarball.read_bytes()
    used = crc.identity_used
    assert used is not None and used.identity == 'service-account'
    assert used.fallback is not None
    assert used.fallback.startswith(f'upload of {NAME} to {mtls_ingress_server.url("/api/ingress/v1/upload")} failed')
    assert 'check that it is valid, current and registered' in used.fallback
    warnings = [r.getMessage() for r in caplog.records if 'falling back' in r.getMessage()]
    assert warnings == [f'console.redhat.com: {used.fallback}; falling back to the service account for this run']

    # The rest of the run goes straight to the service account: no second handshake with the refused certificate.
    handshakes = len(mtls_ingress_server.tls_failures)
    crc.put(NAME.replace('-0-', '-1-'), filename=tarball)
    assert len(ingress_server.requests) == 2 and len(mtls_ingress_server.tls_failures) == handshakes
    assert list(tls_dir.iterdir()) == []
    texts = [*logged(caplog), crc.describe(), used.fallback, str(crc.identity_used)]
    assert_secret_free(texts, pem_material(stranger))


def test_403_to_the_certificate_falls_back_too(
    mtls_ingress_server, ingress_server, sso_server, ca_bundle, good, tarball, sleeps
):
    mtls_ingress_server.script(Reply(403, {'errors': [{'detail': 'consumer not entitled'}]}))
    crc = StorageCRCIdentity(
        good,
        mtls_ingress_server.url('/upload'),
        verify_cert_path=ca_bundle,
        fallback=service_account(sso_server, ingress_server, ca_bundle, sleeps),
    )
    crc.put(NAME, filename=tarball)
    assert len(mtls_ingress_server.requests) == 1 and len(ingress_server.requests) == 1
    assert crc.identity_used == IdentityUsed(
        'service-account',
        f'credentials rejected by {mtls_ingress_server.url("/upload")} (HTTP 403) while uploading {NAME}; the client '
        'certificate is not accepted: check that it is current and that its consumer is registered: '
        '{"errors": [{"detail": "consumer not entitled"}]}',
    )


def test_a_server_failure_is_not_a_reason_to_fall_back(
    mtls_ingress_server, ingress_server, sso_server, ca_bundle, good, tarball, sleeps
):
    mtls_ingress_server.script(*[Reply(503)] * 4)
    crc = StorageCRCIdentity(
        good,
        mtls_ingress_server.url('/upload'),
        verify_cert_path=ca_bundle,
        fallback=service_account(sso_server, ingress_server, ca_bundle, sleeps),
        retry=RetryPolicy(sleep=sleeps),
    )
    with pytest.raises(StorageError, match=r'did not accept .*: HTTP 503 after 4 attempts$'):
        crc.put(NAME, filename=tarball)
    assert ingress_server.requests == [] and crc.identity_used is None


def test_neither_usable_is_one_clear_error(mtls_ingress_server, ca_bundle, stranger, tarball, tls_dir, sleeps, caplog):
    crc = StorageCRCIdentity(
        stranger, mtls_ingress_server.url('/upload'), verify_cert_path=ca_bundle, retry=RetryPolicy(sleep=sleeps)
    )
    with pytest.raises(StorageError) as excinfo:
        crc.put(NAME, filename=tarball)
    message = str(excinfo.value)
    prefix = (
        f'cannot upload {NAME}: the client certificate was not accepted and no service account is configured '
        f'(METRICS_UTILITY_SERVICE_ACCOUNT_ID/_SECRET) to fall back to: upload of {NAME} to '
        f'{mtls_ingress_server.url("/upload")} failed'
    )
    assert message.startswith(prefix), message
    assert crc.identity_used == IdentityUsed(None, message.split('to fall back to: ', 1)[1])
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], pem_material(stranger))


def test_a_target_with_no_identity_at_all_is_refused_when_built():
    with pytest.raises(StorageError) as excinfo:
        StorageCRCIdentity(None, 'https://console.redhat.com/api/ingress/v1/upload')
    assert str(excinfo.value) == (
        'console.redhat.com needs a client certificate or a service account: neither is configured '
        '(METRICS_UTILITY_SERVICE_ACCOUNT_ID/_SECRET, or the controller identity)'
    )


def test_proxy_and_ca_apply_to_the_certificate_upload(
    mtls_ingress_server, ca_bundle, good, tarball, connect_proxy: ConnectProxy
):
    crc = StorageCRCIdentity(
        good, mtls_ingress_server.url('/upload'), proxy_url=connect_proxy.url, verify_cert_path=ca_bundle
    )
    crc.put(NAME, filename=tarball)
    assert connect_proxy.targets() == [f'127.0.0.1:{mtls_ingress_server.port}']
    assert len(mtls_ingress_server.requests) == 1


def test_the_rewritten_host_is_the_one_connected_to(tls_ca, ca_bundle, good, tarball, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # a resolver override for one name; every other name resolves as usual
        return real('127.0.0.1' if host == 'cert.console.redhat.com' else host, *args, **kwargs)

    monkeypatch.setattr(socket, 'getaddrinfo', resolve)
    with HTTPSServer(tls_ca, accepted, client_ca=tls_ca, names=('cert.console.redhat.com',)) as server:
        crc = StorageCRCIdentity(
            good, f'https://console.redhat.com:{server.port}/api/ingress/v1/upload', verify_cert_path=ca_bundle
        )
        crc.put(NAME, filename=tarball)
        [request] = server.requests
    assert request.headers['Host'] == f'cert.console.redhat.com:{server.port}'
    assert request.path == '/api/ingress/v1/upload'
    assert SUBJECT in (request.client_cert_subject or '')


REWRITES = [
    (
        'default',
        'https://console.redhat.com/api/ingress/v1/upload',
        'https://cert.console.redhat.com/api/ingress/v1/upload',
    ),
    (
        'already-cert',
        'https://cert.console.redhat.com/api/ingress/v1/upload',
        'https://cert.console.redhat.com/api/ingress/v1/upload',
    ),
    (
        'port-kept',
        'https://console.redhat.com:8443/api/ingress/v1/upload?x=1#f',
        'https://cert.console.redhat.com:8443/api/ingress/v1/upload?x=1#f',
    ),
    ('upper-case-host', 'https://CONSOLE.RedHat.COM/upload', 'https://cert.console.redhat.com/upload'),
    ('trailing-dot', 'https://console.redhat.com./upload', 'https://cert.console.redhat.com/upload'),
    (
        'stage',
        'https://console.stage.redhat.com/api/ingress/v1/upload',
        'https://cert.console.stage.redhat.com/api/ingress/v1/upload',
    ),
    ('userinfo-kept', 'https://u:p@console.redhat.com/upload', 'https://u:p@cert.console.redhat.com/upload'),
    (
        'look-alike-suffix',
        'https://console.redhat.com.evil.example/upload',
        'https://console.redhat.com.evil.example/upload',
    ),
    ('look-alike-prefix', 'https://myconsole.redhat.com/upload', 'https://myconsole.redhat.com/upload'),
    ('not-console', 'https://api.redhat.com/upload', 'https://api.redhat.com/upload'),
    ('custom-ingress', 'https://ingress.example.com:8443/upload', 'https://ingress.example.com:8443/upload'),
    ('ipv4', 'https://10.0.0.1:8443/upload', 'https://10.0.0.1:8443/upload'),
    ('ipv6', 'https://[::1]:8443/upload', 'https://[::1]:8443/upload'),
    ('ipv6-no-port', 'https://[2001:db8::1]/upload', 'https://[2001:db8::1]/upload'),
    ('empty-label', 'https://console..redhat.com/upload', 'https://console..redhat.com/upload'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('url', 'expected'), [r[1:] for r in REWRITES], ids=[r[0] for r in REWRITES])
def test_cert_host_rewrite(url, expected):
    assert cert_ingress_url(url) == expected


BAD_URLS = [
    ('empty', '', "ingress URL '' has no host: expected https://host/path"),
    ('no-host', 'https:///upload', "ingress URL 'https:///upload' has no host: expected https://host/path"),
    ('bad-port', 'https://console.redhat.com:99999/upload', 'Port out of range 0-65535'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('url', 'message'), [r[1:] for r in BAD_URLS], ids=[r[0] for r in BAD_URLS])
def test_cert_host_rewrite_refuses(url, message):
    with pytest.raises(ValueError) as excinfo:
        cert_ingress_url(url)
    assert str(excinfo.value) == message


def test_plain_http_is_refused_for_a_certificate(good):
    with pytest.raises(StorageError) as excinfo:
        StorageCRCIdentity(good, 'http://127.0.0.1:1/upload')
    assert str(excinfo.value) == "ingress_url 'http://127.0.0.1:1/upload' must use https:// for a client certificate"


def _mismatched(tls_ca: trustme.CA) -> ClientIdentity:
    return identity_from(tls_ca.issue_cert(SUBJECT), key=tls_ca.issue_cert(SUBJECT))


UNUSABLE = [
    ('key-of-another-cert', _mismatched, 'the private key does not belong to the certificate'),
    (
        'not-pem',
        lambda ca: ClientIdentity('garbage-cert-0001-do-not-leak', 'garbage-key-0001-do-not-leak'),
        'not a PEM certificate and its private key',
    ),
    ('empty', lambda ca: ClientIdentity('', '', 'managed'), 'not a PEM certificate and its private key'),
    (
        'key-in-cert-field',
        lambda ca: (lambda c: ClientIdentity(c.private_key_pem.bytes().decode(), c.private_key_pem.bytes().decode()))(
            ca.issue_cert(SUBJECT)
        ),
        'not a PEM certificate and its private key',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('make', 'reason'), [r[1:] for r in UNUSABLE], ids=[r[0] for r in UNUSABLE])
def test_an_unusable_identity_falls_back_without_asking_the_server(
    make, reason, tls_ca, mtls_ingress_server, ingress_server, sso_server, ca_bundle, tarball, tls_dir, sleeps, caplog
):
    identity = make(tls_ca)
    crc = StorageCRCIdentity(
        identity,
        mtls_ingress_server.url('/upload'),
        verify_cert_path=ca_bundle,
        fallback=service_account(sso_server, ingress_server, ca_bundle, sleeps),
        tls_dir=tls_dir,
    )
    crc.put(NAME, filename=tarball)
    assert crc.identity_used == IdentityUsed(
        'service-account', f'the {identity.source} client certificate cannot be used: {reason}'
    )
    assert mtls_ingress_server.requests == [] and mtls_ingress_server.tls_failures == []
    assert len(ingress_server.requests) == 1 and list(tls_dir.iterdir()) == []
    assert_secret_free([*logged(caplog), str(crc.identity_used)], pem_material(identity))


ANSWERS = [  # (id, the certificate ingress's answer, identity used, or the exact end of the upload's error)
    ('401-falls-back', Reply(401), 'service-account', None),
    ('403-falls-back', Reply(403), 'service-account', None),
    ('400-is-the-uploads-error', Reply(400, 'bad upload'), None, ': HTTP 400 Bad Request: bad upload'),
    (
        '413-is-the-uploads-error',
        Reply(413),
        None,
        'ingress accepts at most 100 MB per upload: lower the package size limit',
    ),
    ('415-is-the-uploads-error', Reply(415), None, '(HTTP 415)'),
    ('202-accepted', Reply(202), 'controller', None),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('reply', 'used', 'error'), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS])
def test_what_each_answer_to_the_certificate_leads_to(
    reply, used, error, mtls_ingress_server, ingress_server, sso_server, ca_bundle, good, tarball, sleeps
):
    mtls_ingress_server.script(reply)
    crc = StorageCRCIdentity(
        good,
        mtls_ingress_server.url('/upload'),
        verify_cert_path=ca_bundle,
        fallback=service_account(sso_server, ingress_server, ca_bundle, sleeps),
    )
    if error is None:
        crc.put(NAME, filename=tarball)
        assert crc.identity_used is not None and crc.identity_used.identity == used
        assert len(ingress_server.requests) == (1 if used == 'service-account' else 0)
    else:
        with pytest.raises(StorageError) as excinfo:
            crc.put(NAME, filename=tarball)
        assert str(excinfo.value).endswith(error)
        assert crc.identity_used is None and ingress_server.requests == []
