"""Daily rollups persisted as parquet next to the raw data, so a monthly report reads ~30 small files.

Layout: `rollups/YYYY/MM/DD/<rollup>.parquet` plus `rollups/YYYY/MM/DD/manifest.json`, which records the rollup
format version, the day's source packages (name plus size and mtime, or etag) and the problems met while reading
them. A day is rebuilt from its raw packages when that record no longer matches what is stored (a package added,
replaced or removed), when the format version changed, or with `force`. A rollup that cannot be written (read-only
storage) only costs speed: the report is still built from what was read.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metrics_utility.library.extract import Extractor, PackageTables, Problem, days
from metrics_utility.library.extract.columns import stream_csv
from metrics_utility.library.package.naming import parse_tarball_name
from metrics_utility.library.read_ahead import read_ahead
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.library.tempdir import job_tempdir

from .base import Rollup
from .collection_status import CollectionStatus
from .content_usage import ContentUsage
from .event_tally import EVENT_COLUMNS, EventTally, PackageEvents
from .heap import release_grown, release_memory, system_pool
from .host_metric import HostMetric
from .indirect_nodes import IndirectNodes
from .inventory_scope import InventoryScope
from .job_host_summary import JobHostSummaryUsage
from .tally_content import content_rollup

log = logging.getLogger(__name__)

ROLLUP_VERSION = 4  # 2: exact NULL/'' reading (hosts named NA kept), content rows carry `reachable`; 3: packages are
# verified before use, so days rolled up by the unverified reader are read again; 4: collection status keeps
# `unreadable_rows`
MIN_PARALLEL_DAYS = 6
# Packages per day (compressed bytes) for which worker processes pay (docs/operator.md "Sizing"). A worker costs its
# imports (~190 MiB resident, ~2 s) before any work: below the lower bound a day builds faster than that in this
# process. A day builds in a bounded working set that grows with its summaries (~350 MiB above the imports for 116 MiB
# of packages: 400k summaries, 6M events), and the memory of all processes adds up in one pod: above the upper bound
# two such days side by side would not fit the 512 MiB a large report is held to, so large days build one at a time
# in this process.
PARALLEL_DAY_BYTES = (8 << 20, 32 << 20)
FOLD_DAYS = 7
# A period with a day of more packages (compressed bytes) than this is loaded with Arrow's memory from the C heap
# (heap.py): its freed buffers go back to the system instead of staying in the default pool (~100 MiB on a large
# day); smaller periods keep the default pool, ~10 % faster for a medium report.
SYSTEM_POOL_DAY_BYTES = 32 << 20
# Such a period also parses its CSV blocks one after the other: parsing the next block while the current one is
# tallied (`read_ahead`) made a medium report ~10 % faster, but a large day's build held ~20 MiB more (one more
# block and its conversion), and a large day is held to a memory bound, not a time.
ROLLUPS: dict[str, type[Rollup]] = {
    cls.name: cls
    for cls in (JobHostSummaryUsage, ContentUsage, IndirectNodes, InventoryScope, CollectionStatus, HostMetric)
}
STREAMED = frozenset({'job_host_summary', 'main_jobevent'})  # read from disk a block at a time, never whole
DEPENDS = {'main_jobevent': {'job_host_summary'}}  # events are mapped to the summary identities of their day
# Rollups whose index starts with the day: a day's rollup is already grouped by that index, so the period's frame is
# the concatenation of its days (regrouping would change nothing). `compact` loads read only these columns: the
# rollup's fields but those the period's figures never use.
COMPACT_COLUMNS: dict[str, list[str]] = {
    'job_host_summary': [c for c in JobHostSummaryUsage.fields if c not in ('original_host_name', 'host_runs')],
    'main_jobevent': [c for c in ContentUsage.fields if c != 'day'],
}


@dataclass
class PeriodData:
    """The period's regrouped rollups, the problems met, and the days that had packages."""

    frames: dict[str, pd.DataFrame]
    problems: list[Problem] = field(default_factory=list)
    days_with_data: list[date] = field(default_factory=list)
    days_rebuilt: list[date] = field(default_factory=list)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name] if name in self.frames else ROLLUPS[name].empty()


def rollup_prefix(day: date, prefix: str = 'rollups') -> str:
    return f'{prefix}/{day:%Y/%m/%d}'


class RollupStore:
    """Builds, persists and reads daily rollups of one storage."""

    def __init__(
        self, storage: Storage, *, prefix: str = 'rollups', persist: bool = True, workers: int | None = None
    ) -> None:
        self.storage = storage
        self.prefix = prefix
        self.persist = persist
        self.extractor = Extractor(storage)
        # Worker processes are spawned: they re-import the caller's main module, so only callers known to be
        # import-safe (the CLI) ask for them; library calls build days in this process by default.
        self.workers = 1 if workers is None else workers
        self.parse_ahead = True  # set per period by `load`

    def load(
        self, since: date, until: date, names: set[str], *, force: bool = False, compact: bool = False
    ) -> PeriodData:
        """Rollups `names` for the days from `since` to `until` (excluded), regrouped over the period.

        `compact` (what reports use): the large day-indexed rollups (`COMPACT_COLUMNS`) keep only the columns
        reports read, their text columns become categoricals (categories sorted), and their days are concatenated
        as Arrow tables without the (no-op) regroup — the same rows and values in a fraction of the memory and time.
        """
        unknown = set(names) - set(ROLLUPS)
        if unknown:
            raise ValueError(f'unknown rollups {sorted(unknown)}; expected some of {sorted(ROLLUPS)}')
        large = any(  # a day whose freed Arrow buffers would stay resident in the default pool (heap.py)
            sum(int(entry.get('size') or 0) for entry in self.extractor.signature(self.extractor.tarballs(day)))
            > SYSTEM_POOL_DAY_BYTES
            for day in days(since, until)
        )
        self.parse_ahead = not large
        with system_pool() if large else contextlib.nullcontext():
            return self._load(since, until, names, force, compact)

    def _load(self, since: date, until: date, names: set[str], force: bool, compact: bool) -> PeriodData:
        prebuilt = self._prebuild(since, until, set(names), force)
        columns = {n: c for n, c in COMPACT_COLUMNS.items() if n in names} if compact else {}
        period = {name: ROLLUPS[name]() for name in names if name not in columns}
        tables: dict[str, list[pa.Table]] = {name: [] for name in columns}
        scope = period.get('main_host') if compact else None  # folded a week at a time (InventoryScope.fold)
        folded: list[pd.DataFrame] = []
        result = PeriodData({})
        for day in days(since, until):
            frames, problems, rebuilt = self._day(day, set(names), force and day not in prebuilt, columns)
            if frames is None:
                continue
            result.days_with_data.append(day)
            if rebuilt or day in prebuilt:
                result.days_rebuilt.append(day)
            result.problems.extend(problems)
            for name in names:
                if name in columns:
                    tables[name].append(_compact_table(frames[name], columns[name]))
                elif isinstance(scope, InventoryScope) and name == 'main_host':
                    folded.append(frames[name])
                    if len(folded) > FOLD_DAYS:
                        folded = [scope.fold(folded)]
                else:
                    period[name].add_frame(_frame(frames[name]))
        if isinstance(scope, InventoryScope):
            scope.data = scope.fold(folded)
        result.frames = {name: rollup.data if rollup is scope else rollup.regroup() for name, rollup in period.items()}
        for name, parts in tables.items():
            result.frames[name] = _compact_frame(ROLLUPS[name], parts, columns[name])
            parts.clear()
        release_memory(collect=True)
        return result

    # days built in parallel ---------------------------------------------------------------------------------------
    def _prebuild(self, since: date, until: date, names: set[str], force: bool) -> set[date]:
        """Build and persist the period's stale days in worker processes (each day is independent); returns the
        days now fresh. The sequential load then only reads them. Without persistence, with one worker or a
        storage that cannot be sent to a process, nothing happens here and the load builds days itself."""
        if self.workers < 2 or not self.persist:
            return set()
        stale = [day for day in days(since, until) if self._stale(day, names, force)]
        if len(stale) < MIN_PARALLEL_DAYS:  # starting a worker costs about as much as building a day or two
            return set()
        signatures = [self.extractor.signature(self.extractor.tarballs(day)) for day in stale]
        sizes = [sum(int(entry.get('size') or 0) for entry in signature) for signature in signatures]
        if not workers_pay(sizes):
            return set()
        try:
            pickle.dumps(self)
        except Exception:  # e.g. a client holding a socket: build sequentially
            return set()
        context = multiprocessing.get_context('spawn')  # no fork of a process with Arrow's threads
        with ProcessPoolExecutor(max_workers=min(self.workers, len(stale)), mp_context=context) as pool:
            list(pool.map(_build_day, [self] * len(stale), stale, [names] * len(stale), [force] * len(stale)))
        return {day for day in stale if not self._stale(day, names, False)}

    def _stale(self, day: date, names: set[str], force: bool) -> bool:
        """True when the day has packages and a load would (re)build some of its rollups `names`."""
        tarballs = self.extractor.tarballs(day)
        if not tarballs:
            return False
        if force:
            return True
        manifest = self._manifest(day)
        return (
            manifest is None
            or manifest.get('version') != ROLLUP_VERSION
            or manifest.get('sources') != self.extractor.signature(tarballs)
            or not names <= set(manifest.get('rollups', []))
        )

    def fingerprint(self, since: date, until: date, names: set[str]) -> str | None:
        """A hash of the manifests of the period's days when every day with packages has fresh rollups `names`
        (a load would read them all, rebuild nothing); None otherwise. Identifies what the period's data is."""
        record = []
        for day in days(since, until):
            if not self.extractor.tarballs(day):
                continue
            if self._stale(day, set(names), False):
                return None
            manifest = self._manifest(day) or {}
            record.append([day.isoformat(), manifest.get('sources'), manifest.get('problems', [])])
        return hashlib.sha256(json.dumps([ROLLUP_VERSION, record], sort_keys=True).encode()).hexdigest()

    def read_fresh(self, day: date, name: str, columns: list[str]) -> pa.Table | None:
        """The day's persisted rollup `name`, only `columns` (text dictionary-encoded), when it is fresh; None when the
        day has no packages, its rollup would be rebuilt (`load` builds it) or cannot be read. For readers of a few
        columns over many days (the usage API), without building frames."""
        if not self.extractor.tarballs(day) or self._stale(day, {name}, False):
            return None
        text = [c for c in columns if ROLLUPS[name].fields[c] == 'str']
        try:
            with self.storage.get(f'{rollup_prefix(day, self.prefix)}/{name}.parquet') as path:
                return pq.read_table(path, columns=columns, read_dictionary=text)
        except (StorageError, OSError, ValueError, pa.ArrowException):
            return None

    # one day ------------------------------------------------------------------------------------------------------
    def _day(
        self, day: date, names: set[str], force: bool, columns: dict[str, list[str]] | None = None
    ) -> tuple[dict[str, pd.DataFrame | pa.Table] | None, list[Problem], bool]:
        tarballs = self.extractor.tarballs(day)
        if not tarballs:
            return None, [], False
        sources = self.extractor.signature(tarballs)
        manifest = None if force else self._manifest(day)
        fresh = (
            manifest is not None and manifest.get('version') == ROLLUP_VERSION and manifest.get('sources') == sources
        )
        have = set(manifest.get('rollups', [])) if fresh and manifest else set()
        frames: dict[str, pd.DataFrame | pa.Table] = {}
        problems = [Problem(day, p['name'], p['message']) for p in manifest.get('problems', [])] if fresh else []
        for name in names & have:
            try:
                frames[name] = self._read(day, name, (columns or {}).get(name))
            except (StorageError, OSError, ValueError) as exc:
                log.warning('rollup %s of %s unreadable (%s); rebuilding', name, day, exc)
                have.discard(name)
        missing = names - set(frames)
        if not missing:
            return frames, problems, False
        built, new_problems = self._build(day, missing, tarballs)
        release_memory(collect=True)
        frames.update({n: built[n] for n in names if n in built})
        known = {(p.name, p.message) for p in problems}
        problems += [p for p in new_problems if (p.name, p.message) not in known]
        if self.persist:
            self._write(day, built, sources, problems, have | set(built))
        return frames, problems, True

    def _build(
        self, day: date, names: set[str], tarballs: list[str]
    ) -> tuple[dict[str, pd.DataFrame | pa.Table], list[Problem]]:
        """Roll up the day's packages, streaming the large CSVs (summaries, events) a block at a time.

        Packages that cannot hold events come first, so the day's summaries are complete and grouped (their raw
        rows freed) before the events are tallied against them (`EventTally`); the events of a package that holds
        summaries too wait on disk until then. The next package is read (inflated, verified, its large CSVs written
        to disk) on a thread while the current one is rolled up. Problems keep the packages' order.
        """
        build = set(names)
        for name in names:
            build |= DEPENDS.get(name, set())
        rollups = {name: ROLLUPS[name]() for name in build}
        raw_keys = frozenset(key for name in build for key in ROLLUPS[name].sources)
        order = {name: i for i, name in enumerate(tarballs)}
        jhs = rollups.get('job_host_summary')
        day_events = _DayEvents(day, jhs if 'main_jobevent' in rollups else None, self._blocks)
        before = len(self.extractor.problems)
        ordered = sorted(tarballs, key=lambda n: (_holds_only_events(n), order[n]))
        with (
            job_tempdir(prefix='rollup-day-') as tmp,
            contextlib.closing(
                read_ahead(self.extractor.read_day(day, raw_keys, ordered, stream_to=tmp, streamed=STREAMED))
            ) as packages,
        ):  # closed (the package under way finished) before tmp is removed
            for package in packages:
                if _holds_only_events(package.name):
                    day_events.start()
                staged = self._stream(day, package, rollups, day_events, tmp)
                if staged is None:
                    continue
                for key, table in package.tables.items():
                    for rollup in rollups.values():
                        if key not in rollup.sources:
                            continue
                        if isinstance(rollup, CollectionStatus):
                            rollup.add_package(
                                table, install_uuid=package.install_uuid, day=pd.Timestamp(day), tarball=package.name
                            )
                        else:
                            rollup.add_csv(table, install_uuid=package.install_uuid, day=day)
                for rollup, prepared in staged[0].items():
                    rollup._raw.extend(prepared)
                day_events.commit(staged[1])
                staged = prepared = None  # the summaries' rows live on in their rollup until grouped, not longer
            day_events.start()
        positions = {_base_name(n): i for i, n in enumerate(tarballs)}
        problems = sorted(self.extractor.problems[before:], key=lambda p: positions.get(p.name, len(positions)))
        frames: dict[str, pd.DataFrame | pa.Table] = {}
        for name, rollup in rollups.items():
            if isinstance(rollup, ContentUsage):
                continue
            frames[name] = day_events.summaries if name == 'job_host_summary' and day_events.tally else rollup.group()
        if day_events.tally is not None:
            release_memory(collect=True)
            table, unmatched = content_rollup(day_events.tally, day)
            frames['main_jobevent'] = ContentUsage.empty() if table is None else table
            if unmatched:
                problems.append(
                    Problem(
                        day,
                        'main_jobevent',
                        f'{unmatched} event(s) have no job host summary in their day and are not counted',
                    )
                )
        return frames, problems

    def _stream(
        self, day: date, package: PackageTables, rollups: dict[str, Rollup], events: _DayEvents, tmp: Path
    ) -> tuple[dict[Rollup, list[pd.DataFrame]], PackageEvents | tuple[str, Path] | None] | None:
        """Read the package's streamed CSVs (`package.files`) a block at a time into staged parts: prepared rows
        per rollup, and the package's events (tallied, or the checked file kept until the tally starts). None
        when a CSV is unreadable: the package is then skipped whole (a problem says so), as the extractor skips a
        package it cannot parse."""
        staged: dict[Rollup, list[pd.DataFrame]] = {}
        package_events: PackageEvents | tuple[str, Path] | None = None
        for key, path in package.files.items():
            takers = [r for r in rollups.values() if key in r.sources and not isinstance(r, ContentUsage)]
            counted = events.tally.package(package.install_uuid) if events.tally and key == 'main_jobevent' else None
            messages: list[str] = []
            columns = EVENT_COLUMNS if key == 'main_jobevent' and not takers else None  # what the tally reads
            try:
                for table in self._blocks(stream_csv(path, key, messages, columns=columns)):
                    if counted is not None:
                        counted.add(table)
                    frame = table.to_pandas() if takers and table.num_rows else None
                    for rollup in takers:
                        if frame is not None:
                            prepared = rollup.prepare(frame, package.install_uuid, pd.Timestamp(day))
                            staged.setdefault(rollup, []).append(prepared)
                    del frame, table
                    release_grown()  # each block's temporaries, before they pile up (docs/operator.md "Sizing")
            except pa.ArrowException as exc:
                log.warning('skipping %s: %s.csv is not readable CSV (%s)', package.name, key, exc)
                message = f'{key}.csv is not readable CSV ({exc}); none of its rows are used'
                self.extractor.problems.append(Problem(day, package.name, message))
                for file in package.files.values():
                    file.unlink(missing_ok=True)
                return None
            self.extractor.problems.extend(Problem(day, package.name, m) for m in messages)
            if key == 'main_jobevent' and counted is None and events.rollup is not None:
                package_events = (package.install_uuid, path.rename(tmp / f'waiting-{next(events.numbers)}.csv'))
            else:
                package_events = counted if key == 'main_jobevent' else package_events
                path.unlink()
        return staged, package_events

    def _blocks(self, tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
        """A CSV's blocks, the next one parsed while this one is used unless the period holds a large day."""
        return read_ahead(tables) if self.parse_ahead else tables

    # persistence ----------------------------------------------------------------------------------------------------
    def _manifest(self, day: date) -> dict[str, Any] | None:
        name = f'{rollup_prefix(day, self.prefix)}/manifest.json'
        try:
            if not self.storage.exists(name):
                return None
            with self.storage.get(name) as path:
                value = json.loads(path.read_text())
            return value if isinstance(value, dict) else None
        except (StorageError, OSError, ValueError) as exc:
            log.warning('rollup manifest %s unreadable (%s); rebuilding the day', name, exc)
            return None

    def _read(self, day: date, name: str, columns: list[str] | None = None) -> pd.DataFrame | pa.Table:
        """The day's rollup as a frame; with `columns`, only those as an Arrow table (text dictionary-encoded)."""
        rollup = ROLLUPS[name]()
        with self.storage.get(f'{rollup_prefix(day, self.prefix)}/{name}.parquet') as path:
            if columns is None:
                return rollup._conform(pq.read_table(path).to_pandas())
            text = [c for c in columns if rollup.fields[c] == 'str']
            return pq.read_table(path, columns=columns, read_dictionary=text)

    def _write(
        self,
        day: date,
        frames: dict[str, pd.DataFrame | pa.Table],
        sources: list[dict[str, Any]],
        problems: list[Problem],
        names: set[str],
    ) -> None:
        prefix = rollup_prefix(day, self.prefix)
        try:
            with job_tempdir(prefix='rollup-') as tmp:
                for name, frame in frames.items():
                    path = tmp / f'{name}.parquet'
                    if isinstance(frame, pa.Table):
                        pq.write_table(frame, path, compression='zstd')
                    else:
                        rollup = ROLLUPS[name]()
                        rollup.data = frame
                        rollup.to_parquet(path)
                    self.storage.put(f'{prefix}/{name}.parquet', filename=path)
            manifest = {
                'version': ROLLUP_VERSION,
                'day': day.isoformat(),
                'sources': sources,
                'rollups': sorted(names),
                'problems': [p.as_dict() for p in problems],
            }
            self.storage.put(f'{prefix}/manifest.json', dict=manifest)
        except StorageError as exc:
            log.warning('cannot persist rollups of %s (%s); continuing without', day, exc)


def workers_pay(day_bytes: list[int]) -> bool:
    """Whether days of these package sizes build faster in worker processes within the pod's memory: the typical
    (median) day is large enough to outweigh a worker's start, and no day too large to build beside another."""
    if not day_bytes:
        return False
    typical = sorted(day_bytes)[len(day_bytes) // 2]
    return typical >= PARALLEL_DAY_BYTES[0] and max(day_bytes) <= PARALLEL_DAY_BYTES[1]


def default_workers() -> int:
    """Processes for building days: the CPUs this process may use, at most 2 (each holds a day's data)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(2, cpus))


class _DayEvents:
    """The day's event tally: started once the day's summaries are grouped (`start`), fed package by package."""

    def __init__(
        self, day: date, summaries: Rollup | None, blocks: Callable[[Iterator[pa.Table]], Iterator[pa.Table]] = iter
    ) -> None:
        self.day = day
        self.blocks = blocks  # how a CSV's blocks are read (`RollupStore._blocks`)
        self.rollup = summaries if isinstance(summaries, JobHostSummaryUsage) else None
        self.summaries: pa.Table | None = None
        self.tally: EventTally | None = None
        self.waiting: list[tuple[str, Path]] = []  # (install_uuid, checked events CSV) read before the start
        self.numbers = itertools.count()

    def start(self) -> None:
        """Group the summaries, then tally the events that waited for them (once; no-op without events)."""
        if self.rollup is None or self.tally is not None:
            return
        self.summaries = _dictionary_table(self.rollup.group())
        self.rollup.data = self.rollup.empty()  # the table above holds the day's rollup, its text encoded
        release_memory(collect=True)
        self.tally = EventTally(self.rollup.pairs)
        self.rollup.pairs = self.rollup.pairs.iloc[:0]  # the tally keeps what it needs of them, as codes
        for install_uuid, path in self.waiting:
            staged = self.tally.package(install_uuid)
            for table in self.blocks(stream_csv(path, 'main_jobevent', columns=EVENT_COLUMNS)):
                staged.add(table)
            self.tally.commit(staged)
            path.unlink()
        self.waiting = []

    def commit(self, staged: PackageEvents | tuple[str, Path] | None) -> None:
        if isinstance(staged, tuple):
            self.waiting.append(staged)
        elif staged is not None and self.tally is not None:
            self.tally.commit(staged)
            release_memory(collect=True)  # what the package's blocks left, before the next package


def _dictionary_table(frame: pd.DataFrame) -> pa.Table:
    """A built rollup as an Arrow table whose text columns are dictionary-encoded: the day's summaries (~70 MiB of
    text for 400k rows) in ~25 MiB while the day's events are tallied. Readers conform it as they do any rollup."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for i, column in enumerate(table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            table = table.set_column(i, table.field(i).name, column.cast(pa.string()).dictionary_encode())
    return table


def _frame(frame: pd.DataFrame | pa.Table) -> pd.DataFrame:
    """A rollup built as an Arrow table (content usage) as the frame a regroup takes."""
    return frame.to_pandas() if isinstance(frame, pa.Table) else frame


def _base_name(name: str) -> str:
    parsed = parse_tarball_name(name, windowless=True)
    return parsed.name if parsed is not None else name


def _holds_only_events(name: str) -> bool:
    parsed = parse_tarball_name(name, windowless=True)
    return parsed is not None and parsed.collection_key == 'main_jobevent'


def _build_day(store: RollupStore, day: date, names: set[str], force: bool) -> None:
    """Worker: build and persist one day's rollups (the frames stay in the worker)."""
    store._day(day, names, force)


def _compact_table(frame: pd.DataFrame | pa.Table, columns: list[str]) -> pa.Table:
    """A day's rollup (read, or just built as a frame) as an Arrow table of `columns`, text dictionary-encoded."""
    if isinstance(frame, pd.DataFrame):
        frame = pa.Table.from_pandas(frame[columns], preserve_index=False)
    arrays = []
    for column in frame.select(columns).columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = column.cast(pa.string()).dictionary_encode()
        elif pa.types.is_dictionary(column.type):
            column = column.cast(pa.dictionary(pa.int32(), pa.string()))
        arrays.append(column)
    return pa.table(arrays, names=columns).replace_schema_metadata(None)


def _compact_frame(cls: type[Rollup], parts: list[pa.Table], columns: list[str]) -> pd.DataFrame:
    """The period's frame from its days' tables: declared dtypes, text as categoricals with sorted categories."""
    if not parts:
        return cls.empty()[columns]
    table = pa.concat_tables(parts).unify_dictionaries()  # chunks stay apart: one copy less
    parts.clear()
    if not table.num_rows:
        return cls.empty()[columns]
    out = {}
    for name in columns:
        column = table.column(name)
        table = table.drop_columns([name])  # each column freed once converted
        dtype = cls.fields[name]
        if pa.types.is_dictionary(column.type):
            out[name] = _categorical(column)
        else:
            series = column.to_pandas()
            out[name] = series.astype(dtype) if str(series.dtype) != dtype else series
        del column
    return pd.DataFrame(out, copy=False)


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """Dictionary column (one dictionary for all chunks) → categorical whose categories are sorted (so sorting by
    it is sorting by the text)."""
    chunks = [c for c in column.chunks if len(c)]
    if not chunks:
        return pd.Categorical.from_codes([], categories=pd.Index([], dtype='str'))
    dictionary = np.asarray(chunks[0].dictionary.to_pylist(), dtype=object)
    order = np.argsort(dictionary, kind='stable')
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1  # null → code -1
    indices = pc.fill_null(pa.chunked_array([c.indices for c in chunks]), -1).to_numpy()
    return pd.Categorical.from_codes(rank[indices], categories=pd.Index(dictionary[order], dtype='str'))
