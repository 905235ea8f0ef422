"""`main_jobevent` (v1.0, csv): runner result events of the (job, host) pairs that have a summary in the window.

Window: the same as `job_host_summary` — summaries with `modified` in `[since, until)`; their events are joined on
`(job_id, job_created, host_name)`, so content usage lines up with the billed summaries. Only result events
(`events.RESULT_EVENTS`). Not ordered (a sort of millions of events buys nothing; consumers group anyway).

Columns (as metrics-utility 1.0): main_jobhostsummary_id, main_jobhostsummary_created, id, created, modified,
job_created, event, task_action, resolved_action, resolved_role, duration, failed, changed, playbook, play, task,
role, job_remote_id, host_remote_id, host_name.

Deliberate differences from metrics-utility:
- partition pruning: the `created` times of the jobs in scope are read first and put into the event query as
  literal hour ranges (`partitions`), so only the hourly partitions that can hold their events are scanned, instead
  of every partition the join could touch;
- `event_data` is parsed once per row (`events`), not once per extracted key;
- an `event_data` the server cannot read does not abort the export: its extracted columns are NULL and the row is
  counted (`events.copy_events`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from . import events, window
from .csv_export import CsvRun, csv_collector

# With each job its summaries in the window: the weight that balances the hour partitions over streams.
JOBS = """
SELECT u.id, u.created, count(*)
FROM main_jobhostsummary s JOIN main_unifiedjob u ON u.id = s.job_id
WHERE {window}
GROUP BY u.id, u.created
"""

QUERY = """
WITH job_scope AS (
    SELECT s.id AS main_jobhostsummary_id, s.created AS main_jobhostsummary_created,
           u.created AS job_created, s.job_id, s.host_name
    FROM main_jobhostsummary s JOIN main_unifiedjob u ON u.id = s.job_id
    WHERE {window}
)
SELECT
    js.main_jobhostsummary_id, js.main_jobhostsummary_created,
    e.id, e.created, e.modified, e.job_created, e.event,
    ed.task_action, ed.resolved_action, ed.resolved_role, ed.duration,
    e.failed, e.changed, e.playbook, e.play, e.task, e.role,
    e.job_id AS job_remote_id, e.host_id AS host_remote_id, e.host_name{raw}
FROM main_jobevent e
JOIN job_scope js ON js.job_id = e.job_id AND js.job_created = e.job_created AND js.host_name = e.host_name
{extract}
WHERE {partitions} AND e.job_id = ANY(%(job_ids)s::integer[]) AND e.event IN ({events})
"""


EXTRACTED = ('task_action', 'resolved_action', 'resolved_role', 'duration')


def derive(data: dict | None) -> dict[str, str | None]:
    """The extracted columns from a parsed `event_data` (`events.ParsedEvents`), as the server renders them."""
    if data is None:
        return dict.fromkeys(EXTRACTED)
    return {name: events.record_text(data.get(name)) for name in EXTRACTED}


def build_export(db: psycopg.Connection, since: datetime, until: datetime) -> events.EventExport | None:
    """The event export of the window, or None when no summary is in it."""
    where = window.condition('s.modified')
    params = window.params(since, until)
    jobs = db.execute(sql.SQL(JOBS).format(window=where), params).fetchall()
    fixed = {'window': where, 'events': events.event_list(events.RESULT_EVENTS)}
    columns = ', '.join(f'{name} text' for name in EXTRACTED)
    return events.EventExport.of_jobs(jobs, QUERY, fixed, columns, params, derive)


def build_query(db: psycopg.Connection, since: datetime, until: datetime) -> tuple[sql.Composable, dict] | None:
    """The event COPY query (fast path) and its parameters, or None when no summary is in the window (for EXPLAIN)."""
    return events.fast_query(build_export(db, since, until))


@csv_collector('main_jobevent', '1.0', kind='windowed')
def main_jobevent(run: CsvRun) -> list[Path]:
    """Result events of the job/host pairs summarised in the window."""
    return events.collect(run, build_export(run.db, run.since, run.until))
