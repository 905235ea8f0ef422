"""A storage the dashboard can show: gathered packages from the first day of last month through today, and last
month's CCSPv2 report built from them by the real build-report command.

The days are relative to today's UTC date because the page asks for "this month so far" and "last month" by the
browser's clock; the rows come from `report_data.synthetic` (the awkward cases reports must get right).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from testsupport.report_data import SyntheticData, synthetic


@dataclass(frozen=True)
class DashboardStorage:
    path: Path  # the directory storage (METRICS_UTILITY_SHIP_PATH)
    data: SyntheticData
    today: date
    last_month: str  # YYYY-MM of the built report
    report: Path  # the built workbook


def first_of_last_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def storage_env(path: Path) -> dict[str, str]:
    return {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(path)}


def build_dashboard_storage(path: Path, today: date | None = None) -> DashboardStorage:
    """Write the packages and build last month's report (CCSPv2, default sheets) into the directory `path`."""
    from metrics_utility.cli import main

    today = today or datetime.now(UTC).date()
    first = first_of_last_month(today)
    data = synthetic(first, (today - first).days + 1, jobs_per_day=3, hosts=24, hosts_per_job=6, events_per_host=2)
    data.write(path)
    env = {**storage_env(path), 'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2', 'METRICS_UTILITY_PRICE_PER_NODE': '25'}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(['build-report'], env=env)  # the default month is the previous one
    assert code == 0, printed.getvalue()
    month = f'{first:%Y-%m}'
    report = path / 'reports' / f'{first:%Y}' / f'{first:%m}' / f'CCSPv2-{month}.xlsx'
    assert report.is_file(), printed.getvalue()
    return DashboardStorage(path, data, today, month, report)
