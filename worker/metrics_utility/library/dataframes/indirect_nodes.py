"""Indirectly managed nodes from the audit table: devices automated through modules that report them."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from .base import NO_ORGANIZATION, Rollup, union_lists

INDEX = ['day', 'install_uuid', 'organization_name', 'job_template_name', 'job_remote_id', 'host_name']


class IndirectNodes(Rollup):
    name: ClassVar[str] = 'main_indirectmanagednodeaudit'
    sources: ClassVar[tuple[str, ...]] = ('main_indirectmanagednodeaudit',)
    index: ClassVar[list[str]] = INDEX
    fields: ClassVar[dict[str, str]] = {
        'day': 'datetime64[us]', 'install_uuid': 'str', 'organization_name': 'str', 'job_template_name': 'str',
        'job_remote_id': 'Int64', 'host_name': 'str', 'task_runs': 'int64', 'host_runs': 'int64',
        'first_automation': 'datetime64[us, UTC]', 'last_automation': 'datetime64[us, UTC]',
        'job_created': 'datetime64[us, UTC]', 'canonical_facts': 'str', 'facts': 'str', 'events': 'str',
    }  # fmt: skip
    dedupe_on: ClassVar[list[str] | None] = ['install_uuid', 'id']
    raw_fields: ClassVar[dict[str, str]] = {'id': 'Int64'}

    def prepare(self, raw: pd.DataFrame, install_uuid: str, day: pd.Timestamp) -> pd.DataFrame:
        raw = raw[raw['host_name'].notna()]
        return pd.DataFrame(
            {
                'day': day,
                'install_uuid': install_uuid,
                'organization_name': raw['organization_name'].fillna(NO_ORGANIZATION),
                'job_template_name': raw['job_template_name'].fillna(''),
                'job_remote_id': raw['job_remote_id'],
                'host_name': raw['host_name'],
                'task_runs': raw['task_runs'].fillna(0),
                'host_runs': 1,
                'first_automation': raw['created'],
                'last_automation': raw['created'],
                'job_created': raw['job_created'],
                'canonical_facts': raw['canonical_facts'],
                'facts': raw['facts'],
                'events': raw['events'],
                'id': raw['id'],
            }
        )

    def aggregate(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.sort_values('last_automation', kind='stable')
        grouped = frame.groupby(INDEX, sort=False, dropna=False)
        out = grouped.agg(
            task_runs=('task_runs', 'sum'),
            host_runs=('host_runs', 'sum'),
            first_automation=('first_automation', 'min'),
            last_automation=('last_automation', 'max'),
            job_created=('job_created', 'max'),
        )
        latest = grouped[['canonical_facts', 'facts']].last()
        events = union_lists(frame, INDEX, 'events').rename('events')
        return pd.concat([out, latest, events], axis=1).reset_index()
