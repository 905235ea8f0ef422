"""A day's event tally turned into its content usage rollup: one row per (pair, module, role), as the join of the
raw events to the day's summary pairs gives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from .content_usage import collection_of
from .event_tally import EventTally


def content_rollup(tally: EventTally, day: date) -> tuple[pa.Table | None, int]:
    """The day's content usage rollup (`ContentUsage.fields`, text dictionary-encoded) and the number of events
    without a job host summary (None when no event has one).

    The same rows, in the same order (first appearance of their first event), as `ContentUsage.group_with` of the
    raw events: an event counts for each pair of its key, as the inner join there repeats it, and `unmatched` is
    computed the same way.
    """
    tally.seen = {}  # every package is counted: its ids are not needed any more
    key, runs, duration = tally.total()
    pairs = tally.pairs
    combo = (key & 0xFFFFFFFF).astype(np.uint32)  # row-sized arrays held while the table is built: narrow
    key >>= 32
    # each pair: (job, identity, organization, reachable) → target code; a key with several pairs repeats its rows
    identity, org, reachable = pairs.identity, pairs.organization, pairs.reachable
    target = _tuple_codes(pairs.job, identity + 1, org + 1, reachable.astype(np.int64))
    per_key = pd.DataFrame({'key': tally.pair_key, 'target': target}).drop_duplicates()
    shared: np.ndarray | None = None
    if per_key['key'].is_unique:  # one pair per key (always, unless two summaries of a job name one host twice)
        lookup = np.full(len(tally.keys), -1, dtype=np.int64)
        lookup[per_key['key'].to_numpy()] = per_key['target'].to_numpy()
        row_target = lookup[key]
        keys_of_target = np.bincount(per_key['target'].to_numpy(), minlength=len(target))
        shared = keys_of_target[row_target] > 1  # rows that may share a (target, combo) with another key's
    else:
        rows = pd.DataFrame({'key': key, 'combo': combo, 'task_runs': runs, 'duration': duration})
        expanded = rows.merge(per_key, on='key', how='inner')
        del rows
        row_target, combo = expanded['target'].to_numpy(), expanded['combo'].to_numpy()
        runs, duration = expanded['task_runs'].to_numpy(), expanded['duration'].to_numpy()
        del expanded
    del key
    unmatched = tally.events - int(runs.sum())
    if not len(runs):
        return None, unmatched
    row_target, combo, runs, duration = _sum_per_target(row_target, combo, runs, duration, shared)
    first = pd.DataFrame({'target': target, 'pair': np.arange(len(target))}).drop_duplicates('target')
    pair_of_target = np.empty(int(target.max()) + 1 if len(target) else 0, dtype=np.int64)
    pair_of_target[first['target'].to_numpy()] = first['pair'].to_numpy()
    pair = pair_of_target[row_target].astype(np.int32 if len(pairs) <= np.iinfo(np.int32).max else np.int64)
    del row_target
    modules = np.asarray(tally.modules.values, dtype=object)
    collection_of_module, collections = pd.factorize(collection_of(pd.Series(modules, dtype='str')))
    install_of_pair = pairs.install
    # column by column, each row-sized temporary freed once used (the table is ~150 MiB on a large day)
    columns: dict[str, pa.Array] = {'day': pa.array(np.full(len(pair), np.datetime64(day.isoformat(), 'us')))}
    columns['install_uuid'] = _dictionary(install_of_pair[pair], tally.installs.values)
    columns['organization_name'] = _dictionary(org[pair], pairs.organizations)
    no_job = pairs.no_job_id
    columns['job_remote_id'] = pa.array(pairs.job_id[pair], mask=no_job[pair] if no_job.any() else None)
    columns['host_name'] = _dictionary(identity[pair], pairs.identities)
    module = np.asarray(tally.combo_module, dtype=np.int64)[combo]
    columns['module_name'] = _dictionary(module, modules)
    columns['collection_name'] = _dictionary(collection_of_module[module], collections)
    del module
    role = np.asarray(tally.combo_role, dtype=np.int64)[combo]
    del combo
    columns['role_name'] = _dictionary(role, tally.roles.values)
    del role
    columns['reachable'] = pa.array(reachable[pair])
    del pair
    columns['task_runs'] = pa.array(runs.astype(np.int64, copy=False))
    columns['duration'] = pa.array(duration.astype(np.float64, copy=False))
    return pa.table(columns), unmatched


def _tuple_codes(*columns: np.ndarray) -> np.ndarray:
    """Codes of the rows' tuples of non-negative integers, in order of first appearance (as factorizing the tuples
    does), two columns at a time packed into one int64: no MultiIndex of the pairs (~100 MiB for 400k pairs)."""
    codes = columns[0]
    for column in columns[1:]:
        size = int(column.max()) + 1 if len(column) else 1
        codes, _ = pd.factorize(codes * size + column)
    return codes


def _sum_per_target(
    target: np.ndarray, combo: np.ndarray, runs: np.ndarray, duration: np.ndarray, shared: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows summed per (target, combo), in order of first appearance, as a group-by of all rows sums them.

    Only the rows that may share their (target, combo) (`shared`; None: find them) are grouped: the others are
    alone in their group, whose sum is their own value. Grouping every row held ~230 MiB on a large day for a
    handful of merged rows (two host names of one job with one `ansible_host`)."""
    both = target << 32 | combo
    if shared is None:
        shared = pd.Series(both).duplicated(keep=False).to_numpy()
    if not shared.any():
        return target, combo, runs, duration
    rows = np.flatnonzero(shared)
    grouped = pd.DataFrame(
        {'both': both[rows], 'row': rows, 'task_runs': runs[rows], 'duration': duration[rows]}
    ).groupby('both', sort=False)
    sums = grouped.agg(row=('row', 'first'), task_runs=('task_runs', 'sum'), duration=('duration', 'sum'))
    del both, rows, grouped
    keep = ~shared
    first = sums['row'].to_numpy()
    keep[first] = True
    at = np.cumsum(keep)[first] - 1  # the group's first row among the rows kept
    target, combo, runs, duration = target[keep], combo[keep], runs[keep], duration[keep]
    runs[at] = sums['task_runs'].to_numpy()
    duration[at] = sums['duration'].to_numpy()
    return target, combo, runs, duration


def _dictionary(codes: np.ndarray, values: Sequence[str] | np.ndarray | pd.Index) -> pa.DictionaryArray:
    """Codes into `values` (-1: missing) as a dictionary array holding only the values used, in order of first use
    (as `dictionary_encode` of the text would), its indices as narrow as the dictionary allows (int8 for a few
    modules, int16 for thousands of hosts: a quarter or half of int32's 10 MiB per column on a large day; readers
    of the rollup get int32 indices back, `read_dictionary` and `_compact_table` cast them)."""
    codes = np.asarray(codes)
    used = _first_used(codes, len(values))
    index_type = next(t for t in (np.int8, np.int16, np.int32) if len(used) <= np.iinfo(t).max)
    rank = np.zeros(len(values) + 1, dtype=index_type)  # the last entry serves the missing codes (-1)
    rank[used] = np.arange(len(used), dtype=index_type)
    indices = rank[codes]
    missing = codes < 0
    dictionary = pa.array(np.asarray(values, dtype=object)[used], type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices, mask=missing if missing.any() else None), dictionary)


def _first_used(codes: np.ndarray, size: int, block: int = 1 << 20) -> np.ndarray:
    """The distinct non-negative codes (each < `size`) in order of first appearance, a block at a time (a hash of
    a block's few distinct codes, not of every row)."""
    seen = np.zeros(size, dtype=bool)
    found: list[np.ndarray] = []
    for start in range(0, len(codes), block):
        distinct = pd.unique(codes[start : start + block])
        distinct = distinct[distinct >= 0]
        new = distinct[~seen[distinct]]
        seen[new] = True
        found.append(new)
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, np.int64)
