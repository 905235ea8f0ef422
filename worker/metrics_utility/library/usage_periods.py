"""Usage by day, week, month, quarter or year from a storage's daily rollups, counted as the reports count.

Why per day: a managed node is a distinct identity over the *period* (never a sum of days), so each day keeps the
sets it contributes (identities, job runs per organization) and a period is the union of its days' sets. Any
`by`/range/organization is then answered from the same per-day cache without reading a file again. A day is read
from its rollup (`RollupStore`, the report's own rules: reachable hosts, identities, direct usage only) and rolled up
in memory when it has none (persisted only when the storage takes it). Each cached day remembers the signature of its
packages (names, sizes, mtimes or etags): it is read again when that changes, checked at most every `ttl` seconds.

Periods are UTC days; a week starts on Monday (ISO week, labelled `2026-W45`); month `2026-11`, quarter `2026-Q4`,
year `2026`. Each period is clipped to the range asked for (`since` included, `until` excluded), so the figures of a
clipped first or last period cover only the days asked for.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd

from metrics_utility.library.dataframes import RollupStore
from metrics_utility.library.extract import days
from metrics_utility.library.package_listing import ListedPackage, list_packages
from metrics_utility.library.storage import Storage

By = Literal['day', 'week', 'month', 'quarter', 'year']
BY: tuple[By, ...] = ('day', 'week', 'month', 'quarter', 'year')
Job = tuple[str, int | None]


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
@dataclass
class Contribution:
    hosts: set[str] = field(default_factory=set)
    jobs: set[Job] = field(default_factory=set)
    task_runs: int = 0

    def add(self, other: Contribution) -> None:
        self.hosts |= other.hosts
        self.jobs |= other.jobs
        self.task_runs += other.task_runs


@dataclass
class DayUsage:
    signature: str
    by_organization: dict[str, Contribution]
    checked: float  # monotonic time the signature was last compared

    def select(self, organization: str | None) -> Iterable[Contribution]:
        if organization is None:
            return self.by_organization.values()
        found = self.by_organization.get(organization)
        return () if found is None else (found,)


def contributions(direct: pd.DataFrame) -> dict[date, dict[str, Contribution]]:
    """Per day and organization: identities, (installation, job) pairs and task runs of a direct-usage frame."""
    out: dict[date, dict[str, Contribution]] = {}
    if direct.empty:
        return out
    frame = pd.DataFrame(
        {
            'day': pd.to_datetime(direct['day']).dt.date,
            'org': direct['organization_name'].astype(str),
            'host': direct['host_name'].astype(str),
            'install': direct['install_uuid'].astype(str),
            'job': direct['job_remote_id'].astype('Int64'),
            'tasks': direct['task_runs'].astype('int64'),
        }
    )
    for (day, org), group in frame.groupby(['day', 'org'], sort=False):
        jobs = {(i, None if pd.isna(j) else int(j)) for i, j in zip(group['install'], group['job'], strict=True)}
        out.setdefault(day, {})[org] = Contribution(set(group['host']), jobs, int(group['tasks'].sum()))
    return out


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
    ) -> None:
        self.storage = storage
        self.store = RollupStore(storage, persist=persist)
        self.ttl = ttl
        self.clock = clock
        self._days: dict[date, DayUsage] = {}
        self._lock = threading.Lock()
        self.days_read = 0  # days read from rollups or packages (tests and the bench look)

    def usage(self, by: By, since: date, until: date, organization: str | None = None) -> list[PeriodUsage]:
        with self._lock:
            self._refresh(since, until)
            cached = self._days
        out = []
        for period in periods(by, since, until):
            total = Contribution()
            for day in days(period.since, period.until):
                entry = cached.get(day)
                for part in entry.select(organization) if entry else ():
                    total.hosts |= part.hosts
                    total.jobs |= part.jobs
                    total.task_runs += part.task_runs
            out.append(PeriodUsage(period, len(total.hosts), len(total.jobs), total.task_runs))
        return out

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
                self._days[day] = DayUsage(signature, {}, now)
            else:
                stale[day] = signature
        for first, last in _runs(sorted(stale)):
            period = self.store.load(first, last + timedelta(days=1), {'job_host_summary'}, compact=True)
            read = contributions(period['job_host_summary'])
            self.days_read += len(period.days_with_data)
            for day in days(first, last + timedelta(days=1)):
                if day in stale:
                    self._days[day] = DayUsage(stale[day], read.get(day, {}), now)


def _signature(packages: list[ListedPackage]) -> str:
    record = [(p.name, p.size, p.modified.isoformat() if p.modified else None) for p in packages]
    return hashlib.sha256(json.dumps(record).encode()).hexdigest()


def _runs(ordered: list[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into (first, last) runs, so each run is one load."""
    out: list[tuple[date, date]] = []
    for day in ordered:
        if out and out[-1][1] + timedelta(days=1) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out
