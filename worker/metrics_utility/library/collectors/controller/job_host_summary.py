"""`job_host_summary` (v1.2, csv): one row per (job, host) recap, the source of billed managed nodes.

Window: `main_jobhostsummary.modified` in `[since, until)` (summaries are written once, when the job's stats arrive,
so `modified` is the job's end; a job crossing midnight lands on the day it finished). Ordered by `modified, id`.

Columns (as metrics-utility 1.2): id, created, modified, host_name, host_remote_id, ansible_host_variable,
ansible_connection_variable, changed, dark, failures, ok, processed, skipped, failed, ignored, rescued, job_created,
job_remote_id, job_template_remote_id, job_template_name (the job's name, copied from its template at launch),
inventory_remote_id, inventory_name, organization_remote_id, organization_name, project_remote_id, project_name.

Deliberate differences from metrics-utility:
- host variables are parsed as real YAML/JSON in Python, once per distinct host (`hostvars`), while the server runs
  the COPY (`host_columns.Splice`), instead of two PL/pgSQL functions the collector had to CREATE in the controller
  database; the look-up reads every host while `main_host` is small (`host_columns.hosts_in_scope`);
- a summary without `host_id` (deleted host, add_host, localhost) falls back to the host of the *same name in the
  job's inventory* (unique), not to any host of that name, so a summary row is never duplicated when the name exists
  in several inventories;
- `id` breaks ties in the ordering, so output is deterministic.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from functools import partial
from pathlib import Path

import psycopg
from psycopg import sql

from ..base import Files
from . import streams, window
from .csv_export import CsvRun, csv_collector
from .host_columns import HostVariables, Splice, hosts_in_scope
from .streaming import CsvOutput, combine

HOSTS = """
SELECT h.id, h.variables FROM main_host h
WHERE h.id IN (
    SELECT s.host_id FROM main_jobhostsummary s WHERE {window} AND s.host_id IS NOT NULL
    UNION
    SELECT fb.id
    FROM main_jobhostsummary s
    JOIN main_job j ON j.unifiedjob_ptr_id = s.job_id
    JOIN main_host fb ON fb.name = s.host_name AND fb.inventory_id = j.inventory_id
    WHERE {window} AND s.host_id IS NULL
)
"""

QUERY = """
SELECT
    s.id, s.created, s.modified, s.host_name, s.host_id AS host_remote_id,
    {host_columns},
    s.changed, s.dark, s.failures, s.ok, s.processed, s.skipped, s.failed, s.ignored, s.rescued,
    u.created AS job_created, s.job_id AS job_remote_id,
    u.unified_job_template_id AS job_template_remote_id, u.name AS job_template_name,
    i.id AS inventory_remote_id, i.name AS inventory_name,
    o.id AS organization_remote_id, o.name AS organization_name,
    p.id AS project_remote_id, p.name AS project_name
FROM main_jobhostsummary s
LEFT JOIN main_job j ON j.unifiedjob_ptr_id = s.job_id
LEFT JOIN main_unifiedjobtemplate p ON p.id = j.project_id
LEFT JOIN main_inventory i ON i.id = j.inventory_id
LEFT JOIN main_unifiedjob u ON u.id = s.job_id
LEFT JOIN main_organization o ON o.id = u.organization_id
LEFT JOIN main_host fb ON s.host_id IS NULL AND fb.name = s.host_name AND fb.inventory_id = j.inventory_id
WHERE {window}
ORDER BY s.modified, s.id
"""

HOST_COLUMNS = Splice(
    'COALESCE(s.host_id, fb.id)',
    (('ansible_host_variable', 'ansible_host'), ('ansible_connection_variable', 'ansible_connection')),
)


def statements(db: psycopg.Connection, since: datetime, until: datetime) -> tuple[sql.Composable, sql.Composable, dict]:
    """The hosts query, the COPY query and their parameters (public for the benchmark's ceiling)."""
    where = window.condition('s.modified')
    hosts = hosts_in_scope(db, sql.SQL(HOSTS).format(window=where))
    return hosts, sql.SQL(QUERY).format(host_columns=HOST_COLUMNS.select(), window=where), window.params(since, until)


def sub_windows(since: datetime, until: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """`[since, until)` cut into `count` consecutive windows of equal length (one per stream)."""
    span = until - since
    bounds = [since + span * index / count for index in range(count)] + [until]
    return [(a, b) for a, b in itertools.pairwise(bounds) if a < b]


@csv_collector('job_host_summary', '1.2', kind='windowed')
def job_host_summary(run: CsvRun) -> list[Path]:
    """Job host summaries modified in the window, with the host's ansible_host/ansible_connection.

    With streams, each reads a consecutive `modified` sub-window; their files, in sub-window order, hold the rows in
    the order one COPY gives (`modified, id`)."""
    hosts_query, query, params = statements(run.db, run.since, run.until)
    hosts = HostVariables(run.db, hosts_query, params)
    splice = HOST_COLUMNS.rows(hosts, run.db.info.encoding)  # parses in the background from here on
    pieces = sub_windows(run.since, run.until, streams.count(run.streams))
    if len(pieces) == 1:
        return Files(run.copy(query, params, rewrite=splice), splice.unreadable)
    outputs = [CsvOutput(run.output_dir, run.key, run.max_file_bytes) for _ in pieces]
    rewrites = [splice.fork() for _ in pieces]

    def piece(index: int, db: psycopg.Connection) -> None:
        outputs[index].copy(db, query, window.params(*pieces[index]), rewrite=rewrites[index])

    try:
        streams.run(run.db, run.streams, [partial(piece, index) for index in range(len(pieces))])
        files = combine([path for out in outputs for path in out.finish()], run.max_file_bytes)
    except BaseException:
        for out in outputs:
            out.discard()
        raise
    return Files(files, sum(rewrite.unreadable for rewrite in rewrites))
