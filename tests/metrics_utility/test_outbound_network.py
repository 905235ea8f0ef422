"""Enterprise networks, end to end: every outbound client built from the settings (S3, console.redhat.com ingress and
SSO, Prometheus, Elasticsearch, the Pushgateway) goes through the CONNECT proxy of HTTPS_PROXY (with its password),
trusts the private CA of METRICS_UTILITY_CA_BUNDLE, bypasses the proxy for NO_PROXY hosts, fails without the CA
with a message naming that variable, and never shows the proxy password in any form.

Real parts only: a threaded CONNECT proxy that requires Proxy-Authorization, trustme certificates, moto's S3 behind
TLS, and HTTPS test servers speaking each service's protocol.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from metrics_utility import pushgateway
from metrics_utility.cli import _parser
from metrics_utility.commands import candlepin_manage
from metrics_utility.gather.wiring import storage_for
from metrics_utility.library import secret
from metrics_utility.library.collectors.prometheus.client import PrometheusClient, PrometheusError
from metrics_utility.library.storage import RetryPolicy, StorageError
from metrics_utility.library.storage.elasticsearch import StorageElasticsearch
from metrics_utility.settings import gather as gather_settings
from metrics_utility.settings.environment import process_environment
from metrics_utility.settings.push import push_settings
from testsupport.candlepin import CandlepinState, FakeCandlepin
from testsupport.console import SSOResponder, accepted
from testsupport.elasticsearch import ElasticsearchBulk
from testsupport.https_servers import HTTPSServer, Reply, ca_bundle_fixture, tls_ca_fixture  # noqa: F401
from testsupport.proxy import ConnectProxy, TLSFront
from testsupport.s3_server import ACCESS_KEY, SECRET_KEY, S3Server
from testsupport.secrets import CLIENT_ID, CLIENT_SECRET, assert_secret_free, logged

P = 'METRICS_UTILITY_'
USER = 'metrics@corp'
PASSWORD = 'Pr0xy:pass/w0rd-do-not-leak'
CLIENTS = ['s3', 'crc', 'prometheus', 'elasticsearch', 'pushgateway', 'candlepin']
CA_HINT = f'{P}CA_BUNDLE'
NO_WAIT = RetryPolicy(attempts=4, sleep=lambda seconds: None)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """No proxy, CA or AWS settings from the machine running the tests; every log record captured."""
    for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in [n for n in os.environ if n.startswith(('AWS_', P))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-aws-config'))
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'no-aws-credentials'))
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy(USER, PASSWORD) as running:
        yield running


@pytest.fixture(scope='module')
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    server.client().create_bucket(Bucket='metrics')
    yield server
    server.stop()


@dataclass
class Client:
    """One outbound client: the variables that configure it, the port it talks to, and the call it makes."""

    env: dict[str, str]
    port: int
    call: Callable[[], None]


def _settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> gather_settings.GatherSettings:
    """Set `env` in the process (the HTTP stacks read the proxy variables themselves) and load the settings."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return gather_settings.load(process_environment(), ship=True)


@pytest.fixture
def make_client(request, monkeypatch, tmp_path, tls_ca, s3) -> Callable[[str, dict[str, str]], Client]:
    """Start the server of `name` and return its client configured from settings built of `env` plus its own."""
    started: list[HTTPSServer | TLSFront] = []

    def start(server):
        started.append(server.start())
        return server

    def make(name: str, env: dict[str, str]) -> Client:
        (tmp_path / 'ship').mkdir(exist_ok=True)
        base = {**env, f'{P}SHIP_TARGET': 'directory', f'{P}SHIP_PATH': str(tmp_path / 'ship')}
        if name == 's3':
            host, port = s3.endpoint.removeprefix('http://').split(':')
            front = start(TLSFront(tls_ca, (host, int(port))))
            own = {
                f'{P}SHIP_TARGET': 's3',
                f'{P}BUCKET_NAME': 'metrics',
                f'{P}BUCKET_ENDPOINT': front.endpoint,
                f'{P}BUCKET_REGION': 'us-east-1',
                f'{P}BUCKET_ACCESS_KEY': ACCESS_KEY,
                f'{P}BUCKET_SECRET_KEY': SECRET_KEY,
                f'{P}SHIP_PATH': 'net',
            }
            config = _settings(monkeypatch, {**base, **own})
            storage = config.ship.storage()

            def call() -> None:
                storage.put('probe/network.json', dict={'through': 'proxy'})
                assert s3.client().get_object(Bucket='metrics', Key='net/probe/network.json')['Body'].read()

            return Client({**base, **own}, front.port, call)
        if name == 'crc':
            sso, ingress = start(HTTPSServer(tls_ca, SSOResponder())), start(HTTPSServer(tls_ca, accepted))
            assert sso.port != ingress.port
            own = {
                f'{P}SHIP_TARGET': 'crc',
                f'{P}BILLING_PROVIDER': 'aws',
                f'{P}BILLING_ACCOUNT_ID': '123456789012',
                f'{P}SERVICE_ACCOUNT_ID': CLIENT_ID,
                f'{P}SERVICE_ACCOUNT_SECRET': CLIENT_SECRET,
                f'{P}CRC_SSO_URL': sso.url('/token'),
                f'{P}CRC_INGRESS_URL': ingress.url('/api/ingress/v1/upload'),
                f'{P}STATE_PATH': str(tmp_path / 'watermarks.json'),
            }
            storage = storage_for(_settings(monkeypatch, {**base, **own}))
            storage.client.retry = NO_WAIT  # the client's retries, without real sleeps
            tarball = tmp_path / 'x.tar.gz'
            tarball.write_bytes(b'tarball')

            def call() -> None:
                storage.put('data/2024/03/01/x.tar.gz', filename=tarball)
                assert len(ingress.requests) == 1 and len(sso.requests) == 1

            return Client({**base, **own}, ingress.port, call)  # SSO's tunnel is asserted apart
        if name == 'prometheus':
            answer = {'status': 'success', 'data': {'resultType': 'vector', 'result': []}}
            server = start(HTTPSServer(tls_ca, lambda r: Reply(200, answer)))
            own = {
                f'{P}OPTIONAL_COLLECTORS': 'total_workers_vcpu',
                f'{P}CLUSTER_NAME': 'c1',
                f'{P}PROMETHEUS_URL': server.url('').rstrip('/'),
            }
            vcpu = _settings(monkeypatch, {**base, **own}).vcpu
            client = PrometheusClient(vcpu.prometheus_url, ca_bundle=Path(vcpu.ca_bundle) if vcpu.ca_bundle else None)
            return Client({**base, **own}, server.port, lambda: client.query('up', time=time.time()) and None)
        if name == 'elasticsearch':
            bulk = ElasticsearchBulk()
            server = start(HTTPSServer(tls_ca, bulk))
            own = {f'{P}ELASTICSEARCH_URL': server.url('').rstrip('/')}
            es = _settings(monkeypatch, {**base, **own}).elasticsearch
            sink = StorageElasticsearch(es.url, es.index, verify_cert_path=es.ca_bundle, retry=NO_WAIT)

            def call() -> None:
                assert sink.index_documents([('doc-1', {'packages': 1})]) == 1
                assert list(bulk.documents(es.index)) == ['doc-1']

            return Client({**base, **own}, server.port, call)
        if name == 'candlepin':  # `metrics-utility candlepin register`, its variables read from the process
            candlepin = start(
                FakeCandlepin(tls_ca, CandlepinState(users={'rh-user': 'rh-Pass-1'}, owners={'rh-user': ['o']}))
            )
            own = {
                f'{P}CANDLEPIN_URL': candlepin.api,
                f'{P}CANDLEPIN_CERT_DIR': str(tmp_path / 'candlepin'),
                f'{P}RH_USERNAME': 'rh-user',
                f'{P}RH_PASSWORD': 'rh-Pass-1',
            }
            for key, value in {**base, **own}.items():
                monkeypatch.setenv(key, value)

            def call() -> None:
                args = _parser().parse_args(['candlepin', 'register'])
                assert candlepin_manage.run(args, retry=NO_WAIT) == 0, 'registered'
                assert [r.method for r in candlepin.requests] == ['GET', 'POST']

            return Client({**base, **own}, candlepin.port, call)
        assert name == 'pushgateway'
        server = start(HTTPSServer(tls_ca))
        own = {f'{P}PUSHGATEWAY_URL': server.url('').rstrip('/')}
        for key, value in {**base, **own}.items():
            monkeypatch.setenv(key, value)
        gather_settings.load(process_environment(), ship=True)  # the run's check of the proxy and CA variables
        settings = push_settings(process_environment())

        def call() -> None:
            assert pushgateway.push_run('gather', {'ok': True}, 1.0, settings), 'pushed'
            assert [r.method for r in server.requests] == ['POST']

        return Client({**base, **own}, server.port, call)

    request.addfinalizer(lambda: [server.stop() for server in started])
    return make


def through(proxy: ConnectProxy, ca_bundle: str) -> dict[str, str]:
    return {'HTTPS_PROXY': proxy.url_with(USER, PASSWORD), f'{P}CA_BUNDLE': ca_bundle}


def password_forms() -> list[str]:
    basic = base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode()
    return [PASSWORD, quote(PASSWORD, safe=''), basic]


@pytest.mark.parametrize('name', CLIENTS)
def test_every_client_goes_through_the_proxy_and_trusts_the_private_ca(
    name, make_client, proxy, ca_bundle, caplog, capsys
):
    secret.forget_all()
    client = make_client(name, through(proxy, ca_bundle))
    client.call()
    assert proxy.tunnels, 'the call went through the proxy'
    assert proxy.authorized_tunnels() == len(proxy.tunnels), 'every tunnel carried the proxy credentials'
    assert f'127.0.0.1:{client.port}' in proxy.targets()
    if name == 'crc':
        assert len(proxy.tunnels) == 2, 'the SSO token call goes through the proxy too'
    out = capsys.readouterr()
    for form in password_forms():  # the raw forms: the assertion below checks what the redactor knows
        assert form not in '\n'.join([*logged(caplog), out.out, out.err])
    assert_secret_free([*logged(caplog), out.out, out.err], [PASSWORD])


@pytest.mark.parametrize('name', CLIENTS)
def test_no_proxy_hosts_are_reached_directly(name, make_client, proxy, ca_bundle):
    client = make_client(name, {**through(proxy, ca_bundle), 'NO_PROXY': 'example.com,127.0.0.1'})
    client.call()
    assert proxy.tunnels == []


@pytest.mark.parametrize('name', ['s3', 'crc', 'elasticsearch'])  # candlepin: test_candlepin_manage.py
def test_without_the_ca_the_call_fails_naming_the_ca_variable(name, make_client, proxy):
    client = make_client(name, {'HTTPS_PROXY': proxy.url_with(USER, PASSWORD)})
    with pytest.raises(StorageError) as raised:
        client.call()
    message = str(raised.value)
    assert 'cannot verify the TLS certificate of ' in message
    assert f'it is not trusted by the default CA store; set {CA_HINT} to a PEM bundle holding the CA' in message
    assert proxy.tunnels, 'the TLS failure happened inside the tunnel'
    assert all(form not in message for form in password_forms())


def test_without_the_ca_prometheus_fails_naming_both_ca_variables(make_client, proxy):
    client = make_client('prometheus', {'HTTPS_PROXY': proxy.url_with(USER, PASSWORD)})
    with pytest.raises(PrometheusError) as raised:
        client.call()
    assert f'Set {P}PROMETHEUS_CA (or {P}CA_BUNDLE) to the CA that signed the server certificate' in str(raised.value)


def test_without_the_ca_the_push_is_a_warning_naming_the_ca_variable(make_client, proxy, caplog, ca_bundle):
    client = make_client('pushgateway', {'HTTPS_PROXY': proxy.url_with(USER, PASSWORD)})
    with pytest.raises(AssertionError, match='pushed'):
        client.call()
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.endswith(f'; set {CA_HINT} to a PEM bundle holding the CA that signed its certificate')
    assert 'CERTIFICATE_VERIFY_FAILED' in warning


@pytest.mark.parametrize('name', CLIENTS)
def test_a_wrong_proxy_password_is_refused_by_the_proxy(name, make_client, proxy, ca_bundle):
    """The proxy really checks the credentials: a wrong password gets no tunnel (so the tests above prove use)."""
    client = make_client(name, {**through(proxy, ca_bundle), 'HTTPS_PROXY': proxy.url_with(USER, 'wrong-password')})
    with pytest.raises((StorageError, PrometheusError, AssertionError)):
        client.call()
    assert proxy.tunnels and proxy.authorized_tunnels() == 0


def test_a_failed_report_through_the_proxy_keeps_the_password_out_of_output_and_summary(
    make_client, proxy, tmp_path, capsys, caplog
):
    """build-report against S3 behind the private CA, without the CA: the run fails with one message naming the
    variable, and neither its output, its log nor its summary holds the proxy password in any form."""
    from metrics_utility.cli import main

    client = make_client('s3', {'HTTPS_PROXY': proxy.url_with(USER, PASSWORD)})
    env = {**client.env, f'{P}REPORT_TYPE': 'CCSPv2', 'HTTPS_PROXY': proxy.url_with(USER, PASSWORD)}
    summary = tmp_path / 'summary.json'
    code = main(['build-report', '--since', '2024-01-01', f'--summary-file={summary}'], env)
    out = capsys.readouterr()
    written = [out.out, out.err, summary.read_text(), *logged(caplog)]
    assert code != 0 and proxy.tunnels
    assert CA_HINT in out.err, out.err
    for form in password_forms():
        assert all(form not in text for text in written)
