"""Retention: which stored packages to delete by age and by total size, oldest first, never what is not uploaded.

The rule (documented in docs/scale.md):

- Candidates are objects under `data/` (packages; the window comes from the name) and `rollups/` (the window is the
  `YYYY/MM/DD` day in the path). Nothing else is ever deleted: `state/` (watermarks, backfill markers), `reports/`
  and names that do not tell their window only count towards the stored total.
- A window (since, until) is deleted whole, every collector's packages of it, so a reader never sees part of a day.
- Age: a window is expired when its `until` lies `max_age_days` or more before now.
- Size: while the stored total (every object, candidates or not) exceeds `max_bytes`, the oldest remaining window
  goes (by `until`, then `since`).
- Upload guard: when the storage is a buffer in front of an upload target, `uploaded` holds the upload stage's
  watermarks ("uploaded up to", per collector). A package window is deletable only when its `until` is at or before
  its collector's uploaded watermark; other windows are kept even when that leaves the total above `max_bytes` (they
  are reported as `blocked`). Rollups are derived locally and never uploaded: the guard does not apply to them.
- Without an upload stage (`uploaded` None) the storage is the destination (directory, S3, air-gapped): only the
  user's limits apply, and with no limits nothing is ever deleted.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from metrics_utility.library.instants import require_aware
from metrics_utility.library.package import parse_tarball_name
from metrics_utility.library.storage import Storage, StorageDirectory

log = logging.getLogger(__name__)

AREAS = ('data/', 'rollups/')
_DAY = re.compile(r'(?:^|/)(\d{4})/(\d{2})/(\d{2})(?:/|$)')


@dataclass(frozen=True)
class Policy:
    """The user's limits; None means "no limit of that kind"."""

    max_age_days: int | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.max_age_days is not None and self.max_age_days < 1:
            raise ValueError(f'max_age_days must be at least 1, got {self.max_age_days}')
        if self.max_bytes is not None and self.max_bytes < 0:
            raise ValueError(f'max_bytes must not be negative, got {self.max_bytes}')

    @property
    def enabled(self) -> bool:
        return self.max_age_days is not None or self.max_bytes is not None


@dataclass(frozen=True)
class StoredObject:
    """One candidate: its window and, for packages, its collector key (None for rollups and legacy names)."""

    name: str
    size: int
    since: datetime
    until: datetime
    key: str | None
    area: str  # 'data' | 'rollups'


@dataclass
class Plan:
    """What to delete and why; `stored_*` are the totals before deleting anything."""

    delete: list[StoredObject] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # name -> 'age' | 'size'
    blocked: list[StoredObject] = field(default_factory=list)  # would go, but not uploaded yet
    stored_bytes: int = 0
    stored_objects: int = 0

    @property
    def delete_bytes(self) -> int:
        return sum(o.size for o in self.delete)

    @property
    def blocked_bytes(self) -> int:
        return sum(o.size for o in self.blocked)

    @property
    def remaining_bytes(self) -> int:
        return self.stored_bytes - self.delete_bytes


def classify(name: str, size: int) -> StoredObject | None:
    """The candidate behind an object name, or None when retention must never touch it."""
    area = next((a for a in AREAS if name.startswith(a)), None)
    if area is None:
        return None
    if area == 'data/':
        parsed = parse_tarball_name(name)
        if parsed is None:
            return None
        return StoredObject(name, size, parsed.since, parsed.until, parsed.key, 'data')
    match = _DAY.search(name[len(area) :])
    if match is None:
        return None
    try:
        day = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    except ValueError:
        return None
    return StoredObject(name, size, day, day + timedelta(days=1), None, 'rollups')


def _uploaded(obj: StoredObject, uploaded: Mapping[str, datetime] | None) -> bool:
    if uploaded is None or obj.area != 'data':
        return True
    if obj.key is None:  # a legacy name without a collector key: uploaded only when every collector is past it
        return bool(uploaded) and all(obj.until <= mark for mark in uploaded.values())
    mark = uploaded.get(obj.key)
    return mark is not None and obj.until <= mark


def plan(
    objects: Mapping[str, int],
    policy: Policy,
    now: datetime,
    uploaded: Mapping[str, datetime] | None = None,
) -> Plan:
    """Pure: decide from a listing {name: size}. See the module docstring for the rule."""
    require_aware('now', now, ValueError)
    result = Plan(stored_bytes=sum(objects.values()), stored_objects=len(objects))
    if not policy.enabled:
        return result
    windows: dict[tuple[datetime, datetime], list[StoredObject]] = {}
    for name, size in objects.items():
        candidate = classify(name, size)
        if candidate is not None:
            windows.setdefault((candidate.since, candidate.until), []).append(candidate)
    cutoff = now - timedelta(days=policy.max_age_days) if policy.max_age_days is not None else None
    total = result.stored_bytes
    for (_since, until), members in sorted(windows.items(), key=lambda item: (item[0][1], item[0][0])):
        if cutoff is not None and until <= cutoff:
            reason = 'age'
        elif policy.max_bytes is not None and total > policy.max_bytes:
            reason = 'size'
        else:
            continue
        members = sorted(members, key=lambda o: o.name)
        if not all(_uploaded(o, uploaded) for o in members):
            result.blocked.extend(members)
            continue
        for obj in members:
            result.delete.append(obj)
            result.reasons[obj.name] = reason
            total -= obj.size
    return result


@dataclass
class Outcome:
    """What one retention pass found and did; `as_json` is the run summary's `retention` block."""

    policy: Policy
    stored_bytes: int = 0  # after deleting
    stored_objects: int = 0
    deleted_objects: int = 0
    deleted_bytes: int = 0
    blocked_objects: int = 0
    blocked_bytes: int = 0
    volume_bytes: int | None = None
    volume_free_bytes: int | None = None
    deleted: list[str] = field(default_factory=list)

    @property
    def over_limit(self) -> bool:
        return self.policy.max_bytes is not None and self.stored_bytes > self.policy.max_bytes

    def as_json(self) -> dict[str, Any]:
        return {
            'max_age_days': self.policy.max_age_days,
            'max_bytes': self.policy.max_bytes,
            'deleted_objects': self.deleted_objects,
            'deleted_bytes': self.deleted_bytes,
            'blocked_objects': self.blocked_objects,
            'blocked_bytes': self.blocked_bytes,
        }


def volume_usage(storage: Storage) -> tuple[int, int] | None:
    """(total, free) bytes of the filesystem a directory target lives on; None for object stores."""
    if not isinstance(storage, StorageDirectory) or not storage.base_path.exists():
        return None
    usage = shutil.disk_usage(storage.base_path)
    return usage.total, usage.free


def apply(
    storage: Storage,
    policy: Policy,
    now: datetime,
    uploaded: Mapping[str, datetime] | None = None,
    dry_run: bool = False,
) -> Outcome:
    """List the storage, plan, delete oldest first (unless `dry_run`) and measure what is left.

    Deleting is window by window in plan order, so a crash in between leaves the oldest windows gone and the
    newer ones intact; the next pass finishes the job. Raises StorageError when listing or deleting fails.
    """
    listing = storage.list_sizes()
    decided = plan(listing, policy, now, uploaded)
    outcome = Outcome(policy=policy, blocked_objects=len(decided.blocked), blocked_bytes=decided.blocked_bytes)
    for obj in decided.delete:
        if not dry_run:
            storage.remove(obj.name)
        log.info(
            'retention: %s %s (%s, %d bytes)',
            'would delete' if dry_run else 'deleted',
            obj.name,
            'older than the age limit' if decided.reasons[obj.name] == 'age' else 'over the size limit',
            obj.size,
        )
        outcome.deleted.append(obj.name)
        outcome.deleted_objects += 1
        outcome.deleted_bytes += obj.size
    outcome.stored_bytes = decided.remaining_bytes
    outcome.stored_objects = decided.stored_objects - len(decided.delete)
    if decided.blocked:
        log.warning(
            'retention: kept %d object(s), %d bytes, that are not uploaded yet (oldest %s)',
            len(decided.blocked),
            decided.blocked_bytes,
            decided.blocked[0].name,
        )
    if outcome.over_limit:
        log.warning('retention: %d bytes stored, above the limit of %d bytes', outcome.stored_bytes, policy.max_bytes)
    usage = volume_usage(storage)
    if usage is not None:
        outcome.volume_bytes, outcome.volume_free_bytes = usage
    return outcome


def measure(storage: Storage) -> Outcome:
    """Stored totals only (no limits configured): the figures the operator shows."""
    return apply(storage, Policy(), datetime.now(UTC))
