"""Kopf handlers: one function each, registered explicitly by `register` (nothing is registered at import time).

- `on_spec_change`, id `reconcile` (create/update of `spec`/resume): children in line with the spec; writes
  `Ready` and status once per change.
- `index_jobs`/`index_pods`, indexes `jobs` and `pods`: what our Jobs and their pods did, kept in memory from
  watches (no polling).
- `index_deployments`, index `deployments`: the dashboard Deployment of each collection (its availability).
- `on_status_timer`, timer `status`: level-based; folds Job outcomes into `status` (patches only on change), posts
  Events for new failures, and re-tries collections that wait for a Secret or claim.
- `on_identity_timer`, timer `identity` (and every `reconcile`): keeps the managed Candlepin identity
  (`identity_keeper`): registers, renews near expiry, retries a failure on each tick; checks in once per
  `identity_interval`; a failure is a condition and one Warning Event.
- `on_delete`, id `cleanup` (delete, with our finalizer): removes owned objects, keeps user data.

Handlers that need the operator's client, configuration or metrics get them as `rt` (a `Runtime`), bound by
`register` with `functools.partial`, which Kopf calls like the function itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import kopf

from metrics_operator import (
    dashboard,
    identity_keeper,
    job_records,
    kube_client,
    managed_identity,
    names,
    preflight,
    reconcile,
    render,
    spec,
    status,
)
from metrics_operator.config import OperatorConfig, configure
from metrics_operator.operator_metrics import OperatorMetrics

WAITING_REASONS = frozenset({'SecretNotFound', 'ConfigMapNotFound', 'ClaimNotFound', 'NameConflict', 'ApplyFailed'})
OURS = {names.LABEL_COLLECTION: kopf.PRESENT}


@dataclass
class Runtime:
    config: OperatorConfig
    client: kube_client.Client
    metrics: OperatorMetrics


def _enabled(raw_spec: Mapping[str, Any]) -> list[names.JobKind]:
    try:
        return spec.enabled_kinds(spec.with_defaults(raw_spec))
    except (KeyError, TypeError):
        return ['gather']


def _renew_before_days(name: str, raw_spec: Mapping[str, Any]) -> int | None:
    """How long before expiry `CertificateExpiring` warns: the identity's window for the controller's or a given
    certificate; None for the service account and for the managed identity (its keeper warns itself)."""
    try:
        found = spec.crc_identity(name, spec.validate(name, raw_spec))
    except (spec.SpecError, KeyError, TypeError):
        return None
    return found.renew_before_days if found and found.source in ('controller', 'certificateSecret') else None


def _records(namespace: str, name: str, jobs: kopf.Index, pods: kopf.Index) -> list[job_records.JobRecord]:
    records = []
    for job in jobs.get((namespace, name), []):
        found = next(iter(pods.get((namespace, job['metadata']['name']), [])), None)
        record = job_records.job_record(job, found)
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
    """A merge patch turning `current` into `desired` for the keys we own (removed sub-keys, at any depth, become
    None: `status.gather.kpi.error` or `.secondary.error` of a later clean run must go)."""
    result: dict[str, Any] = {}
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            if dict(old) != dict(value):
                result[key] = _removing(old, value)
        elif old != value:
            result[key] = value
    return result


def _removing(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`new` as a merge patch over `old`: keys only `old` has become None, nested objects likewise."""
    merged: dict[str, Any] = {}
    for key, value in new.items():
        nested = isinstance(value, Mapping) and isinstance(old.get(key), Mapping)
        merged[key] = _removing(old[key], value) if nested else value
    merged.update({k: None for k in old if k not in new})
    return merged


async def startup(settings: kopf.OperatorSettings, rt: Runtime, **_: Any) -> None:
    """Kopf's own settings (timeouts, finalizer, identity) from the operator's configuration."""
    configure(settings, rt.config)


async def close_client(rt: Runtime, **_: Any) -> None:
    await rt.client.close()


def index_jobs(body: kopf.Body, namespace: str, labels: Mapping[str, str], **_: Any) -> dict[Any, Any]:
    """Index `jobs`: our Jobs by (namespace, collection), as the watch last saw them."""
    return {(namespace, labels[names.LABEL_COLLECTION]): {'metadata': dict(body.metadata), 'status': dict(body.status)}}


def index_pods(body: kopf.Body, namespace: str, labels: Mapping[str, str], **_: Any) -> dict[Any, Any] | None:
    """Index `pods`: the worker summary of each finished pod, by (namespace, Job name)."""
    job = next((labels[k] for k in names.POD_JOB_NAME_LABELS if k in labels), None)
    found = job_records.pod_summary(body)
    return {(namespace, job): found} if job and found else None


def index_deployments(body: kopf.Body, namespace: str, labels: Mapping[str, str], **_: Any) -> dict[Any, Any]:
    """Index `deployments`: the dashboard Deployment by (namespace, collection), its status as last seen."""
    return {(namespace, labels[names.LABEL_COLLECTION]): {'status': dict(body.status)}}


def _dashboard(body: kopf.Body, deployments: kopf.Index | None) -> tuple[dict | None, dict | None]:
    """(`status.dashboard` as the spec asks for it, its Deployment as last seen); (None, None) without one."""
    name, namespace = body.metadata.name, body.metadata.namespace
    try:
        found = dashboard.settings(spec.validate(name, body.spec))
    except (spec.SpecError, KeyError, TypeError):
        found = None
    if found is None:
        return None, None
    seen = next(iter((deployments or {}).get((namespace, name), [])), None)
    return dashboard.status_block(name, namespace, found), seen


async def on_spec_change(
    body: kopf.Body,
    spec: kopf.Spec,
    memo: kopf.Memo,
    patch: kopf.Patch,
    logger: logging.Logger,
    jobs: kopf.Index,
    pods: kopf.Index,
    rt: Runtime,
    deployments: kopf.Index | None = None,
    **_: Any,
) -> None:
    """Handler `reconcile` (create, resume, update of `spec`): the managed identity first (its Secret is one of the
    pods' references), reconcile, then write the status once."""
    await _keep_identity(rt, body, spec, memo, logger, checkin=True)
    ready = await _reconcile(rt, body, spec, memo, logger)
    if ready.status == 'True':  # the preflight of this spec (docs/check.md); none when the pod did not change
        await preflight.start(rt.client, body, spec, rt.config.worker_image, logger)
    _write_status(rt, body, memo, patch, (jobs, pods), deployments)


async def on_status_timer(
    body: kopf.Body,
    spec: kopf.Spec,
    memo: kopf.Memo,
    patch: kopf.Patch,
    logger: logging.Logger,
    jobs: kopf.Index,
    pods: kopf.Index,
    rt: Runtime,
    deployments: kopf.Index | None = None,
    **_: Any,
) -> None:
    """Timer `status`: fold Job outcomes into status; re-try a collection that waits for a Secret or claim."""
    if body.metadata.get('deletionTimestamp'):
        return
    ready = memo.get('ready')
    if ready is None:
        return  # the create/resume handler has not finished: it owns the first reconcile
    waited = time.monotonic() - memo.get('checked', 0)
    if ready.reason in WAITING_REASONS and waited >= rt.config.retry_interval:
        await _reconcile(rt, body, spec, memo, logger)
    failures = _write_status(rt, body, memo, patch, (jobs, pods), deployments)
    if (trigger := preflight.recheck_trigger(failures)) and ready.status == 'True':  # re-check after a failed run
        await preflight.start(rt.client, body, spec, rt.config.worker_image, logger, trigger)


async def on_identity_timer(
    body: kopf.Body,
    spec: kopf.Spec,
    memo: kopf.Memo,
    patch: kopf.Patch,
    logger: logging.Logger,
    jobs: kopf.Index,
    pods: kopf.Index,
    rt: Runtime,
    **_: Any,
) -> None:
    """Timer `identity`: register a missing identity, renew it near expiry, retry a failure; check in when due."""
    if body.metadata.get('deletionTimestamp') or memo.get('ready') is None:
        return  # being deleted, or the create/resume handler (which keeps the identity first) has not finished
    due = time.monotonic() >= memo.get('identity_checkin_at', 0.0)
    await _keep_identity(rt, body, spec, memo, logger, checkin=due)
    _write_status(rt, body, memo, patch, (jobs, pods))


async def _keep_identity(
    rt: Runtime,
    body: kopf.Body,
    raw_spec: Mapping[str, Any],
    memo: kopf.Memo,
    logger: logging.Logger,
    *,
    checkin: bool,
) -> None:
    """One tick of the managed identity; its state goes to `memo` (status), a new failure to one Warning Event. After
    a success the next check-in waits `identity_interval`; after a failure the next tick tries again."""
    lock = memo.setdefault('identity_lock', asyncio.Lock())
    async with lock:  # the timer and a spec change never register twice at once
        state = await identity_keeper.keep(
            rt.client,
            body,
            raw_spec,
            now=datetime.now(UTC),
            checkin=checkin,
            operator_proxy=rt.config.proxy,
            timeout=rt.config.identity_timeout,
            logger=logger,
        )
        if state is None:
            return  # nothing was due (or the spec is invalid): the status keeps what it shows
        previous = memo.get('identity')
        memo['identity'] = state
        succeeded = state.ready is not None and state.ready[0] == 'True'
        memo['identity_checkin_at'] = time.monotonic() + rt.config.identity_interval if succeeded else 0.0
    if state is not None and state.ready and state.event and (previous is None or previous.event != state.event):
        rt.metrics.errors.labels('identity').inc()
        logger.warning('Candlepin identity not kept (%s): %s', state.ready[1], state.event)
        kopf.warn(body, reason=state.ready[1], message=state.event)


async def on_delete(body: kopf.Body, spec: kopf.Spec, logger: logging.Logger, rt: Runtime, **_: Any) -> None:
    """Handler `cleanup` (delete, with our finalizer): remove owned objects, keep user data, forget the series."""
    await reconcile.cleanup(rt.client, body, spec, logger, rt.config.dashboard_auth_role or None)
    rt.metrics.forget(body.metadata.namespace, body.metadata.name)


async def _reconcile(
    rt: Runtime, body: kopf.Body, raw_spec: Mapping[str, Any], memo: kopf.Memo, logger: logging.Logger
) -> status.ReadyState:
    """Bring the children in line with the spec; remember and report the resulting `Ready`."""
    namespace, name = body.metadata.namespace, body.metadata.name
    lock = memo.setdefault('lock', asyncio.Lock())
    async with lock:  # the update handler and the timer's retry never reconcile one collection at once
        try:
            ready = await reconcile.ensure(
                rt.client,
                body,
                raw_spec,
                rt.config.worker_image,
                logger,
                rt.config.allowed,
                rt.config.proxy,
                rt.config.dashboard_auth_role or None,
            )
        except kube_client.ApiError as exc:
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


def _publish(
    rt: Runtime,
    body: kopf.Body,
    memo: kopf.Memo,
    indexes: tuple[kopf.Index, kopf.Index],
    deployments: kopf.Index | None = None,
) -> tuple[dict, list]:
    """The desired status from the indexed Jobs, and the new failures; updates the collection's metrics."""
    ready = memo.get('ready') or status.ReadyState('Unknown', 'Pending', 'not reconciled yet')
    current = dict(memo.get('status') or body.status)
    records = _records(body.metadata.namespace, body.metadata.name, *indexes)
    jobs_index = indexes[0]
    wanted_dashboard, dashboard_deployment = _dashboard(body, deployments)
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
        renew_before_days=_renew_before_days(body.metadata.name, body.spec),
        dashboard=wanted_dashboard,
        dashboard_deployment=dashboard_deployment,
    )
    memo['expiry_warnings'] = status.expiry_warnings(current, desired)
    namespace = body.metadata.namespace
    checked = preflight.state_of(jobs_index.get((namespace, body.metadata.name), []), indexes[1], namespace)
    desired = preflight.with_checked(desired, current, checked, body.metadata.get('generation', 1), status.now_iso())
    desired = managed_identity.with_identity(
        desired, current, memo.get('identity'), body.metadata.get('generation', 1), status.now_iso()
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


def _write_status(
    rt: Runtime,
    body: kopf.Body,
    memo: kopf.Memo,
    patch: kopf.Patch,
    indexes: tuple[kopf.Index, kopf.Index],
    deployments: kopf.Index | None = None,
) -> list[status.Failure]:
    """What both the reconcile handler and the status timer end with: the status from the indexed Jobs, patched
    where it changed, and an Event per new failure (returned: a failed run is re-checked)."""
    desired, failures = _publish(rt, body, memo, indexes, deployments)
    # observedGeneration/transition times alone never justify a write; a changed condition does.
    patch.status.update(_status_patch(body.status, desired))
    for failure in failures:
        kopf.warn(body, reason=f'{failure.kind.capitalize()}Failed', message=f'Job {failure.job}: {failure.message}')
    for reason, message in memo.pop('expiry_warnings', []):  # CertificateExpiring turned True (once)
        kopf.warn(body, reason=f'Certificate{reason}', message=message)
    return failures


def register(
    registry: kopf.OperatorRegistry, config: OperatorConfig, login: Callable[[], kopf.ConnectionInfo]
) -> Runtime:
    """Register every handler into `registry`; `login` supplies credentials to the operator's own API client."""
    rt = Runtime(
        config=config, client=kube_client.Client(login, timeout=config.request_timeout), metrics=OperatorMetrics()
    )
    resource = {'group': names.GROUP, 'version': names.VERSION, 'plural': names.PLURAL, 'registry': registry}
    kopf.on.startup(registry=registry, id='startup')(partial(startup, rt=rt))
    kopf.on.cleanup(registry=registry, id='close')(partial(close_client, rt=rt))
    kopf.index('batch', 'v1', 'jobs', labels=OURS, registry=registry, id='jobs')(index_jobs)
    kopf.index('', 'v1', 'pods', labels=OURS, registry=registry, id='pods')(index_pods)
    dashboards = {**OURS, 'app.kubernetes.io/component': dashboard.COMPONENT}
    kopf.index('apps', 'v1', 'deployments', labels=dashboards, registry=registry, id='deployments')(index_deployments)
    reconcile_handler = partial(on_spec_change, rt=rt)
    kopf.on.resume(**resource, id='reconcile')(reconcile_handler)
    kopf.on.create(**resource, id='reconcile')(reconcile_handler)
    kopf.on.update(**resource, field='spec', id='reconcile')(reconcile_handler)
    kopf.timer(**resource, interval=config.status_interval, id='status')(partial(on_status_timer, rt=rt))
    every = config.identity_retry_interval
    kopf.timer(**resource, interval=every, initial_delay=every, id='identity')(partial(on_identity_timer, rt=rt))
    kopf.on.delete(**resource, id='cleanup')(partial(on_delete, rt=rt))
    return rt
