"""Fixtures for collectors that read other sources: `prometheus` (a real Prometheus with a known history) and
`secure_prometheus` (the same behind HTTPS with a bearer token, signed by a test CA)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from testsupport.prometheus import BearerTLSProxy, PrometheusNotFoundError, PrometheusServer, Sample, find_binaries

# The measured hour of the main scenario: 2024-02-29 10:00–11:00 UTC (a leap day).
H = datetime(2024, 2, 29, 10, tzinfo=UTC)
DATA_START = H - timedelta(hours=2)  # 08:00; nothing before, so 07:00–08:00 is "before the cluster existed"
DATA_END = H + timedelta(hours=4)  # 14:00, inclusive
TOKEN = 'sha256~vcpu-test-token-7f3a9c'  # the shape of an OpenShift token; must never appear in logs or errors
FORBIDDEN_TOKEN = 'sha256~valid-but-not-allowed-2b1e'


def _minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    t = start
    while t <= end:
        yield t
        t += timedelta(minutes=1)


def vcpu_history() -> list[Sample]:
    """machine_cpu_cores per node, one sample a minute from 08:00 to 14:00 UTC, with these events:

    - worker-1 (4 cores) and worker-2 (4) report throughout;
    - worker-4 (16) reports until 10:33:00, then disappears (no staleness marker: it counts until 10:38);
    - worker-3 (8) joins at 10:20:00;
    - worker-2 reports 64 at 10:07:00 only: between two 5-minute marks, so no query sees it;
    - worker-1 reports 40 at exactly 12:00:00 and 80 at exactly 13:00:00 (hour boundaries).

    Sums at the marks of 10:00–11:00: 24 (10:00–10:15), 32 (10:20–10:35), 16 (10:40–10:55): max 32, last 16.
    """
    m = timedelta(minutes=1)
    nodes = {
        'worker-1': (DATA_START, DATA_END, 4),
        'worker-2': (DATA_START, DATA_END, 4),
        'worker-3': (H + 20 * m, DATA_END, 8),
        'worker-4': (DATA_START, H + 33 * m, 16),
    }
    overrides = {
        ('worker-2', H + 7 * m): 64,
        ('worker-1', H + 2 * 60 * m): 40,
        ('worker-1', H + 3 * 60 * m): 80,
    }
    return [
        Sample('machine_cpu_cores', {'node': node}, overrides.get((node, t), cores), t.timestamp())
        for node, (first, last, cores) in nodes.items()
        for t in _minutes(first, last)
    ]


@pytest.fixture(scope='session')
def vcpu_samples() -> list[Sample]:
    return vcpu_history()


@pytest.fixture(scope='session')
def prometheus(vcpu_samples: list[Sample], tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus serving exactly `vcpu_history()` (backfilled with promtool), on a free loopback port."""
    try:
        find_binaries()
    except PrometheusNotFoundError as exc:
        if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'):
            pytest.fail(f'{exc} (CI must run the Prometheus tests)')
        pytest.skip(str(exc))
    with PrometheusServer(vcpu_samples, tmp_path_factory.mktemp('prometheus')) as server:
        yield server


@dataclass(frozen=True)
class SecurePrometheus:
    url: str
    token: str
    forbidden_token: str
    ca_bundle: Path
    token_file: Path


@pytest.fixture(scope='session')
def secure_prometheus(
    prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecurePrometheus]:
    """`prometheus` behind HTTPS (trustme CA) requiring `Authorization: Bearer <TOKEN>` (403 for FORBIDDEN_TOKEN)."""
    ca = trustme.CA()
    workdir = tmp_path_factory.mktemp('secure-prometheus')
    ca_bundle = workdir / 'service-ca.crt'
    ca.cert_pem.write_to_path(str(ca_bundle))
    token_file = workdir / 'token'
    token_file.write_text(TOKEN + '\n', encoding='utf-8')  # service-account token files may end with a newline
    with BearerTLSProxy(prometheus.url, ca, tokens=[TOKEN], forbidden_tokens=[FORBIDDEN_TOKEN]) as proxy:
        yield SecurePrometheus(proxy.url, TOKEN, FORBIDDEN_TOKEN, ca_bundle, token_file)
