"""The controller tables each collector reads: one declaration per collector, so `metrics-utility check` can
verify SELECT on exactly what the configured collectors need before the first run (docs/check.md).

A test holds each entry against its collector twice: every table named here appears in the collector's SQL, and the
collector runs as a role granted SELECT on these tables alone. Catalogs (`pg_class`, …) need no grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

_JOBS: Final = ('main_unifiedjob', 'main_job', 'main_unifiedjobtemplate', 'main_inventory', 'main_organization')
_INVENTORY_HOSTS: Final = (
    'main_host',
    'main_inventory',
    'main_organization',
    'main_jobhostsummary',
    'main_unifiedjob',
    'main_hostmetric',
)

TABLES_READ: Final[Mapping[str, tuple[str, ...]]] = {
    'config': ('conf_setting', 'main_instance'),  # every package's config.json
    'controller_version_service': ('main_instance',),
    'credentials_service': ('main_unifiedjob_credentials', 'main_unifiedjob', 'main_credential', 'main_credentialtype'),
    'execution_environments': ('main_executionenvironment',),
    'job_host_summary': ('main_jobhostsummary', *_JOBS, 'main_host'),
    'job_host_summary_service': ('main_jobhostsummary', *_JOBS, 'django_content_type'),
    'main_host': _INVENTORY_HOSTS,
    'main_host_daily': _INVENTORY_HOSTS,
    'main_hostmetric': ('main_hostmetric', 'main_host'),
    'main_indirectmanagednodeaudit': ('main_indirectmanagednodeaudit', *_JOBS),
    'main_jobevent': ('main_jobevent', 'main_jobhostsummary', 'main_unifiedjob'),
    'main_jobevent_service': ('main_jobevent', 'main_unifiedjob'),
    'table_metadata': (),  # catalogs only
    'unified_jobs': (*_JOBS, 'main_project', 'main_executionenvironment', 'django_content_type'),
    'total_workers_vcpu': (),  # Prometheus, not the database
}
# Tables a collector skips when absent (older controllers): missing is fine, a denied SELECT is not.
OPTIONAL_TABLES: Final = frozenset({'main_indirectmanagednodeaudit'})


def tables_read(collectors: Iterable[str]) -> tuple[str, ...]:
    """The sorted tables that `collectors` (plus `config`, which every package runs) read."""
    return tuple(sorted({table for key in ('config', *collectors) for table in TABLES_READ[key]}))
