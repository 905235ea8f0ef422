"""Host metrics read straight from the controller database, for RENEWAL_GUIDANCE with SHIP_TARGET=controller_db.

Why: `main_hostmetric` holds every host's first and last automation since the controller was installed, so a new
install of ours can report 12 months of renewal guidance at once instead of waiting for 12 months of packages
(metrics-utility's `build_report --since=12months` with `controller_db`). The rows come from the same
`main_hostmetric` collector gather runs and go through the same `HostMetric` rollup, so the report equals the one
built from gathered packages of the same data. The session is read-only (`default_transaction_read_only=on`): the
report never writes to the controller database, where metrics-utility created two SQL functions.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import psycopg

from metrics_utility.library.collectors.controller import main_hostmetric
from metrics_utility.library.dataframes.host_metric import HostMetric
from metrics_utility.library.errors import MetricsUtilityError

from .columns import read_csv

KEY = 'main_hostmetric'


class ControllerDbError(MetricsUtilityError):
    """The controller database could not be read: one line, naming what to fix, without the password."""


def connect(*, host: str, port: str, dbname: str, user: str, password: str | None, sslmode: str) -> psycopg.Connection:
    """A read-only session: even a bug could not write to the controller database."""
    try:
        return psycopg.connect(
            host=host,
            port=port,
            dbname=dbname,
            user=user,
            password=password or None,
            sslmode=sslmode,
            application_name='metrics-utility',
            connect_timeout=15,
            options='-c default_transaction_read_only=on',
        )
    except psycopg.OperationalError as exc:
        raise ControllerDbError(
            f'cannot connect to the controller database {dbname} at {host}:{port} as {user}: {_first_line(exc)}'
        ) from None


def host_metrics(conn: psycopg.Connection, since: datetime, until: datetime, workdir: Path) -> pd.DataFrame:
    """The latest `main_hostmetric` row per hostname automated or deleted in [since, until), as the HostMetric
    rollup of gathered packages holds it (install_uuid empty: one controller)."""
    try:
        files = main_hostmetric(db=conn, since=since, until=until, output_dir=workdir).gather()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ControllerDbError(
            f'{_first_line(exc)}: grant SELECT on main_hostmetric and main_host to {conn.info.user}'
        ) from None
    except psycopg.Error as exc:
        raise ControllerDbError(f'reading main_hostmetric failed: {_first_line(exc)}') from None
    rollup = HostMetric()
    for path in files:
        rollup.add_csv(read_csv(Path(path).read_bytes(), KEY), install_uuid='', day=since.date())
    return rollup.group()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
