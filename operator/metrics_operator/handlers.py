"""Kopf handlers, registered into a given registry (nothing is registered at import time).

- `reconcile` (create/update of `spec`/resume): children in line with the spec; writes `Ready` and status once per
  change.
- indexes `jobs` and `pods`: what our Jobs and their pods did, kept in memory from watches (no polling).
- timer `status`: level-based; folds Job outcomes into `status` (patches only on change), posts Events for new
  failures, and re-tries collections that wait for a Secret or claim.
- `cleanup` (delete, with our finalizer): removes owned objects, keeps user data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from metrics_operator import kube, names, reconcile, render, spec, status
from metrics_operator.config import OperatorConfig, configure
from metrics_operator.metrics import OperatorMetrics

WAITING_REASONS = frozenset({'SecretNotFound', 'ConfigMapNotFound', 'ClaimNotFound', 'NameConflict', 'ApplyFailed'})
OURS = {names.LABEL_COLLECTION: kopf.PRESENT}


@dataclass
class Runtime:
    config: OperatorConfig
    client: kube.Client
    metrics: OperatorMetrics


def _enabled(raw_spec: Mapping[str, Any]) -> list[names.JobKind]:
    try:
        return spec.enabled_kinds(spec.with_defaults(raw_spec))
    except (KeyError, TypeError):
        return ['gather']


def _records(namespace: str, name: str, jobs: kopf.Index, pods: kopf.Index) -> list[status.JobRecord]:
    records = []
    for job in jobs.get((namespace, name), []):
        found = next(iter(pods.get((namespace, job['metadata']['name']), [])), None)
        record = status.job_record(job, found)
        if record is not None:
            records.append(record)
    return records


def _backfill_jobs(name: str, raw_spec: Mapping[str, Any], jobs: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The Job of the current backfill request when it exists (Jobs created in the same second tie on age)."""
    try:
        wanted = render.backfill_job_name(name, spec.validate(name, raw_spec))
    except (spec.SpecError, KeyError, TypeError):
        wanted = None
    current = [j for j in jobs if j.get('metadata', {}).get('name') == wanted]
    return current or jobs


def _status_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch turning `current` into `desired` for the keys we own (removed sub-keys become None)."""
    result: dict[str, Any] = {}
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            merged = dict(value)
            merged.update({k: None for k in old if k not in value})
            if any(old.get(k) != v for k, v in merged.items()):
                result[key] = merged
        elif old != value:
            result[key] = value
    return result


def register(
    registry: kopf.OperatorRegistry, config: OperatorConfig, login: Callable[[], kopf.ConnectionInfo]
) -> Runtime:
    """Register every handler into `registry`; `login` supplies credentials to the operator's own API client."""
    rt = Runtime(config=config, client=kube.Client(login, timeout=config.request_timeout), metrics=OperatorMetrics())
    resource = {'group': names.GROUP, 'version': names.VERSION, 'plural': names.PLURAL}

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings, config)

    @kopf.on.cleanup(registry=registry)
    async def close(**_: Any) -> None:
        await rt.client.close()

    @kopf.index('batch', 'v1', 'jobs', labels=OURS, registry=registry, id='jobs')
    def jobs(body: kopf.Body, namespace: str, labels: Mapping[str, str], **_: Any) -> dict[Any, Any]:
        return {
            (namespace, labels[names.LABEL_COLLECTION]): {'metadata': dict(body.metadata), 'status': dict(body.status)}
        }

    @kopf.index('', 'v1', 'pods', labels=OURS, registry=registry, id='pods')
    def pods(body: kopf.Body, namespace: str, labels: Mapping[str, str], **_: Any) -> dict[Any, Any] | None:
        job = next((labels[k] for k in names.POD_JOB_NAME_LABELS if k in labels), None)
        found = status.pod_summary(body)
        return {(namespace, job): found} if job and found else None

    async def run_reconcile(
        body: kopf.Body, raw_spec: Mapping[str, Any], memo: kopf.Memo, logger: logging.Logger
    ) -> status.ReadyState:
        namespace, name = body.metadata.namespace, body.metadata.name
        lock = memo.setdefault('lock', asyncio.Lock())
        async with lock:  # the update handler and the timer's retry never reconcile one collection at once
            try:
                ready = await reconcile.ensure(rt.client, body, raw_spec, config.worker_image, logger, config.allowed)
            except kube.ApiError as exc:
                rt.metrics.errors.labels('reconcile').inc()
                ready = status.ReadyState('False', 'ApplyFailed', f'the API server refused a change: {exc}')
        memo['ready'] = ready
        memo['checked'] = time.monotonic()
        rt.metrics.reconciles.labels(namespace, name, 'ok' if ready.status == 'True' else ready.reason).inc()
        rt.metrics.ready.labels(namespace, name).set(1 if ready.status == 'True' else 0)
        if ready.status == 'True':
            rt.metrics.last_reconcile.labels(namespace, name).set(time.time())
        else:
            logger.warning('Not ready (%s): %s', ready.reason, ready.message)
            kopf.warn(body, reason=ready.reason, message=ready.message)
        return ready

    def publish(body: kopf.Body, memo: kopf.Memo, indexes: tuple[kopf.Index, kopf.Index]) -> tuple[dict, list]:
        ready = memo.get('ready') or status.ReadyState('Unknown', 'Pending', 'not reconciled yet')
        current = dict(memo.get('status') or body.status)
        records = _records(body.metadata.namespace, body.metadata.name, *indexes)
        jobs_index = indexes[0]
        desired, failures = status.compose(
            current,
            ready,
            records,
            generation=body.metadata.get('generation', 1),
            enabled=_enabled(body.spec),
            now=status.now_iso(),
            backfill_jobs=_backfill_jobs(
                body.metadata.name, body.spec, list(jobs_index.get((body.metadata.namespace, body.metadata.name), []))
            ),
        )
        memo['status'] = desired
        rt.metrics.collections.observe(body.metadata.namespace, body.metadata.name, desired)
        for kind in names.JOB_KINDS:
            success = status.parse_time((desired.get(kind) or {}).get('lastSuccessTime'))
            if success is not None:
                rt.metrics.last_job_success.labels(body.metadata.namespace, body.metadata.name, kind).set(
                    success.timestamp()
                )
        return desired, failures

    def post_failures(body: kopf.Body, failures: list[status.Failure]) -> None:
        for failure in failures:
            kopf.warn(
                body, reason=f'{failure.kind.capitalize()}Failed', message=f'Job {failure.job}: {failure.message}'
            )

    @kopf.on.resume(**resource, registry=registry, id='reconcile')
    @kopf.on.create(**resource, registry=registry, id='reconcile')
    @kopf.on.update(**resource, field='spec', registry=registry, id='reconcile')
    async def reconcile_handler(
        body: kopf.Body,
        spec: kopf.Spec,
        memo: kopf.Memo,
        patch: kopf.Patch,
        logger: logging.Logger,
        jobs: kopf.Index,
        pods: kopf.Index,
        **_: Any,
    ) -> None:
        await run_reconcile(body, spec, memo, logger)
        desired, failures = publish(body, memo, (jobs, pods))
        patch.status.update(_status_patch(body.status, desired))
        post_failures(body, failures)

    @kopf.timer(**resource, interval=config.status_interval, registry=registry, id='status')
    async def status_timer(
        body: kopf.Body,
        spec: kopf.Spec,
        memo: kopf.Memo,
        patch: kopf.Patch,
        logger: logging.Logger,
        jobs: kopf.Index,
        pods: kopf.Index,
        **_: Any,
    ) -> None:
        if body.metadata.get('deletionTimestamp'):
            return
        ready = memo.get('ready')
        if ready is None:
            return  # the create/resume handler has not finished: it owns the first reconcile
        waited = time.monotonic() - memo.get('checked', 0)
        if ready.reason in WAITING_REASONS and waited >= config.retry_interval:
            await run_reconcile(body, spec, memo, logger)
        desired, failures = publish(body, memo, (jobs, pods))
        changes = _status_patch(body.status, desired)
        # observedGeneration/transition times alone never justify a write; a changed condition does.
        if changes:
            patch.status.update(changes)
        post_failures(body, failures)

    @kopf.on.delete(**resource, registry=registry, id='cleanup')
    async def cleanup_handler(body: kopf.Body, spec: kopf.Spec, logger: logging.Logger, **_: Any) -> None:
        await reconcile.cleanup(rt.client, body, spec, logger)
        rt.metrics.forget(body.metadata.namespace, body.metadata.name)

    return rt
