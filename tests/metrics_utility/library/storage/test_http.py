"""The shared HTTP plumbing: backoff arithmetic, redaction, URL rules, timeouts against a real server."""

from __future__ import annotations

import threading

import pytest
import requests

from metrics_utility.library.storage import RetryPolicy, StorageError
from metrics_utility.library.storage.http import Failure, HTTPClient, Redactor, failure, redact_url, require_https
from testsupport.https_servers import HTTPSServer, Reply


@pytest.mark.unit
def test_backoff_doubles_is_capped_and_jittered():
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert RetryPolicy(base_delay=2.0, random=lambda: 0.0).delay(1) == 1.0, 'jitter keeps at least half'
    assert policy.delay(1, retry_after=3.0) == 3.0 and policy.delay(1, retry_after=600) == 5.0
    with pytest.raises(ValueError, match='at least 1'):
        RetryPolicy(attempts=0)


@pytest.mark.unit
def test_redaction():
    redact = Redactor('s3cr3t-value', None, 'ab')  # too-short "secrets" would mangle every message
    assert redact('token s3cr3t-value in ab') == 'token *** in ab'
    assert redact_url('http://user:pa55word@proxy.example.com:3128') == 'http://user:***@proxy.example.com:3128'
    assert redact_url('http://proxy.example.com:3128') == 'http://proxy.example.com:3128'


@pytest.mark.unit
@pytest.mark.parametrize(
    ('url', 'ok'),
    [
        ('https://console.redhat.com/api/ingress/v1/upload', True),
        ('http://127.0.0.1:8080/upload', True),
        ('http://localhost/upload', True),
        ('http://[::1]:8080/upload', True),
        ('http://console.redhat.com/upload', False),
        ('ftp://example.com/x', False),
        ('', False),
    ],
)
def test_https_is_required_except_to_loopback(url, ok):
    if ok:
        assert require_https(url, 'url') == url
    else:
        with pytest.raises(StorageError, match='url'):
            require_https(url, 'url')


@pytest.mark.integration
def test_a_server_that_never_answers_times_out_and_is_retried(tls_ca, ca_bundle, sleeps):
    release = threading.Event()

    def hang(request):
        release.wait(10)
        return Reply(200)

    with HTTPSServer(tls_ca, hang) as server:
        client = HTTPClient(verify_cert_path=ca_bundle, timeout=(5.0, 0.2), retry=RetryPolicy(attempts=2, sleep=sleeps))
        try:
            with pytest.raises(
                StorageError, match=r'upload failed after 2 attempts: cannot reach 127.0.0.1:\d+: .*timed out'
            ):
                client.request('POST', server.url(), what='upload', data=b'x')
        finally:
            release.set()
        assert len(server.requests) == 2 and len(sleeps) == 1


def _answer(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content, response.encoding = status, body, 'utf-8'
    return response


# id: (status, body, kind, detail); the client retries 3 times, so 'unavailable' answers name 3 attempts
FAILURES = {
    '401 unauthorized': (401, b'', 'credentials', ''),
    '403 forbidden with a body': (403, b'{"error": "no  role"}', 'credentials', ': {"error": "no role"}'),
    '413 too large': (413, b'<html>\n too big\n</html>', 'too_large', ': <html> too big </html>'),
    '500': (500, b'internal', 'unavailable', ': internal'),
    '501 (not retried, still a server error)': (501, b'', 'unavailable', ''),
    '503': (503, b'   ', 'unavailable', ''),
    '408 timeout': (408, b'', 'unavailable', ''),
    '429 slow down': (429, b'', 'unavailable', ''),
    '400': (400, b'bad tarball', 'refused', ': bad tarball'),
    '404': (404, b'', 'refused', ''),
    '415 (ingress words it itself)': (415, b'', 'refused', ''),
    'secret in the body': (400, b'password=hunter2-secret', 'refused', ': password=***'),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('status', 'body', 'kind', 'detail'), FAILURES.values(), ids=list(FAILURES))
def test_a_failed_answer_is_classified_once_for_every_target(status, body, kind, detail):
    client = HTTPClient(retry=RetryPolicy(attempts=3), redact=Redactor('hunter2-secret'))
    assert failure(_answer(status, body), client) == Failure(status, kind, detail, 3)
