"""`main_host` (v1.1, csv): snapshot of every enabled inventory host at the time of the run.

Window: none — it is a snapshot (the gather command files it under the day of its `until`, as metrics-utility's
`until_slicing` does). Columns and parsing: see `inventory_hosts`.
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from .csv_export import CsvRun, csv_collector
from .inventory_hosts import copy_hosts


@csv_collector('main_host', '1.1', kind='snapshot')
def main_host(run: CsvRun) -> list[Path]:
    """All enabled hosts with inventory, organization, identity and facts."""
    return copy_hosts(run, sql.SQL('h.enabled'), {})
