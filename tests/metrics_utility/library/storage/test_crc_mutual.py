"""StorageCRCMutual against an HTTPS ingress that requires client certificates (real mutual TLS)."""

from __future__ import annotations

import pytest
import trustme

from metrics_utility.library.storage import PutOnlyStorageError, RetryPolicy, StorageCRCMutual, StorageError
from metrics_utility.library.storage.http import HTTPClient
from metrics_utility.library.storage.ingress import BILLING_CONTENT_TYPE
from testsupport.https_servers import HTTPSServer, Reply, form_parts
from testsupport.proxy import ConnectProxy
from testsupport.secrets import assert_secret_free, exception_texts, logged

pytestmark = pytest.mark.integration

NAME = 'data/2024/02/29/uuid-2024-02-29-000000+0000-0-job_host_summary.tar.gz'


@pytest.fixture
def certs(tls_ca: trustme.CA, tmp_path):
    """A client certificate from the CA the server trusts, one from a stranger CA, and their private keys."""
    good = tls_ca.issue_cert('consumer-4b5a@example.com')
    bad = trustme.CA().issue_cert('consumer-4b5a@example.com')
    paths = {}
    for label, cert in (('good', good), ('bad', bad)):
        cert.cert_chain_pems[0].write_to_path(str(tmp_path / f'{label}-cert.pem'))
        cert.private_key_pem.write_to_path(str(tmp_path / f'{label}-key.pem'))
        paths[label] = (str(tmp_path / f'{label}-cert.pem'), str(tmp_path / f'{label}-key.pem'))
    good.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / 'combined.pem'))
    paths['combined'] = str(tmp_path / 'combined.pem')
    paths['private_keys'] = [good.private_key_pem.bytes().decode(), bad.private_key_pem.bytes().decode()]
    return paths


@pytest.fixture
def tarball(tmp_path):
    path = tmp_path / 'package.tar.gz'
    path.write_bytes(b'\x1f\x8b mutual tls payload' * 100)
    return path


def key_material(pems: list[str]) -> list[str]:
    """The base64 body lines of the private keys: none of it may show up anywhere."""
    return [line for pem in pems for line in pem.splitlines() if line and not line.startswith('-----')]


def test_the_right_client_certificate_is_accepted(mtls_ingress_server: HTTPSServer, ca_bundle, certs, tarball, caplog):
    crc = StorageCRCMutual(
        mtls_ingress_server.url('/api/ingress/v1/upload'), session_cert=certs['good'], verify_cert_path=ca_bundle
    )
    crc.put(NAME, filename=tarball)
    [request] = mtls_ingress_server.requests
    assert 'consumer-4b5a@example.com' in (request.client_cert_subject or ''), 'the server saw our certificate'
    [part] = form_parts(request)
    assert part.get_filename() == NAME.rsplit('/', 1)[1] and part.get_content_type() == BILLING_CONTENT_TYPE
    assert part.get_payload(decode=True) == tarball.read_bytes()
    assert 'Authorization' not in request.headers
    assert crc.last_upload is not None and crc.last_upload.status == 202
    assert mtls_ingress_server.tls_failures == []
    assert_secret_free([*logged(caplog), crc.describe()], key_material(certs['private_keys']))


def test_one_combined_pem_file_works_too(mtls_ingress_server: HTTPSServer, ca_bundle, certs, tarball):
    crc = StorageCRCMutual(mtls_ingress_server.url(), session_cert=certs['combined'], verify_cert_path=ca_bundle)
    crc.put(NAME, filename=tarball)
    assert len(mtls_ingress_server.requests) == 1


def test_a_missing_client_certificate_is_rejected_by_the_server(mtls_ingress_server, ca_bundle, sleeps):
    # StorageCRCMutual cannot be built without a certificate; its HTTP client without one shows the server demands it.
    client = HTTPClient(verify_cert_path=ca_bundle, retry=RetryPolicy(sleep=sleeps))
    # TLS 1.3 delivers the rejection after the client's handshake: as an alert, or as a cut connection.
    pattern = r'(refused the TLS handshake|closed the TLS connection) \(.*\); it may require a client certificate'
    with pytest.raises(StorageError, match=pattern):
        client.request('POST', mtls_ingress_server.url(), what='upload', data=b'x')
    assert mtls_ingress_server.wait_for(lambda: len(mtls_ingress_server.tls_failures) == len(sleeps) + 1)
    assert all('PEER_DID_NOT_RETURN_A_CERTIFICATE' in failure for failure in mtls_ingress_server.tls_failures)
    assert mtls_ingress_server.requests == []


def test_a_wrong_client_certificate_fails_at_once_with_a_clear_error(
    mtls_ingress_server, ca_bundle, certs, tarball, sleeps, caplog
):
    crc = StorageCRCMutual(
        mtls_ingress_server.url(),
        session_cert=certs['bad'],
        verify_cert_path=ca_bundle,
        retry=RetryPolicy(sleep=sleeps),
    )
    pattern = r'127.0.0.1:\d+ (rejected our client certificate|closed the TLS connection).*check that it is valid'
    with pytest.raises(StorageError, match=pattern) as excinfo:
        crc.put(NAME, filename=tarball)
    assert mtls_ingress_server.requests == [], 'rejected in the handshake: no request reached the server'
    # An alert ends it at once; a cut connection (TLS 1.3 timing) is retried like any network cut, within bounds.
    assert mtls_ingress_server.wait_for(lambda: len(mtls_ingress_server.tls_failures) == len(sleeps) + 1)
    assert all('CERTIFICATE_VERIFY_FAILED' in failure for failure in mtls_ingress_server.tls_failures)
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], key_material(certs['private_keys']))


def test_503_then_202_is_retried_and_401_is_not_renewable(mtls_ingress_server, ca_bundle, certs, tarball, sleeps):
    crc = StorageCRCMutual(
        mtls_ingress_server.url(),
        session_cert=certs['good'],
        verify_cert_path=ca_bundle,
        retry=RetryPolicy(sleep=sleeps, random=lambda: 1.0),
    )
    mtls_ingress_server.script(Reply(503), Reply(202))
    crc.put(NAME, filename=tarball)
    assert len(mtls_ingress_server.requests) == 2 and sleeps == [1.0]

    mtls_ingress_server.script(Reply(401))
    with pytest.raises(
        StorageError,
        match=r'credentials rejected by .* \(HTTP 401\) while uploading .*client '
        'certificate is not accepted',
    ):
        crc.put(NAME, filename=tarball)
    assert len(mtls_ingress_server.requests) == 3, 'no second attempt: there is nothing to renew'


def test_proxy_is_honoured(mtls_ingress_server, ca_bundle, certs, tarball, connect_proxy: ConnectProxy):
    crc = StorageCRCMutual(
        mtls_ingress_server.url(), proxy_url=connect_proxy.url, session_cert=certs['good'], verify_cert_path=ca_bundle
    )
    crc.put(NAME, filename=tarball)
    assert connect_proxy.targets() == [f'127.0.0.1:{mtls_ingress_server.port}']
    assert len(mtls_ingress_server.requests) == 1


def test_reads_are_refused_and_settings_checked(certs, tmp_path):
    crc = StorageCRCMutual('https://cert.console.example.com/upload', session_cert=certs['good'])
    with pytest.raises(PutOnlyStorageError, match='only accepts uploads; exists'):
        crc.exists(NAME)
    assert (
        crc.describe()
        == f'console.redhat.com ingress https://cert.console.example.com/upload (client certificate {certs["good"][0]})'
    )
    with pytest.raises(StorageError, match=r'client certificate file .*missing.pem does not exist'):
        StorageCRCMutual(
            'https://cert.console.example.com/upload', session_cert=(str(tmp_path / 'missing.pem'), certs['good'][1])
        )
    with pytest.raises(StorageError, match='must use https://'):
        StorageCRCMutual('http://127.0.0.1:1/upload', session_cert=certs['good'])
