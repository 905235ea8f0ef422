"""The check Job: `metrics-utility check` run once before the first scheduled run, and its outcome as the `Checked`
condition (docs/check.md).

The Job runs the gather pod's template (same image, environment, Secret references and volumes) with the command
`metrics-utility check`; report variables stay when a report is scheduled, so its header fields are checked too,
and with the vCPU CronJob on, its Prometheus settings join, so Prometheus is asked as well. Its
name carries a hash of that pod and of what triggered it: a spec change that changes the pod, or a scheduled run that
failed, makes a new Job; a resume or an unrelated change makes none (Jobs are immutable: created once, never
patched). Pure rendering and folding here; `ensure_check_job` is the one call that writes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

from metrics_operator import kube_client, names, render, status, worker_summary
from metrics_utility import contract

CHECK: Final = 'check'
CONDITION: Final = 'Checked'
ANNOTATION_TRIGGER: Final = f'{names.GROUP}/check-trigger'  # why the Job runs: "spec" or the failed Job's name
ANNOTATION_CREATED: Final = f'{names.GROUP}/check-created'  # Unix time: orders two checks created in one second
ACTIVE_DEADLINE: Final = 300  # seconds: every check has its own short timeout, this bounds a stuck pod
TTL_AFTER_FINISHED: Final = 86400  # the condition outlives the Job (status is folded forward)


def check_job_name(collection: str, digest: str) -> str:
    """`<collection>-check-<8 hex>`: at most 45 + 15 = 60 characters (the Job name is a label value)."""
    return f'{collection}-{CHECK}-{digest[:8]}'


def check_template(name: str, full: Mapping[str, Any], image: str) -> dict[str, Any]:
    """The gather pod with `metrics-utility check` as its command."""
    template = render.pod_template(name, 'gather', full, image)
    template['metadata'] = {'labels': names.labels(name, CHECK)}  # type: ignore[arg-type]
    worker = template['spec']['containers'][0]
    worker['command'] = ['metrics-utility', CHECK, f'--summary-file={names.TERMINATION_LOG}']
    if full['vcpu']['enabled']:
        _with_prometheus(name, template, full, image)
    if not full['report']['enabled']:  # always so with crc (spec.py: reports need readable storage)
        # The shared ConfigMap always names a report type; without a scheduled report there is nothing to check.
        worker['env'] = [*worker['env'], {'name': f'{contract.PREFIX}REPORT_TYPE', 'value': ''}]
    return template


def _with_prometheus(name: str, template: dict[str, Any], full: Mapping[str, Any], image: str) -> None:
    """With the vCPU CronJob on, the check also asks its Prometheus: the vCPU pod's Prometheus settings, CA mount and
    service-account token join the gather pod, and `total_workers_vcpu` joins its collectors (so the worker's check
    runs its Prometheus probe; the vCPU pod's own lock and collector switches stay out)."""
    vcpu_pod = render.pod_template(name, 'vcpu', full, image)['spec']
    vcpu_env = {e['name']: e for e in vcpu_pod['containers'][0]['env']}
    worker = template['spec']['containers'][0]
    prometheus = ('CLUSTER_NAME', 'PROMETHEUS_URL', 'PROMETHEUS_CA', 'USAGE_BASED_METERING_ENABLED')
    optional = render.settings(full).get(f'{contract.PREFIX}OPTIONAL_COLLECTORS', '')
    collectors = ','.join(filter(None, (optional, contract.VCPU_COLLECTOR)))
    worker['env'] = [
        *worker['env'],
        *(vcpu_env[f'{contract.PREFIX}{n}'] for n in prometheus if f'{contract.PREFIX}{n}' in vcpu_env),
        {'name': f'{contract.PREFIX}OPTIONAL_COLLECTORS', 'value': collectors},
    ]
    mounts = {m['mountPath'] for m in worker['volumeMounts']}
    vcpu_mounts = [m for m in vcpu_pod['containers'][0]['volumeMounts'] if m['mountPath'] not in mounts]
    worker['volumeMounts'] = [*worker['volumeMounts'], *vcpu_mounts]
    volumes = {v['name'] for v in template['spec']['volumes']}
    needed = {m['name'] for m in vcpu_mounts}
    template['spec']['volumes'] += [v for v in vcpu_pod['volumes'] if v['name'] in needed and v['name'] not in volumes]
    template['spec']['automountServiceAccountToken'] = True  # Prometheus takes the pod's token


def check_job(name: str, namespace: str, full: Mapping[str, Any], image: str, trigger: str = 'spec') -> dict:
    """The check Job for the current spec; `trigger` is "spec" or the name of a failed Job to re-check after."""
    template = check_template(name, full, image)
    # The pod and the shared ConfigMap's settings (the database host lives there): what the check depends on.
    checked = {'pod': template, 'settings': render.settings(full), 'trigger': trigger}
    digest = hashlib.sha256(json.dumps(checked, sort_keys=True).encode()).hexdigest()
    return {
        'apiVersion': 'batch/v1',
        'kind': 'Job',
        'metadata': {
            'name': check_job_name(name, digest),
            'namespace': namespace,
            'labels': names.labels(name, CHECK),  # type: ignore[arg-type]
            'annotations': {ANNOTATION_TRIGGER: trigger},
        },
        'spec': {
            'backoffLimit': 0,  # a failed check is an answer, not a flake: it is not retried
            'activeDeadlineSeconds': ACTIVE_DEADLINE,
            'ttlSecondsAfterFinished': TTL_AFTER_FINISHED,
            'template': template,
        },
    }


async def ensure_check_job(
    client: kube_client.Client, body: Mapping[str, Any], full: Mapping[str, Any], image: str, trigger: str = 'spec'
) -> str | None:
    """Create the check Job unless it exists; returns its name when created."""
    from metrics_operator.reconcile import owner_reference

    job = check_job(body['metadata']['name'], body['metadata']['namespace'], full, image, trigger)
    url = kube_client.path('batch/v1', 'jobs', job['metadata']['namespace'], job['metadata']['name'])
    if await client.get(url, metadata_only=True) is not None:
        return None
    job['metadata']['ownerReferences'] = [owner_reference(body)]
    job['metadata']['annotations'][ANNOTATION_CREATED] = f'{time.time():.6f}'
    await client.create(kube_client.path('batch/v1', 'jobs', job['metadata']['namespace']), job)
    return job['metadata']['name']


def _job_state(job: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """('active' | 'succeeded' | 'failed', reason, message) from the Job's conditions."""
    for cond in (job.get('status') or {}).get('conditions') or []:
        if cond.get('status') == 'True' and cond.get('type') in ('Complete', 'Failed'):
            outcome = 'succeeded' if cond['type'] == 'Complete' else 'failed'
            return outcome, cond.get('reason'), cond.get('message')
    return 'active', None, None


def latest_check(jobs: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest check Job of a collection (by creation time, to the microsecond when we created it)."""
    ours = [j for j in jobs if (j.get('metadata', {}).get('labels') or {}).get(names.LABEL_JOB_KIND) == CHECK]
    return max(ours, key=_created, default=None)


def _created(job: Mapping[str, Any]) -> tuple[str, float, str]:
    meta = job['metadata']
    try:
        created = float((meta.get('annotations') or {}).get(ANNOTATION_CREATED) or 0)
    except ValueError:
        created = 0.0
    return meta.get('creationTimestamp') or '', created, meta['name']


def check_state(job: Mapping[str, Any] | None, found: worker_summary.Summary | None) -> tuple[str, str, str] | None:
    """(status, reason, message) of `Checked` for the newest check Job and its pod's summary; None: no check yet."""
    if job is None:
        return None
    name = job['metadata']['name']
    outcome, job_reason, job_message = _job_state(job)
    if found is not None and found.command == CHECK and outcome != 'active':
        if found.ok:
            return 'True', 'ChecksPassed', f'Job {name}: every check passed'
        reason = found.reason if found.reason in contract.CHECK_REASONS else 'CheckFailed'
        return 'False', reason, found.error or f'Job {name} failed'
    if outcome == 'active':
        return 'Unknown', 'Checking', f'Job {name} is checking the database, storage and report settings'
    if outcome == 'succeeded':
        return 'True', 'ChecksPassed', f'Job {name}: every check passed'
    detail = status.without_summary(job_reason, job_message)
    return 'False', 'CheckFailed', f'Job {name} failed without a summary' + (f' ({detail})' if detail else '')


def with_checked(
    desired: dict[str, Any], previous: Mapping[str, Any], state: tuple[str, str, str] | None, generation: int, now: str
) -> dict[str, Any]:
    """`desired` (from `status.compose`) with the `Checked` condition set from `state`; without a check Job in sight
    (history gone) the previous condition stays as compose kept it."""
    if state is None:
        return desired
    prev = previous.get('conditions') or []
    new = status.condition(CONDITION, *state, generation, prev, now)
    conditions = [c for c in desired.get('conditions') or [] if c.get('type') != CONDITION]
    desired['conditions'] = [*conditions, new]
    return desired


def recheck_trigger(failures: Iterable[status.Failure]) -> str | None:
    """The failed scheduled Job a new check runs after (the first gather or report failure), or None."""
    return next((f.job for f in failures if f.kind in ('gather', 'report')), None)


async def start(
    client: kube_client.Client,
    body: Mapping[str, Any],
    raw_spec: Mapping[str, Any],
    image: str,
    logger: Any,
    trigger: str = 'spec',
) -> str | None:
    """Create the check Job of a reconciled collection (called once `Ready` is True); never raises: a check that
    cannot start leaves the condition as it was and is tried again on the next change."""
    from metrics_operator import spec

    try:
        full = spec.validate(body['metadata']['name'], raw_spec)
        if full['suspend']:  # a paused collection runs no pod at all; resuming it runs the check
            return None
        created = await ensure_check_job(client, body, full, image, trigger)
    except (spec.SpecError, kube_client.ApiError) as exc:
        logger.warning('Cannot start the check Job: %s', exc)
        return None
    if created:
        logger.info('Created check Job %s (%s)', created, trigger)
    return created


def state_of(jobs: Iterable[Mapping[str, Any]], pods: Mapping[Any, Any], namespace: str) -> tuple[str, str, str] | None:
    """`check_state` of the newest check Job in the `jobs` index, with its pod's summary from the `pods` index."""
    job = latest_check(jobs)
    found = next(iter(pods.get((namespace, job['metadata']['name']), [])), None) if job else None
    return check_state(job, found)
