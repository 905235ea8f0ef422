"""A gather shipping to console.redhat.com with a client identity (`wiring.wire(identity=...)`) against real TLS
stand-ins: the certificate ingress demands a client certificate of its CA (ssl CERT_REQUIRED), the service-account
ingress and SSO do not. The `cert.` host is a second local server, named by `wire(cert_url=...)`: both hosts cannot
share 127.0.0.1 and one port (the rewrite itself is tested in library/storage/test_crc_identity.py).

The summary's `crc` block says which identity the uploads used; with neither identity usable the run fails with one
clear error and the watermarks stay where they were.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import trustme

from metrics_utility.gather import wiring
from metrics_utility.gather.summary import RunSummary
from metrics_utility.library.storage import ClientIdentity
from metrics_utility.settings import gather as gather_settings
from testsupport.console import SSOResponder, accepted
from testsupport.https_servers import HTTPSServer
from testsupport.secrets import CLIENT_ID, CLIENT_SECRET, assert_secret_free

pytestmark = pytest.mark.integration

UNTIL = datetime.fromisoformat('2024-03-02T00:00:00+00:00')


@pytest.fixture(scope='module')
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def servers(ca):
    with (
        HTTPSServer(ca, accepted, client_ca=ca) as cert_ingress,
        HTTPSServer(ca, accepted) as ingress,
        HTTPSServer(ca, SSOResponder()) as sso,
    ):
        yield cert_ingress, ingress, sso


def identity(cert: trustme.LeafCert) -> ClientIdentity:
    return ClientIdentity(cert.cert_chain_pems[0].bytes().decode(), cert.private_key_pem.bytes().decode(), 'controller')


def pem_lines(value: ClientIdentity) -> list[str]:
    return [
        line
        for pem in (value.cert_pem, value.key_pem)
        for line in pem.splitlines()
        if len(line) >= 32 and not line.startswith('-----')
    ]


def gather(db, tmp_path: Path, ca, servers, who: ClientIdentity, secret: str = CLIENT_SECRET) -> RunSummary:
    return run_gather(db, tmp_path, ca, servers, identity=who, secret=secret)


def run_gather(
    db,
    tmp_path: Path,
    ca,
    servers,
    *,
    identity: ClientIdentity | None = None,
    files: dict[str, str] | None = None,
    secret: str | None = CLIENT_SECRET,
) -> RunSummary:
    """One wired gather to the crc test servers; `secret` None: no service account at all."""
    cert_ingress, ingress, sso = servers
    bundle = tmp_path / 'ca.pem'
    ca.cert_pem.write_to_path(str(bundle))
    env = {
        **db.reader_env(),
        **(files or {}),
        'METRICS_UTILITY_SHIP_TARGET': 'crc',
        'METRICS_UTILITY_BILLING_PROVIDER': 'aws',
        'METRICS_UTILITY_BILLING_ACCOUNT_ID': '123456789012',
        'METRICS_UTILITY_CRC_INGRESS_URL': ingress.url('/api/ingress/v1/upload'),
        'METRICS_UTILITY_CRC_SSO_URL': sso.url('/auth/token'),
        'METRICS_UTILITY_CRC_CA_BUNDLE': str(bundle),
        'METRICS_UTILITY_STATE_PATH': str(tmp_path / 'state' / 'watermarks.json'),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': '',
    }
    if secret is not None:
        env |= {'METRICS_UTILITY_SERVICE_ACCOUNT_ID': CLIENT_ID, 'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': secret}
    config = gather_settings.load(env, ship=True)
    cert_url = cert_ingress.url('/api/ingress/v1/upload')
    wired = wiring.wire(
        config, ship=True, keep=None, shard=None, since=None, until=UNTIL, identity=identity, cert_url=cert_url
    )
    return wired.run(RunSummary(target='crc'), progress=lambda message: None)


def test_the_controller_identity_carries_every_upload(controller_db, tmp_path, ca, servers):
    cert_ingress, ingress, sso = servers
    summary = gather(controller_db, tmp_path, ca, servers, identity(ca.issue_cert('consumer-1')))
    assert summary.ok, summary.error
    used = {'identity': 'controller', 'fallback': None, 'subject': None, 'not_after': None}  # none given here
    assert summary.crc == used
    assert len(cert_ingress.requests) == summary.packages > 0
    assert all('consumer-1' in (r.client_cert_subject or '') for r in cert_ingress.requests)
    assert ingress.requests == [] and sso.requests == []
    assert json.loads(summary.render())['crc'] == used


def test_a_refused_certificate_falls_back_and_the_summary_says_so(controller_db, tmp_path, ca, servers):
    cert_ingress, ingress, sso = servers
    stranger = identity(trustme.CA().issue_cert('consumer-2'))
    summary = gather(controller_db, tmp_path, ca, servers, stranger)
    assert summary.ok, summary.error
    assert summary.crc is not None and summary.crc['identity'] == 'service-account'
    assert 'rejected our client certificate' in summary.crc['fallback'] or 'closed the TLS' in summary.crc['fallback']
    assert cert_ingress.requests == [] and len(ingress.requests) == summary.packages > 0
    assert len(sso.requests) == 1, 'one token for the whole run'
    marks = json.loads((tmp_path / 'state' / 'watermarks.json').read_text())['shipped_until']
    assert marks['job_host_summary'] == UNTIL.isoformat()
    rendered = summary.render()
    assert json.loads(rendered)['crc'] == summary.crc
    assert_secret_free([rendered], pem_lines(stranger))


def test_neither_usable_fails_clearly_and_keeps_the_watermark(controller_db, tmp_path, ca, servers):
    cert_ingress, ingress, sso = servers
    stranger = identity(trustme.CA().issue_cert('consumer-3'))
    summary = gather(controller_db, tmp_path, ca, servers, stranger, secret='not-the-secret-0001')
    assert not summary.ok
    assert not (tmp_path / 'state' / 'watermarks.json').exists(), 'no watermark moved'
    assert cert_ingress.requests == [] and ingress.requests == []
    error = summary.collectors['job_host_summary'].error
    assert error is not None
    assert error.endswith(
        f"SSO {sso.url('/auth/token')} rejected the service account credentials of client_id '{CLIENT_ID}' "
        '(HTTP 401: invalid_client: Invalid client credentials); check the client id and secret'
    )
    assert summary.crc is not None and summary.crc['identity'] is None and summary.crc['fallback']
    rendered = summary.render()
    assert json.loads(rendered)['ok'] is False
    assert_secret_free([rendered], [*pem_lines(stranger), 'not-the-secret-0001'])


# A certificate from files (METRICS_UTILITY_CRC_CLIENT_CERT/_KEY: the operator's certificateSecret or managed
# identity, mounted): the same mutual TLS to the `cert.` host, the service account its fallback when configured.


def write_pair(tmp_path: Path, cert: trustme.LeafCert, name: str = 'client') -> dict[str, str]:
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / f'{name}.crt'))
    cert.private_key_pem.write_to_path(str(tmp_path / f'{name}.key'))
    return {
        'METRICS_UTILITY_CRC_CLIENT_CERT': str(tmp_path / f'{name}.crt'),
        'METRICS_UTILITY_CRC_CLIENT_KEY': str(tmp_path / f'{name}.key'),
    }


def gather_with_files(db, tmp_path, ca, servers, files: dict[str, str], account: bool) -> RunSummary:
    return run_gather(db, tmp_path, ca, servers, files=files, secret=CLIENT_SECRET if account else None)


def expiry(cert: trustme.LeafCert) -> str:
    from cryptography import x509

    parsed = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    return parsed.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')


def test_a_certificate_file_alone_uploads_and_the_summary_names_it(controller_db, tmp_path, ca, servers):
    cert_ingress, ingress, sso = servers
    issued = ca.issue_cert('consumer-4', common_name='4f1e2d3c-0000-4000-8000-00000000000a')
    summary = gather_with_files(controller_db, tmp_path, ca, servers, write_pair(tmp_path, issued), account=False)
    assert summary.ok, summary.error
    assert summary.crc['subject'].startswith('CN=4f1e2d3c-0000-4000-8000-00000000000a,')
    assert {k: v for k, v in summary.crc.items() if k != 'subject'} == {
        'identity': 'certificate',
        'fallback': None,
        'not_after': expiry(issued),
    }
    assert len(cert_ingress.requests) == summary.packages > 0 and ingress.requests == [] and sso.requests == []


def test_a_refused_certificate_file_falls_back_to_the_service_account(controller_db, tmp_path, ca, servers):
    cert_ingress, ingress, _sso = servers
    stranger = trustme.CA().issue_cert('consumer-5')
    summary = gather_with_files(controller_db, tmp_path, ca, servers, write_pair(tmp_path, stranger), account=True)
    assert summary.ok, summary.error
    assert summary.crc['identity'] == 'service-account' and summary.crc['fallback']
    assert (summary.crc['subject'], summary.crc['not_after']) == (None, None)
    assert cert_ingress.requests == [] and len(ingress.requests) == summary.packages > 0


def test_a_refused_certificate_file_without_a_service_account_keeps_the_watermark(controller_db, tmp_path, ca, servers):
    cert_ingress, ingress, sso = servers
    stranger = trustme.CA().issue_cert('consumer-6')
    summary = gather_with_files(controller_db, tmp_path, ca, servers, write_pair(tmp_path, stranger), account=False)
    assert not summary.ok
    assert not (tmp_path / 'state' / 'watermarks.json').exists(), 'no watermark moved'
    assert cert_ingress.requests == [] and ingress.requests == [] and sso.requests == []
    error = summary.collectors['job_host_summary'].error
    assert 'the client certificate was not accepted and no service account is configured' in error
    assert summary.crc['identity'] is None and summary.crc['fallback']
    assert_secret_free(
        [summary.render()],
        pem_lines(
            ClientIdentity(stranger.cert_chain_pems[0].bytes().decode(), stranger.private_key_pem.bytes().decode())
        ),
    )


@pytest.mark.hostile
@pytest.mark.parametrize(
    'files, message',
    [
        (
            {'METRICS_UTILITY_CRC_CLIENT_CERT': 'DIR/missing.crt', 'METRICS_UTILITY_CRC_CLIENT_KEY': 'DIR/client.key'},
            'cannot set up crc: client certificate file DIR/missing.crt cannot be read: No such file or directory',
        ),
        (
            {'METRICS_UTILITY_CRC_CLIENT_CERT': 'DIR/client.crt', 'METRICS_UTILITY_CRC_CLIENT_KEY': 'DIR'},
            'cannot set up crc: client key file DIR cannot be read: Is a directory',
        ),
    ],
    ids=['certificate file missing', 'key is a directory'],
)
def test_an_unreadable_certificate_file_is_a_setup_error(controller_db, tmp_path, ca, servers, files, message):
    from metrics_utility.library.errors import SetupError

    write_pair(tmp_path, ca.issue_cert('consumer-7'))
    files = {k: v.replace('DIR', str(tmp_path)) for k, v in files.items()}
    with pytest.raises(SetupError) as info:
        gather_with_files(controller_db, tmp_path, ca, servers, files, account=False)
    assert str(info.value) == message.replace('DIR', str(tmp_path))
    assert info.value.exit_code == 2
