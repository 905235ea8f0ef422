"""A second, put-only target (console.redhat.com) fed from the primary's confirmed packages, as upstream's
`metrics_utility_console_enabled` CronJob does beside its directory gather (docs/migrate.md, docs/scale.md).

The primary target (directory, S3) is the source of truth: whatever it holds under `data/` was confirmed by its
storage. After the run (still under the gather lock, before retention) every stored package the secondary has not
received is sent there, window by window, oldest first; the secondary's own watermark document
(`state/console.json` in the primary storage, the format of `state/watermarks.json`) moves to a window's end only
after every package of that window was accepted. So a failing secondary never fails or blocks the primary: its
watermark stays, and the next run sends the backlog from the primary's stored packages, each exactly once.

Where a new secondary starts: at the controller's `AUTOMATION_ANALYTICS_LAST_ENTRIES` (what upstream already sent to
console.redhat.com), else at the look-back horizon; that start is saved at once, so retention (which keeps every
package above the secondary's watermark) never waits for windows the secondary will never be sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from metrics_utility.library import instants
from metrics_utility.library.package import parse_tarball_name
from metrics_utility.library.storage import Storage

from . import upstream_marks
from .state import StateError, StorageStateStore, Watermarks
from .summary import RunSummary

log = logging.getLogger('metrics_utility.gather.secondary')

STATE_OBJECT = 'state/console.json'  # the secondary's watermarks, beside the primary's state/watermarks.json
TARGETS = ('crc',)


@dataclass(frozen=True)
class PendingWindow:
    """One collector's window in the primary storage that the secondary has not confirmed: its packages by name."""

    key: str
    since: datetime
    until: datetime
    names: tuple[str, ...]


def pending(listing: Iterable[str], marks: Mapping[str, datetime]) -> list[PendingWindow]:
    """Pure: the stored packages (`data/` names that tell their collector and window) ending after the secondary's
    mark of their collector, grouped by window, oldest first. A collector without a mark has sent nothing."""
    grouped: dict[tuple[str, datetime, datetime], list[str]] = {}
    for name in listing:
        if not name.startswith('data/'):
            continue
        parsed = parse_tarball_name(name)
        if parsed is None or parsed.key is None:
            continue
        mark = marks.get(parsed.key)
        if mark is not None and parsed.until <= mark:
            continue
        grouped.setdefault((parsed.key, parsed.since, parsed.until), []).append(name)
    ordered = sorted(grouped.items(), key=lambda item: (item[0][2], item[0][1], item[0][0]))
    return [PendingWindow(key, since, until, tuple(sorted(names))) for (key, since, until), names in ordered]


def starting_marks(keys: Iterable[str], controller: Mapping[str, datetime], horizon: datetime) -> dict[str, datetime]:
    """Pure: where a new secondary starts per collector: the controller's mark (upstream already sent up to
    there), never before the look-back horizon."""
    return {key: max(controller.get(key, horizon), horizon) for key in keys}


@dataclass
class Outcome:
    """The run summary's `secondary` block (contract.SUMMARY_SECONDARY_FIELDS)."""

    target: str
    windows: int = 0
    packages: int = 0
    bytes: int = 0
    pending: int = 0  # windows still to send after this run
    last_window: dict[str, str] | None = None  # the last window the secondary confirmed in this run
    shipped_until: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            'target': self.target,
            'ok': self.error is None,
            'windows': self.windows,
            'packages': self.packages,
            'bytes': self.bytes,
            'pending': self.pending,
            'last_window': self.last_window,
            'shipped_until': dict(sorted(self.shipped_until.items())),
            'error': self.error,
        }


def step(
    primary: Storage,
    secondary: Storage,
    target: str,
    keys: list[str],
    max_days: int,
    connect: Callable[[], psycopg.Connection] | None,
    now: Callable[[], datetime] = instants.now,
) -> Callable[[RunSummary], None]:
    """The runner's `finish` hook that feeds the secondary; it fills `summary.secondary` and never touches
    `summary.ok` (the primary's outcome)."""
    state = StorageStateStore(primary, STATE_OBJECT)

    def finish(summary: RunSummary) -> None:
        outcome = Outcome(target)
        summary.secondary = outcome.as_json()
        try:
            send(primary, secondary, state, keys, now() - timedelta(days=max_days), connect, outcome)
        except Exception as exc:  # the secondary's failure is its own; the primary already succeeded or not
            outcome.error = _first_line(exc)
            log.error('secondary %s: %s (its watermark stays; the next run sends the backlog)', target, outcome.error)
        summary.secondary = outcome.as_json()

    return finish


def send(
    primary: Storage,
    secondary: Storage,
    state: StorageStateStore,
    keys: list[str],
    horizon: datetime,
    connect: Callable[[], psycopg.Connection] | None,
    outcome: Outcome,
) -> None:
    """Send the backlog, window by window; raises at the first failure (what was confirmed before it is saved)."""
    with state.locked():
        marks = state.load()
        listing = list(primary.list_sizes('data/'))
        if not marks.shipped_until:
            stored = {p.key for p in map(parse_tarball_name, listing) if p is not None and p.key is not None}
            marks.shipped_until = starting_marks([*keys, *sorted(stored)], _controller_marks(connect), horizon)
            if marks.shipped_until:
                state.save(marks)
            log.info('secondary %s: new; starts at %s', outcome.target, _iso(marks.shipped_until))
        outcome.shipped_until = {k: v.isoformat() for k, v in marks.shipped_until.items()}
        backlog = pending(listing, marks.shipped_until)
        outcome.pending = len(backlog)
        for window in backlog:
            sent = 0
            for name in window.names:
                with primary.get(name) as path:
                    size = path.stat().st_size
                    secondary.put(name, filename=path)  # raises on refusal: this window is not confirmed
                sent += 1
                outcome.packages += 1
                outcome.bytes += size
            marks.advance(window.key, window.until)
            state.save(marks)
            outcome.windows += 1
            outcome.pending -= 1
            outcome.last_window = {'since': window.since.isoformat(), 'until': window.until.isoformat()}
            outcome.shipped_until[window.key] = window.until.isoformat()
            log.info(
                'secondary %s: %s %s..%s confirmed (%d package(s))',
                outcome.target,
                window.key,
                window.since.isoformat(),
                window.until.isoformat(),
                sent,
            )


def _controller_marks(connect: Callable[[], psycopg.Connection] | None) -> dict[str, datetime]:
    """The controller's watermarks (read-only); any failure only costs the import (the horizon is the start)."""
    if connect is None:
        return {}
    try:
        with connect() as conn:
            value, _uuid, notes = upstream_marks.read_setting(conn)
    except psycopg.Error as exc:
        log.warning('secondary: cannot read the controller watermarks (%s); starts at the look-back horizon', exc)
        return {}
    imported = upstream_marks.parse_last_entries(value, instants.now())
    for note in notes + imported.notes:
        log.warning('secondary: %s', note)
    return imported.marks


def confirmed_marks(primary: Storage) -> Watermarks | None:
    """The secondary's watermarks for retention; a damaged document protects every package (None)."""
    try:
        return StorageStateStore(primary, STATE_OBJECT).load()
    except StateError as exc:
        log.warning('retention keeps every package: %s', exc)
        return None


def _iso(marks: Mapping[str, datetime]) -> str:
    return ', '.join(f'{k} {v.isoformat()}' for k, v in sorted(marks.items())) or 'nothing to send'


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
