"""The report figures, as pure functions of the period's rollup frames (no I/O, easy to test).

Definitions (docs/reports.md): a managed node is a distinct identity with a reachable result; job runs are
distinct (install_uuid, job id); non-unique managed nodes are distinct (identity, install_uuid, job id) pairs —
one machine automated by one job counts once, even when it sits in two inventories of that job; task runs are
summed. Indirect nodes are figured separately and never enter direct figures.

The large frames (direct usage, events) may hold their text as categoricals (`RollupStore.load(compact=True)`):
every group-by here passes `observed=True` (only values present form groups, whatever the pandas default), and each
figure's text columns are turned back into plain strings (`_plain`) before sorting, merging on them or output.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from metrics_utility.library.dataframes.base import json_list

JOB = ['install_uuid', 'job_remote_id']
PAIR = ['host_name', 'install_uuid', 'job_remote_id']


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns back to their categories' (string) dtype."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not text:
        return frame
    return frame.assign(**{c: frame[c].astype(frame[c].cat.categories.dtype) for c in text})


def _plain_index(series: pd.Series) -> pd.Series:
    if isinstance(series.index.dtype, pd.CategoricalDtype):
        series.index = series.index.astype(series.index.categories.dtype)
    return series


def _count_distinct(frame: pd.DataFrame, by: list[str], columns: list[str], name: str) -> pd.Series:
    """Distinct rows of `by` + `columns` per `by` group (missing values equal each other), as `drop_duplicates`
    then a group size — the rows told apart by one int64 per row instead of a copy of the columns, which held
    ~170 MiB on a large day's 2.6M content rows."""
    first = ~pd.Series(_row_keys(frame, list(dict.fromkeys([*by, *columns])))).duplicated().to_numpy()
    distinct = frame.loc[first, by]
    return distinct.groupby(by, sort=False, dropna=False, observed=True).size().rename(name)


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One int64 per row, equal for two rows exactly when their values in `columns` are (missing equals missing):
    each column's codes packed into the running key, which is renumbered when the next product could overflow."""
    keys, size = np.zeros(len(frame), dtype=np.int64), 1
    for column in columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        width = max(len(uniques), 1)
        if size * width >= 1 << 62:
            keys, seen = pd.factorize(keys)
            size = max(len(seen), 1)
        keys = keys * width + codes
        size *= width
    return keys


def usage(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Job runs, unique and non-unique nodes, task runs, first/last automation and run per `by` group."""
    if frame.empty:
        return pd.DataFrame(
            columns=[
                *by,
                'job_runs',
                'unique_nodes',
                'non_unique_nodes',
                'task_runs',
                'first_automation',
                'last_automation',
                'first_run',
                'last_run',
            ]
        )
    grouped = frame.groupby(by, sort=False, dropna=False, observed=True)
    sums = grouped.agg(
        task_runs=('task_runs', 'sum'),
        first_automation=('first_automation', 'min'),
        last_automation=('last_automation', 'max'),
        first_run=('job_created', 'min'),
        last_run=('job_created', 'max'),
        unique_nodes=('host_name', 'nunique'),
    )
    out = pd.concat(
        [sums, _count_distinct(frame, by, JOB, 'job_runs'), _count_distinct(frame, by, PAIR, 'non_unique_nodes')],
        axis=1,
    ).reset_index()
    return _plain(out)


def quantity(direct: pd.DataFrame) -> int:
    """Unique managed nodes: the billed quantity."""
    return int(direct['host_name'].nunique())


def jobs(direct: pd.DataFrame) -> pd.DataFrame:
    return usage(direct, ['organization_name', 'job_template_name']).sort_values(
        ['organization_name', 'job_template_name'], kind='stable', ignore_index=True
    )


def managed_nodes(direct: pd.DataFrame, with_org_columns: bool = False) -> pd.DataFrame:
    """Per identity; with `with_org_columns` one extra column per organization holding its last automation."""
    nodes = usage(direct, ['host_name'])
    orgs = direct.groupby('host_name', sort=False, observed=True)['organization_name'].nunique().rename('organizations')
    nodes = nodes.merge(_plain_index(orgs), left_on='host_name', right_index=True, how='left')
    if 'host_name_before_dedup' in direct:
        before = direct.groupby('host_name', sort=False, observed=True)['host_name_before_dedup'].agg(
            lambda s: ', '.join(sorted(set(s.dropna())))
        )
        before = _plain_index(before.rename('names_before_dedup'))
        nodes = nodes.merge(before, left_on='host_name', right_index=True, how='left')
        nodes['names_before_dedup_count'] = nodes['names_before_dedup'].str.count(', ') + 1
    if with_org_columns and len(direct):
        pivot = direct.pivot_table(
            index='host_name', columns='organization_name', values='last_automation', aggfunc='max', observed=True
        )
        pivot.columns = [f'org:{c}' for c in pivot.columns]
        if isinstance(pivot.index.dtype, pd.CategoricalDtype):
            pivot.index = pivot.index.astype(pivot.index.categories.dtype)
        nodes = nodes.merge(pivot, left_on='host_name', right_index=True, how='left')
    return nodes.sort_values('host_name', kind='stable', ignore_index=True)


def organizations(direct: pd.DataFrame, indirect: pd.DataFrame | None) -> pd.DataFrame:
    out = usage(direct, ['organization_name'])[
        ['organization_name', 'job_runs', 'unique_nodes', 'non_unique_nodes', 'task_runs']
    ]
    if indirect is not None:
        ind = usage(indirect, ['organization_name'])[['organization_name', 'unique_nodes', 'non_unique_nodes']]
        ind = ind.rename(columns={'unique_nodes': 'indirect_unique_nodes', 'non_unique_nodes': 'indirect_non_unique'})
        out = out.merge(ind, on='organization_name', how='outer')
        for column in (
            'job_runs',
            'unique_nodes',
            'non_unique_nodes',
            'task_runs',
            'indirect_unique_nodes',
            'indirect_non_unique',
        ):
            out[column] = out[column].fillna(0).astype('int64')
    return out.sort_values('organization_name', kind='stable', ignore_index=True)


def content(events: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Per module / collection / role name: unique and non-unique nodes, task runs, duration.

    Nodes follow the managed-node rule: a host counts on a row only through a (job, host) pair with a reachable
    summary (`reachable`); task runs and durations count every result event of the pair.
    """
    if events.empty:
        return pd.DataFrame(columns=[dimension, 'unique_nodes', 'non_unique_nodes', 'task_runs', 'duration'])
    sums = events.groupby(dimension, sort=False, observed=True).agg(
        task_runs=('task_runs', 'sum'), duration=('duration', 'sum')
    )
    nodes = events[[dimension, *PAIR]]  # only what node counts read: no copy of the other columns
    if 'reachable' in events:
        nodes = nodes[events['reachable'].astype(bool)]
    unique = nodes.groupby(dimension, sort=False, observed=True)['host_name'].nunique().rename('unique_nodes')
    out = pd.concat([unique, sums, _count_distinct(nodes, [dimension], PAIR, 'non_unique_nodes')], axis=1)
    out[['unique_nodes', 'non_unique_nodes']] = out[['unique_nodes', 'non_unique_nodes']].fillna(0).astype('int64')
    out = _plain(out.rename_axis(dimension).reset_index())
    out['duration'] = out['duration'].round(3)
    return out.sort_values(['task_runs', dimension], ascending=[False, True], kind='stable', ignore_index=True)


def indirect_nodes(indirect: pd.DataFrame, direct_names: set[str]) -> pd.DataFrame:
    nodes = usage(indirect, ['host_name'])
    if indirect.empty:
        return nodes.assign(organizations=[], canonical_facts=[], facts=[], node_types=[], events=[])
    ordered = indirect.sort_values('last_automation', kind='stable')
    extra = ordered.groupby('host_name', sort=False).agg(
        organizations=('organization_name', 'nunique'),
        canonical_facts=('canonical_facts', lambda s: _merge_json(s)),
        facts=('facts', lambda s: _merge_json(s)),
        events=('events', lambda s: ', '.join(sorted({e for v in s for e in json_list(v)}))),
    )
    nodes = nodes.merge(extra, left_on='host_name', right_index=True, how='left')
    nodes['node_types'] = nodes['host_name'].map(lambda h: 'DIRECT, INDIRECT' if h in direct_names else 'INDIRECT')
    return nodes.sort_values('host_name', kind='stable', ignore_index=True)


def infrastructure(indirect: pd.DataFrame) -> pd.DataFrame:
    """Indirect nodes by their facts' infra_type / infra_bucket / device_type."""
    columns = ['infra_type', 'infra_bucket', 'device_type', 'unique_nodes', 'total_nodes']
    if indirect.empty:
        return pd.DataFrame(columns=columns)
    facts = indirect['facts'].map(_json_dict)
    frame = indirect.assign(**{k: facts.map(lambda f, k=k: str(f.get(k) or 'Unknown')) for k in columns[:3]})
    out = pd.concat(
        [
            frame.groupby(columns[:3]).agg(unique_nodes=('host_name', 'nunique')),
            _count_distinct(frame, columns[:3], PAIR, 'total_nodes'),
        ],
        axis=1,
    ).reset_index()
    return out.sort_values(columns[:3], kind='stable', ignore_index=True)[columns]


def scope(inventory: pd.DataFrame) -> pd.DataFrame:
    out = inventory.copy()
    for column in ('organizations', 'inventories'):
        out[column] = out[column].map(lambda v: ', '.join(json_list(v)))
    return out.sort_values('host_name', kind='stable', ignore_index=True)


TREND_FREQUENCIES = {'Day': 'D', 'Week': 'W-SUN', 'Month': 'MS', 'Quarter': 'QS', 'Year': 'YS'}


def trend(direct: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Unique managed nodes and job runs per day / week (Monday start) / month / quarter / year."""
    if direct.empty:
        return pd.DataFrame(columns=['period', 'unique_nodes', 'job_runs'])
    day = pd.to_datetime(direct['day'])
    if unit == 'Day':
        period = day
    elif unit == 'Week':
        period = day - pd.to_timedelta(day.dt.day_of_week, unit='D')
    else:
        period = day.dt.to_period({'Month': 'M', 'Quarter': 'Q', 'Year': 'Y'}[unit]).dt.start_time
    frame = direct.assign(period=period.values)
    out = pd.concat(
        [
            frame.groupby('period', observed=True).agg(unique_nodes=('host_name', 'nunique')),
            _count_distinct(frame, ['period'], JOB, 'job_runs'),
        ],
        axis=1,
    ).reset_index()
    return out.sort_values('period', ignore_index=True)


def _json_dict(value: object) -> dict:
    if not isinstance(value, str):
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _merge_json(values: pd.Series) -> str:
    merged: dict = {}
    for value in values:
        merged.update(_json_dict(value))
    return json.dumps(merged, ensure_ascii=False, sort_keys=True) if merged else ''
