"""`execution_environments` (v1.4, csv): the whole `main_executionenvironment` table (a few rows).

Window: none — a full dump on every run, as metrics-utility does. Ordered by id.

Columns: id, created, modified, description, image, managed, created_by_id, credential_id, modified_by_id,
organization_id, name, pull.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from ..base import collector
from .streaming import DEFAULT_MAX_FILE_BYTES, copy_to_csv, session

QUERY = """
SELECT id, created, modified, description, image, managed, created_by_id, credential_id, modified_by_id,
       organization_id, name, pull
FROM main_executionenvironment
ORDER BY id
"""


@collector('execution_environments', '1.4', 'csv')
def execution_environments(
    *, db: psycopg.Connection, output_dir: Path | None = None, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> list[Path]:
    """All execution environments."""
    with session(db):
        return copy_to_csv(db, QUERY, output_dir, 'execution_environments', None, max_file_bytes)
