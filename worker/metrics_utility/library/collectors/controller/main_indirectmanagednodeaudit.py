"""`main_indirectmanagednodeaudit` (v1.0, csv): nodes managed indirectly (VMs, switches reached through an API).

Window: the job's `main_unifiedjob.finished` in `[since, until)` (as metrics-utility since 2026; audit rows are
written after the job's events are processed, so the job end is what places them in a month). Ordered by audit
`created`, id.

The table exists only on AAP 2.5+ controllers. Its absence is checked with `to_regclass` before querying (a failed
query would abort the caller's transaction): a warning is logged and `[]` returned.

Columns (as metrics-utility 1.0): id, created, host_name, host_remote_id, canonical_facts, facts, events,
task_runs, job_created, job_remote_id, job_template_remote_id, job_template_name, inventory_remote_id,
inventory_name, organization_remote_id, organization_name, project_remote_id, project_name.
"""

from __future__ import annotations

import logging
from pathlib import Path

from psycopg import sql

from . import window
from .csv_export import CsvRun, csv_collector
from .streaming import table_exists

log = logging.getLogger(__name__)
TABLE = 'main_indirectmanagednodeaudit'

QUERY = """
SELECT
    a.id, a.created, a.name AS host_name, a.host_id AS host_remote_id,
    a.canonical_facts, a.facts, a.events, a.count AS task_runs,
    u.created AS job_created, a.job_id AS job_remote_id,
    u.unified_job_template_id AS job_template_remote_id, u.name AS job_template_name,
    i.id AS inventory_remote_id, i.name AS inventory_name,
    o.id AS organization_remote_id, o.name AS organization_name,
    p.id AS project_remote_id, p.name AS project_name
FROM main_indirectmanagednodeaudit a
JOIN main_unifiedjob u ON u.id = a.job_id
LEFT JOIN main_job j ON j.unifiedjob_ptr_id = a.job_id
LEFT JOIN main_inventory i ON i.id = a.inventory_id
LEFT JOIN main_organization o ON o.id = u.organization_id
LEFT JOIN main_unifiedjobtemplate p ON p.id = j.project_id
WHERE {window}
ORDER BY a.created, a.id
"""


@csv_collector('main_indirectmanagednodeaudit', '1.0', kind='windowed')
def main_indirectmanagednodeaudit(run: CsvRun) -> list[Path]:
    """Indirectly managed node audit rows of the jobs that finished in the window."""
    if not table_exists(run.db, TABLE):
        log.warning('%s: table %s does not exist (controller older than AAP 2.5); nothing to collect', TABLE, TABLE)
        return []
    return run.copy(sql.SQL(QUERY).format(window=window.condition('u.finished')), run.window_params())
