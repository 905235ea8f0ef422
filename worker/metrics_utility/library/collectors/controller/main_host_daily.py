"""`main_host_daily` (v1.1, csv): enabled hosts created or modified in the window — the incremental alternative to
the `main_host` snapshot.

Window: `main_host.created` in `[since, until)` OR `main_host.modified` in `[since, until)`, and `enabled`.
Columns and parsing: see `inventory_hosts`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from ..base import collector
from . import window
from .inventory_hosts import copy_hosts
from .streaming import DEFAULT_MAX_FILE_BYTES


@collector('main_host_daily', '1.1', 'csv')
def main_host_daily(
    *,
    db: psycopg.Connection,
    since: datetime,
    until: datetime,
    output_dir: Path | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> list[Path]:
    """Enabled hosts created or modified in the window."""
    where = sql.SQL('h.enabled AND ({} OR {})').format(window.condition('h.created'), window.condition('h.modified'))
    return copy_hosts(db, where, window.params(since, until), output_dir, 'main_host_daily', max_file_bytes)
