"""`main_host_daily` (v1.1, csv): enabled hosts created or modified in the window — the incremental alternative to
the `main_host` snapshot.

Window: `main_host.created` in `[since, until)` OR `main_host.modified` in `[since, until)`, and `enabled`.
Columns and parsing: see `inventory_hosts`.
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from . import window
from .csv_export import CsvRun, csv_collector
from .inventory_hosts import copy_hosts


@csv_collector('main_host_daily', '1.1', kind='windowed')
def main_host_daily(run: CsvRun) -> list[Path]:
    """Enabled hosts created or modified in the window."""
    where = sql.SQL('h.enabled AND ({} OR {})').format(window.condition('h.created'), window.condition('h.modified'))
    return copy_hosts(run, where, run.window_params())
