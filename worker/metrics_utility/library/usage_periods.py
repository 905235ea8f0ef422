"""Usage by day, week, month, quarter or year from a storage's daily rollups, counted as the reports count.

Why per day: a managed node is a distinct identity over the *period* (never a sum of days), so each day keeps what it
contributes (its distinct identities as ids of one numbering, its distinct jobs, its task runs; for everyone and per
organization) and a period is the union of its days. Any `by`/range/organization is then answered from the same
per-day cache without reading a file again. A day with a fresh rollup is read as five columns with pyarrow; a day
without one is rolled up by `RollupStore` (the report's own rules: reachable hosts, identities, direct usage only)
and persisted only when asked and the storage takes it. Each cached day remembers the signature of its packages
(names, sizes, modification times, from one listing per month): it is read again when that changes, checked at most
every `ttl` seconds; a period's figures are remembered for the signatures of its days.

Month, quarter and year periods are answered from month digests (`usage_digest`: a month's distinct identities and
jobs as hashes), so a cold year is twelve small files, not 365 rollups: a month's digest is read from where it was
kept while its days' signatures match, else built from the per-day cache and kept (storage or cache directory).
A period clipped inside a month uses the digest only when the month's other days hold no packages.

Periods are UTC days; a week starts on Monday (ISO week, labelled `2026-W45`); month `2026-11`, quarter `2026-Q4`,
year `2026`. Each period is clipped to the range asked for (`since` included, `until` excluded), so the figures of a
clipped first or last period cover only the days asked for.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics_utility.library.dataframes import RollupStore
from metrics_utility.library.extract import days
from metrics_utility.library.package_listing import ListedPackage, list_packages
from metrics_utility.library.storage import Storage
from metrics_utility.library.usage_digest import (
    DigestStore,
    MonthDigest,
    OrganizationMonth,
    month_end,
    month_start,
    text_hashes,
    union_figures,
)

By = Literal['day', 'week', 'month', 'quarter', 'year']
BY: tuple[By, ...] = ('day', 'week', 'month', 'quarter', 'year')
DIGESTED: tuple[By, ...] = ('month', 'quarter', 'year')  # unions of whole months: answered from month digests


@dataclass(frozen=True)
class Period:
    label: str
    since: date
    until: date  # excluded


@dataclass(frozen=True)
class PeriodUsage:
    period: Period
    managed_nodes: int
    job_runs: int
    task_runs: int

    def to_json(self) -> dict[str, Any]:
        return {
            'period': self.period.label,
            'since': self.period.since.isoformat(),
            'until': self.period.until.isoformat(),
            'managedNodes': self.managed_nodes,
            'jobRuns': self.job_runs,
            'taskRuns': self.task_runs,
        }


# pure: periods ------------------------------------------------------------------------------------------------------
def period_start(by: By, day: date) -> date:
    if by == 'day':
        return day
    if by == 'week':
        return day - timedelta(days=day.weekday())
    if by == 'month':
        return day.replace(day=1)
    if by == 'quarter':
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def next_start(by: By, start: date) -> date:
    if by == 'day':
        return start + timedelta(days=1)
    if by == 'week':
        return start + timedelta(days=7)
    months = {'month': 1, 'quarter': 3, 'year': 12}[by]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def label(by: By, start: date) -> str:
    if by == 'day':
        return start.isoformat()
    if by == 'week':
        year, week, _ = start.isocalendar()
        return f'{year}-W{week:02d}'
    if by == 'month':
        return f'{start:%Y-%m}'
    if by == 'quarter':
        return f'{start.year}-Q{(start.month - 1) // 3 + 1}'
    return f'{start.year}'


def periods(by: By, since: date, until: date) -> list[Period]:
    """The periods of `by` that meet [since, until), each clipped to it, in order."""
    out = []
    start = period_start(by, since)
    while start < until:
        end = next_start(by, start)
        out.append(Period(label(by, start), max(start, since), min(end, until)))
        start = end
    return out


# one day's contribution ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contribution:
    """What one day (of one organization, or of all) adds to a period: distinct identity ids (numbered by the
    reader's `Interner`), distinct job keys (installation id << 40 | job id) and the task runs."""

    hosts: np.ndarray
    jobs: np.ndarray
    task_runs: int


@dataclass
class DayUsage:
    signature: str
    everyone: Contribution | None
    by_organization: dict[str, Contribution]
    checked: float  # monotonic time the signature was last compared

    def select(self, organization: str | None) -> Contribution | None:
        return self.everyone if organization is None else self.by_organization.get(organization)


class Interner:
    """Text → a small integer, stable for the reader's life: every day's identities share one numbering, so a
    period's distinct identities are the set bits of one boolean array."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def codes(self, column: pd.Series) -> np.ndarray:
        """The ids of a text column (categorical or not), one per row."""
        codes, uniques = pd.factorize(column, sort=False)
        ids = self.ids
        mapped = np.fromiter((ids.setdefault(str(v), len(ids)) for v in uniques), dtype=np.int64, count=len(uniques))
        return mapped[codes]


MAX_REMEMBERED = 4096  # periods whose figures are kept (a year by day is 365)
JOB_BITS = 40  # job ids below 2**40; the installation's id above them


def _part(hosts: np.ndarray, jobs: np.ndarray, tasks: np.ndarray) -> Contribution:
    return Contribution(np.unique(hosts), np.unique(jobs), int(tasks.sum()))


def contributions(
    direct: pd.DataFrame, hosts: Interner, installs: Interner
) -> dict[date, tuple[Contribution, dict[str, Contribution]]]:
    """Per day: the contribution of everyone and of each organization, from a direct-usage frame."""
    out: dict[date, tuple[Contribution, dict[str, Contribution]]] = {}
    if direct.empty:
        return out
    host_ids = hosts.codes(direct['host_name'])
    job_ids = direct['job_remote_id'].astype('Int64').fillna(-1).to_numpy(dtype=np.int64) % (1 << JOB_BITS)
    job_keys = (installs.codes(direct['install_uuid']) << JOB_BITS) | job_ids
    tasks = direct['task_runs'].to_numpy(dtype=np.int64)
    day_codes, day_values = pd.factorize(pd.to_datetime(direct['day']).dt.date)
    org_codes, org_values = pd.factorize(direct['organization_name'].astype(str))
    for d, rows in pd.Series(np.arange(len(direct))).groupby(day_codes).indices.items():
        orgs = {}
        for o, sub in pd.Series(rows).groupby(org_codes[rows]).indices.items():
            picked = rows[sub]
            orgs[str(org_values[o])] = _part(host_ids[picked], job_keys[picked], tasks[picked])
        out[day_values[d]] = (_part(host_ids[rows], job_keys[rows], tasks[rows]), orgs)
    return out


COLUMNS = ['organization_name', 'host_name', 'install_uuid', 'job_remote_id', 'task_runs']


def _ids(column: pa.ChunkedArray, interner: Interner) -> np.ndarray:
    """A dictionary-encoded text column as the interner's ids, one per row."""
    column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    mapped = interner.codes(pd.Series(column.dictionary.to_pylist(), dtype=object))
    return mapped[pc.fill_null(column.indices, 0).to_numpy(zero_copy_only=False)]


def day_contribution(
    table: pa.Table, hosts: Interner, installs: Interner
) -> tuple[Contribution | None, dict[str, Contribution]]:
    """One day's contribution (everyone, and per organization) from its rollup's `COLUMNS`, read with pyarrow."""
    if not table.num_rows:
        return None, {}
    host_ids = _ids(table['host_name'], hosts)
    job_ids = pc.fill_null(table['job_remote_id'], -1).to_numpy().astype(np.int64) % (1 << JOB_BITS)
    job_keys = (_ids(table['install_uuid'], installs) << JOB_BITS) | job_ids
    tasks = table['task_runs'].to_numpy().astype(np.int64)
    orgs_column = table['organization_name'].combine_chunks()
    if not pa.types.is_dictionary(orgs_column.type):
        orgs_column = orgs_column.dictionary_encode()
    org_codes = pc.fill_null(orgs_column.indices, 0).to_numpy(zero_copy_only=False)
    names = orgs_column.dictionary.to_pylist()
    orgs = {}
    for code, rows in pd.Series(np.arange(len(org_codes))).groupby(org_codes).indices.items():
        orgs[str(names[code])] = _part(host_ids[rows], job_keys[rows], tasks[rows])
    return _part(host_ids, job_keys, tasks), orgs


# the reader ---------------------------------------------------------------------------------------------------------
class UsageReader:
    """Answers usage queries over one storage from a per-day cache; safe to call from several threads."""

    def __init__(
        self,
        storage: Storage,
        *,
        persist: bool = False,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        cache_dir: Path | None = None,
        monthly_digests: bool = True,
    ) -> None:
        self.storage = storage
        self.store = RollupStore(storage, persist=persist)
        self.digests = DigestStore(storage, persist=persist, cache_dir=cache_dir)
        self.monthly_digests = monthly_digests  # False: every period from the days (the reference in tests)
        self._months: dict[date, MonthDigest] = {}
        self._listed: dict[date, tuple[float, dict[date, str]]] = {}  # a month's day signatures, when listed
        self._host_hashes = np.zeros(0, dtype=np.uint64)  # the identity hash of each interned id
        self._digest_lock = threading.Lock()  # held while digests are checked; days are read under `_lock`
        self.digests_built = 0  # months built from days (tests and the bench look)
        self.ttl = ttl
        self.clock = clock
        self._days: dict[date, DayUsage] = {}
        self._hosts = Interner()
        self._installs = Interner()
        self._figures: dict[tuple, tuple[int, int, int]] = {}  # a period's figures by its days' signatures
        self._lock = threading.Lock()
        self.days_read = 0  # days read from rollups or packages (tests and the bench look)

    def usage(self, by: By, since: date, until: date, organization: str | None = None) -> list[PeriodUsage]:
        if by in DIGESTED and self.monthly_digests:
            return self._from_digests(by, since, until, organization)
        with self._lock:
            self._refresh(since, until)
            cached = dict(self._days)
            known = len(self._hosts)
        return [self._period(period, organization, cached, known) for period in periods(by, since, until)]

    def _period(
        self, period: Period, organization: str | None, cached: dict[date, DayUsage], known: int
    ) -> PeriodUsage:
        """One period's figures: remembered for the same days' signatures, else the union of its days."""
        entries = [cached.get(day) for day in days(period.since, period.until)]
        key = (organization, period.since, period.until, tuple(e.signature if e else '' for e in entries))
        figures = self._figures.get(key)
        if figures is None:
            seen = np.zeros(known, dtype=bool)
            jobs, task_runs = [], 0
            for entry in entries:
                part = entry.select(organization) if entry else None
                if part is not None:
                    seen[part.hosts] = True
                    jobs.append(part.jobs)
                    task_runs += part.task_runs
            job_runs = len(np.unique(np.concatenate(jobs))) if jobs else 0
            figures = (int(seen.sum()), job_runs, task_runs)
            self._remember(key, figures)
        return PeriodUsage(period, *figures)

    # month digests ---------------------------------------------------------------------------------------------------
    def _from_digests(self, by: By, since: date, until: date, organization: str | None) -> list[PeriodUsage]:
        """Month, quarter and year periods as unions of month digests; a period clipped inside a month whose other
        days hold packages falls back to the per-day path."""
        digests = self.month_digests(since, until)
        out = []
        for period in periods(by, since, until):
            parts = []
            for month in _months(period.since, period.until):
                first, last = max(period.since, month), min(period.until, month_end(month))
                if not digests[month].covers(first, last, EMPTY):
                    break
                parts.append((digests[month], first, last))
            else:
                key = ('digests', organization, period.since, period.until, tuple(d.key for d, _, _ in parts))
                remembered = self._figures.get(key)
                if remembered is None:
                    remembered = union_figures(parts, organization)
                    self._remember(key, remembered)
                out.append(PeriodUsage(period, *remembered))
                continue
            with self._lock:
                self._refresh(period.since, period.until)
                cached, known = dict(self._days), len(self._hosts)
            out.append(self._period(period, organization, cached, known))
        return out

    def month_digests(self, since: date, until: date) -> dict[date, MonthDigest]:
        """The digest of every month meeting [since, until): remembered, read from where it was kept, or built from
        the month's days (and kept) when none matches the days' current signatures."""
        out = {}
        with self._digest_lock:
            for month in _months(since, until):
                signatures = self._signatures(month)
                digest = self._months.get(month)
                if digest is None or not digest.matches(signatures):
                    digest = self.digests.load(month, signatures)
                if digest is None and all(s == EMPTY for s in signatures.values()):
                    digest = MonthDigest.of(month, dict(signatures), {})  # no packages: nothing to read or keep
                if digest is None:
                    with self._lock:
                        self._refresh(month, month_end(month))
                        digest = self._digest(month)
                    self.digests.save(digest)
                    self.digests_built += 1
                self._months[month] = out[month] = digest
        return out

    def _signatures(self, month: date) -> dict[date, str]:
        """The signature of every day of the month, from one listing, listed again after `ttl` seconds."""
        now = self.clock()
        listed = self._listed.get(month)
        if listed is None or now - listed[0] >= self.ttl:
            listing = list_packages(self.storage, month, month_end(month))
            listed = (now, {day: _signature(listing.get(day, [])) for day in days(month, month_end(month))})
            self._listed[month] = listed
        return listed[1]

    def _digest(self, month: date) -> MonthDigest:
        """The month's digest from the per-day cache (every day of it cached); called under `_lock`."""
        if len(self._host_hashes) < len(self._hosts):
            fresh = text_hashes(itertools.islice(self._hosts.ids, len(self._host_hashes), None))
            self._host_hashes = np.concatenate([self._host_hashes, fresh])
        entries = {day: self._days[day] for day in days(month, month_end(month))}
        gathered: dict[str, tuple[list[np.ndarray], list[np.ndarray], dict[date, int]]] = {}
        for day, entry in entries.items():
            for name, part in entry.by_organization.items():
                hosts, jobs, tasks = gathered.setdefault(name, ([], [], {}))
                hosts.append(part.hosts)
                jobs.append(part.jobs)
                tasks[day] = part.task_runs
        every_job = np.unique(np.concatenate([j for _, jobs, _ in gathered.values() for j in jobs] or [np.zeros(0)]))
        installs = list(self._installs.ids)
        mask = (1 << JOB_BITS) - 1
        job_hashes = text_hashes(f'{installs[int(k) >> JOB_BITS]}/{int(k) & mask}' for k in every_job)
        organizations = {}
        for name, (hosts, jobs, tasks) in gathered.items():
            host_ids = np.unique(np.concatenate(hosts))
            job_keys = np.unique(np.concatenate(jobs))
            organizations[name] = OrganizationMonth(
                np.unique(self._host_hashes[host_ids]),
                np.unique(job_hashes[np.searchsorted(every_job, job_keys)]),
                tasks,
            )
        return MonthDigest.of(month, {day: entry.signature for day, entry in entries.items()}, organizations)

    def _remember(self, key: tuple, figures: tuple[int, int, int]) -> None:
        if len(self._figures) >= MAX_REMEMBERED:
            self._figures.clear()
        self._figures[key] = figures

    def _refresh(self, since: date, until: date) -> None:
        """Bring the cached days of [since, until) up to date: unchanged days are kept, changed ones read again.

        Whether a day changed comes from one listing per month (names, sizes, modification times of its packages);
        a day without packages is known empty without reading anything."""
        now = self.clock()
        due = [day for day in days(since, until) if day not in self._days or now - self._days[day].checked >= self.ttl]
        if not due:
            return
        listing = list_packages(self.storage, due[0], due[-1] + timedelta(days=1))
        stale: dict[date, str] = {}
        for day in due:
            signature = _signature(listing.get(day, []))
            entry = self._days.get(day)
            if entry is not None and entry.signature == signature:
                entry.checked = now
            elif day not in listing:
                self._days[day] = DayUsage(signature, None, {}, now)
            else:
                stale[day] = signature
        for day in list(stale):  # days with fresh rollups: a few columns read with pyarrow, no frame built
            table = self.store.read_fresh(day, 'job_host_summary', COLUMNS)
            if table is not None:
                everyone, orgs = day_contribution(table, self._hosts, self._installs)
                self._days[day] = DayUsage(stale.pop(day), everyone, orgs, now)
                self.days_read += 1
        for first, last in _runs(sorted(stale)):
            period = self.store.load(first, last + timedelta(days=1), {'job_host_summary'}, compact=True)
            read = contributions(period['job_host_summary'], self._hosts, self._installs)
            self.days_read += len(period.days_with_data)
            for day in days(first, last + timedelta(days=1)):
                if day in stale:
                    everyone, orgs = read.get(day, (None, {}))
                    self._days[day] = DayUsage(stale[day], everyone, orgs, now)


def _signature(packages: list[ListedPackage]) -> str:
    record = [(p.name, p.size, p.modified.isoformat() if p.modified else None) for p in packages]
    return hashlib.sha256(json.dumps(record).encode()).hexdigest()


EMPTY = _signature([])  # a day without packages


def _months(since: date, until: date) -> list[date]:
    """The first days of the months meeting [since, until)."""
    out = [month_start(since)]
    while month_end(out[-1]) < until:
        out.append(month_end(out[-1]))
    return out


def _runs(ordered: list[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into (first, last) runs, so each run is one load."""
    out: list[tuple[date, date]] = []
    for day in ordered:
        if out and out[-1][1] + timedelta(days=1) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def write_month_digests(storage: Storage, since: date, until: date) -> int:
    """Build and store the digests of the whole months within [since, until) that have none matching their days
    (build-report after it rolled them up); returns how many were built."""
    first = month_start(since) if since.day == 1 else month_end(since)
    months = [m for m in _months(first, until) if month_end(m) <= until] if first < until else []
    if not months:
        return 0
    reader = UsageReader(storage, persist=True)
    reader.month_digests(months[0], month_end(months[-1]))
    return reader.digests_built
