"""One gather run: lock, plan windows, collect, package, ship, and advance watermarks only after confirmed puts.

Order of work per collector: its windows oldest first; each window is collected, packaged and shipped before the
next one starts (temporary disk stays small). A window whose collection, packaging or upload fails stops that
collector for this run (its watermark stays at the last confirmed window, so the next run retries the same window
and nothing is skipped); other collectors go on. Object names are deterministic, so a retried window overwrites
what a crashed run may have shipped instead of duplicating it.

What the run needs it receives: the request (which collectors, which window, ship or not), how to connect, the
packager, the storage and state store, and `steps`, the optional steps of a run at scale (`scale_steps`: which
windows a shard ships, what happens after a confirmed window, what runs last). Collectors come from
`library.collectors.registry`; each takes what it needs of a window's `RunContext`.

Concurrency: the advisory lock (on a session of its own) excludes gathers of the same lock name. Gathers of one
target under different names take turns per window on the state's location lock: a window that moves a watermark is
claimed (the state re-read, what another gather shipped meanwhile left out), shipped and recorded under it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import psycopg

from metrics_utility.library import instants
from metrics_utility.library.collectors import Collector, RunContext, registry
from metrics_utility.library.collectors.controller.streams import Streams
from metrics_utility.library.errors import MetricsUtilityError
from metrics_utility.library.lock import advisory_lock, detect_dead_client
from metrics_utility.library.package import parse_tarball_name
from metrics_utility.library.package.naming import day_prefix
from metrics_utility.library.slicing import Window
from metrics_utility.library.storage import Storage
from metrics_utility.library.tempdir import job_tempdir

from . import interval, upstream_marks
from .prefetch import Prefetch
from .state import StateError, Watermarks
from .summary import RunSummary

log = logging.getLogger('metrics_utility.gather')


@dataclass(frozen=True)
class PackagedFile:
    """One tarball ready to ship: where it is, its deterministic object name, and what it holds."""

    path: Path
    object_name: str
    rows: int = 0
    bytes: int = 0
    files: tuple[dict[str, Any], ...] = ()  # per data file: collector, file, rows, size, sha256, elapsed, status
    unreadable: int = 0  # rows exported with NULLs because their stored document could not be read


class Packager(Protocol):
    def __call__(
        self, collectors: list[Collector], config: dict[str, Any], window: Window, workdir: Path
    ) -> Iterable[PackagedFile]: ...


class StateStore(Protocol):
    def load(self) -> Watermarks: ...
    def save(self, marks: Watermarks) -> None: ...  # merges into the stored document, never moves a mark back
    def describe(self) -> str: ...
    def locked(self) -> contextlib.AbstractContextManager[None]: ...  # exclusive per state location


@dataclass
class GatherRequest:
    collectors: list[str]
    since: datetime | None = None
    until: datetime | None = None
    max_days: int = 28
    ship: bool = False
    save_watermarks: bool = True
    lock_name: str = 'gather_automation_controller_billing_lock'
    collector_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # extra parameters per collector key
    workdir: Path | None = None
    parallelism: int = 1  # concurrent read sessions per window export (METRICS_UTILITY_GATHER_PARALLELISM)


class Steps(Protocol):
    """The optional steps of a run (sharded backfill, KPI sink, retention; `scale_steps`, docs/scale.md)."""

    def select(self, key: str, window: Window) -> bool:
        """Whether this run gathers `window` of collector `key` (a shard keeps its own slices)."""

    def confirmed(self, key: str, window: Window, shipped: list[PackagedFile]) -> None:
        """After every package of a window was confirmed; raising fails that window like a failed put."""

    def finish(self, summary: RunSummary) -> None:
        """Last, still under the lock."""


class NoSteps:
    """A run without optional steps: every planned window, nothing after it."""

    def select(self, key: str, window: Window) -> bool:
        return True

    def confirmed(self, key: str, window: Window, shipped: list[PackagedFile]) -> None:
        pass

    def finish(self, summary: RunSummary) -> None:
        pass


class GatherError(MetricsUtilityError, RuntimeError):
    """The run as a whole could not proceed (lock held, database unreachable, state unreadable)."""


def run(
    request: GatherRequest,
    connect: Callable[[], psycopg.Connection],
    packager: Packager,
    storage: Storage | None,
    state: StateStore | None,
    summary: RunSummary,
    steps: Steps | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> RunSummary:
    """Do one gather; fills and returns `summary` (ok=False with an error when anything failed)."""
    now = instants.now() if now is None else now
    summary.target = summary.target or (None if storage is None else type(storage).__name__)
    # The advisory lock lives on a session of its own that stays idle: when this process dies (even by SIGKILL), the
    # server sees that socket close at once and drops the lock, while a query of the working session could run on
    # for hours before the server notices its client is gone.
    try:
        holder = connect()
    except psycopg.OperationalError as exc:
        raise GatherError(f'cannot connect to the controller database: {_first_line(exc)}') from None
    with holder, advisory_lock(holder, request.lock_name):
        detect_dead_client(holder)
        try:
            conn = connect()
        except psycopg.OperationalError as exc:
            raise GatherError(f'cannot connect to the controller database: {_first_line(exc)}') from None
        detect_dead_client(conn)
        streams = Streams(connect, request.parallelism) if request.parallelism > 1 else None
        with conn:
            return _run_locked(
                request, conn, packager, storage, state, summary, steps or NoSteps(), now, progress, streams
            )


def _run_locked(
    request: GatherRequest,
    conn: psycopg.Connection,
    packager: Packager,
    storage: Storage | None,
    state: StateStore | None,
    summary: RunSummary,
    steps: Steps,
    now: datetime,
    progress: Callable[[str], None],
    streams: Streams | None = None,
) -> RunSummary:
    # `prefetch` collects the next window while this one is packaged and shipped (closed before the workdir goes).
    with job_tempdir(base=request.workdir) as workdir, Prefetch() as prefetch:
        marks = state.load() if state is not None else Watermarks()
        if state is not None:
            marks.check_not_ahead(now, state.describe())
        summary.started_from = upstream_marks.resume(marks, conn, storage, request, now) or None  # docs/migrate.md
        config = _gather_config(conn, request.collector_params.get('config', {}))
        marks.install_uuid = marks.install_uuid or config.get('install_uuid')
        daily, snapshots = registry.windowed_keys(request.collectors), registry.snapshot_keys(request.collectors)
        put_only = storage is not None and storage.put_only and request.ship
        plans = interval.plan(daily, snapshots, marks, now, request.since, request.until, request.max_days, put_only)
        for plan in plans:
            plan.windows = [w for w in plan.windows if steps.select(plan.key, w)]
        windows = [w for p in plans for w in p.windows]
        if windows:
            summary.since = min(w.since for w in windows).isoformat()
            summary.until = max(w.until for w in windows).isoformat()
        total = len(windows)
        done = 0
        order = [(plan.key, w) for plan in plans for w in plan.windows]
        for plan in plans:
            outcome = summary.outcome(plan.key)
            for note in plan.notes:
                log.warning(note)
            for planned in plan.windows:
                done += 1
                progress(
                    f'[{done}/{total}] {plan.key} {planned.since:%Y-%m-%d %H:%M} .. {planned.until:%Y-%m-%d %H:%M}'
                )
                records = request.ship and plan.advances_watermark and state is not None and request.save_watermarks
                # A recorded window is claimed, shipped and recorded under the state location's lock, after
                # re-reading the state: another gather of the same target (another lock name) may have shipped it.
                with state.locked() if records else contextlib.nullcontext():
                    window = planned
                    if records:
                        marks.absorb(state.load())
                        window = unclaimed(planned, marks.get(plan.key), trim=put_only or request.since is None)
                        if window is None:
                            log.info(
                                '%s %s: already shipped by another gather; skipped',
                                plan.key,
                                _span(planned),
                            )
                            continue
                    try:
                        shipped = _ship_window(
                            plan.key,
                            window,
                            conn,
                            config,
                            request,
                            packager,
                            storage,
                            workdir,
                            streams,
                            prefetch,
                            _after(order, plan.key, planned),
                        )
                        if request.ship:
                            steps.confirmed(plan.key, window, shipped)
                    except Exception as exc:  # one collector's failure must not stop the others
                        outcome.error = f'{_span(window)}: {_first_line(exc)}'
                        summary.ok = False
                        log.error(
                            '%s: %s (its watermark stays; the next run retries this window)', plan.key, outcome.error
                        )
                        break
                    outcome.windows += 1
                    for item in shipped:
                        outcome.rows += item.rows
                        outcome.unreadable += item.unreadable
                        outcome.bytes += item.bytes
                        outcome.packages += 1
                    if request.ship and plan.advances_watermark and marks.advance(plan.key, window.until):
                        outcome.shipped_until = window.until.isoformat()
                        if state is not None and request.save_watermarks:
                            state.save(marks)
        prefetch.discard()  # a window collected ahead of a collector that then failed: gone before the last steps
        failed = [k for k, o in summary.collectors.items() if o.error]
        if failed:
            summary.error = '; '.join(f'{k}: {summary.collectors[k].error}' for k in failed)
        steps.finish(summary)
    return summary


def unclaimed(window: Window, mark: datetime | None, trim: bool) -> Window | None:
    """What of `window` is still to ship given the freshly read watermark `mark`: all of it when `trim` is off (an
    explicit window on a readable target is re-shipped on purpose, overwriting), else the part after `mark`, or
    None when `mark` already covers it."""
    if not trim or mark is None or mark <= window.since:
        return window
    if mark >= window.until:
        return None
    return Window(mark, window.until)


def _gather_config(conn: psycopg.Connection, params: dict[str, Any]) -> dict[str, Any]:
    return registry.CONFIG(db=conn, **params).gather() or {}


def _ship_window(
    key: str,
    window: Window,
    conn: psycopg.Connection,
    config: dict[str, Any],
    request: GatherRequest,
    packager: Packager,
    storage: Storage | None,
    workdir: Path,
    streams: Streams | None = None,
    prefetch: Prefetch | None = None,
    following: tuple[str, Window] | None = None,
) -> list[PackagedFile]:
    def build(key: str, window: Window) -> Collector:
        context = RunContext(db=conn, since=window.since, until=window.until, output_dir=workdir / key, streams=streams)
        return registry.COLLECTORS[key].for_run(context, request.collector_params.get(key))

    if prefetch is None:
        collector = build(key, window)
    else:
        collector = prefetch.take(key, window.since, window.until, partial(build, key, window))
        if following is not None:
            prefetch.ahead(following[0], following[1].since, following[1].until, partial(build, *following))
    shipped = []
    started = time.monotonic()
    for item in packager([collector], config, window, workdir):
        if request.ship and storage is not None:
            with open(item.path, 'rb') as stream:
                storage.put(item.object_name, fileobj=stream)  # raises on failure: the window is not confirmed
        shipped.append(item)
        if request.ship:
            item.path.unlink(missing_ok=True)
    if request.ship and storage is not None and not storage.put_only and config.get('install_uuid'):
        _remove_stale(storage, key, window, config['install_uuid'], {item.object_name for item in shipped})
    log.info(
        '%s %s: %d package(s), %d rows in %.1fs',
        key,
        _span(window),
        len(shipped),
        sum(i.rows for i in shipped),
        time.monotonic() - started,
    )
    if unreadable := sum(i.unreadable for i in shipped):
        log.warning(
            '%s %s: %d row(s) with unreadable documents exported with NULLs (data_collection_status.csv has the count)',
            key,
            _span(window),
            unreadable,
        )
    return shipped


def _after(order: list[tuple[str, Window]], key: str, window: Window) -> tuple[str, Window] | None:
    """The window gathered after `window` of `key` in the run's order, if any."""
    index = order.index((key, window))
    return order[index + 1] if index + 1 < len(order) else None


def _span(window: Window) -> str:
    """`since..until` as the log lines and the summary's errors name a window."""
    return f'{window.since.isoformat()}..{window.until.isoformat()}'


def _remove_stale(storage: Storage, key: str, window: Window, install_uuid: str, kept: set[str]) -> None:
    """Drop this collector's packages inside the window that this run did not write: left by a crashed run of the same
    window, or narrower windows of earlier runs (a resumed partial day) now covered again. Either would count twice.
    A package that only partly overlaps the window cannot be removed without losing rows; it is reported."""
    for name in storage.glob(f'{day_prefix(window.since)}/{install_uuid}-*-{key}.tar.gz'):
        parsed = parse_tarball_name(name)
        if name in kept or parsed is None or parsed.key != key:
            continue
        if window.since <= parsed.since and parsed.until <= window.until:
            log.warning(
                'removing %s: covered by the window %s shipped now',
                name,
                _span(window),
            )
            storage.remove(name)
        elif parsed.since < window.until and window.since < parsed.until:
            log.warning(
                '%s overlaps the window %s shipped now; reports count rows in both once (same row ids), but '
                'they are stored twice',
                name,
                _span(window),
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if not text or isinstance(exc, KeyError):
        text = f'{type(exc).__name__}: {text}'
    return text.splitlines()[0]


__all__ = ['GatherError', 'GatherRequest', 'NoSteps', 'PackagedFile', 'Packager', 'StateError', 'Steps', 'run']
