"""Usage and health of each MetricsCollection as Prometheus metrics, rendered from its `status` at scrape time.

Every value comes from the status the operator persists in the resource (see `docs/metrics.md`), so a restarted
operator exposes the same series with the same values, counters included (they come from `status.<kind>.totals`,
which count each Job once). A collection that is deleted is forgotten and its series disappear.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from metrics_operator import names
from metrics_operator.status import parse_time

LABELS = ['namespace', 'collection']
KIND_LABELS = [*LABELS, 'kind']
MONTH_LABELS = [*LABELS, 'period', 'month']
FIGURES = ('rows', 'bytes', 'packages')


def _timestamp(value: str | None) -> float | None:
    moment = parse_time(value)
    return moment.timestamp() if moment is not None else None


class CollectionMetrics(Collector):
    """A custom collector over the last published status of each collection (thread-safe: scrapes run in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[tuple[str, str], dict[str, Any]] = {}

    def observe(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        with self._lock:
            self._status[(namespace, name)] = copy.deepcopy(dict(status))

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._status.pop((namespace, name), None)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = sorted(self._status.items())
        g = {
            'ready': GaugeMetricFamily(
                'metrics_utility_collection_ready', '1 when the collection is Ready, else 0.', labels=LABELS
            ),
            'success_ts': GaugeMetricFamily(
                'metrics_utility_last_success_timestamp_seconds',
                'When a Job of this kind last succeeded (gather: last successful upload).',
                labels=KIND_LABELS,
            ),
            'failure_ts': GaugeMetricFamily(
                'metrics_utility_last_failure_timestamp_seconds',
                'When a Job of this kind last failed.',
                labels=KIND_LABELS,
            ),
            'last_ok': GaugeMetricFamily(
                'metrics_utility_last_run_success',
                '1 when the newest finished Job of this kind succeeded, else 0.',
                labels=KIND_LABELS,
            ),
            'successes': CounterMetricFamily(
                'metrics_utility_successes', 'Jobs of this kind that succeeded, counted once each.', labels=KIND_LABELS
            ),
            'failures': CounterMetricFamily(
                'metrics_utility_failures', 'Jobs of this kind that failed, counted once each.', labels=KIND_LABELS
            ),
        }
        last = {
            f: GaugeMetricFamily(
                f'metrics_utility_gather_last_{f}', f'{f} of the last successful gather', labels=LABELS
            )
            for f in FIGURES
        }
        total = {
            f: CounterMetricFamily(f'metrics_utility_gather_{f}', f'{f} of all successful gathers', labels=LABELS)
            for f in FIGURES
        }
        shipped = GaugeMetricFamily(
            'metrics_utility_gather_shipped_until_timestamp_seconds',
            'End (excluded) of the window the last successful gather shipped.',
            labels=LABELS,
        )
        nodes = GaugeMetricFamily(
            'metrics_utility_unique_managed_nodes',
            'Unique managed nodes (billing definition) month-to-date, as of the last successful gather.',
            labels=MONTH_LABELS,
        )
        runs = GaugeMetricFamily(
            'metrics_utility_job_runs',
            'Controller job runs month-to-date, as of the last successful gather.',
            labels=MONTH_LABELS,
        )
        billed = GaugeMetricFamily(
            'metrics_utility_report_billed_managed_nodes',
            'Billed managed nodes (quantity) of the last report built.',
            labels=[*LABELS, 'period'],
        )
        vcpu = GaugeMetricFamily('metrics_utility_vcpu_last_value', 'vCPUs of the last vCPU gather.', labels=LABELS)

        for (namespace, name), status in snapshot:
            who = [namespace, name]
            ready = next((c for c in status.get('conditions') or [] if c.get('type') == 'Ready'), {})
            g['ready'].add_metric(who, 1.0 if ready.get('status') == 'True' else 0.0)
            for kind in names.JOB_KINDS:
                block = status.get(kind) or {}
                if not block:
                    continue
                labels = [*who, kind]
                for key, family in (('lastSuccessTime', 'success_ts'), ('lastFailureTime', 'failure_ts')):
                    moment = _timestamp(block.get(key))
                    if moment is not None:
                        g[family].add_metric(labels, moment)
                if block.get('lastResult'):
                    g['last_ok'].add_metric(labels, 1.0 if block['lastResult'] == 'Succeeded' else 0.0)
                counted = block.get('totals') or {}
                g['successes'].add_metric(labels, float(counted.get('succeeded', 0)))
                g['failures'].add_metric(labels, float(counted.get('failed', 0)))
            gather = status.get('gather') or {}
            if gather.get('lastSuccessTime'):
                for f in FIGURES:
                    if isinstance(gather.get(f), int):
                        last[f].add_metric(who, float(gather[f]))
            if gather:
                for f in FIGURES:
                    total[f].add_metric(who, float((gather.get('totals') or {}).get(f, 0)))
            until = _timestamp((gather.get('lastWindow') or {}).get('until'))
            if until is not None:
                shipped.add_metric(who, until)
            usage = gather.get('usage') or {}
            if usage.get('month'):
                nodes.add_metric([*who, 'month', usage['month']], float(usage.get('uniqueManagedNodes', 0)))
                runs.add_metric([*who, 'month', usage['month']], float(usage.get('jobRuns', 0)))
            report = status.get('report') or {}
            if isinstance(report.get('billedQuantity'), int):
                billed.add_metric([*who, report.get('lastPeriod') or ''], float(report['billedQuantity']))
            value = (status.get('vcpu') or {}).get('lastValue')
            if isinstance(value, int | float):
                vcpu.add_metric(who, float(value))
        yield from g.values()
        yield from last.values()
        yield from total.values()
        yield from (shipped, nodes, runs, billed, vcpu)
