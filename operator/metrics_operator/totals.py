"""Cumulative figures per kind (`status.<kind>.totals`), each finished Job counted exactly once.

Prometheus counters must neither restart from zero nor count a Job twice when the operator restarts or re-lists
its Jobs. So the totals live in the resource's status next to a watermark, `countedThrough` = (finish time, Job
name) of the last Job counted, and a finished Job is added only when it sorts after that watermark — the same order
`status.fold_block` uses. A CronJob's Jobs do not overlap (concurrencyPolicy Forbid), so they finish in that order.
A Job removed by the history limit before the operator ever saw it is not counted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from metrics_operator.job_records import JobRecord

FIGURES: Final = ('rows', 'bytes', 'packages')
KEYS: Final = ('succeeded', 'failed', *FIGURES)


def _order(finished: str | None, name: str) -> tuple[datetime, str]:
    moment = datetime.min.replace(tzinfo=UTC)
    if finished:
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(finished.replace('Z', '+00:00'))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment, name


def accumulate(block: Mapping[str, Any], finished: Sequence[JobRecord]) -> dict[str, Any]:
    """The `totals` and `countedThrough` keys to update, or {} when no finished Job is new to the totals."""
    through = block.get('countedThrough') or {}
    mark = _order(through.get('finishTime'), through.get('job') or '')
    new = sorted(
        (job for job in finished if _order(job.finished, job.name) > mark), key=lambda j: _order(j.finished, j.name)
    )
    if not new:
        return {}
    totals = {key: int((block.get('totals') or {}).get(key) or 0) for key in KEYS}
    for job in new:
        if job.outcome == 'succeeded':
            totals['succeeded'] += 1
            for figure in FIGURES:
                value = getattr(job.summary, figure, None) if job.summary is not None else None
                totals[figure] += value or 0
        else:
            totals['failed'] += 1
    last = new[-1]
    return {'totals': totals, 'countedThrough': {'finishTime': last.finished, 'job': last.name}}
