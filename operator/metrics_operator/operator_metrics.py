"""Prometheus metrics of the operator itself, on a registry of its own (no process-global side effects)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

from metrics_operator.collection_metrics import CollectionMetrics


@dataclass
class OperatorMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    collections: CollectionMetrics = field(default_factory=CollectionMetrics)  # usage and health, from status

    def __post_init__(self) -> None:
        self.reconciles = Counter(
            'metrics_operator_reconciles',
            'Reconciliations of MetricsCollections by outcome.',
            ['namespace', 'name', 'result'],
            registry=self.registry,
        )
        self.errors = Counter(
            'metrics_operator_errors', 'Unexpected errors in handlers.', ['handler'], registry=self.registry
        )
        self.ready = Gauge(
            'metrics_operator_collection_ready',
            '1 when the collection is Ready.',
            ['namespace', 'name'],
            registry=self.registry,
        )
        self.last_reconcile = Gauge(
            'metrics_operator_last_reconcile_success_timestamp_seconds',
            'When the collection was last reconciled without error.',
            ['namespace', 'name'],
            registry=self.registry,
        )
        self.last_job_success = Gauge(
            'metrics_operator_last_job_success_timestamp_seconds',
            'When a Job of the collection last succeeded, per kind (gather, report, vcpu).',
            ['namespace', 'name', 'kind'],
            registry=self.registry,
        )
        self.registry.register(self.collections)

    def forget(self, namespace: str, name: str) -> None:
        """Drop the series of a deleted collection so dashboards do not show ghosts."""
        self.collections.forget(namespace, name)
        for gauge in (self.ready, self.last_reconcile):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)
        for kind in ('gather', 'report', 'vcpu'):
            with contextlib.suppress(KeyError):
                self.last_job_success.remove(namespace, name, kind)
