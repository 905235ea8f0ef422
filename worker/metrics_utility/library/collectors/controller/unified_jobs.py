"""`unified_jobs` (v1.4, csv): every kind of unified job (playbook runs, project and inventory updates, workflows…)
that finished in the window.

Window: `main_unifiedjob.finished` in `[since, until)` (as metrics-utility since 2026; still-running jobs have no
`finished` and appear on the day they end). Ordered by id.

Columns (as metrics-utility 1.4): id, polymorphic_ctype_id, model, organization_id, organization_name,
execution_environment_image, inventory_id, inventory_name, execution_environment_id, created, name,
unified_job_template_id, launch_type, schedule_id, execution_node, controller_node, cancel_flag, status, failed,
started, finished, elapsed, job_explanation, instance_group_id, installed_collections, ansible_version, forks,
job_template_name, scm_type.
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from . import window
from .csv_export import CsvRun, csv_collector

QUERY = """
SELECT
    u.id, u.polymorphic_ctype_id, ct.model, u.organization_id, o.name AS organization_name,
    ee.image AS execution_environment_image, j.inventory_id, i.name AS inventory_name,
    u.execution_environment_id, u.created, u.name, u.unified_job_template_id, u.launch_type, u.schedule_id,
    u.execution_node, u.controller_node, u.cancel_flag, u.status, u.failed, u.started, u.finished, u.elapsed,
    u.job_explanation, u.instance_group_id, u.installed_collections, u.ansible_version, j.forks,
    t.name AS job_template_name, p.scm_type
FROM main_unifiedjob u
LEFT JOIN django_content_type ct ON ct.id = u.polymorphic_ctype_id
LEFT JOIN main_job j ON j.unifiedjob_ptr_id = u.id
LEFT JOIN main_inventory i ON i.id = j.inventory_id
LEFT JOIN main_organization o ON o.id = u.organization_id
LEFT JOIN main_executionenvironment ee ON ee.id = u.execution_environment_id
LEFT JOIN main_project p ON p.unifiedjobtemplate_ptr_id = j.project_id
LEFT JOIN main_unifiedjobtemplate t ON t.id = u.unified_job_template_id
WHERE {window}
ORDER BY u.id
"""


@csv_collector('unified_jobs', '1.4', kind='windowed')
def unified_jobs(run: CsvRun) -> list[Path]:
    """Unified jobs of every type that finished in the window."""
    return run.copy(sql.SQL(QUERY).format(window=window.condition('u.finished')), run.window_params())
