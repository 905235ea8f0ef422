"""The optional steps of a gather for operating at scale: a sharded backfill (`--shard`), the KPI sink
(METRICS_UTILITY_ELASTICSEARCH_*) and retention (METRICS_UTILITY_RETENTION_*). See docs/scale.md.

`build` turns settings into one `ScaleSteps`, the runner's `steps` collaborator (which windows a shard ships, what
follows a confirmed window, what runs last) together with the lock name and watermark rule the run must use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from metrics_utility.library import instants
from metrics_utility.library.lock import LockHeldError, advisory_lock, try_lock
from metrics_utility.library.slicing import Window
from metrics_utility.library.storage import Storage, StorageDirectory
from metrics_utility.settings.gather import GatherSettings

from . import backfill, kpi, retention
from . import secondary as feed_secondary
from .runner import PackagedFile, StateStore
from .summary import RunSummary

log = logging.getLogger('metrics_utility.gather')

MERGE_TIMEOUT = 600.0  # seconds a finished shard waits for the others (and a scheduled gather) before merging


@dataclass
class ScaleSteps:
    """The optional steps of one gather (`runner.Steps`), the lock name and whether the run records watermarks (a
    shard does not: the merge after it does, see `merge_backfill`)."""

    lock_name: str
    save_watermarks: bool = True
    shard: backfill.ShardPlan | None = None
    confirmers: list[Callable[[str, Window, list[PackagedFile]], None]] = field(default_factory=list)
    finishers: list[Callable[[RunSummary], None]] = field(default_factory=list)

    def select(self, key: str, window: Window) -> bool:
        return self.shard is None or self.shard.select(key, window)

    def confirmed(self, key: str, window: Window, shipped: list[PackagedFile]) -> None:
        for hook in self.confirmers:
            hook(key, window, shipped)

    def finish(self, summary: RunSummary) -> None:
        for hook in self.finishers:
            hook(summary)


def kpi_sink(config: GatherSettings) -> kpi.KpiSink | None:
    if not config.elasticsearch:
        return None
    from metrics_utility.library.storage.elasticsearch import StorageElasticsearch

    es = config.elasticsearch
    password, api_key = (value.reveal() if value is not None else None for value in (es.password, es.api_key))
    return kpi.KpiSink(
        StorageElasticsearch(
            es.url, es.index, username=es.username, password=password, api_key=api_key, verify_cert_path=es.ca_bundle
        )
    )


def marker_storage(config: GatherSettings, storage: Storage | None) -> Storage:
    """Markers live with the watermarks: in a readable target, or beside METRICS_UTILITY_STATE_PATH."""
    if config.state_path is not None:
        return StorageDirectory(config.state_path.parent)
    if storage is not None and not storage.put_only:
        return storage
    raise backfill.ShardError(
        'a sharded backfill to a put-only target needs METRICS_UTILITY_STATE_PATH on a volume '
        'every shard mounts (its completion markers live beside it)'
    )


def build(
    config: GatherSettings,
    storage: Storage | None,
    shard: backfill.Shard | None,
    ship: bool,
    since: datetime | None,
    until: datetime | None,
    target: str | None,
    now: datetime | None = None,
    *,
    secondary: Storage | None = None,
    connect: Callable[[], psycopg.Connection] | None = None,
) -> ScaleSteps:
    """The configured steps: a shard's own lock name and slices, the secondary target and retention after a run,
    the KPI sink. `connect` opens a controller session (a new secondary starts at the controller's watermarks)."""
    steps = ScaleSteps(lock_name=config.lock_name, save_watermarks=config.save_watermarks)
    if shard is not None:
        if not ship:
            raise backfill.ShardError('--shard needs --ship (shards record what they shipped)')
        since, until = backfill.check_window(since, until, now or instants.now())
        run = backfill.run_id(since, until, shard.count)
        steps.shard = backfill.ShardPlan(shard, since, until, backfill.Markers(marker_storage(config, storage), run))
        steps.confirmers.append(steps.shard.confirmed)
        steps.finishers.append(_shard_summary(steps.shard))
        steps.save_watermarks = False
        steps.lock_name = f'{config.lock_name}_backfill_{run}_{shard.index}'
    elif storage is not None and not storage.put_only and ship:
        if secondary is not None:  # before retention: what it confirms now may be pruned in the same run
            name = config.secondary_target or 'secondary'
            steps.finishers.append(
                feed_secondary.step(storage, secondary, name, config.collectors, config.max_days, connect)
            )
        steps.finishers.append(retention.step(storage, config.retention, secondary=secondary is not None))
    sink = kpi_sink(config) if ship else None
    if sink is not None:
        steps.confirmers.append(lambda key, window, shipped: sink.confirmed(key, window, shipped, target))
        steps.finishers.append(sink.finish)
    return steps


def _shard_summary(plan: backfill.ShardPlan) -> Callable[[RunSummary], None]:
    def finish(summary: RunSummary) -> None:
        for outcome in summary.collectors.values():
            outcome.shipped_until = None  # shards never move watermarks; the merge does
        summary.backfill = {
            'run': plan.markers.run,
            'shard': plan.shard.index,
            'shards': plan.shard.count,
            'slices': plan.shipped,
            'merged': {},
        }

    return finish


def shared_lock(connect: Callable[[], psycopg.Connection], name: str) -> Callable[[], psycopg.Connection]:
    """A connect function whose sessions hold the gather lock `name` in shared mode until they close."""

    def wrapped() -> psycopg.Connection:
        conn = connect()
        if not try_lock(conn, name, shared=True):
            conn.close()
            raise LockHeldError(name)
        return conn

    return wrapped


def merge_backfill(
    steps: ScaleSteps,
    connect: Callable[[], psycopg.Connection],
    lock_name: str,
    state: StateStore | None,
    keys: list[str],
    summary: RunSummary,
    timeout: float = MERGE_TIMEOUT,
) -> None:
    """After the shard's run: wait for the gather lock exclusively, then merge every shard's markers."""
    plan = steps.shard
    if plan is None or state is None:
        return
    try:
        with connect() as conn, advisory_lock(conn, lock_name, mode='wait', timeout=timeout):
            moved = backfill.merge(plan.markers, state, keys, plan.slices)
    except LockHeldError:
        log.warning(
            'backfill merge deferred: the gather lock stayed busy for %.0fs; the last shard to finish (or '
            'a rerun of any shard) merges',
            timeout,
        )
        return
    if summary.backfill is not None:
        summary.backfill['merged'] = {k: v.isoformat() for k, v in sorted(moved.items())}
    for key, until in moved.items():
        log.info('backfill merge: %s watermark advanced to %s', key, until.isoformat())
