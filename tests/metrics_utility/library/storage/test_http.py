"""The shared HTTP plumbing: backoff arithmetic, redaction, URL rules, timeouts against a real server."""

from __future__ import annotations

import threading

import pytest

from metrics_utility.library.storage import RetryPolicy, StorageError
from metrics_utility.library.storage.http import HTTPClient, Redactor, redact_url, require_https
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
