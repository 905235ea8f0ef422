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

import ctypes
import gc
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from .base import NO_ORGANIZATION
from .content_usage import NO_ROLE, _text, collection_of

COMBINE_ROWS = 250_000  # partial tallies are summed into the tally when they hold more rows than this
EVENT_COLUMNS = [
    'id', 'job_remote_id', 'host_name', 'task_action', 'resolved_action', 'resolved_role', 'role', 'duration'
]  # fmt: skip


def release_memory(collect: bool = False) -> None:
    """Give freed heap back to the system (glibc's malloc_trim; nothing elsewhere); with `collect`, first free what
    only reference cycles keep among the young objects (a step's frames; ~2 ms, where a full collection over the
    imported modules took ~70 ms and slowed a medium report by a second): at the end of a step, not of every block.

    Why: pandas and numpy free the large temporaries of a group-by into the C heap, which keeps them mapped; over a
    day of millions of events the resident size then holds ~300 MiB nobody uses, and a pod's limit counts it. Frames
    caught in reference cycles keep their columns until the collector runs, which numeric work rarely triggers."""
    if collect:
        gc.collect(1)
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def release_grown(step: int = 32 << 20) -> None:
    """`release_memory` once the resident size grew by `step` bytes since it last ran here: between the blocks of a
    day, where trimming after every block cost a medium report ~10 % of its time (the next block faults the pages
    in again) and never trimming let a large day's build grow by ~90 MiB."""
    resident = _resident()
    if resident - _released[0] > step:
        release_memory()
        _released[0] = _resident()


def _resident() -> int:
    """Resident bytes of this process (Linux /proc; 0 elsewhere, where nothing is trimmed anyway)."""
    try:
        with open('/proc/self/statm', 'rb') as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096
_released = [0]  # resident bytes after the last release_grown trim


def _libc() -> ctypes.CDLL | None:
    """The C library this process runs with (its own symbols: no `find_library`, which starts processes)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, 'malloc_trim') else None


_LIBC = _libc()


MERGE_IDS = 1 << 20  # SeenIds chunks are merged up to this many ids (8 MiB): a merge copies both chunks twice


class SeenIds:
    """Ids already counted, as sorted distinct arrays, each at most half the size of the one before (a
    binary-counter merge: few arrays, each id copied O(log n) times), up to `MERGE_IDS` ids per array: merging two
    arrays of 3M ids held ~170 MiB of copies at once on a large day, while a lookup skips the arrays whose range a
    block of ids does not reach (ids mostly grow). An array whose ids span less than 2^32 keeps them as uint32
    offsets from its `bases` entry (4 bytes an id instead of 8)."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []  # sorted distinct ids less their base (uint32, or int64 with base 0)
        self.bases: list[int] = []

    def seen(self, ids: np.ndarray) -> np.ndarray:
        """True where an id is already in the set.

        Only ids within a chunk's range are looked up (ids mostly grow, so a new block's usually lie above every
        chunk), in sorted order (a binary search of sorted needles stays in cache)."""
        found = np.zeros(len(ids), dtype=bool)
        if not len(ids):
            return found
        low, high = int(ids.min()), int(ids.max())
        for chunk, base in zip(self.chunks, self.bases, strict=True):
            first, last = base + int(chunk[0]), base + int(chunk[-1])
            if first > high or last < low:
                continue
            inside = np.flatnonzero((ids >= first) & (ids <= last))
            if not len(inside):
                continue
            inside = inside[np.argsort(ids[inside], kind='stable')]
            needles = (ids[inside] - base).astype(chunk.dtype)  # within [first, last]: the offset fits
            at = np.minimum(np.searchsorted(chunk, needles), len(chunk) - 1)
            found[inside] |= chunk[at] == needles
        return found

    def add(self, ids: np.ndarray) -> None:
        if len(ids):
            self._push(_sorted_unique(ids))

    def update(self, other: SeenIds) -> None:
        for i in range(len(other.chunks)):
            self._push(other.ids(i))

    def ids(self, i: int) -> np.ndarray:
        """The ids of chunk `i`, as int64."""
        return self.chunks[i].astype(np.int64) + self.bases[i]

    def _push(self, ids: np.ndarray) -> None:
        self._append(ids)
        while (
            len(self.chunks) > 1
            and len(self.chunks[-2]) <= len(self.chunks[-1])
            and len(self.chunks[-2]) + len(self.chunks[-1]) <= MERGE_IDS
        ):
            merged = _sorted_unique(np.concatenate([self.ids(len(self.chunks) - 2), self.ids(len(self.chunks) - 1)]))
            del self.chunks[-2:], self.bases[-2:]
            self._append(merged)

    def _append(self, ids: np.ndarray) -> None:
        """Keep sorted distinct ids, as offsets from the first when they span less than 2^32."""
        base = int(ids[0])
        if int(ids[-1]) - base < 1 << 32:
            self.chunks.append((ids - base).astype(np.uint32))
            self.bases.append(base)
        else:
            self.chunks.append(ids)
            self.bases.append(0)


def _sorted_unique(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct ids (a stable sort merges sorted runs in linear time; np.unique hashes, 8x slower here)."""
    ids = np.sort(ids, kind='stable')
    keep = np.empty(len(ids), dtype=bool)
    keep[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=keep[1:])
    return ids[keep]


class Codes:
    """Text → dense integer code, in order of first appearance."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def encode(self, text: pd.Series) -> np.ndarray:
        """Codes of a series without missing values (new texts get new codes)."""
        codes, uniques = pd.factorize(text, use_na_sentinel=False)
        mapping = np.fromiter((self._code(v) for v in uniques), dtype=np.int64, count=len(uniques))
        return mapping[codes]

    def lookup(self, text: pd.Series) -> np.ndarray:
        """Codes of known texts, -1 for the others (and missing values)."""
        codes, uniques = pd.factorize(text)
        mapping = np.fromiter((self.index.get(v, -1) for v in uniques), dtype=np.int64, count=len(uniques))
        return np.where(codes < 0, -1, mapping[codes] if len(uniques) else -1)

    def _code(self, value: object) -> int:
        code = self.index.get(value)  # type: ignore[call-overload]
        if code is None:
            code = self.index[value] = len(self.values)  # type: ignore[index]
            self.values.append(value)  # type: ignore[arg-type]
        return code


class EventTally:
    """Task runs and durations per (job host summary pair, module, role) of one day's result events.

    Built on the day's summary `pairs` (JobHostSummaryUsage.pairs): an event counts for the pairs of its
    installation, job and host name; events of no pair are counted in `events` only (they end up `unmatched`). A
    tally row is one int64 key — the pair key's index (high 32 bits) and the (module, role) combination's code —
    with its task runs and duration: 24 bytes, however many events it sums.
    """

    def __init__(self, pairs: pd.DataFrame) -> None:
        self.installs, self.hosts, self.modules, self.roles = Codes(), Codes(), Codes(), Codes()
        self.combos: dict[tuple[int, int], int] = {}
        self.combo_module: list[int] = []
        self.combo_role: list[int] = []
        install = self.installs.encode(pairs['install_uuid'].fillna(''))
        host = self.hosts.encode(pairs['original_host_name'].fillna(''))
        self.jobs: dict[tuple[int, object], int] = {}
        job = np.fromiter(
            (self._job(int(i), j) for i, j in zip(install, pairs['job_remote_id'], strict=True)),
            dtype=np.int64,
            count=len(pairs),
        )
        self.pair_key, keys = pd.factorize(job << 32 | host)  # pairs row → its key index
        self.pairs = PairCodes.of(pairs, install, job)
        self.keys = pd.Index(keys)
        self.seen: dict[int, SeenIds] = {}
        self.sums = KeySums()  # the parts summed so far
        self.parts: list[pd.DataFrame] = []  # parts not summed into `sums` yet
        self.pending = 0  # rows of the parts not summed yet
        self.events = 0  # counted (after dropping rows without action or host, and rows delivered twice)

    def _job(self, install: int, job: object) -> int:
        key = (install, None if pd.isna(job) else int(job))  # type: ignore[arg-type]
        code = self.jobs.get(key)
        if code is None:
            code = self.jobs[key] = len(self.jobs)
        return code

    def package(self, install_uuid: str) -> PackageEvents:
        return PackageEvents(self, install_uuid)

    def commit(self, staged: PackageEvents) -> None:
        self.seen.setdefault(staged.install, SeenIds()).update(staged.seen)
        self.events += staged.events
        for part in staged.parts:
            self.parts.append(part)
            self.pending += len(part)
            if self.pending > COMBINE_ROWS:
                self._fold()

    def _fold(self) -> None:
        """Sum the pending parts into `sums`."""
        if self.parts:
            self.sums.add(_sum(pd.concat(self.parts, ignore_index=True)) if len(self.parts) > 1 else self.parts[0])
            release_memory()  # the columns the sums replaced
        self.parts, self.pending = [], 0

    def total(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The tally's keys, task runs and durations, keys in order of first appearance; the tally is empty
        afterwards."""
        self._fold()
        sums, self.sums = self.sums, KeySums()
        return sums.take()

    def combo(self, module: np.ndarray, role: np.ndarray) -> np.ndarray:
        """Codes of (module, role) combinations (both codes < 2^31: one int64 per row is hashed, where a unique of
        row pairs sorted them: ~10x slower, a tenth of a medium report's time)."""
        inverse, pairs = pd.factorize(module << 32 | role)
        mapping = np.fromiter((self._combo(int(p >> 32), int(p & 0xFFFFFFFF)) for p in pairs), np.int64, len(pairs))
        return mapping[inverse]

    def _combo(self, module: int, role: int) -> int:
        code = self.combos.get((module, role))
        if code is None:
            code = self.combos[(module, role)] = len(self.combo_module)
            self.combo_module.append(module)
            self.combo_role.append(role)
        return code


@dataclass
class PairCodes:
    """What the content rollup takes of the day's summary pairs, as codes: the tally keeps no text of the pairs
    (their frame held ~50 MiB on a large day)."""

    install: np.ndarray  # into EventTally.installs
    job: np.ndarray  # into EventTally.jobs
    identity: np.ndarray  # into `identities` (the summary's host identity)
    identities: pd.Index
    organization: np.ndarray  # into `organizations`
    organizations: pd.Index
    job_id: np.ndarray  # job_remote_id, 0 where missing
    no_job_id: np.ndarray
    reachable: np.ndarray

    @classmethod
    def of(cls, pairs: pd.DataFrame, install: np.ndarray, job: np.ndarray) -> PairCodes:
        identity, identities = pd.factorize(pairs['host_name'])
        organization, organizations = pd.factorize(pairs['organization_name'].fillna(NO_ORGANIZATION))
        job_ids = pairs['job_remote_id'].astype('Int64')
        return cls(
            install=install,
            job=job,
            identity=identity,
            identities=identities,
            organization=organization,
            organizations=organizations,
            job_id=job_ids.to_numpy(dtype=np.int64, na_value=0),
            no_job_id=job_ids.isna().to_numpy(),
            reachable=pairs['reachable'].to_numpy(dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.job)


class KeySums:
    """Task runs and durations per int64 key, kept sorted by key so a part is summed in place (new keys inserted),
    with each key's rank of first appearance to give the keys back in that order.

    Why not regroup the concatenated parts: that copied the whole tally (2.6M keys on a large day) and hashed it
    again for every half million new rows, holding ~270 MiB at once; here a part costs its own size plus one copy
    of one column at a time when it brings new keys."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)
        self.task_runs = np.zeros(0, np.int64)
        self.duration = np.zeros(0, np.float64)
        self.first = np.zeros(0, np.int32)  # rank of the key's first appearance (fewer keys than events)

    def add(self, part: pd.DataFrame) -> None:
        """Sum a part (distinct keys, in order of first appearance) into the sums."""
        keys = part['key'].to_numpy(dtype=np.int64)
        order = np.argsort(keys, kind='stable')
        keys = keys[order]
        at = np.searchsorted(self.keys, keys)
        known = at < len(self.keys)
        known[known] = self.keys[at[known]] == keys[known]
        runs = part['task_runs'].to_numpy(dtype=np.int64)[order]
        duration = part['duration'].to_numpy(dtype=np.float64)[order]
        self.task_runs[at[known]] += runs[known]
        self.duration[at[known]] += duration[known]
        new = ~known
        if not new.any():
            return
        in_part_order = np.zeros(len(keys), dtype=bool)
        in_part_order[order[new]] = True
        rank = (len(self.first) + np.cumsum(in_part_order) - 1).astype(np.int32)  # new keys, in the part's order
        where = at[new]
        self.keys = np.insert(self.keys, where, keys[new])
        self.task_runs = np.insert(self.task_runs, where, runs[new])
        self.duration = np.insert(self.duration, where, duration[new])
        self.first = np.insert(self.first, where, rank[order[new]])

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keys, task runs and durations in order of first appearance, each reordered as the sums let go of it
        (one column copied at a time); the sums are empty afterwards."""
        order = np.argsort(self.first, kind='stable')
        self.first = np.zeros(0, np.int32)
        keys, self.keys = self.keys[order], np.zeros(0, np.int64)
        task_runs, self.task_runs = self.task_runs[order], np.zeros(0, np.int64)
        duration, self.duration = self.duration[order], np.zeros(0, np.float64)
        return keys, task_runs, duration


class PackageEvents:
    """One package's events, staged until the whole package was read."""

    def __init__(self, tally: EventTally, install_uuid: str) -> None:
        self.tally = tally
        self.install_uuid = install_uuid
        self.install = int(tally.installs.encode(pd.Series([install_uuid], dtype='str'))[0])
        self.seen = SeenIds()
        self.parts: list[pd.DataFrame] = []
        self.events = 0

    def add(self, table: pa.Table) -> None:
        """Fold one block of `main_jobevent` rows (the extractor's schema) into the staged tally."""
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
            self.seen.add(values[keep])
            mask = ~with_id
            mask[np.flatnonzero(with_id)[keep]] = True
            raw = raw[mask]
        self.events += len(raw)
        tally = self.tally
        jobs, job_values = pd.factorize(raw['job_remote_id'], use_na_sentinel=False)
        job_codes = np.fromiter(
            (tally.jobs.get((self.install, None if pd.isna(j) else int(j)), -1) for j in job_values),
            dtype=np.int64,
            count=len(job_values),
        )
        job = job_codes[jobs] if len(job_values) else np.zeros(0, np.int64)
        host = tally.hosts.lookup(raw['host_name'])
        known = (job >= 0) & (host >= 0)
        key = tally.keys.get_indexer(np.where(known, job << 32 | np.maximum(host, 0), -1))
        paired = key >= 0
        if not paired.any():
            return
        raw = raw[paired]
        module = _text(raw['resolved_action']).fillna(raw['task_action'])
        role = _text(raw['resolved_role']).fillna(_text(raw['role'])).fillna(NO_ROLE)
        combo = tally.combo(tally.modules.encode(module), tally.roles.encode(role))
        frame = pd.DataFrame(
            {
                'key': key[paired].astype(np.int64) << 32 | combo,
                'task_runs': np.ones(len(raw), dtype=np.int64),
                'duration': raw['duration'].fillna(0.0).to_numpy(dtype=np.float64),
            }
        )
        self.parts.append(_sum(frame))


def _sum(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby('key', sort=False)
    return grouped.agg(task_runs=('task_runs', 'sum'), duration=('duration', 'sum')).reset_index()


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
