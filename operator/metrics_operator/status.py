"""Status from what the owned Jobs did: pure functions, no I/O.

Jobs vanish (history limits), so each `status.<kind>` block is folded forward: a newer finished Job replaces the
figures, an absent one changes nothing. Conditions follow `metav1.Condition`: `lastTransitionTime` moves only when
`status` flips.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from metrics_operator import names, totals, worker_summary
from metrics_operator.job_records import JobRecord
from metrics_operator.names import JobKind
from metrics_utility import contract

CONDITION_TYPES: Final = (
    'Ready',
    'GatherSucceeded',
    'ReportSucceeded',
    'Degraded',
    'StorageNearlyFull',
    'BackfillSucceeded',
    contract.CERTIFICATE_EXPIRING_CONDITION,
    'DashboardAvailable',
)
NEARLY_FULL: Final = 0.9  # StorageNearlyFull once 90 % of the volume or of retention.maxBytes is used
KIND_CONDITION: Final[dict[str, str]] = {'gather': 'GatherSucceeded', 'report': 'ReportSucceeded'}


@dataclass(frozen=True)
class ReadyState:
    status: str
    reason: str
    message: str


def now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _key(time: str | None) -> datetime:
    return parse_time(time) or datetime.min.replace(tzinfo=UTC)


# A Job that hit its deadline without a run summary may never have started its pod: a Secret or ConfigMap the pod
# mounts (the console.redhat.com identity's among them) is missing, which only the pod's events show.
NEVER_STARTED_HINT: Final = (
    'no run summary: if the pod never started, a Secret or ConfigMap it mounts (such as the console.redhat.com '
    'identity) is missing; kubectl describe pod shows FailedMount'
)


def without_summary(reason: str | None, message: str | None) -> str:
    """The Job's own condition as one line (scrubbed like a summary), with the hint when it hit its deadline."""
    text = worker_summary.scrub(': '.join(part for part in (reason, message) if part))
    return f'{text} ({NEVER_STARTED_HINT})' if reason == 'DeadlineExceeded' else text


def failure_message(job: JobRecord) -> str:
    if job.summary is not None and job.summary.error:
        return job.summary.error
    if job.reason or job.message:  # the Job's own condition: scrubbed like the summary before status and Events
        return without_summary(job.reason, job.message)
    return 'the Job failed'


def fold_block(kind: JobKind, previous: Mapping[str, Any] | None, jobs: Iterable[JobRecord]) -> dict[str, Any]:
    """The new `status.<kind>` block: previous figures carried forward, newer Jobs folded in."""
    block = dict(previous or {})
    mine = [job for job in jobs if job.kind == kind]
    for job in mine:
        if job.scheduled and _key(job.scheduled) > _key(block.get('lastScheduleTime')):
            block['lastScheduleTime'] = job.scheduled
    finished = sorted((j for j in mine if j.outcome != 'active'), key=lambda j: (_key(j.finished), j.name))
    block.update(totals.accumulate(block, finished))
    for job in finished:
        if job.outcome == 'succeeded' and _key(job.finished) > _key(block.get('lastSuccessTime')):
            block['lastSuccessTime'] = job.finished
            figures = _success_figures(kind, job)
            if 'problems' in figures and 'firstProblem' not in figures:
                block.pop('firstProblem', None)  # a clean report clears the last one's problem
            carried = (block.get('secondary') or {}).get('lastWindow')
            if carried and 'secondary' in figures and 'lastWindow' not in figures['secondary']:
                figures['secondary']['lastWindow'] = carried  # a run that sent nothing keeps the last confirmed one
            block.update(figures)
        if job.outcome == 'failed' and _key(job.finished) > _key(block.get('lastFailureTime')):
            block['lastFailureTime'] = job.finished
            block['lastError'] = failure_message(job)
    if finished:
        newest = finished[-1]
        if _key(newest.finished) >= _key(block.get('lastFinishTime')):
            block['lastFinishTime'] = newest.finished
            block['lastJob'] = newest.name
            block['lastResult'] = 'Succeeded' if newest.outcome == 'succeeded' else 'Failed'
    active = [job.name for job in mine if job.outcome == 'active']
    if active:
        block['activeJobs'] = sorted(active)
    else:
        block.pop('activeJobs', None)
    return block


def _success_figures(kind: JobKind, job: JobRecord) -> dict[str, Any]:
    s = job.summary
    if s is None:
        return {}
    figures: dict[str, Any] = {}
    if s.window is not None:
        figures['lastWindow'] = {'since': s.window.since, 'until': s.window.until}
    for field in ('rows', 'bytes', 'packages'):
        if getattr(s, field) is not None:
            figures[field] = getattr(s, field)
    if kind == 'report' and s.report:
        figures['lastReport'] = s.report
    if kind == 'vcpu' and s.vcpu is not None:
        figures['lastValue'] = s.vcpu
    if kind == 'report' and s.quantity is not None:
        figures['billedQuantity'] = s.quantity
    if kind == 'report' and s.period:
        figures['lastPeriod'] = s.period
    if kind == 'report' and s.problems is not None:
        figures['problems'] = s.problems
        if s.first_problem:
            figures['firstProblem'] = s.first_problem
    if kind == 'gather' and s.usage is not None:
        u = s.usage
        figures['usage'] = {'month': u.month, 'uniqueManagedNodes': u.unique_managed_nodes, 'jobRuns': u.job_runs}
    if kind == 'gather' and s.unreadable_rows is not None:  # older workers do not report it: left as it was
        figures['unreadableRows'] = s.unreadable_rows
    if kind == 'gather' and s.kpi is not None:  # replaced as a whole: a later clean run clears the error
        figures['kpi'] = {'documents': s.kpi.documents} | ({'error': s.kpi.error} if s.kpi.error else {})
    if kind == 'gather' and s.secondary is not None:
        figures['secondary'] = secondary_figures(s.secondary)
    if kind == 'gather' and s.crc is not None:  # replaced as a whole: a run without fallback clears the reason
        found = {'identity': s.crc.identity, 'subject': s.crc.subject, 'notAfter': s.crc.not_after}
        figures['crc'] = {key: value for key, value in found.items() if value}
        figures['crc'] |= {'fallback': s.crc.fallback} if s.crc.fallback else {}
    return figures


def secondary_figures(s: worker_summary.Secondary) -> dict[str, Any]:
    """`status.gather.secondary`; `lastWindow` only when the run confirmed one (`fold_block` keeps the last one)."""
    block: dict[str, Any] = {'target': s.target, 'ok': s.ok}
    if s.pending is not None:
        block['pending'] = s.pending
    if s.last_window is not None:
        block['lastWindow'] = {'since': s.last_window.since, 'until': s.last_window.until}
    if s.error:
        block['error'] = s.error
    return block


def condition(
    type_: str, status: str, reason: str, message: str, generation: int, previous: Sequence[Mapping[str, Any]], now: str
) -> dict[str, Any]:
    """One condition; keeps the previous `lastTransitionTime` unless the status flipped."""
    old = next((c for c in previous if c.get('type') == type_), None)
    since = old['lastTransitionTime'] if old and old.get('status') == status and old.get('lastTransitionTime') else now
    return {
        'type': type_,
        'status': status,
        'reason': reason,
        'message': message,
        'lastTransitionTime': since,
        'observedGeneration': generation,
    }


def _kind_condition(kind: JobKind, block: Mapping[str, Any], enabled: bool) -> tuple[str, str, str]:
    if not enabled:
        return 'Unknown', 'Disabled', f'{kind} is disabled in the spec'
    result = block.get('lastResult')
    if result == 'Succeeded':
        return 'True', 'JobSucceeded', f'Job {block.get("lastJob")} succeeded'
    if result == 'Failed':
        return 'False', 'JobFailed', f'Job {block.get("lastJob")} failed: {block.get("lastError", "")}'
    return 'Unknown', 'NoRunYet', 'waiting for the first scheduled run'


@dataclass(frozen=True)
class Failure:
    kind: JobKind
    job: str
    message: str


def compose(
    previous: Mapping[str, Any],
    ready: ReadyState,
    jobs: Iterable[JobRecord],
    *,
    generation: int,
    enabled: Iterable[JobKind],
    now: str,
    backfill_jobs: Iterable[Mapping[str, Any]] = (),
    renew_before_days: int | None = None,
    dashboard: Mapping[str, Any] | None = None,
    dashboard_deployment: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Failure]]:
    """The whole `status` and the Job failures not reported before (for Events). `renew_before_days`: warn
    (`CertificateExpiring`) that long before the certificate the last gather uploaded with expires; None: no such
    condition (no certificate identity, or one whose own keeper warns: the managed identity).

    `dashboard` is `status.dashboard` as the spec asks for it (None: no dashboard), `dashboard_deployment` its
    Deployment as last seen (None: not seen yet)."""
    jobs = list(jobs)
    enabled = set(enabled)
    prev_conditions = previous.get('conditions') or []
    new: dict[str, Any] = {'observedGeneration': generation}
    failures: list[Failure] = []
    degraded: list[str] = []
    for kind in names.JOB_KINDS:
        old_block = previous.get(kind) or {}
        block = fold_block(kind, old_block, jobs)
        if block:
            new[kind] = block
        if block.get('lastResult') == 'Failed' and block.get('lastJob') != old_block.get('lastJob'):
            failures.append(Failure(kind, block['lastJob'], block.get('lastError', '')))
        if kind in enabled and block.get('lastResult') == 'Failed':
            degraded.append(kind)
    conds = [condition('Ready', ready.status, ready.reason, ready.message, generation, prev_conditions, now)]
    for kind, type_ in KIND_CONDITION.items():
        status, reason, message = _kind_condition(kind, new.get(kind, {}), kind in enabled)
        conds.append(condition(type_, status, reason, message, generation, prev_conditions, now))
    if degraded:
        reason = f'{degraded[0].capitalize()}Failed'
        message = '; '.join(f'{k}: {new[k].get("lastError", "failed")}' for k in degraded)
        conds.append(condition('Degraded', 'True', reason, message, generation, prev_conditions, now))
    else:
        conds.append(
            condition('Degraded', 'False', 'AsExpected', 'the last runs succeeded', generation, prev_conditions, now)
        )
    storage = fold_storage(previous.get('storage'), jobs)
    if storage:
        new['storage'] = storage
        conds.append(condition('StorageNearlyFull', *storage_condition(storage), generation, prev_conditions, now))
    expiry = certificate_expiry((new.get('gather') or {}).get('crc'), renew_before_days, parse_time(now))
    if expiry is not None:
        conds.append(condition(contract.CERTIFICATE_EXPIRING_CONDITION, *expiry, generation, prev_conditions, now))
    backfill = fold_backfill(previous.get('backfill'), backfill_jobs)
    if backfill:
        new['backfill'] = backfill
        conds.append(condition('BackfillSucceeded', *backfill_condition(backfill), generation, prev_conditions, now))
    if dashboard is not None:
        new['dashboard'] = dashboard_block(dashboard, dashboard_deployment)
        found = dashboard_condition(new['dashboard'], dashboard_deployment)
        conds.append(condition('DashboardAvailable', *found, generation, prev_conditions, now))
    elif previous.get('dashboard') is not None:
        new['dashboard'] = None  # turned off: the merge patch removes the block
    # Keep conditions other parties own, in their place after ours.
    conds += [c for c in prev_conditions if c.get('type') not in CONDITION_TYPES]
    new['conditions'] = conds
    return new, failures


def certificate_expiry(
    crc: Mapping[str, Any] | None, renew_before_days: int | None, now: datetime | None
) -> tuple[str, str, str] | None:
    """`CertificateExpiring` from `status.gather.crc`: True from `renew_before_days` before its `notAfter` (reason
    ExpiresSoon; Expired after it); None when not asked for or the last gather uploaded without a certificate."""
    not_after = parse_time((crc or {}).get('notAfter'))
    if renew_before_days is None or not_after is None or now is None:
        return None
    when, left = now_iso(not_after), not_after - now
    about = f'the client certificate uploads use ({(crc or {}).get("subject") or "no subject"})'
    if left <= timedelta(0):
        return 'True', 'Expired', f'{about} expired on {when}: renew it or choose another identity'
    if left <= timedelta(days=renew_before_days):
        days = left.days
        return 'True', 'ExpiresSoon', f'{about} expires on {when} (in {days} day{"" if days == 1 else "s"})'
    return 'False', 'AsExpected', f'{about} is valid until {when}'


def expiry_warnings(previous: Mapping[str, Any], desired: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(reason, message) of a Warning Event when `CertificateExpiring` turned True or changed its reason (once per
    transition: the next status carries the same condition and warns no more)."""
    kind = contract.CERTIFICATE_EXPIRING_CONDITION

    def find(status: Mapping[str, Any]) -> Mapping[str, Any]:
        return next((c for c in status.get('conditions') or [] if c.get('type') == kind), {})

    old, new = find(previous), find(desired)
    if new.get('status') != 'True' or (old.get('status'), old.get('reason')) == ('True', new.get('reason')):
        return []
    return [(new['reason'], new['message'])]


def differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether writing `desired` would change the stored status (ignoring keys we do not own)."""
    return any(current.get(key) != value for key, value in desired.items())


def fold_storage(previous: Mapping[str, Any] | None, jobs: Iterable[JobRecord]) -> dict[str, Any]:
    """`status.storage` from the newest finished gather whose summary measured the storage (docs/scale.md)."""
    block = dict(previous or {})
    measured = [
        job
        for job in jobs
        if job.kind == 'gather' and job.outcome != 'active' and job.summary and job.summary.stored_bytes is not None
    ]
    if not measured:
        return block
    newest = max(measured, key=lambda job: (_key(job.finished), job.name))
    if _key(newest.finished) <= _key(block.get('lastUpdateTime')):
        return block
    s = newest.summary
    assert s is not None
    block = {'lastUpdateTime': newest.finished, 'storedBytes': s.stored_bytes, 'storedObjects': s.stored_objects}
    if s.retention:
        figures = {
            'maxAgeDays': 'max_age_days',
            'maxBytes': 'max_bytes',
            'lastDeletedObjects': 'deleted_objects',
            'lastDeletedBytes': 'deleted_bytes',
            'blockedBytes': 'blocked_bytes',
        }
        block |= {key: s.retention[field] for key, field in figures.items() if s.retention.get(field) is not None}
    if s.volume:
        block |= {'volumeBytes': s.volume['bytes'], 'volumeFreeBytes': s.volume['free_bytes']}
    return {k: v for k, v in block.items() if v is not None}


def storage_condition(block: Mapping[str, Any]) -> tuple[str, str, str]:
    """StorageNearlyFull: the volume, or the retention limit, is 90 % used (or the limit is exceeded)."""
    stored = block.get('storedBytes', 0)
    volume, free = block.get('volumeBytes'), block.get('volumeFreeBytes')
    if volume and free is not None and volume - free >= NEARLY_FULL * volume:
        used = 100 * (volume - free) // volume
        hint = 'set spec.retention.maxBytes below the volume size or grow the claim'
        return 'True', 'VolumeNearlyFull', f'the volume is {used}% full ({free} of {volume} bytes free); {hint}'
    limit = block.get('maxBytes')
    if limit is not None and stored > limit:
        return (
            'True',
            'LimitExceeded',
            f'{stored} bytes stored, above spec.retention.maxBytes ({limit}): '
            f'{block.get("blockedBytes", 0)} bytes are not uploaded yet and are kept',
        )
    if limit is not None and stored >= NEARLY_FULL * limit:
        return (
            'True',
            'LimitNearlyReached',
            f'{stored} of {limit} bytes (spec.retention.maxBytes) used; the '
            'oldest windows are deleted by size from here on',
        )
    of = f' of {limit}' if limit is not None else ''
    return 'False', 'WithinLimits', f'{stored}{of} bytes in {block.get("storedObjects", 0)} objects'


def _index_count(indexes: str | None) -> int:
    """How many indexes a Job status list like '0,2-4' names."""
    total = 0
    for part in (indexes or '').split(','):
        if not part.strip():
            continue
        low, _, high = part.partition('-')
        total += int(high or low) - int(low) + 1
    return total


def fold_backfill(previous: Mapping[str, Any] | None, jobs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`status.backfill` from the newest backfill Job (an Indexed Job): its request and per-index progress."""
    mine = [j for j in jobs if (j.get('metadata', {}).get('labels') or {}).get(names.LABEL_JOB_KIND) == names.BACKFILL]
    if not mine:
        return dict(previous or {})
    job = max(mine, key=lambda j: (_key(j['metadata'].get('creationTimestamp')), j['metadata'].get('name', '')))
    meta, st = job['metadata'], job.get('status') or {}
    try:
        request = json.loads((meta.get('annotations') or {}).get(names.ANNOTATION_BACKFILL, '{}'))
    except ValueError:
        request = {}
    phase = 'Running'
    for cond in st.get('conditions') or []:
        if cond.get('status') == 'True' and cond.get('type') in ('Complete', 'Failed'):
            phase = 'Complete' if cond['type'] == 'Complete' else 'Failed'
    block = {
        'job': meta.get('name'),
        'since': request.get('since'),
        'until': request.get('until'),
        'shards': request.get('shards'),
        'completedIndexes': st.get('completedIndexes') or '',
        'failedIndexes': st.get('failedIndexes') or '',
        'completed': _index_count(st.get('completedIndexes')),
        'failed': _index_count(st.get('failedIndexes')),
        'active': st.get('active') or 0,
        'phase': phase,
        'startTime': st.get('startTime'),
        'completionTime': st.get('completionTime'),
    }
    return {k: v for k, v in block.items() if v is not None}


def backfill_condition(block: Mapping[str, Any]) -> tuple[str, str, str]:
    window = f'{block.get("since")}..{block.get("until")}'
    shards = block.get('shards')
    if block.get('phase') == 'Complete':
        return 'True', 'BackfillComplete', f'Job {block.get("job")}: all {shards} shards of {window} shipped'
    if block.get('phase') == 'Failed' or block.get('failed'):
        return (
            'False',
            'BackfillFailed',
            f'Job {block.get("job")}: shard(s) {block.get("failedIndexes") or "?"} of '
            f'{window} failed; completed: {block.get("completedIndexes") or "none"}',
        )
    return (
        'Unknown',
        'BackfillRunning',
        f'Job {block.get("job")}: {block.get("completed", 0)} of {shards} shards of {window} done',
    )


def dashboard_block(block: Mapping[str, Any], deployment: Mapping[str, Any] | None) -> dict[str, Any]:
    """`status.dashboard`: how to reach it (from the spec) and how many of its pods are available."""
    available = ((deployment or {}).get('status') or {}).get('availableReplicas') or 0
    return {**block, 'availableReplicas': available}


def dashboard_condition(block: Mapping[str, Any], deployment: Mapping[str, Any] | None) -> tuple[str, str, str]:
    """DashboardAvailable from the Deployment's availability; its own Available condition says why not."""
    name = block.get('service')
    if block.get('availableReplicas'):
        return 'True', 'DeploymentAvailable', f'Deployment {name} is available: {block.get("access")}'
    if deployment is None:
        return 'Unknown', 'DeploymentPending', f'Deployment {name} has not been seen yet'
    found = next(
        (c for c in (deployment.get('status') or {}).get('conditions') or [] if c.get('type') == 'Available'), {}
    )
    why = worker_summary.scrub(': '.join(p for p in (found.get('reason'), found.get('message')) if p))
    return 'False', 'DeploymentUnavailable', f'Deployment {name} has no available pod' + (f' ({why})' if why else '')
