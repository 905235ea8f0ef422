"""Dataframes: one rollup-able class per source, and daily parquet rollups persisted in storage."""

from .base import NO_ORGANIZATION, Rollup
from .collection_status import CollectionStatus
from .content_usage import NO_COLLECTION, NO_ROLE, ContentUsage
from .host_metric import HostMetric
from .indirect_nodes import IndirectNodes
from .inventory_scope import InventoryScope
from .job_host_summary import JobHostSummaryUsage
from .store import ROLLUP_VERSION, ROLLUPS, PeriodData, RollupStore, rollup_prefix

__all__ = [
    'NO_COLLECTION',
    'NO_ORGANIZATION',
    'NO_ROLE',
    'ROLLUPS',
    'ROLLUP_VERSION',
    'CollectionStatus',
    'ContentUsage',
    'HostMetric',
    'IndirectNodes',
    'InventoryScope',
    'JobHostSummaryUsage',
    'PeriodData',
    'Rollup',
    'RollupStore',
    'rollup_prefix',
]
