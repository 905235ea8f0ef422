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

from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from ..base import collector
from . import window
from .streaming import DEFAULT_MAX_FILE_BYTES, copy_to_csv, session

QUERY = """
SELECT DISTINCT ct.name AS credential_type
FROM main_unifiedjob_credentials uc
JOIN main_unifiedjob u ON u.id = uc.unifiedjob_id
JOIN main_credential c ON c.id = uc.credential_id
JOIN main_credentialtype ct ON ct.id = c.credential_type_id
WHERE {window} AND ct.managed
ORDER BY credential_type
"""


@collector('credentials_service', '1.4', 'csv')
def credentials_service(
    *,
    db: psycopg.Connection,
    since: datetime,
    until: datetime,
    output_dir: Path | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> list[Path]:
    """Managed credential types used by the jobs that finished in the window."""
    query = sql.SQL(QUERY).format(window=window.condition('u.finished'))
    with session(db):
        return copy_to_csv(db, query, output_dir, 'credentials_service', window.params(since, until), max_file_bytes)
