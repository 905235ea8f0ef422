"""Every collector a gather may run, by key: one explicit table, nothing registered as a side effect of an import.

A new collector is added here (and to `metrics_utility.contract.COLLECTORS`, which the operator and its CRD are built
from; `tests/metrics_utility/library/collectors/test_registry.py` compares key, kind and format). `CONFIG` is the
collector whose result becomes every package's `config.json`; it is no data collector of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import controller
from .base import CollectorFactory
from .prometheus.total_workers_vcpu import total_workers_vcpu

CONFIG: CollectorFactory = controller.config

COLLECTORS: Mapping[str, CollectorFactory] = MappingProxyType(
    {
        factory.info.key: factory
        for factory in (
            controller.job_host_summary,
            controller.job_host_summary_service,
            controller.main_host,
            controller.main_host_daily,
            controller.main_hostmetric,
            controller.main_indirectmanagednodeaudit,
            controller.main_jobevent,
            controller.main_jobevent_service,
            controller.unified_jobs,
            controller.execution_environments,
            controller.credentials_service,
            controller.controller_version_service,
            controller.table_metadata,
            total_workers_vcpu,
        )
    }
)


def snapshot_keys(keys: list[str]) -> list[str]:
    """The keys among `keys` whose collectors read the state at the time of the run (one package per run)."""
    return [key for key in keys if COLLECTORS[key].info.kind == 'snapshot']


def windowed_keys(keys: list[str]) -> list[str]:
    """The keys among `keys` whose collectors read a window (daily slices, watermarks)."""
    return [key for key in keys if COLLECTORS[key].info.kind == 'windowed']
