"""Fixtures for the storage targets; each names the real peer it starts (all on 127.0.0.1)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from metrics_utility.library.storage import RetryPolicy
from testsupport.console import SSOResponder, accepted
from testsupport.https_servers import HTTPSServer, Reply, ca_bundle_fixture, tls_ca_fixture  # noqa: F401
from testsupport.proxy import ConnectProxy


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No proxy, CA or AWS settings from the machine running the tests."""
    for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-aws-config'))
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'no-aws-credentials'))
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')


@pytest.fixture(autouse=True)
def _capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    """Capture all log records, DEBUG included, so the secret scans see everything libraries log too."""
    caplog.set_level(logging.DEBUG)


class Sleeps(list[float]):
    """An injectable sleep that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    """Four attempts with recorded (not slept) backoff and no jitter, so delays are exact."""
    return RetryPolicy(attempts=4, base_delay=1.0, max_delay=30.0, sleep=sleeps, random=lambda: 1.0)


# TLS ---------------------------------------------------------------------------------------------------------------


# tls_ca and ca_bundle come from testsupport.https_servers (imported above).


# S3 ----------------------------------------------------------------------------------------------------------------


# console.redhat.com ------------------------------------------------------------------------------------------------


@pytest.fixture
def sso_server(tls_ca: trustme.CA) -> Iterator[HTTPSServer]:
    """Red Hat SSO's token endpoint over HTTPS; `.responder.issued` lists the tokens handed out."""
    with HTTPSServer(tls_ca, SSOResponder()) as server:
        yield server


@pytest.fixture
def ingress_server(tls_ca: trustme.CA) -> Iterator[HTTPSServer]:
    """console.redhat.com's ingress over HTTPS: answers 202 with a request id unless scripted otherwise."""
    with HTTPSServer(tls_ca, accepted) as server:
        yield server


@pytest.fixture
def mtls_ingress_server(tls_ca: trustme.CA) -> Iterator[HTTPSServer]:
    """The `cert.` ingress host: requires a client certificate issued by `tls_ca`, else rejects the handshake."""
    with HTTPSServer(tls_ca, accepted, client_ca=tls_ca) as server:
        yield server


@pytest.fixture
def segment_server(tls_ca: trustme.CA) -> Iterator[HTTPSServer]:
    """Segment's batch API over HTTPS: answers 200 `{"success": true}`."""
    with HTTPSServer(tls_ca, lambda request: Reply(200, {'success': True})) as server:
        yield server


@pytest.fixture
def connect_proxy() -> Iterator[ConnectProxy]:
    """A forward proxy (CONNECT tunnels to 127.0.0.1 only) that records what it was asked to reach."""
    proxy = ConnectProxy().start()
    yield proxy
    proxy.stop()
