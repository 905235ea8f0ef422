"""`job_host_summary_service` (v1.4, csv): summaries of the jobs that *finished* in the window, for service rollups.

Window: `main_unifiedjob.finished` in `[since, until)` (indexed; a still-running job has no summaries and no
`finished`). Ordered by the job's `finished`, then summary id. No host variables (the anonymised rollups do not need
them).

Columns (as metrics-utility 1.4): id, created, modified, host_name, host_remote_id, changed, dark, failures, ok,
processed, skipped, failed, ignored, rescued, job_created, job_remote_id, job_template_remote_id, job_template_name
(the template's current name), ansible_version, launch_type, inventory_remote_id, inventory_name,
organization_remote_id, organization_name, project_remote_id, project_name, model.
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from . import window
from .csv_export import CsvRun, csv_collector

QUERY = """
WITH finished_jobs AS (
    SELECT u.id, u.finished FROM main_unifiedjob u WHERE {window}
)
SELECT
    s.id, s.created, s.modified, s.host_name, s.host_id AS host_remote_id,
    s.changed, s.dark, s.failures, s.ok, s.processed, s.skipped, s.failed, s.ignored, s.rescued,
    u.created AS job_created, s.job_id AS job_remote_id,
    u.unified_job_template_id AS job_template_remote_id, t.name AS job_template_name,
    u.ansible_version, u.launch_type,
    i.id AS inventory_remote_id, i.name AS inventory_name,
    o.id AS organization_remote_id, o.name AS organization_name,
    p.id AS project_remote_id, p.name AS project_name,
    ct.model
FROM finished_jobs fj
JOIN main_jobhostsummary s ON s.job_id = fj.id
LEFT JOIN main_job j ON j.unifiedjob_ptr_id = s.job_id
LEFT JOIN main_unifiedjob u ON u.id = s.job_id
LEFT JOIN django_content_type ct ON ct.id = u.polymorphic_ctype_id
LEFT JOIN main_unifiedjobtemplate t ON t.id = u.unified_job_template_id
LEFT JOIN main_unifiedjobtemplate p ON p.id = j.project_id
LEFT JOIN main_inventory i ON i.id = j.inventory_id
LEFT JOIN main_organization o ON o.id = u.organization_id
ORDER BY fj.finished, s.id
"""


@csv_collector('job_host_summary_service', '1.4', kind='windowed')
def job_host_summary_service(run: CsvRun) -> list[Path]:
    """Job host summaries of the jobs that finished in the window."""
    return run.copy(sql.SQL(QUERY).format(window=window.condition('u.finished')), run.window_params())
