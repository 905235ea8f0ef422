"""The operator's usage/health exposition: the real operator against the emulator, scraped over HTTP and parsed
with prometheus_client's own parser; identical after a restart, gone after a delete."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families

from metrics_operator.collection_metrics import CollectionMetrics
from testsupport.kube_client import ApiUser, mc_path
from testsupport.operator_runner import OperatorRun, eventually
from testsupport.operator_samples import GATHER_SUMMARY, claim, collection, db_secret

NS = 'default'
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str, prefix: str = 'metrics_utility_') -> tuple[Samples, dict[str, str]]:
    """(samples by name and sorted labels, type by family) of the families starting with `prefix`."""
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith(prefix):
            continue
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.mark.unit
def test_collector_renders_status_and_forgets():
    metrics = CollectionMetrics()
    status = {
        'conditions': [{'type': 'Ready', 'status': 'True'}],
        'gather': {'lastSuccessTime': '2026-03-02T04:01:00Z', 'rows': 7, 'lastResult': 'Succeeded'},
    }
    metrics.observe('ns', 'c', status)
    status['gather']['rows'] = 999  # the collector keeps its own copy
    families = {f.name: f for f in metrics.collect()}
    assert [s.value for s in families['metrics_utility_gather_last_rows'].samples] == [7.0]
    assert families['metrics_utility_collection_ready'].samples[0].labels == {'namespace': 'ns', 'collection': 'c'}
    # A block without totals yet still exposes its counters at 0 (so increase() has a start).
    assert [s.value for s in families['metrics_utility_failures'].samples] == [0.0]
    metrics.forget('ns', 'c')
    assert all(not f.samples for f in metrics.collect())


class Endpoint:
    """The operator's metrics endpoint as `main` serves it (prometheus_client's HTTP server on its registry)."""

    def __init__(self, run: OperatorRun) -> None:
        assert run.runtime is not None
        self.server, self.thread = start_http_server(0, addr='127.0.0.1', registry=run.runtime.metrics.registry)

    async def scrape(self) -> str:
        url = f'http://127.0.0.1:{self.server.server_port}/metrics'

        def get() -> str:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.headers['Content-Type'].startswith('text/plain')
                return response.read().decode()

        return await asyncio.to_thread(get)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
async def endpoints() -> AsyncIterator[Callable[[OperatorRun], Endpoint]]:
    opened: list[Endpoint] = []

    def open_(run: OperatorRun) -> Endpoint:
        opened.append(Endpoint(run))
        return opened[-1]

    yield open_
    for endpoint in opened:
        endpoint.close()


def status_of(kube_api, name: str = 'controller') -> dict:
    return (kube_api.get_object('metricscollections', NS, name) or {}).get('status') or {}


GATHER = GATHER_SUMMARY | {'usage': {'month': '2026-03', 'unique_managed_nodes': 17, 'job_runs': 5}}
REPORT = {
    'command': 'build-report',
    'ok': True,
    'report': 'reports/2026/02/CCSPv2-2026-02.xlsx',
    'quantity': 42,
    'period': '2026-02',
    'target': 'directory',
}


@pytest.mark.integration
async def test_endpoint_exposes_usage_survives_restart_and_forgets_deleted(kube_api, operator, cronjobs, endpoints):
    user = ApiUser(str(kube_api.url))
    await user.create('secrets', db_secret())
    await user.create('persistentvolumeclaims', claim())
    await user.create('metricscollections', collection())
    await eventually(lambda: kube_api.get_object('cronjobs', NS, 'controller-report'), what='CronJobs rendered')

    def counted(kind: str, succeeded: int, failed: int) -> Callable[[], bool]:
        def check() -> bool:
            found = (status_of(kube_api).get(kind) or {}).get('totals') or {}
            return found.get('succeeded') == succeeded and found.get('failed') == failed

        return check

    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(GATHER), at=T0)
    await eventually(counted('gather', 1, 0), what='first gather counted')
    failed = {'command': 'gather', 'ok': False, 'error': 'cannot connect to controller-postgres:5432'}
    await cronjobs.run(NS, 'controller-gather', succeeded=False, message=json.dumps(failed), at=T0 + timedelta(hours=1))
    await eventually(counted('gather', 1, 1), what='failed gather counted')
    second = {
        **GATHER,
        'rows': 10,
        'bytes': 33,
        'packages': 1,
        'window': {'since': '2026-03-02T03:50:00Z', 'until': '2026-03-02T05:50:00Z'},
        'usage': {'month': '2026-03', 'unique_managed_nodes': 19, 'job_runs': 8},
    }
    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(second), at=T0 + timedelta(hours=2))
    await eventually(counted('gather', 2, 1), what='second gather counted')
    await cronjobs.run(NS, 'controller-report', succeeded=True, message=json.dumps(REPORT), at=T0)
    await eventually(counted('report', 1, 0), what='report counted')

    endpoint = endpoints(operator)
    who = {'namespace': NS, 'collection': 'controller'}
    samples, types = parse(await endpoint.scrape())
    assert value(samples, 'metrics_utility_collection_ready', **who) == 1
    last_gather = datetime(2026, 3, 2, 6, 1, tzinfo=UTC).timestamp()
    assert value(samples, 'metrics_utility_last_success_timestamp_seconds', **who, kind='gather') == last_gather
    assert value(samples, 'metrics_utility_last_failure_timestamp_seconds', **who, kind='gather') == (
        datetime(2026, 3, 2, 5, 1, tzinfo=UTC).timestamp()
    )
    assert value(samples, 'metrics_utility_last_run_success', **who, kind='gather') == 1
    assert value(samples, 'metrics_utility_successes_total', **who, kind='gather') == 2
    assert value(samples, 'metrics_utility_failures_total', **who, kind='gather') == 1
    assert value(samples, 'metrics_utility_failures_total', **who, kind='report') == 0
    assert value(samples, 'metrics_utility_gather_last_rows', **who) == 10
    assert value(samples, 'metrics_utility_gather_rows_total', **who) == 133
    assert value(samples, 'metrics_utility_gather_bytes_total', **who) == 4567 + 33
    assert value(samples, 'metrics_utility_gather_packages_total', **who) == 3
    assert value(samples, 'metrics_utility_gather_shipped_until_timestamp_seconds', **who) == (
        datetime(2026, 3, 2, 5, 50, tzinfo=UTC).timestamp()
    )
    month = {**who, 'period': 'month', 'month': '2026-03'}
    assert value(samples, 'metrics_utility_unique_managed_nodes', **month) == 19
    assert value(samples, 'metrics_utility_job_runs', **month) == 8
    assert value(samples, 'metrics_utility_report_billed_managed_nodes', **who, period='2026-02') == 42
    assert types['metrics_utility_gather_rows'] == 'counter' and types['metrics_utility_gather_last_rows'] == 'gauge'
    assert types['metrics_utility_failures'] == 'counter'
    # No secret and no free text (errors) in any label.
    assert all(set(dict(labels)) <= {'namespace', 'collection', 'kind', 'period', 'month'} for _, labels in samples)

    # Restart: a new process with empty memory exposes exactly the same series and values.
    await operator.restart()
    again = endpoints(operator)

    async def same() -> bool:
        return parse(await again.scrape()) == (samples, types)

    await eventually(same, what='identical exposition after the restart')

    # Delete: every series of the collection disappears.
    await user.delete(mc_path('controller'))

    async def gone() -> bool:
        found, _ = parse(await again.scrape())
        return not [labels for _, labels in found if ('collection', 'controller') in labels]

    await eventually(gone, what='series of the deleted collection gone')
