"""`main_host` (v1.1, csv): snapshot of every enabled inventory host at the time of the run.

Window: none — it is a snapshot (the gather command files it under the day of its `until`, as metrics-utility's
`until_slicing` does). Columns and parsing: see `inventory_hosts`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from ..base import collector
from .inventory_hosts import copy_hosts
from .streaming import DEFAULT_MAX_FILE_BYTES


@collector('main_host', '1.1', 'csv')
def main_host(
    *, db: psycopg.Connection, output_dir: Path | None = None, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> list[Path]:
    """All enabled hosts with inventory, organization, identity and facts."""
    return copy_hosts(db, sql.SQL('h.enabled'), {}, output_dir, 'main_host', max_file_bytes)
