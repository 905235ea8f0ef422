"""`main_jobevent_service` (v1.4, csv): events of the jobs that *finished* in the window, for service rollups.

Window: `main_unifiedjob.finished` in `[since, until)`; events of those jobs, pruned to their hourly partitions by
literal `job_created` hour ranges (`partitions`). Event types: the runner result events plus `warning` and
`deprecated`. Not ordered.

Columns: id, created, modified, job_created, job_finished, uuid, parent_uuid, event, task_action, resolved_action,
resolved_role, duration, start, end, task_uuid, ignore_errors, failed, changed, playbook, play, task, role,
job_remote_id, job_id, host_remote_id, host_id, host_name, warnings, deprecations, event_data_length,
ansible_version, job_failed, job_started.

Deliberate differences from metrics-utility:
- no job limit (1000) or row limit (200,000): output is streamed to disk in size-limited parts, so memory stays
  flat and nothing is silently truncated;
- `start`/`end` are exported as the text the event carries (ISO 8601) rather than cast to `timestamptz` in SQL, so
  one malformed value cannot abort the collector;
- an `event_data` the server cannot read does not abort the export: its extracted columns are NULL (`ignore_errors`
  false) and the row is counted (`events.copy_events`);
- `ignore_errors` is true only for a JSON boolean `true` at the top level or, for loop items, in
  `res._ansible_ignore_errors`; anything else (strings, missing) is false.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from . import events, window
from .csv_export import CsvRun, csv_collector

SERVICE_EVENTS = (*events.RESULT_EVENTS, 'warning', 'deprecated')

JOBS = 'SELECT u.id, u.created FROM main_unifiedjob u WHERE {window}'

QUERY = """
SELECT
    e.id, e.created, e.modified, e.job_created, u.finished AS job_finished, e.uuid, e.parent_uuid, e.event,
    ed.task_action, ed.resolved_action, ed.resolved_role, ed.duration, ed.start, ed."end", ed.task_uuid,
    COALESCE(
        CASE WHEN jsonb_typeof(ed.ignore_errors) = 'boolean' THEN ed.ignore_errors::boolean END,
        CASE WHEN jsonb_typeof(ed.res -> '_ansible_ignore_errors') = 'boolean'
             THEN (ed.res -> '_ansible_ignore_errors')::boolean END,
        false
    ) AS ignore_errors,
    e.failed, e.changed, e.playbook, e.play, e.task, e.role,
    e.job_id AS job_remote_id, e.job_id, e.host_id AS host_remote_id, e.host_id, e.host_name,
    CASE WHEN jsonb_typeof(ed.res) = 'object' THEN ed.res -> 'warnings' END AS warnings,
    CASE WHEN jsonb_typeof(ed.res) = 'object' THEN ed.res -> 'deprecations' END AS deprecations,
    octet_length(e.event_data) AS event_data_length,
    u.ansible_version, u.failed AS job_failed, u.started AS job_started{raw}
FROM main_jobevent e
{extract}
LEFT JOIN main_unifiedjob u ON u.id = e.job_id
WHERE {partitions} AND e.job_id = ANY(%(job_ids)s::integer[]) AND e.event IN ({events})
"""

EXTRACTED = (
    'task_action text, resolved_action text, resolved_role text, duration text, start text, "end" text, '
    'task_uuid text, ignore_errors jsonb, res jsonb'
)


TEXT_COLUMNS = ('task_action', 'resolved_action', 'resolved_role', 'duration', 'start', 'end', 'task_uuid')


def derive(data: dict | None) -> dict[str, str | None]:
    """The columns computed from a parsed `event_data` (`events.ParsedEvents`), as the query renders them."""
    if data is None:
        return dict.fromkeys(TEXT_COLUMNS) | {'ignore_errors': 'f', 'warnings': None, 'deprecations': None}
    values = {name: events.record_text(data.get(name)) for name in TEXT_COLUMNS}
    res = data.get('res')
    ignore = data.get('ignore_errors')
    if not isinstance(ignore, bool):
        ignore = res.get('_ansible_ignore_errors') if isinstance(res, dict) else None
    values['ignore_errors'] = 't' if ignore is True else 'f'
    for name in ('warnings', 'deprecations'):
        values[name] = events.jsonb_text(res[name]) if isinstance(res, dict) and name in res else None
    return values


def build_export(db: psycopg.Connection, since: datetime, until: datetime) -> events.EventExport | None:
    """The event export of the window, or None when no job finished in it."""
    jobs = db.execute(sql.SQL(JOBS).format(window=window.condition('u.finished')), window.params(since, until))
    fixed = {'events': events.event_list(SERVICE_EVENTS)}
    return events.EventExport.of_jobs(jobs.fetchall(), QUERY, fixed, EXTRACTED, {}, derive)


def build_query(db: psycopg.Connection, since: datetime, until: datetime) -> tuple[sql.Composable, dict] | None:
    """The event COPY query (fast path) and its parameters, or None when no job finished in the window (for EXPLAIN)."""
    return events.fast_query(build_export(db, since, until))


@csv_collector('main_jobevent_service', '1.4', kind='windowed')
def main_jobevent_service(run: CsvRun) -> list[Path]:
    """Result, warning and deprecation events of the jobs that finished in the window."""
    return events.collect(run, build_export(run.db, run.since, run.until))
