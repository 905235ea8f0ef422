"""What one Job of ours did, read from the Job and its pod: the record that `status` and `totals` both fold.

Its own module so that `status` (which folds records into `status.<kind>`) and `totals` (which counts them once)
both import it and neither imports the other's caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metrics_operator import names, worker_summary
from metrics_operator.names import JobKind


@dataclass(frozen=True)
class JobRecord:
    """What one Job of ours did, with the worker's summary from its pod when there is one."""

    name: str
    kind: JobKind
    outcome: str  # 'active' | 'succeeded' | 'failed'
    scheduled: str | None = None
    finished: str | None = None
    reason: str | None = None
    message: str | None = None
    summary: worker_summary.Summary | None = None


def job_record(job: Mapping[str, Any], pod_summary: worker_summary.Summary | None = None) -> JobRecord | None:
    """Read a Job the CronJob controller created from our template; None for Jobs that are not ours."""
    meta = job.get('metadata', {})
    kind = meta.get('labels', {}).get(names.LABEL_JOB_KIND)
    if kind not in names.JOB_KINDS:
        return None
    st = job.get('status', {}) or {}
    outcome, reason, message, finished = 'active', None, None, None
    for cond in st.get('conditions', []) or []:
        if cond.get('status') != 'True':
            continue
        if cond.get('type') == 'Complete':
            outcome, finished = 'succeeded', st.get('completionTime') or cond.get('lastTransitionTime')
        elif cond.get('type') == 'Failed':
            outcome, finished = 'failed', cond.get('lastTransitionTime')
            reason, message = cond.get('reason'), cond.get('message')
    scheduled = meta.get('annotations', {}).get(names.SCHEDULED_ANNOTATION) or st.get('startTime')
    return JobRecord(
        name=meta.get('name', ''),
        kind=kind,
        outcome=outcome,
        scheduled=scheduled or meta.get('creationTimestamp'),
        finished=finished or st.get('completionTime') or (scheduled if outcome != 'active' else None),
        reason=reason,
        message=message,
        summary=pod_summary,
    )


def pod_summary(pod: Mapping[str, Any]) -> worker_summary.Summary | None:
    """The worker summary in a finished pod's termination message, if any."""
    for status in pod.get('status', {}).get('containerStatuses', []) or []:
        terminated = (status.get('state') or {}).get('terminated') or {}
        parsed = worker_summary.parse(terminated.get('message'))
        if parsed is not None:
            return parsed
    return None
