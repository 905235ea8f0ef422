"""Direct usage from job host summaries: one row per (day, job, host identity, inventory name).

Only reachable results count (`ok + failures + skipped + ignored + rescued > 0`); unreachable-only rows are kept
aside in `pairs` so event rows of every (job, host) with a summary can still be mapped to their identity, with
`reachable` telling the content rollup whether that pair may count as a managed node.
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from .base import NO_ORGANIZATION, Rollup, drop_redelivered, identity

INDEX = [
    'day',
    'install_uuid',
    'organization_name',
    'job_template_name',
    'job_remote_id',
    'host_name',
    'original_host_name',
]
PAIR_COLUMNS = ['install_uuid', 'job_remote_id', 'original_host_name', 'host_name', 'organization_name']


class JobHostSummaryUsage(Rollup):
    name: ClassVar[str] = 'job_host_summary'
    sources: ClassVar[tuple[str, ...]] = ('job_host_summary',)
    index: ClassVar[list[str]] = INDEX
    fields: ClassVar[dict[str, str]] = {
        'day': 'datetime64[us]', 'install_uuid': 'str', 'organization_name': 'str', 'job_template_name': 'str',
        'job_remote_id': 'Int64', 'host_name': 'str', 'original_host_name': 'str', 'task_runs': 'int64',
        'host_runs': 'int64', 'first_automation': 'datetime64[us, UTC]', 'last_automation': 'datetime64[us, UTC]',
        'job_created': 'datetime64[us, UTC]',
    }  # fmt: skip
    dedupe_on: ClassVar[list[str] | None] = ['install_uuid', 'id']
    raw_fields: ClassVar[dict[str, str]] = {'id': 'Int64', 'reachable': 'bool'}

    def __init__(self) -> None:
        super().__init__()
        self.pairs = pd.DataFrame({c: pd.Series(dtype='str') for c in PAIR_COLUMNS}).astype({'job_remote_id': 'Int64'})
        self.pairs['reachable'] = pd.Series(dtype='bool')

    def prepare(self, raw: pd.DataFrame, install_uuid: str, day: pd.Timestamp) -> pd.DataFrame:
        raw = raw[raw['host_name'].notna()]
        counts = {c: raw[c].fillna(0) for c in ('dark', 'failures', 'ok', 'skipped', 'ignored', 'rescued')}
        reachable = counts['ok'] + counts['failures'] + counts['skipped'] + counts['ignored'] + counts['rescued']
        return pd.DataFrame(
            {
                'day': day,
                'install_uuid': install_uuid,
                'organization_name': raw['organization_name'].fillna(NO_ORGANIZATION),
                'job_template_name': raw['job_template_name'].fillna(''),
                'job_remote_id': raw['job_remote_id'],
                'host_name': identity(raw['host_name'], raw['ansible_host_variable']),
                'original_host_name': raw['host_name'],
                'task_runs': reachable + counts['dark'],
                'host_runs': 1,
                'first_automation': raw['created'],
                'last_automation': raw['created'],
                'job_created': raw['job_created'],
                'id': raw['id'],
                'reachable': reachable > 0,
            }
        )

    def group(self) -> pd.DataFrame:
        frame = pd.concat(self._raw, ignore_index=True) if self._raw else self.empty_raw()
        self._raw = []
        frame = drop_redelivered(frame, ['install_uuid', 'id'])
        self.pairs = (
            frame[[*PAIR_COLUMNS, 'reachable']]
            .groupby(PAIR_COLUMNS, sort=False, dropna=False)['reachable']
            .any()
            .reset_index()
        )
        reached = frame[frame['reachable']]
        del frame  # all rows are not needed any more: free them before grouping the reachable ones
        self.data = self._conform(self.aggregate(reached))
        return self.data

    def aggregate(self, frame: pd.DataFrame) -> pd.DataFrame:
        return (
            frame.groupby(INDEX, sort=False, dropna=False)
            .agg(
                task_runs=('task_runs', 'sum'),
                host_runs=('host_runs', 'sum'),
                first_automation=('first_automation', 'min'),
                last_automation=('last_automation', 'max'),
                job_created=('job_created', 'max'),
            )
            .reset_index()
        )
