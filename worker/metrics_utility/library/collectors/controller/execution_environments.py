"""`execution_environments` (v1.4, csv): the whole `main_executionenvironment` table (a few rows).

Window: none — a full dump on every run, as metrics-utility does. Ordered by id.

Columns: id, created, modified, description, image, managed, created_by_id, credential_id, modified_by_id,
organization_id, name, pull.
"""

from __future__ import annotations

from pathlib import Path

from .csv_export import CsvRun, csv_collector

QUERY = """
SELECT id, created, modified, description, image, managed, created_by_id, credential_id, modified_by_id,
       organization_id, name, pull
FROM main_executionenvironment
ORDER BY id
"""


@csv_collector('execution_environments', '1.4', kind='snapshot')
def execution_environments(run: CsvRun) -> list[Path]:
    """All execution environments."""
    return run.copy(QUERY)
