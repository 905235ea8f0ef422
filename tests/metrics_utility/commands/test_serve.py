"""`metrics-utility serve` refuses, before anything listens, every configuration that would serve host names to the
network unchecked (exit 2, one message naming what to set); a port in use is a failed run (exit 1)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trustme

from metrics_utility.cli import main

pytestmark = pytest.mark.unit
P = 'METRICS_UTILITY_'
PROG = 'metrics-utility serve: invalid configuration:\n  - '
OPEN = (
    'is not a loopback address and METRICS_UTILITY_SERVE_AUTH is not kubernetes: host names are customer data, so a '
    'server reachable from the network checks every caller (set METRICS_UTILITY_SERVE_AUTH=kubernetes) or listens '
    'on 127.0.0.1 (reach it with kubectl port-forward)'
)
NEEDS_TLS = (
    'METRICS_UTILITY_SERVE_AUTH=kubernetes needs METRICS_UTILITY_SERVE_TLS_CERT and METRICS_UTILITY_SERVE_TLS_KEY: '
    'bearer tokens never cross the network in clear'
)


@pytest.fixture
def tls(tmp_path: Path) -> dict[str, str]:
    cert = trustme.CA().issue_cert('dashboard.ns1.svc')
    cert.cert_chain_pems[0].write_to_path(tmp_path / 'tls.crt')
    cert.private_key_pem.write_to_path(tmp_path / 'tls.key')
    return {P + 'SERVE_TLS_CERT': str(tmp_path / 'tls.crt'), P + 'SERVE_TLS_KEY': str(tmp_path / 'tls.key')}


NETWORK = {P + 'SERVE_AUTH': 'kubernetes', P + 'SERVE_NAMESPACE': 'ns1', P + 'SERVE_COLLECTION': 'mc1'}
CASES = {
    'all-interfaces': ({P + 'SERVE_ADDRESS': '0.0.0.0'}, [], [f"METRICS_UTILITY_SERVE_ADDRESS='0.0.0.0' {OPEN}"]),
    'flag-all-interfaces': ({}, ['--address', '0.0.0.0'], [f"--address='0.0.0.0' {OPEN}"]),
    'ipv6-any': ({}, ['--address', '::'], [f"--address='::' {OPEN}"]),
    'pod-address': ({}, ['--address', '10.128.0.7'], [f"--address='10.128.0.7' {OPEN}"]),
    'host-name': (
        {},
        ['--address', 'dashboard'],
        [
            "--address='dashboard' is not an IP address; expected e.g. 127.0.0.1, 0.0.0.0 or ::",
            f"--address='dashboard' {OPEN}",
        ],
    ),
    'explicit-none': (
        {P + 'SERVE_AUTH': 'none', P + 'SERVE_ADDRESS': '0.0.0.0'},
        [],
        [f"METRICS_UTILITY_SERVE_ADDRESS='0.0.0.0' {OPEN}"],
    ),
    'unknown-auth': (
        {P + 'SERVE_AUTH': 'token'},
        [],
        ["METRICS_UTILITY_SERVE_AUTH='token' is not an access mode; expected one of: none, kubernetes"],
    ),
    'kubernetes-without-tls': (NETWORK, ['--address', '0.0.0.0'], [NEEDS_TLS]),
    'kubernetes-without-collection': (
        {P + 'SERVE_AUTH': 'kubernetes', 'TLS': '1'},
        [],
        [
            'METRICS_UTILITY_SERVE_NAMESPACE is not set; METRICS_UTILITY_SERVE_AUTH=kubernetes reviews access to that '
            'collection',
            'METRICS_UTILITY_SERVE_COLLECTION is not set; METRICS_UTILITY_SERVE_AUTH=kubernetes reviews access to that '
            'collection',
        ],
    ),
    'collection-not-a-name': (
        {**NETWORK, P + 'SERVE_COLLECTION': 'MC/1', 'TLS': '1'},
        [],
        ["METRICS_UTILITY_SERVE_COLLECTION='MC/1' is not a Kubernetes name; expected lowercase a-z, 0-9, - and ."],
    ),
    'cert-without-key': (
        {P + 'SERVE_TLS_CERT': '{tmp}/tls.crt', 'TLS': '1', P + 'SERVE_TLS_KEY': ''},
        [],
        ['METRICS_UTILITY_SERVE_TLS_CERT and METRICS_UTILITY_SERVE_TLS_KEY go together; set both or neither'],
    ),
    'missing-cert-file': (
        {P + 'SERVE_TLS_CERT': '/no/tls.crt', P + 'SERVE_TLS_KEY': '/no/tls.key'},
        [],
        [
            "METRICS_UTILITY_SERVE_TLS_CERT='/no/tls.crt' is not a readable file; expected a PEM file",
            "METRICS_UTILITY_SERVE_TLS_KEY='/no/tls.key' is not a readable file; expected a PEM file",
        ],
    ),
    'cache-dir-missing': (
        {P + 'SERVE_CACHE_DIR': '/no/cache'},
        [],
        ["METRICS_UTILITY_SERVE_CACHE_DIR='/no/cache' is not a directory; expected an existing one"],
    ),
    'cache-dir-a-file': (
        {P + 'SERVE_CACHE_DIR': '{tmp}/tls.crt'},
        [],
        ["METRICS_UTILITY_SERVE_CACHE_DIR='{tmp}/tls.crt' is not a directory; expected an existing one"],
    ),
    'port-zero': ({}, ['--port', '0'], ['--port=0: expected a whole number from 1 to 65535']),
    'port-too-big': (
        {P + 'SERVE_PORT': '65536'},
        [],
        ['METRICS_UTILITY_SERVE_PORT=65536: expected a whole number from 1 to 65535'],
    ),
    'address-with-nul': (
        {},
        ['--address', '127.0.0.1\x00'],
        [
            '--address contains a NUL byte; remove it',
            "--address='127.0.0.1\\x00' is not an IP address; expected e.g. 127.0.0.1, 0.0.0.0 or ::",
            f"--address='127.0.0.1\\x00' {OPEN}",
        ],
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('env', 'argv', 'problems'), CASES.values(), ids=list(CASES))
def test_unsafe_or_broken_configurations_are_refused_before_listening(tmp_path, tls, env, argv, problems, capsys):
    values = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path)}
    if env.pop('TLS', None) if isinstance(env, dict) else None:
        values.update(tls)
    values.update({k: v.replace('{tmp}', str(tmp_path)) for k, v in env.items() if k != 'TLS'})
    assert main(['serve', *argv], env=values) == 2
    expected = [p.replace('{tmp}', str(tmp_path)) for p in problems]
    assert capsys.readouterr().err == PROG + '\n  - '.join(expected) + '\n'


def test_network_mode_outside_a_pod_says_so(tmp_path, tls, capsys):
    env = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), **NETWORK, **tls}
    assert main(['serve', '--address', '0.0.0.0'], env=env) == 2
    assert capsys.readouterr().err == (
        PROG + 'METRICS_UTILITY_SERVE_AUTH=kubernetes runs in a pod: KUBERNETES_SERVICE_HOST and '
        'KUBERNETES_SERVICE_PORT are not set\n'
    )


def test_a_certificate_that_does_not_load_is_refused(tmp_path, tls, capsys):
    Path(tls[P + 'SERVE_TLS_KEY']).write_text('-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n')
    env = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), **tls}
    assert main(['serve'], env=env) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        PROG + 'METRICS_UTILITY_SERVE_TLS_CERT/_TLS_KEY cannot be loaded as a certificate and its key ('
    )


def test_a_port_in_use_is_a_failed_run(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path)}
        assert main(['serve', '--port', str(port)], env=env) == 1
    err = capsys.readouterr().err
    assert err == f'metrics-utility serve: cannot listen on 127.0.0.1:{port} (Address already in use)\n'


async def test_the_last_months_are_read_at_start_and_answered_from_memory(tmp_path):
    from datetime import UTC, datetime, timedelta

    from aiohttp.test_utils import TestClient, TestServer

    from metrics_utility.commands.serve import application
    from metrics_utility.library.storage import StorageDirectory
    from metrics_utility.serve.access import LoopbackAccess
    from metrics_utility.serve.app import SERVED, WARMING
    from testsupport.report_data import synthetic

    day = datetime.now(UTC).date() - timedelta(days=3)
    synthetic(day, 2).write(tmp_path)
    app = application(StorageDirectory(tmp_path), LoopbackAccess(), persist=False)
    async with TestClient(TestServer(app)) as client:
        await app[WARMING]
        reader = app[SERVED].usage
        assert reader.days_read == 2
        params = {'by': 'day', 'since': day.isoformat(), 'until': (day + timedelta(days=2)).isoformat()}
        reply = await client.get('/api/v1/usage', params=params)
        assert reply.status == 200
        assert all(p['jobRuns'] > 0 for p in (await reply.json())['periods'])
        assert reader.days_read == 2  # answered from what was read at start


async def test_a_restarted_server_on_a_read_only_storage_reads_the_digests_from_its_cache_directory(tmp_path):
    from datetime import UTC, datetime, timedelta

    from aiohttp.test_utils import TestClient, TestServer

    from metrics_utility.commands.serve import application
    from metrics_utility.library.storage import StorageDirectory
    from metrics_utility.serve.access import LoopbackAccess
    from metrics_utility.serve.app import SERVED, WARMING
    from testsupport.report_data import synthetic

    data, cache = tmp_path / 'data', tmp_path / 'cache'
    cache.mkdir()
    today = datetime.now(UTC).date()
    synthetic(today - timedelta(days=40), 2).write(data)
    answers, built = [], []
    for _ in range(2):
        app = application(StorageDirectory(data), LoopbackAccess(), persist=False, cache_dir=cache)
        async with TestClient(TestServer(app)) as client:
            await app[WARMING]
            reply = await client.get('/api/v1/usage', params={'by': 'year'})
            answers.append(await reply.json())
            built.append(app[SERVED].usage.digests_built)
    assert not (data / 'rollups').exists()
    assert len(list(cache.iterdir())) == built[0] >= 1  # the months with packages
    assert built[1] == 0
    assert answers[0] == answers[1]
    assert sum(p['jobRuns'] for p in answers[0]['periods']) > 0
