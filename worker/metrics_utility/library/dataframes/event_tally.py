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

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .base import NO_ORGANIZATION, blank
from .content_usage import NO_ROLE
from .heap import release_memory
from .key_sums import KeySums
from .seen_ids import SeenIds

COMBINE_ROWS = 250_000  # partial tallies are summed into the tally when they hold more rows than this
EVENT_COLUMNS = [
    'id', 'job_remote_id', 'host_name', 'task_action', 'resolved_action', 'resolved_role', 'role', 'duration'
]  # fmt: skip


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
        module = _first_text(tally.modules, len(raw), [(raw['resolved_action'], True), (raw['task_action'], False)])
        role = _first_text(tally.roles, len(raw), [(raw['resolved_role'], True), (raw['role'], True)], NO_ROLE)
        combo = tally.combo(module, role)
        frame = pd.DataFrame(
            {
                'key': key[paired].astype(np.int64) << 32 | combo,
                'task_runs': np.ones(len(raw), dtype=np.int64),
                'duration': raw['duration'].fillna(0.0).to_numpy(dtype=np.float64),
            }
        )
        self.parts.append(_sum(frame))


def _first_text(
    codes: Codes, rows: int, candidates: list[tuple[pd.Series, bool]], default: str | None = None
) -> np.ndarray:
    """Per row, the code of the first candidate's text that is present (and, where its flag says so, not blank:
    `ContentUsage`'s fallbacks, e.g. a blank `resolved_action` falls back to `task_action`), else of `default`.

    Why codes: the same fallbacks on the text columns (`where`, `fillna` on Arrow strings) took a tenth of a medium
    report; here blankness is tested once per distinct text and the rows only pick integers."""
    chosen = np.full(rows, -1, dtype=np.int64)
    for text, not_blank in candidates:
        position, uniques = pd.factorize(text)  # a missing value: position -1
        usable = pd.Series(uniques, dtype='str')
        if not_blank:
            usable = usable[~blank(usable).to_numpy()]
        mapping = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last entry serves the missing values
        mapping[usable.index.to_numpy()] = codes.encode(usable)
        chosen = np.where(chosen >= 0, chosen, mapping[position])
    if default is not None:
        chosen[chosen < 0] = codes.encode(pd.Series([default], dtype='str'))[0]
    return chosen


def _sum(frame: pd.DataFrame) -> pd.DataFrame:
    """Task runs and durations summed per key, keys in order of first appearance (a group-by's `sort=False`)."""
    codes, keys = pd.factorize(frame['key'].to_numpy())
    runs = np.zeros(len(keys), dtype=np.int64)
    np.add.at(runs, codes, frame['task_runs'].to_numpy())
    return pd.DataFrame(
        {'key': keys, 'task_runs': runs, 'duration': np.bincount(codes, frame['duration'].to_numpy(), len(keys))}
    )
