"""`credentials_service` (v1.4, csv): the names of the built-in (managed) credential types that jobs finished in the
window used.

Window: `main_unifiedjob.finished` in `[since, until)`; a job still running has no `finished` and counts on the day it
ends. Ordered by name (metrics-utility leaves the order to the planner).

Columns (as metrics-utility 1.4): credential_type.

Only type names leave the database, and only those of types AWX itself defines (`managed`): never a credential's
name, owner or `inputs` (where AWX keeps secrets, `$encrypted$`), and never the name of a custom credential type,
which an administrator chose. Shipped for console.redhat.com analytics; no report reads it.
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from . import window
from .csv_export import CsvRun, csv_collector

QUERY = """
SELECT DISTINCT ct.name AS credential_type
FROM main_unifiedjob_credentials uc
JOIN main_unifiedjob u ON u.id = uc.unifiedjob_id
JOIN main_credential c ON c.id = uc.credential_id
JOIN main_credentialtype ct ON ct.id = c.credential_type_id
WHERE {window} AND ct.managed
ORDER BY credential_type
"""


@csv_collector('credentials_service', '1.4', kind='windowed')
def credentials_service(run: CsvRun) -> list[Path]:
    """Managed credential types used by the jobs that finished in the window."""
    return run.copy(sql.SQL(QUERY).format(window=window.condition('u.finished')), run.window_params())
