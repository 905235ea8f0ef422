"""StorageCRC against local HTTPS stand-ins for Red Hat SSO and console.redhat.com ingress (real TLS)."""

from __future__ import annotations

import io

import pytest

from metrics_utility.library.storage import PutOnlyStorageError, RetryPolicy, StorageCRC, StorageError
from metrics_utility.library.storage.ingress import BILLING_CONTENT_TYPE
from testsupport.https_servers import HTTPSServer, Reply, form_parts
from testsupport.proxy import ConnectProxy
from testsupport.secrets import CLIENT_ID, CLIENT_SECRET, TOKEN_PREFIX, assert_secret_free, exception_texts, logged

pytestmark = pytest.mark.integration

NAME = 'data/2024/02/29/4b5a-2024-02-29-000000+0000-0-job_host_summary.tar.gz'
SECRETS = [CLIENT_SECRET, TOKEN_PREFIX]


@pytest.fixture
def tarball(tmp_path):
    path = tmp_path / 'package.tar.gz'
    path.write_bytes(b'\x1f\x8b\x08\x00 pretend tarball \x00\xff' * 1000)
    return path


@pytest.fixture
def crc(sso_server: HTTPSServer, ingress_server: HTTPSServer, ca_bundle: str, retry: RetryPolicy) -> StorageCRC:
    return StorageCRC(
        CLIENT_ID,
        CLIENT_SECRET,
        ingress_url=ingress_server.url('/api/ingress/v1/upload'),
        sso_url=sso_server.url('/auth/realms/redhat-external/protocol/openid-connect/token'),
        verify_cert_path=ca_bundle,
        retry=retry,
    )


def bearer(request) -> str:
    return request.headers['Authorization'].removeprefix('Bearer ')


def test_upload_is_a_multipart_file_with_the_billing_content_type(crc, sso_server, ingress_server, tarball, caplog):
    crc.put(NAME, filename=tarball)
    crc.put('data/2024/03/01/second.tar.gz', fileobj=io.BytesIO(b'streamed tarball'))

    first, second = ingress_server.requests
    assert first.method == 'POST' and first.path == '/api/ingress/v1/upload'
    [part] = form_parts(first)
    assert part.get_param('name', header='content-disposition') == 'file'
    assert part.get_filename() == NAME.rsplit('/', 1)[1], 'the base name, never a local path'
    assert part.get_content_type() == BILLING_CONTENT_TYPE
    assert part.get_payload(decode=True) == tarball.read_bytes()
    assert first.headers['Content-Length'] == str(len(first.body)), 'a sized body, not chunked'
    assert form_parts(second)[0].get_payload(decode=True) == b'streamed tarball'

    token_request = sso_server.requests[0]
    assert 'grant_type=client_credentials' in token_request.body.decode()
    assert len(sso_server.requests) == 1, 'the token is cached between uploads'
    assert bearer(first) == bearer(second) == f'{TOKEN_PREFIX}1'
    assert crc.last_upload is not None
    assert (crc.last_upload.status, crc.last_upload.request_id) == (202, 'req-0001')
    assert_secret_free([*logged(caplog), crc.describe()], SECRETS)


def test_reads_and_dicts_are_refused_clearly(crc):
    with pytest.raises(PutOnlyStorageError, match='only accepts uploads; glob'):
        crc.glob('*')
    with pytest.raises(PutOnlyStorageError, match='get is not possible'):
        crc.get(NAME)
    with pytest.raises(StorageError, match='accepts tarballs only'):
        crc.put('x.json', dict={'a': 1})


def test_503_is_retried_with_backoff_then_succeeds(crc, ingress_server, tarball, sleeps, caplog):
    ingress_server.script(Reply(503, 'busy'), Reply(502, 'gateway'))
    crc.put(NAME, filename=tarball)
    assert [r.method for r in ingress_server.requests] == ['POST'] * 3
    assert sleeps == [1.0, 2.0]
    assert all(form_parts(r)[0].get_payload(decode=True) == tarball.read_bytes() for r in ingress_server.requests)
    assert 'retrying in 1.0 s (attempt 2 of 4)' in caplog.text
    assert_secret_free(logged(caplog), SECRETS)


def test_retry_after_is_honoured(crc, ingress_server, tarball, sleeps):
    ingress_server.script(Reply(429, headers={'Retry-After': '7'}))
    crc.put(NAME, filename=tarball)
    assert sleeps == [7.0]


def test_5xx_that_never_ends_is_an_error_after_bounded_attempts(crc, ingress_server, tarball, sleeps, caplog):
    ingress_server.responder = lambda request: Reply(500, 'internal error')
    with pytest.raises(StorageError, match=r'did not accept .* HTTP 500 after 4 attempts: internal error') as excinfo:
        crc.put(NAME, filename=tarball)
    assert len(ingress_server.requests) == 4
    assert sleeps == [1.0, 2.0, 4.0]
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], SECRETS)


def test_401_renews_the_token_once(crc, sso_server, ingress_server, tarball):
    ingress_server.script(Reply(401, 'token expired'))
    crc.put(NAME, filename=tarball)
    assert [bearer(r) for r in ingress_server.requests] == [f'{TOKEN_PREFIX}1', f'{TOKEN_PREFIX}2']
    assert len(sso_server.requests) == 2


def test_401_with_a_fresh_token_too_is_a_credentials_error(crc, sso_server, ingress_server, tarball, caplog):
    ingress_server.responder = lambda request: Reply(401, {'errors': [{'detail': 'not entitled'}]})
    with pytest.raises(
        StorageError,
        match=r'credentials rejected by https://127.0.0.1:\d+/api/ingress/v1/upload '
        r'\(HTTP 401\) even with freshly obtained credentials',
    ) as excinfo:
        crc.put(NAME, filename=tarball)
    assert CLIENT_ID in str(excinfo.value) and 'not entitled' in str(excinfo.value)
    assert len(ingress_server.requests) == 2 and len(sso_server.requests) == 2
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], SECRETS)


def test_413_says_too_large_without_retrying(crc, ingress_server, tarball, sleeps):
    ingress_server.script(Reply(413))
    with pytest.raises(StorageError, match=r'\(23000 bytes\) is too large .* lower the package size limit'):
        crc.put(NAME, filename=tarball)
    assert len(ingress_server.requests) == 1 and sleeps == []


def test_other_4xx_shows_what_ingress_said(crc, ingress_server, tarball):
    ingress_server.script(Reply(400, {'message': 'payload is not a valid tarball'}))
    with pytest.raises(StorageError, match=r'refused .*HTTP 400 Bad Request: .*payload is not a valid tarball'):
        crc.put(NAME, filename=tarball)


def test_sso_down_is_named(crc, sso_server, ingress_server, tarball, sleeps, caplog):
    sso_url = crc.sso_url
    sso_server.stop()
    with pytest.raises(
        StorageError,
        match=rf'access token request to SSO {sso_url} failed after 4 attempts: cannot '
        r'reach 127.0.0.1:\d+: Connection refused',
    ) as excinfo:
        crc.put(NAME, filename=tarball)
    assert ingress_server.requests == [], 'nothing is uploaded without a token'
    assert len(sleeps) == 3
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], SECRETS)


def test_sso_answering_500_then_200_is_retried(crc, sso_server, ingress_server, tarball, sleeps):
    sso_server.script(Reply(500, 'down for maintenance'))
    crc.put(NAME, filename=tarball)
    assert len(sso_server.requests) == 2 and len(ingress_server.requests) == 1 and sleeps == [1.0]


def test_wrong_client_secret_is_named_without_echoing_it(sso_server, ingress_server, ca_bundle, tarball, caplog):
    wrong = 'wrong-secret-do-not-leak-0002'
    crc = StorageCRC(
        CLIENT_ID, wrong, ingress_url=ingress_server.url(), sso_url=sso_server.url(), verify_cert_path=ca_bundle
    )
    with pytest.raises(
        StorageError,
        match=rf'SSO .* rejected the service account credentials of client_id '
        rf"'{CLIENT_ID}' \(HTTP 401: invalid_client: Invalid client credentials\)",
    ) as excinfo:
        crc.put(NAME, filename=tarball)
    assert len(sso_server.requests) == 1, 'a rejected credential is not retried'
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value), crc.describe()], [wrong, CLIENT_SECRET])


def test_token_is_renewed_when_it_expires(sso_server, ingress_server, ca_bundle, tarball):
    now = [1000.0]
    sso_server.responder.expires_in = 300
    crc = StorageCRC(
        CLIENT_ID,
        CLIENT_SECRET,
        ingress_url=ingress_server.url(),
        sso_url=sso_server.url(),
        verify_cert_path=ca_bundle,
        clock=lambda: now[0],
    )
    crc.put(NAME, filename=tarball)
    now[0] += 275  # inside the safety margin (the last 10% of 300 s) before expiry
    crc.put(NAME, filename=tarball)
    crc.put(NAME, filename=tarball)
    assert [bearer(r) for r in ingress_server.requests] == [f'{TOKEN_PREFIX}1', f'{TOKEN_PREFIX}2', f'{TOKEN_PREFIX}2']


def test_proxy_carries_the_token_call_and_the_upload(
    sso_server, ingress_server, ca_bundle, tarball, caplog, connect_proxy: ConnectProxy
):
    password = 'proxy-password-do-not-leak'
    host, port = connect_proxy.url.removeprefix('http://').split(':')
    proxy_url = f'http://metrics:{password}@{host}:{port}'
    crc = StorageCRC(
        CLIENT_ID,
        CLIENT_SECRET,
        ingress_url=ingress_server.url('/upload'),
        sso_url=sso_server.url(),
        proxy_url=proxy_url,
        verify_cert_path=ca_bundle,
    )
    crc.put(NAME, filename=tarball)
    assert connect_proxy.targets() == [f'127.0.0.1:{sso_server.port}', f'127.0.0.1:{ingress_server.port}']
    assert all(t.proxy_authorization and t.proxy_authorization.startswith('Basic ') for t in connect_proxy.tunnels)
    assert crc.describe().endswith(f'via proxy http://metrics:***@{host}:{port})')
    assert_secret_free([*logged(caplog), crc.describe()], [password, *SECRETS])


def test_proxy_down_is_named(sso_server, ingress_server, ca_bundle, tarball, retry):
    crc = StorageCRC(
        CLIENT_ID,
        CLIENT_SECRET,
        ingress_url=ingress_server.url(),
        sso_url=sso_server.url(),
        proxy_url='http://127.0.0.1:9',
        verify_cert_path=ca_bundle,
        retry=retry,
    )
    with pytest.raises(StorageError, match=r'SSO .* failed after 4 attempts: cannot use proxy http://127.0.0.1:9'):
        crc.put(NAME, filename=tarball)
    assert sso_server.requests == []


def test_an_untrusted_server_certificate_fails_at_once_with_a_hint(sso_server, ingress_server, tarball, sleeps):
    crc = StorageCRC(
        CLIENT_ID,
        CLIENT_SECRET,
        ingress_url=ingress_server.url(),
        sso_url=sso_server.url(),
        retry=RetryPolicy(sleep=sleeps),
    )
    with pytest.raises(
        StorageError, match=r'cannot verify the TLS certificate of 127.0.0.1:\d+ .*set METRICS_UTILITY_CA_BUNDLE'
    ):
        crc.put(NAME, filename=tarball)
    assert sleeps == [], 'TLS verification failures are not retried'


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'client_id': ''}, 'needs client_id'),
        ({'client_secret': ''}, 'needs client_secret'),
        ({'ingress_url': 'http://console.example.com/upload'}, 'must use https://'),
        ({'sso_url': 'sso.example.com/token'}, 'is not a valid URL'),
        ({'proxy_url': 'proxy:3128'}, 'proxy URL .* is not valid'),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    settings = {'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET, **kwargs}
    with pytest.raises(StorageError, match=message) as excinfo:
        StorageCRC(**settings)
    assert_secret_free(exception_texts(excinfo.value), [CLIENT_SECRET])
