"""`controller_version_service` (v1.4, csv): the distinct controller versions of the enabled instances.

Window: none — a snapshot of `main_instance` (filed under the day of the run's `until`, as metrics-utility's
`until_slicing` does). Instances that are disabled or report an empty version are left out. Ordered by version.

Columns (as metrics-utility 1.4): controller_version.

Shipped for console.redhat.com analytics; no report reads it.
"""

from __future__ import annotations

from pathlib import Path

from .csv_export import CsvRun, csv_collector

QUERY = """
SELECT DISTINCT version AS controller_version
FROM main_instance
WHERE enabled AND version IS NOT NULL AND version <> ''
ORDER BY controller_version
"""


@csv_collector('controller_version_service', '1.4', kind='snapshot')
def controller_version_service(run: CsvRun) -> list[Path]:
    """Distinct versions of the enabled controller instances."""
    return run.copy(QUERY)
