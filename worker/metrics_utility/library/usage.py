"""Month-to-date usage from a storage's daily rollups: unique managed nodes and job runs, as a report counts them.

The daily rollups (`rollups/YYYY/MM/DD/`) are shared with `build-report`: a day whose packages did not change is
read from its parquet files, so an hourly call rebuilds only today. The figures apply the report's organization
filter and deduplication, so on the last day of a month they equal that month's report quantity and job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from metrics_utility.library.dataframes import RollupStore
from metrics_utility.library.reports import ReportData
from metrics_utility.library.storage import Storage


@dataclass(frozen=True)
class MonthUsage:
    month: str  # YYYY-MM (UTC)
    unique_managed_nodes: int
    job_runs: int
    days_with_data: int

    def to_json(self) -> dict[str, object]:
        return {'month': self.month, 'unique_managed_nodes': self.unique_managed_nodes, 'job_runs': self.job_runs}


def month_to_date(
    storage: Storage, today: date, *, organizations: tuple[str, ...] = (), deduplicator: str = 'ccsp'
) -> MonthUsage:
    """Usage from the first of `today`'s month through `today` (included); builds and persists missing rollups."""
    first = today.replace(day=1)
    names = {'job_host_summary'} | ({'main_host'} if deduplicator == 'ccsp-experimental' else set())
    period = RollupStore(storage).load(first, today + timedelta(days=1), names)
    direct = ReportData.from_period(period, organizations, deduplicator).direct
    runs = direct[['install_uuid', 'job_remote_id']].drop_duplicates()
    return MonthUsage(f'{first:%Y-%m}', int(direct['host_name'].nunique()), len(runs), len(period.days_with_data))
