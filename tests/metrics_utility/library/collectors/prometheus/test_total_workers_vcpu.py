"""`total_workers_vcpu` against a real Prometheus holding a history written by the test (see conftest).

Expected values are computed here from the samples themselves (`reference_sum`) and, for the key cases, also
written out by hand, so neither the collector's query nor Prometheus is trusted to define the right answer.
"""

from __future__ import annotations

import json
import logging
import socket
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import trustme

from metrics_utility.library.collectors import CollectorParameterError
from metrics_utility.library.collectors.prometheus.client import (
    PrometheusAuthError,
    PrometheusConnectionError,
    PrometheusHTTPError,
    PrometheusTLSError,
    Secret,
)
from metrics_utility.library.collectors.prometheus.total_workers_vcpu import (
    PrometheusNoDataError,
    legacy_payload,
    max_query,
    measured_hour,
    schema,
    total_workers_vcpu,
)
from metrics_utility.library.collectors.registry import COLLECTORS
from testsupport.prometheus import BearerTLSProxy, PrometheusServer, Sample, free_port, reference_sum

from .conftest import DATA_START, FORBIDDEN_TOKEN, TOKEN, H, SecurePrometheus

pytestmark = pytest.mark.integration

MARKS = [timedelta(minutes=5 * i) for i in range(12)]
ORIGINAL_SCHEMA = {  # metrics-utility's schemas/total_workers_vcpu-1.0: exactly three keys
    'type': 'object',
    'required': ['timestamp', 'cluster_name', 'total_workers_vcpu'],
    'additionalProperties': False,
    'properties': {
        'timestamp': {'type': 'string'},
        'cluster_name': {'type': ['string', 'null']},
        'total_workers_vcpu': {'type': 'integer'},
    },
}


def expected_timeline(samples: list[Sample], hour_start: datetime) -> list[tuple[datetime, float]]:
    points = [
        (hour_start + mark, reference_sum(samples, 'machine_cpu_cores', (hour_start + mark).timestamp()))
        for mark in MARKS
    ]
    return [(t, value) for t, value in points if value is not None]


def gather(url: str, until: datetime, **params: Any) -> dict[str, Any]:
    result = total_workers_vcpu(prometheus_url=url, until=until, cluster_name='test-cluster', **params).gather()
    assert isinstance(result, dict)
    jsonschema.validate(result, schema())
    return result


def timeline_pairs(result: dict[str, Any]) -> list[tuple[datetime, float]]:
    return [(datetime.fromisoformat(p['timestamp']), p['cpu_sum']) for p in result['timeline']]


# --- the measured hour, without I/O -------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ('until', 'hour_start'),
    [
        (datetime(2024, 2, 29, 11, 7, tzinfo=UTC), datetime(2024, 2, 29, 10, tzinfo=UTC)),
        (datetime(2024, 2, 29, 11, 0, tzinfo=UTC), datetime(2024, 2, 29, 10, tzinfo=UTC)),
        (datetime(2024, 2, 29, 10, 59, 59, 999999, tzinfo=UTC), datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2024, 3, 1, 0, 30, tzinfo=UTC), datetime(2024, 2, 29, 23, tzinfo=UTC)),  # across the month end
        (datetime(2024, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))), datetime(2024, 2, 29, 22, tzinfo=UTC)),
    ],
)
def test_measured_hour_is_the_previous_full_utc_hour(until: datetime, hour_start: datetime) -> None:
    assert measured_hour(until) == (hour_start, hour_start + timedelta(hours=1))


@pytest.mark.unit
def test_query_ends_one_millisecond_before_the_hour_end() -> None:
    # 2024-02-29T11:00:00Z = 1709204400; the subquery's 12 marks are then 10:00 … 10:55 on Prometheus 2 and 3.
    assert max_query(H) == 'max_over_time(sum(machine_cpu_cores)[1h:5m] @ 1709204399.999)'


# --- values against the history ------------------------------------------------------------------------------------


def test_hourly_max_and_timeline_match_the_samples(prometheus: PrometheusServer, vcpu_samples: list[Sample]) -> None:
    result = gather(prometheus.url, H + timedelta(hours=1, minutes=7))

    timeline = expected_timeline(vcpu_samples, H)
    assert [v for _, v in timeline] == [24] * 4 + [32] * 4 + [16] * 4  # by hand, see vcpu_history()
    assert timeline_pairs(result) == timeline
    assert result['total_workers_vcpu'] == max(v for _, v in timeline) == 32
    assert result['timeline'][-1]['cpu_sum'] == 16  # the max, not the last value, is billed
    assert result['hour_start'] == '2024-02-29T10:00:00Z'
    assert result['hour_end'] == '2024-02-29T11:00:00Z'
    assert result['timestamp'] == '2024-02-29T10:59:59.999Z'
    assert result['cluster_name'] == 'test-cluster'
    assert result['metering_enabled'] is True
    assert result['query'] == max_query(H)
    jsonschema.validate(legacy_payload(result), ORIGINAL_SCHEMA)


@pytest.mark.parametrize(
    ('hour', 'by_hand', 'why'),
    [
        (9, 24, 'a plain hour: worker-1, worker-2, worker-4'),
        (11, 16, 'the 40-core sample at exactly 12:00 belongs to the next hour'),
        (12, 52, 'the sample at exactly 12:00 (H) counts; the 80 at exactly 13:00 (H+1h) does not'),
        (13, 92, 'the sample at exactly 13:00 is the first mark of its own hour'),
    ],
)
def test_hour_boundaries(
    prometheus: PrometheusServer, vcpu_samples: list[Sample], hour: int, by_hand: int, why: str
) -> None:
    start = H.replace(hour=hour)
    result = gather(prometheus.url, start + timedelta(hours=1, minutes=10))
    timeline = expected_timeline(vcpu_samples, start)
    assert result['total_workers_vcpu'] == max(v for _, v in timeline) == by_hand, why
    assert timeline_pairs(result) == timeline


def test_spike_between_marks_is_not_seen(prometheus: PrometheusServer) -> None:
    """worker-2's 64 at 10:07 is real data but falls between the 10:05 and 10:10 marks (documented resolution)."""
    raw = requests.get(
        f'{prometheus.url}/api/v1/query',
        params={'query': 'max_over_time(machine_cpu_cores{node="worker-2"}[1h] @ 1709204399.999)'},
        timeout=10,
    ).json()
    assert raw['data']['result'][0]['value'][1] == '64'  # the sample is there …
    assert gather(prometheus.url, H + timedelta(hours=1))['total_workers_vcpu'] == 32  # … and not billed


def test_original_query_measured_the_hour_before(prometheus: PrometheusServer) -> None:
    """Regression (docs/vcpu.md): metrics-utility's `… @ prev_hour_start` for 11:00–12:00 returns the
    10:00–11:00 peak (32) while that hour's real peak is 16."""
    hour = H + timedelta(hours=1)
    original = f'max_over_time(sum(machine_cpu_cores)[59m59s999ms:5m] @ {hour.timestamp():.0f})'
    raw = requests.get(f'{prometheus.url}/api/v1/query', params={'query': original}, timeout=10).json()
    assert raw['data']['result'][0]['value'][1] == '32'
    assert gather(prometheus.url, hour + timedelta(hours=1))['total_workers_vcpu'] == 16


def test_metering_disabled_returns_the_fallback_without_querying() -> None:
    closed = f'http://127.0.0.1:{free_port()}'  # nothing listens: any query would fail
    result = gather(closed, H + timedelta(hours=1), metering_enabled=False)
    assert result['total_workers_vcpu'] == 1
    assert result['query'] is None
    assert result['timeline'] == []
    assert result['metering_enabled'] is False


# --- no data -------------------------------------------------------------------------------------------------------


def test_hour_before_the_cluster_existed_is_a_clear_error(prometheus: PrometheusServer) -> None:
    hour = DATA_START - timedelta(hours=1)  # 07:00–08:00; data starts 08:00
    with pytest.raises(PrometheusNoDataError) as caught:
        total_workers_vcpu(
            prometheus_url=prometheus.url, until=DATA_START + timedelta(minutes=10), cluster_name='c'
        ).gather()
    message = str(caught.value)
    assert caught.value.cluster_too_new is True
    assert caught.value.hour_start == hour
    assert '2024-02-29T07:00:00Z–2024-02-29T08:00:00Z' in message
    assert max_query(hour) in message
    assert prometheus.url in message
    assert 'started during or after this hour' in message


def test_hour_without_any_data_says_what_to_check(prometheus: PrometheusServer) -> None:
    with pytest.raises(PrometheusNoDataError) as caught:
        total_workers_vcpu(
            prometheus_url=prometheus.url, until=datetime(2024, 1, 1, 1, 5, tzinfo=UTC), cluster_name='c'
        ).gather()
    assert caught.value.cluster_too_new is False
    assert 'scraped' in str(caught.value) and 'retention' in str(caught.value)


# --- connection failures -------------------------------------------------------------------------------------------


def test_unreachable_url_is_a_connection_error() -> None:
    url = f'http://127.0.0.1:{free_port()}'
    with pytest.raises(PrometheusConnectionError, match='connection refused') as caught:
        total_workers_vcpu(prometheus_url=url, until=H + timedelta(hours=1), cluster_name='c').gather()
    assert url in str(caught.value)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections (kernel backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(8)
        yield f'http://127.0.0.1:{sock.getsockname()[1]}'


def test_silent_server_times_out(silent_server: str) -> None:
    collector = total_workers_vcpu(
        prometheus_url=silent_server, until=H + timedelta(hours=1), cluster_name='c', timeout=0.3
    )
    with pytest.raises(PrometheusConnectionError, match=r'did not answer within 0\.3 s'):
        collector.gather()


# --- token and CA bundle (HTTPS proxy requiring a bearer token) ----------------------------------------------------


def test_token_and_ca_bundle(secure_prometheus: SecurePrometheus, vcpu_samples: list[Sample]) -> None:
    result = gather(
        secure_prometheus.url, H + timedelta(hours=1), bearer_token=TOKEN, ca_bundle=secure_prometheus.ca_bundle
    )
    assert result['total_workers_vcpu'] == 32
    assert timeline_pairs(result) == expected_timeline(vcpu_samples, H)


def test_token_file_is_read_at_gather_time(secure_prometheus: SecurePrometheus, tmp_path: Path) -> None:
    token_file = tmp_path / 'token'
    token_file.write_text('sha256~expired-old-token\n')
    collector = total_workers_vcpu(
        prometheus_url=secure_prometheus.url,
        until=H + timedelta(hours=1),
        cluster_name='c',
        bearer_token_file=token_file,
        ca_bundle=secure_prometheus.ca_bundle,
    )
    token_file.write_text(TOKEN + '\n')  # the kubelet rotated the projected token after the collector was built
    assert collector.gather()['total_workers_vcpu'] == 32


@pytest.mark.parametrize(
    ('token', 'status', 'hint'),
    [
        ('sha256~wrong-token', 401, 'the bearer token was rejected'),
        (None, 401, 'no bearer token was sent'),
        (FORBIDDEN_TOKEN, 403, 'cluster-monitoring-view'),
    ],
)
def test_rejected_token_is_an_auth_error(
    secure_prometheus: SecurePrometheus, token: str | None, status: int, hint: str
) -> None:
    collector = total_workers_vcpu(
        prometheus_url=secure_prometheus.url,
        until=H + timedelta(hours=1),
        cluster_name='c',
        bearer_token=token,
        ca_bundle=secure_prometheus.ca_bundle,
    )
    with pytest.raises(PrometheusAuthError) as caught:
        collector.gather()
    assert caught.value.status == status
    assert f'HTTP {status}' in str(caught.value) and hint in str(caught.value)
    assert token is None or token not in _everything_about(caught.value)


def test_untrusted_certificate_is_a_tls_error(secure_prometheus: SecurePrometheus, tmp_path: Path) -> None:
    other_ca = tmp_path / 'other-ca.crt'
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    for ca_bundle, names in ((other_ca, str(other_ca)), (None, 'the system CA store')):
        collector = total_workers_vcpu(
            prometheus_url=secure_prometheus.url,
            until=H + timedelta(hours=1),
            cluster_name='c',
            bearer_token=TOKEN,
            ca_bundle=ca_bundle,
        )
        with pytest.raises(PrometheusTLSError, match='certificate') as caught:
            collector.gather()
        assert names in str(caught.value)
        assert TOKEN not in _everything_about(caught.value)


def test_proxy_without_upstream_is_an_http_error(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_bundle = tmp_path / 'ca.crt'
    ca.cert_pem.write_to_path(str(ca_bundle))
    with BearerTLSProxy(f'http://127.0.0.1:{free_port()}', ca, tokens=[TOKEN]) as proxy:
        collector = total_workers_vcpu(
            prometheus_url=proxy.url,
            until=H + timedelta(hours=1),
            cluster_name='c',
            bearer_token=TOKEN,
            ca_bundle=ca_bundle,
        )
        with pytest.raises(PrometheusHTTPError, match='HTTP 502') as caught:
            collector.gather()
    assert caught.value.status == 502
    assert TOKEN not in _everything_about(caught.value)


# --- parameters ----------------------------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ('params', 'message'),
    [
        ({'until': datetime(2024, 2, 29, 11)}, 'has no timezone'),
        ({'until': '2024-02-29T11:00:00Z'}, 'must be a datetime'),
        ({'until': datetime.now(UTC) + timedelta(hours=2)}, 'in the future'),
        ({'since': H}, 'unknown parameter'),
        ({'cluster_name': ' '}, 'cluster_name must be a non-empty string'),
        ({'prometheus_url': 'ftp://prometheus:9090'}, 'http:// or https://'),
        ({'prometheus_url': 'https://'}, 'no host name'),
        ({'prometheus_url': 'https://prom:99999'}, 'not a valid URL'),
        ({'prometheus_url': 'https://admin:hunter2@prom:9091'}, 'must not contain credentials'),
        ({'prometheus_url': 'https://prom:9091/?token=hunter2'}, 'query string'),
        ({'prometheus_url': 'http://prom:9090', 'bearer_token': TOKEN}, 'plain http'),
        ({'bearer_token': TOKEN, 'bearer_token_file': '/etc/hostname'}, 'not both'),
        ({'bearer_token': 'hunter2\nX-Injected: 1'}, 'not allowed in a bearer token'),
        ({'bearer_token_file': '/nonexistent/token'}, 'not a readable file'),
        ({'ca_bundle': '/nonexistent/ca.crt'}, 'not a file'),
        ({'timeout': 0}, 'timeout must be'),
        ({'metering_enabled': 'false'}, 'metering_enabled must be True or False'),
    ],
)
def test_bad_parameters_fail_at_creation(params: dict[str, Any], message: str) -> None:
    defaults = {'until': H + timedelta(hours=1), 'cluster_name': 'c', 'prometheus_url': 'https://prom:9091'}
    with pytest.raises(CollectorParameterError, match=message) as caught:
        total_workers_vcpu(**{**defaults, **params})
    assert 'hunter2' not in str(caught.value)


@pytest.mark.unit
def test_registry_entry_validates_too() -> None:
    assert COLLECTORS['total_workers_vcpu'] is total_workers_vcpu  # the validating factory, not a bare one
    assert total_workers_vcpu.info.version == '1.0' and total_workers_vcpu.info.format == 'json'


# --- secrets -------------------------------------------------------------------------------------------------------


def _everything_about(exc: BaseException) -> str:
    """All text a log handler or traceback could print about `exc`, including chained causes."""
    return str(exc) + repr(exc) + ''.join(traceback.format_exception(exc))


def test_token_never_appears_in_logs_reprs_errors_or_payload(
    secure_prometheus: SecurePrometheus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # includes urllib3's request lines
    seen: list[str] = []

    ok = total_workers_vcpu(
        prometheus_url=secure_prometheus.url,
        until=H + timedelta(hours=1),
        cluster_name='c',
        bearer_token=TOKEN,
        ca_bundle=secure_prometheus.ca_bundle,
    )
    seen.append(repr(ok))
    assert isinstance(ok.params['bearer_token'], Secret)
    seen.append(json.dumps(ok.gather()))

    for failing in (
        {'bearer_token': TOKEN, 'ca_bundle': None},  # TLS failure
        {
            'bearer_token_file': secure_prometheus.token_file,
            'ca_bundle': secure_prometheus.ca_bundle,
            'until': DATA_START,
        },
    ):
        collector = total_workers_vcpu(
            prometheus_url=secure_prometheus.url, cluster_name='c', **{'until': H + timedelta(hours=1), **failing}
        )
        seen.append(repr(collector))
        with pytest.raises(PrometheusTLSError if failing['ca_bundle'] is None else PrometheusNoDataError) as caught:
            collector.gather()
        seen.append(_everything_about(caught.value))

    assert 'total_workers_vcpu=32' in caplog.text  # the logs did capture the run
    for text in (caplog.text, *seen):
        assert TOKEN not in text
        assert 'vcpu-test-token' not in text
