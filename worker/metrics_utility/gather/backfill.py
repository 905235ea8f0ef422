"""Sharded backfill: n concurrent gathers of one explicit window, each shipping a deterministic subset of its slices.

How the pieces fit (docs/scale.md has the whole story):

- The window [since, until) is cut into daily slices; slice number p (0-based, oldest first) belongs to shard
  `p mod n`. Snapshot collectors (one window at `until`) belong to shard 0. Every shard computes the same cut from
  the same arguments, so no coordination is needed; `until` must be in the past (no shard may see a different now).
- Shards never touch the watermark document. After a slice's packages are confirmed, the shard writes a completion
  marker `state/backfill/<run>/<collector>/<since>--<until>.json` next to the watermarks. A retried shard skips
  slices that already have a marker, so a Job retry only redoes what is missing.
- Each shard holds the gather lock in *shared* mode (shards run together; a scheduled gather, which takes it
  exclusively, waits for the backfill to end) plus an exclusive lock of its own (the same shard never runs twice).
- Merge: after its run a shard takes the gather lock exclusively (waiting for the others to finish) and advances
  each collector's watermark to the end of the longest run of consecutive marked slices from the first one, under
  the usual rule (forward only, and only when the window starts at or before the watermark). Merging is idempotent:
  every shard does it, the last one to finish sees every marker.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from metrics_utility import contract
from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError
from metrics_utility.library.package.naming import format_instant
from metrics_utility.library.slicing import Window, daily_slices
from metrics_utility.library.storage import Storage, StorageError

from .state import StateError

if TYPE_CHECKING:  # types only: parsing a shard (the command line) loads no database driver
    from .runner import PackagedFile, StateStore

log = logging.getLogger('metrics_utility.gather.backfill')

INDEX_VARIABLE = 'JOB_COMPLETION_INDEX'  # set by Kubernetes in every pod of an Indexed Job
MARKER_ROOT = 'state/backfill'


class ShardError(MetricsUtilityError, ValueError):
    """A --shard value or a backfill window that cannot be used."""

    exit_code = BAD_INPUT


_SHARD_NUMBER = re.compile(r'[0-9]{1,6}')


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str, completion_index: str | None = None) -> Shard:
        """`i/n`, or `n` alone with the index taken from JOB_COMPLETION_INDEX (an Indexed Job's pod), which the
        settings layer reads (`settings.gather.job_completion_index`)."""
        raw_index, _, raw_count = text.strip().rpartition('/')
        if not raw_index:
            raw_index = completion_index or ''
            if not raw_index:
                raise ShardError(f'--shard {text!r}: expected i/n, or n with {INDEX_VARIABLE} set (an Indexed Job)')
        if not (_SHARD_NUMBER.fullmatch(raw_index.strip()) and _SHARD_NUMBER.fullmatch(raw_count.strip())):
            # ASCII digits only: int() would also take '٣', '1_0' and '+1', which the operator never renders
            raise ShardError(f'--shard {text!r}: expected whole numbers i/n, e.g. 0/4')
        index, count = int(raw_index), int(raw_count)
        fewest, most = contract.SHARDS
        if not fewest <= count <= most or not 0 <= index < count:
            raise ShardError(f'--shard {index}/{count}: expected 0 <= i < n <= {most}')
        return cls(index, count)


def run_id(since: datetime, until: datetime, count: int) -> str:
    """Deterministic from the arguments, so every shard of one backfill names the same run."""
    return f'{since.astimezone(UTC):%Y%m%dT%H%M%SZ}-{until.astimezone(UTC):%Y%m%dT%H%M%SZ}-{count}'


def check_window(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    if since is None or until is None:
        raise ShardError('--shard needs both --since and --until (every shard must cut the same window)')
    if until > now:
        raise ShardError(
            f'--until {until.isoformat()} is in the future; a sharded backfill needs a past end so '
            'that every shard cuts the same slices'
        )
    if since >= until:
        raise ShardError(f'--since {since.isoformat()} is not before --until {until.isoformat()}')
    return since, until


class Markers:
    """Completion markers of one backfill run, kept in a readable storage (the ship target or a local directory)."""

    def __init__(self, storage: Storage, run: str) -> None:
        self.storage = storage
        self.run = run

    def name(self, key: str, window: Window) -> str:
        return f'{MARKER_ROOT}/{self.run}/{key}/{format_instant(window.since)}--{format_instant(window.until)}.json'

    def done(self, key: str) -> set[str]:
        return set(self.storage.glob(f'{MARKER_ROOT}/{self.run}/{key}/*.json'))

    def mark(self, key: str, window: Window, shipped: list[PackagedFile], shard: Shard) -> None:
        """Written only after the slice's packages were confirmed (a failure here fails the slice)."""
        self.storage.put(
            self.name(key, window),
            dict={
                'run': self.run,
                'shard': shard.index,
                'shards': shard.count,
                'collector': key,
                'since': window.since.isoformat(),
                'until': window.until.isoformat(),
                'objects': [item.object_name for item in shipped],
                'rows': sum(item.rows for item in shipped),
            },
        )


@dataclass
class ShardPlan:
    """The shard's view of the backfill: its slices, and what earlier attempts already finished."""

    shard: Shard
    since: datetime
    until: datetime
    markers: Markers
    slices: list[Window] = field(init=False)
    _done: dict[str, set[str]] = field(default_factory=dict, init=False)
    shipped: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.slices = daily_slices(self.since, self.until)
        self._positions = {(w.since, w.until): p for p, w in enumerate(self.slices)}

    def select(self, key: str, window: Window) -> bool:
        """Mine and not done yet (the runner's `select`)."""
        position = self._positions.get((window.since, window.until))
        if position is None:  # a snapshot window: shard 0 takes it
            return self.shard.index == 0
        if position % self.shard.count != self.shard.index:
            return False
        if key not in self._done:
            self._done[key] = self.markers.done(key)
        return self.markers.name(key, window) not in self._done[key]

    def confirmed(self, key: str, window: Window, shipped: list[PackagedFile]) -> None:
        if (window.since, window.until) in self._positions:
            self.markers.mark(key, window, shipped, self.shard)
            self.shipped += 1


def merge(markers: Markers, store: StateStore, keys: list[str], slices: list[Window]) -> dict[str, datetime]:
    """Advance watermarks over the consecutive marked slices from the first; returns what moved. Hold the gather
    lock exclusively around it (the watermark document is read, changed and written whole)."""
    marks = store.load()
    since = slices[0].since
    moved: dict[str, datetime] = {}
    for key in keys:
        done = markers.done(key)
        end = None
        for window in slices:
            if markers.name(key, window) not in done:
                break
            end = window.until
        current = marks.get(key)
        if end is None or (current is not None and since > current):
            if end is not None:
                log.warning('%s: backfill starts after its watermark %s; watermark kept', key, current.isoformat())
            continue
        if marks.advance(key, end):
            moved[key] = end
    if moved:
        try:
            store.save(marks)
        except (StateError, StorageError) as exc:
            raise StateError(f'backfill merge: {exc}') from exc
    return moved
