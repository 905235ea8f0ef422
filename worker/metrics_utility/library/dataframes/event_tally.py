"""A day's result events counted a block at a time, so memory does not grow with the day's event count.

Why: a large controller writes millions of result events a day; holding them as one frame (and joining that frame
to the day's job host summaries) needed gigabytes. Content usage only sums events (task runs, durations) per
(job, host, module, role), and a sum can be taken per block and summed again, so each block of CSV rows is folded
into a running tally keyed by small integer codes (text → code dictionaries of the day's host names, modules and
roles). The join to the summary identities happens once, on the tally, in `ContentUsage.group_from`: summing before
or after an inner join gives the same sums.

Rows delivered twice (same installation and event id, e.g. an overlapping re-gather) count once, the first time they
are met, as `drop_redelivered` does: the ids already counted are kept as sorted integer arrays (8 bytes per event).
A package's rows are staged apart (`PackageEvents`) and join the tally only once all of them were read, so a package
that turns out unreadable contributes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from .base import NO_ORGANIZATION
from .content_usage import NO_ROLE, _text, collection_of

KEY = ['install', 'job', 'host', 'module', 'role']
COMBINE_ROWS = 500_000  # partial tallies are summed into one when they hold more rows than this
EVENT_COLUMNS = [
    'id', 'job_remote_id', 'host_name', 'task_action', 'resolved_action', 'resolved_role', 'role', 'duration'
]  # fmt: skip


class SeenIds:
    """Ids already counted, as sorted unique arrays whose sizes halve from the first (a binary-counter merge keeps
    few arrays and copies each id O(log n) times)."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []

    def seen(self, ids: np.ndarray) -> np.ndarray:
        """True where an id is already in the set."""
        found = np.zeros(len(ids), dtype=bool)
        for chunk in self.chunks:
            at = np.minimum(np.searchsorted(chunk, ids), len(chunk) - 1)
            found |= chunk[at] == ids
        return found

    def add(self, ids: np.ndarray) -> None:
        if len(ids):
            self._push(np.unique(ids))

    def update(self, other: SeenIds) -> None:
        for chunk in other.chunks:
            self._push(chunk)

    def _push(self, chunk: np.ndarray) -> None:
        self.chunks.append(chunk)
        while len(self.chunks) > 1 and len(self.chunks[-2]) <= 2 * len(self.chunks[-1]):
            last = self.chunks.pop()
            self.chunks[-1] = np.union1d(self.chunks[-1], last)


class Codes:
    """Text → dense integer code, in order of first appearance."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def encode(self, text: pd.Series) -> np.ndarray:
        """Codes of a series without missing values."""
        codes, uniques = pd.factorize(text, use_na_sentinel=False)
        mapping = np.fromiter((self._code(v) for v in uniques), dtype=np.int32, count=len(uniques))
        return mapping[codes]

    def lookup(self, text: pd.Series) -> np.ndarray:
        """Codes of known texts, -1 for the others (and missing values)."""
        codes, uniques = pd.factorize(text)
        mapping = np.fromiter((self.index.get(v, -1) for v in uniques), dtype=np.int32, count=len(uniques))
        return np.where(codes < 0, -1, mapping[codes]) if len(uniques) else np.full(len(codes), -1, dtype=np.int32)

    def _code(self, value: str) -> int:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.values)
            self.values.append(value)
        return code


class EventTally:
    """Task runs and durations per (installation, job, host name, module, role) of one day's result events."""

    def __init__(self) -> None:
        self.installs, self.hosts, self.modules, self.roles = Codes(), Codes(), Codes(), Codes()
        self.seen: dict[int, SeenIds] = {}
        self.parts: list[pd.DataFrame] = []  # the summed tally first, then parts not summed into it yet
        self.pending = 0  # rows of the parts not summed yet
        self.events = 0  # counted (after dropping rows without action or host, and rows delivered twice)

    def package(self, install_uuid: str) -> PackageEvents:
        return PackageEvents(self, install_uuid)

    def commit(self, staged: PackageEvents) -> None:
        self.seen.setdefault(staged.install, SeenIds()).update(staged.seen)
        self.events += staged.events
        for part in staged.parts:
            self._append(part)

    def _append(self, part: pd.DataFrame) -> None:
        self.parts.append(part)
        self.pending += len(part)
        if self.pending > COMBINE_ROWS:
            self.parts, self.pending = [self.total()], 0

    def total(self) -> pd.DataFrame:
        """The tally as one frame (groups in order of first appearance)."""
        if not self.parts:
            return _empty()
        if len(self.parts) == 1:
            return self.parts[0]
        return _sum(pd.concat(self.parts, ignore_index=True))


class PackageEvents:
    """One package's events, staged until the whole package was read."""

    def __init__(self, tally: EventTally, install_uuid: str) -> None:
        self.tally = tally
        self.install = int(tally.installs.encode(pd.Series([install_uuid], dtype='str'))[0])
        self.seen = SeenIds()
        self.parts: list[pd.DataFrame] = []
        self.events = 0

    def absorb(self, other: PackageEvents) -> None:
        """Take over what `other` (a later file of the same package) staged."""
        self.seen.update(other.seen)
        self.parts += other.parts
        self.events += other.events

    def add(self, table: pa.Table, also: PackageEvents | None = None) -> None:
        """Fold one block of `main_jobevent` rows (the extractor's schema) into the staged tally; ids staged in
        `also` (earlier files of the package) count as seen."""
        raw = table.select(EVENT_COLUMNS).to_pandas()
        raw = raw[raw['task_action'].notna() & raw['host_name'].notna()]
        ids = raw['id']
        with_id = ids.notna().to_numpy()
        if with_id.any():
            values = ids[with_id].to_numpy(dtype=np.int64)
            keep = ~pd.Series(values).duplicated().to_numpy()
            committed = self.tally.seen.get(self.install)
            if committed is not None:
                keep &= ~committed.seen(values)
            keep &= ~self.seen.seen(values)
            if also is not None:
                keep &= ~also.seen.seen(values)
            self.seen.add(values[keep])
            mask = ~with_id
            mask[np.flatnonzero(with_id)[keep]] = True
            raw = raw[mask]
        if not len(raw):
            return
        module = _text(raw['resolved_action']).fillna(raw['task_action'])
        role = _text(raw['resolved_role']).fillna(_text(raw['role'])).fillna(NO_ROLE)
        frame = pd.DataFrame(
            {
                'install': np.full(len(raw), self.install, dtype=np.int32),
                'job': raw['job_remote_id'].astype('Int64').to_numpy(),
                'host': self.tally.hosts.encode(raw['host_name']),
                'module': self.tally.modules.encode(module),
                'role': self.tally.roles.encode(role),
                'task_runs': np.ones(len(raw), dtype=np.int64),
                'duration': raw['duration'].fillna(0.0).to_numpy(dtype=np.float64),
            }
        )
        frame['job'] = frame['job'].astype('Int64')
        self.events += len(frame)
        self.parts.append(_sum(frame))


def _sum(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby(KEY, sort=False, dropna=False)
    return grouped.agg(task_runs=('task_runs', 'sum'), duration=('duration', 'sum')).reset_index()


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype='int32') for c in KEY})
    frame['job'] = frame['job'].astype('Int64')
    frame['task_runs'] = pd.Series(dtype='int64')
    frame['duration'] = pd.Series(dtype='float64')
    return frame


def content_rollup(tally: EventTally, pairs: pd.DataFrame, day: date) -> tuple[pa.Table | None, int]:
    """The day's content usage rollup (`ContentUsage.fields`, text dictionary-encoded) from the tally and the day's
    job host summary `pairs`, and the number of events without a summary (None when no event has one).

    The same rows, in the same order (first appearance of their first event), as `ContentUsage.group_with` of the
    raw events: the inner join keeps the tally's order, and an event row joined to k pairs counts k times there as
    its tally row does here (`unmatched` is computed the same way).
    """
    total = tally.total()
    tally.parts = []
    coded = pd.DataFrame(
        {
            'install': tally.installs.lookup(pairs['install_uuid']),
            'job': pairs['job_remote_id'].astype('Int64'),
            'host': tally.hosts.lookup(pairs['original_host_name']),
            'org': pairs['organization_name'].fillna(NO_ORGANIZATION),
            'identity': pairs['host_name'],
            'reachable': pairs['reachable'].astype(bool),
        }
    )
    coded = coded[(coded['install'] >= 0) & (coded['host'] >= 0)]
    identity, identities = pd.factorize(coded['identity'])
    org, orgs = pd.factorize(coded['org'])
    coded = coded.assign(identity=identity, org=org)
    merged = total.merge(coded, on=['install', 'job', 'host'], how='inner')
    del total, coded
    unmatched = tally.events - int(merged['task_runs'].sum())
    if not len(merged):
        return None, unmatched
    keys = ['install', 'org', 'job', 'identity', 'module', 'role', 'reachable']
    out = merged.groupby(keys, sort=False, dropna=False)[['task_runs', 'duration']].sum().reset_index()
    del merged
    modules = np.asarray(tally.modules.values, dtype=object)
    collection_of_module, collections = pd.factorize(collection_of(pd.Series(modules, dtype='str')))
    module = out['module'].to_numpy()
    columns = {
        'day': pa.array(np.full(len(out), np.datetime64(day.isoformat(), 'us'))),
        'install_uuid': _dictionary(out['install'].to_numpy(), tally.installs.values),
        'organization_name': _dictionary(out['org'].to_numpy(), orgs),
        'job_remote_id': pa.array(out['job'], type=pa.int64()),
        'host_name': _dictionary(out['identity'].to_numpy(), identities),
        'module_name': _dictionary(module, modules),
        'collection_name': _dictionary(collection_of_module[module], collections),
        'role_name': _dictionary(out['role'].to_numpy(), tally.roles.values),
        'reachable': pa.array(out['reachable'].to_numpy(dtype=bool)),
        'task_runs': pa.array(out['task_runs'].to_numpy(dtype=np.int64)),
        'duration': pa.array(out['duration'].to_numpy(dtype=np.float64)),
    }
    return pa.table(columns), unmatched


def _dictionary(codes: np.ndarray, values: Sequence[str] | np.ndarray | pd.Index) -> pa.DictionaryArray:
    """Codes into `values` (-1: missing) as a dictionary array holding only the values used, in order of first use
    (as `dictionary_encode` of the text would)."""
    codes = np.asarray(codes)
    valid = codes >= 0
    dense, used = pd.factorize(codes[valid])
    indices = np.zeros(len(codes), dtype=np.int32)
    indices[valid] = dense
    dictionary = pa.array(np.asarray(values, dtype=object)[used], type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices, mask=~valid), dictionary)
