"""Content usage from runner result events: modules, collections and roles per (day, job, host identity).

Events are counted for (job, host) pairs that have a job host summary in the same day partition (the event
collector scopes events by those summaries); their host name is mapped to the summary's identity, and they take the
job's organization so the organization filter applies to them too. `reachable` says whether the pair had a reachable
summary: only those make a managed node on a content row (the billing contract), while task runs and durations
count every result event of the pair.
"""

from __future__ import annotations

import re
from typing import ClassVar

import pandas as pd

from .base import NO_ORGANIZATION, Rollup, blank, drop_redelivered

NO_COLLECTION = 'No collection used'
NO_ROLE = 'No role used'
FQCN = re.compile(r'^(\w+)\.(\w+)\.(\w+)(\.\w+)*$')
INDEX = [
    'day',
    'install_uuid',
    'organization_name',
    'job_remote_id',
    'host_name',
    'module_name',
    'collection_name',
    'role_name',
    'reachable',
]


def collection_of(module: pd.Series) -> pd.Series:
    """`ns.coll` for a dotted name of three or more parts, else 'No collection used'.

    Computed once per distinct module name (a day has ~10⁵ events but few distinct modules)."""
    names = pd.Series(module.dropna().unique(), dtype='str')
    parts = names.str.extract(FQCN)
    collections = dict(zip(names, (parts[0] + '.' + parts[1]).fillna(NO_COLLECTION), strict=True))
    return module.map(collections).fillna(NO_COLLECTION).astype('str')


def _text(series: pd.Series) -> pd.Series:
    """The exact value where it is not blank (a blank `resolved_action` falls back to `task_action`), else NA."""
    return series.where(~blank(series))


class ContentUsage(Rollup):
    name: ClassVar[str] = 'main_jobevent'
    sources: ClassVar[tuple[str, ...]] = ('main_jobevent',)
    index: ClassVar[list[str]] = INDEX
    fields: ClassVar[dict[str, str]] = {
        'day': 'datetime64[us]', 'install_uuid': 'str', 'organization_name': 'str', 'job_remote_id': 'Int64',
        'host_name': 'str', 'module_name': 'str', 'collection_name': 'str', 'role_name': 'str', 'reachable': 'bool',
        'task_runs': 'int64', 'duration': 'float64',
    }  # fmt: skip
    dedupe_on: ClassVar[list[str] | None] = ['install_uuid', 'id']
    raw_fields: ClassVar[dict[str, str]] = {'id': 'Int64', 'original_host_name': 'str'}
    unmatched = 0  # events of the last group() without a job host summary

    def prepare(self, raw: pd.DataFrame, install_uuid: str, day: pd.Timestamp) -> pd.DataFrame:
        raw = raw[raw['task_action'].notna() & raw['host_name'].notna()]
        module = _text(raw['resolved_action']).fillna(raw['task_action'])
        role = _text(raw['resolved_role']).fillna(_text(raw['role'])).fillna(NO_ROLE)
        return pd.DataFrame(
            {
                'day': day,
                'install_uuid': install_uuid,
                'job_remote_id': raw['job_remote_id'],
                'original_host_name': raw['host_name'],
                'module_name': module,
                'collection_name': collection_of(module),
                'role_name': role,
                'task_runs': 1,
                'duration': raw['duration'].fillna(0.0),
                'id': raw['id'],
            }
        )

    def group_with(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Roll up the day's events, keeping those whose (job, host) has a summary: `pairs` from the JHS rollup."""
        frame = pd.concat(self._raw, ignore_index=True) if self._raw else self.empty_raw()
        self._raw = []
        frame = drop_redelivered(frame, ['install_uuid', 'id'])
        merged = frame.drop(columns=['host_name', 'organization_name', 'reachable'], errors='ignore').merge(
            pairs, on=['install_uuid', 'job_remote_id', 'original_host_name'], how='inner'
        )
        self.unmatched = len(frame) - len(merged)
        merged['organization_name'] = merged['organization_name'].fillna(NO_ORGANIZATION)
        self.data = self._conform(self.aggregate(merged))
        return self.data

    def group(self) -> pd.DataFrame:
        raise TypeError('ContentUsage needs the day’s job host summary pairs: call group_with(pairs)')

    def aggregate(self, frame: pd.DataFrame) -> pd.DataFrame:
        return (
            frame.groupby(INDEX, sort=False, dropna=False)
            .agg(task_runs=('task_runs', 'sum'), duration=('duration', 'sum'))
            .reset_index()
        )
