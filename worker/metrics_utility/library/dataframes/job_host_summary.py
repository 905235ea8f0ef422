"""Direct usage from job host summaries: one row per (day, job, host identity, inventory name).

Only reachable results count (`ok + failures + skipped + ignored + rescued > 0`); unreachable-only rows are kept
aside in `pairs` so event rows of every (job, host) with a summary can still be mapped to their identity, with
`reachable` telling the content rollup whether that pair may count as a managed node.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
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
        self.pairs = _pairs(frame)
        reached = _take(frame, frame['reachable'].to_numpy(dtype=bool))
        del frame
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


def _take(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """`frame[rows]`, a column at a time, each column of `frame` dropped once taken: a large day's summaries
    (~130 MiB for 400k rows) are not held twice while the reachable ones are copied."""
    taken = {}
    for column in list(frame.columns):
        taken[column] = frame[column][rows]
        del frame[column]
    return pd.DataFrame(taken, copy=False)


def _pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """The distinct `PAIR_COLUMNS` rows in order of first appearance, with `reachable` true when any of their rows
    is: what a group-by of the text columns gives (missing values are values), grouped on one integer code per row
    instead. The group-by of a large day's 400k summaries held ~140 MiB of hash tables and objects at once."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in PAIR_COLUMNS:
        part, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        codes, _ = pd.factorize(codes * len(uniques) + part)  # a code of the columns so far and this one
    first = np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())  # codes count up in this order
    pairs = frame[PAIR_COLUMNS].take(first).reset_index(drop=True)
    pairs['reachable'] = np.bincount(codes[frame['reachable'].to_numpy(dtype=bool)], minlength=len(first)) > 0
    return pairs
