"""Build a report from a storage: rollups → report data → workbook file → storage.

Everything a report needs comes through the `Storage` interface, so the same call builds from a local directory,
a PVC or S3, and from tarballs gathered by metrics-utility or by us.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pandas as pd

from metrics_utility.library.dataframes import RollupStore
from metrics_utility.library.dataframes.combine import load_by_installation
from metrics_utility.library.extract import Problem
from metrics_utility.library.extract.multi import controllers
from metrics_utility.library.storage import Storage
from metrics_utility.library.storage.multi import MultiStorage

from . import cache, installations
from .ccsp import ReportCCSP
from .ccspv2 import ReportCCSPv2
from .data import ReportData
from .options import ReportOptions
from .renewal import ReportRenewalGuidance

log = logging.getLogger(__name__)

NEEDS = {
    'ccsp_summary': {'job_host_summary'}, 'jobs': {'job_host_summary'}, 'managed_nodes': {'job_host_summary'},
    'managed_nodes_by_organizations': {'job_host_summary'}, 'usage_trend': {'job_host_summary'},
    'indirectly_managed_nodes': {'main_indirectmanagednodeaudit', 'job_host_summary'},
    'infrastructure_summary': {'main_indirectmanagednodeaudit'}, 'inventory_scope': {'main_host'},
    'usage_by_organizations': {'job_host_summary', 'main_indirectmanagednodeaudit'},
    'usage_by_collections': {'main_jobevent'}, 'usage_by_roles': {'main_jobevent'},
    'usage_by_modules': {'main_jobevent'}, 'data_collection_status': {'data_collection_status'},
}  # fmt: skip


def required_rollups(options: ReportOptions) -> set[str]:
    if options.report_type == 'RENEWAL_GUIDANCE':
        return {'main_hostmetric'}
    names = {'job_host_summary'}
    for sheet in options.sheets:
        names |= NEEDS.get(sheet, set())
    if options.deduplicator == 'ccsp-experimental':
        names.add('main_host')
    return names


def report_name(options: ReportOptions) -> str:
    """`reports/YYYY/MM/<TYPE>-<YYYY-MM>.xlsx` for a month, else `…/<TYPE>-<since>--<until>.xlsx` (until inclusive)."""
    last = options.until - timedelta(days=1)
    if options.month:
        return f'reports/{options.since:%Y/%m}/{options.report_type}-{options.month}.xlsx'
    return f'reports/{last:%Y/%m}/{options.report_type}-{options.since.isoformat()}--{last.isoformat()}.xlsx'


@dataclass
class BuildResult:
    path: Path | None
    quantity: int | None = None
    problems: list[Problem] = field(default_factory=list)
    days_rebuilt: int = 0
    message: str = ''
    job_runs: int | None = None  # distinct (installation, job) of the direct usage, for the report's sidecar


def build(
    storage: Storage,
    options: ReportOptions,
    out: Path,
    *,
    force_rollups: bool = False,
    persist_rollups: bool = True,
    workers: int = 1,
) -> BuildResult:
    """Write the workbook to `out`; returns path None (and a message) when the period holds no billing data.

    `workers` > 1 builds stale days in spawned processes: only for callers whose main module is safe to import again
    (the `build-report` command is); the default builds in this process.

    CCSP and CCSPv2 figures are cached per period (`cache`): a rebuild over unchanged rollups reads them back. Several
    storages (`MultiStorage`) keep rollups per installation (dataframes/combine.py) and are not cached.
    """
    names = required_rollups(options)
    cls = ReportCCSPv2 if options.report_type == 'CCSPv2' else ReportCCSP
    store = (
        None if isinstance(storage, MultiStorage) else RollupStore(storage, persist=persist_rollups, workers=workers)
    )
    if store is not None and options.report_type != 'RENEWAL_GUIDANCE' and not force_rollups:
        name = cache.cache_name(options, store.fingerprint(options.since, options.until, names))
        figures = cache.load(storage, name) if name else None
        if figures is not None:
            cls(options, figures).build().save(out)
            jobs = figures.frames.get('jobs')
            runs = int(jobs['job_runs'].sum()) if jobs is not None else None  # a job has one template
            return BuildResult(out, figures.quantity, figures.problems, 0, job_runs=runs)
    if store is None:
        period = load_by_installation(
            storage, options.since, options.until, names, force=force_rollups, persist=persist_rollups
        )
    else:
        period = store.load(options.since, options.until, names, force=force_rollups, compact=True)
    if options.report_type == 'RENEWAL_GUIDANCE':
        result = build_renewal(options, period['main_hostmetric'], out)
        result.problems = period.problems
        result.days_rebuilt = len(period.days_rebuilt) if result.path is not None else 0
        return result
    data = ReportData.from_period(period, options.organization_filter, options.deduplicator)
    if data.empty:
        return BuildResult(
            None,
            problems=period.problems,
            days_rebuilt=len(period.days_rebuilt),
            message='No billing data for the period',
        )
    wanted = installations.with_sheet(options, data.direct)  # several installations: per-installation sheet
    if wanted.wants('usage_by_installations'):
        data.controllers = controllers(storage, options.since, options.until)
    figures = cls.compute(wanted, data)
    job_runs = len(data.direct[['install_uuid', 'job_remote_id']].drop_duplicates())
    del data
    period.frames = {}  # the month's frames are not needed any more: free them before writing
    if persist_rollups and store is not None:
        name = cache.cache_name(options, store.fingerprint(options.since, options.until, names))
        if name:
            cache.save(storage, name, figures)
    cls(wanted, figures).build().save(out)
    return BuildResult(out, figures.quantity, period.problems, len(period.days_rebuilt), job_runs=job_runs)


def build_renewal(options: ReportOptions, host_metrics: pd.DataFrame, out: Path) -> BuildResult:
    """The RENEWAL_GUIDANCE workbook from HostMetric rows, whether rolled up from packages or read from the
    controller database (`library.extract.controller_db`)."""
    if host_metrics.empty:
        return BuildResult(None, message='No billing data (no host metrics)')
    report = ReportRenewalGuidance(options, host_metrics)
    report.build().save(out)
    return BuildResult(out, len(report.machines))
