"""Which windows each collector gathers in this run.

Rules (metrics-utility's, made explicit; windows are [since, until), UTC):
- `until` defaults to now and is never in the future (a later value is clamped to now).
- With `--since`: that window for every collector, split in daily slices at UTC midnight; it must not be longer
  than the look-back horizon (`max_days`). Watermarks only move forward, and only when the window starts at or
  before the collector's watermark (so an explicit window never jumps over a gap).
- Without `--since`: each collector resumes at its own watermark, but never earlier than the horizon
  `until - max_days` (older data than that is not collected; a collector that was not run for longer says so).
- Put-only targets (console.redhat.com) never get a slice again that ended at or before the watermark, even with
  `--since`: an upload there cannot be overwritten, so it would count twice.
- Snapshot collectors (current state, e.g. `main_host`) get one window ending at `until`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError
from metrics_utility.library.slicing import Window, daily_slices
from metrics_utility.settings.when import format_duration

from .state import Watermarks

SNAPSHOT_WIDTH = timedelta(seconds=1)


class IntervalError(MetricsUtilityError, ValueError):
    """The requested window cannot be gathered."""

    exit_code = BAD_INPUT


@dataclass
class CollectorPlan:
    key: str
    snapshot: bool
    windows: list[Window]
    advances_watermark: bool = True
    notes: list[str] = field(default_factory=list)


def resolve_until(until: datetime | None, now: datetime) -> tuple[datetime, list[str]]:
    if until is None:
        return now, []
    if until > now:
        return now, [f'--until {until.isoformat()} is in the future; using now ({now.isoformat()})']
    return until, []


def horizon_of(end: datetime, max_days: int) -> datetime:
    """`end - max_days`: the oldest instant a run may collect (an IntervalError when it is before the year 1)."""
    try:
        return end - timedelta(days=max_days)
    except OverflowError:
        raise IntervalError(
            f'--until {end.isoformat()} is too early: the look-back horizon of {max_days} days reaches before the '
            'year 0001'
        ) from None


def check_window(since: datetime | None, until: datetime | None, now: datetime, max_days: int) -> None:
    """Raise IntervalError when [since, until) cannot be gathered: checked before any connection is made."""
    end, _ = resolve_until(until, now)
    horizon = horizon_of(end, max_days)
    if since is None:
        return
    if since >= end:
        raise IntervalError(f'--since {since.isoformat()} is not before --until {end.isoformat()}')
    if since < horizon:
        raise IntervalError(
            f'--since {since.isoformat()} .. --until {end.isoformat()} spans {format_duration(end - since)}, more '
            f'than the look-back horizon of {max_days} days (METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS); '
            'gather in several runs or raise the horizon'
        )


def plan(
    daily_keys: list[str],
    snapshot_keys: list[str],
    watermarks: Watermarks,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    max_days: int = 28,
    skip_shipped: bool = False,
) -> list[CollectorPlan]:
    """The windows of every collector for one run.

    `skip_shipped` (put-only targets, where a second upload cannot overwrite the first): an explicit window leaves
    out the slices that end at or before the collector's watermark.
    """
    end, notes = resolve_until(until, now)
    check_window(since, until, now, max_days)
    horizon = horizon_of(end, max_days)
    plans: list[CollectorPlan] = []
    for key in daily_keys:
        mark = watermarks.get(key)
        if since is not None:
            advances = mark is None or since <= mark
            note = [] if advances else [f'{key}: window starts after its watermark {mark.isoformat()}; watermark kept']
            windows = daily_slices(since, end)
            if skip_shipped and mark is not None:
                kept = [w for w in windows if w.until > mark]
                if len(kept) < len(windows):
                    note.append(
                        f'{key}: {len(windows) - len(kept)} slice(s) up to {mark.isoformat()} were already '
                        'uploaded and are not sent again (the target cannot overwrite)'
                    )
                windows = kept
            plans.append(CollectorPlan(key, False, windows, advances, notes + note))
            continue
        start = horizon if mark is None or mark < horizon else mark
        note = list(notes)
        if mark is not None and mark < horizon:
            note.append(
                f'{key}: last shipped up to {mark.isoformat()}, older than the {max_days}-day horizon; '
                f'data between then and {horizon.isoformat()} is not collected'
            )
        plans.append(CollectorPlan(key, False, daily_slices(start, end) if start < end else [], True, note))
    for key in snapshot_keys:
        plans.append(CollectorPlan(key, True, [Window(end - SNAPSHOT_WIDTH, end)], False, list(notes)))
    return plans
