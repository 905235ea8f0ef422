"""ReportRenewalGuidance: automated hosts from the controller's host metrics, for subscription renewals.

Source: `main_hostmetric` rows gathered into packages (metrics-utility reads the controller database directly;
the same rows reach us through the gather pipeline, so the report also works from a directory or S3).
With `ephemeral_days` N, a host automated over at most N days (first to last automation) whose first automation
is at least N−1 days old is ephemeral; the sheet also gives the maximum number of ephemeral hosts active within
any N-day window of the period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from openpyxl import Workbook

from metrics_utility.library import dedup

from .options import ReportOptions
from .xlsx import DATETIME, INTEGER, Column, cell, header_row, new_workbook, table_rows, widths, write_table

NODE_COLUMNS = [
    Column('Host name', 'host_name', width=40), Column('First automation', 'first_automation', DATETIME, 20),
    Column('Last automation', 'last_automation', DATETIME, 20),
    Column('Number of Automations', 'automated_counter', INTEGER),
    Column('Number of days between first and last', 'days_automated', INTEGER),
    Column('Number of Deletions', 'deleted_counter', INTEGER), Column('Last deleted', 'last_deleted', DATETIME, 20),
    Column('HostMetric record count', 'records_total', INTEGER),
    Column('HostMetric record count active', 'records_active', INTEGER),
    Column('HostMetric record count deleted', 'records_deleted', INTEGER), Column('Host names', 'hostnames', width=40),
    Column('Variables ansible_host', 'ansible_hosts', width=30), Column('Serial Numbers', 'serials', width=30),
    Column('Machine UUIDs', 'machine_ids', width=40),
]  # fmt: skip


def prepare(host_metrics: pd.DataFrame, options: ReportOptions, iterations: int = 3) -> pd.DataFrame:
    since = pd.Timestamp(datetime(options.since.year, options.since.month, options.since.day, tzinfo=UTC))
    rows = host_metrics[host_metrics['last_automation'] >= since]
    machines = dedup.deduplicate(rows.reset_index(drop=True), options.deduplicator or 'renewal')
    days = (pd.to_datetime(machines['last_automation']) - pd.to_datetime(machines['first_automation'])).dt.days
    machines['days_automated'] = days.fillna(0).clip(lower=0).astype('int64')
    return machines


def ephemeral(machines: pd.DataFrame, n: int, now: datetime) -> pd.Series:
    threshold = pd.Timestamp((now - timedelta(days=n - 1)).replace(hour=0, minute=0, second=0, microsecond=0))
    first = pd.to_datetime(machines['first_automation'], utc=True)
    return (machines['days_automated'] <= n) & (first <= threshold)


def windows(machines: pd.DataFrame, n: int, since: datetime, now: datetime) -> pd.DataFrame:
    """Ephemeral hosts active in each N-day window sliding one day at a time from `since` to now."""
    first = pd.to_datetime(machines['first_automation'], utc=True)
    last = pd.to_datetime(machines['last_automation'], utc=True)
    rows, start = [], pd.Timestamp(since)
    end_of_period = pd.Timestamp(now)
    while start <= end_of_period:
        end = start + pd.Timedelta(days=n)
        active = (first < end) & (last >= start)
        rows.append((start, end, int(machines.loc[active, 'host_name'].nunique())))
        start += pd.Timedelta(days=1)
    return pd.DataFrame(rows, columns=['window_start', 'window_end', 'ephemeral_hosts'])


class ReportRenewalGuidance:
    def __init__(self, options: ReportOptions, host_metrics: pd.DataFrame) -> None:
        self.options = options
        self.machines = prepare(host_metrics, options)

    def build(self) -> Workbook:
        o, wb = self.options, new_workbook()
        machines, now = self.machines, o.generated
        deleted = machines[machines['deleted'].astype(bool)]
        active = machines[~machines['deleted'].astype(bool)]
        rows = [('Automated hosts', len(active)), ('Deleted Automated hosts', len(deleted))]
        ephemeral_hosts = usage = None
        if o.ephemeral_days:
            flag = ephemeral(machines, o.ephemeral_days, now)
            ephemeral_hosts = machines[flag]
            active = active[~flag.loc[active.index]]
            since = datetime(o.since.year, o.since.month, o.since.day, tzinfo=UTC)
            usage = windows(ephemeral_hosts, o.ephemeral_days, since, now)
            peak = int(usage['ephemeral_hosts'].max()) if len(usage) else 0
            rows = [
                ('Automated hosts', len(active)),
                ('Ephemeral automated hosts total', len(ephemeral_hosts)),
                ('Ephemeral automated hosts maximum concurrent usage in defined interval', peak),
                ('Deleted Automated hosts', len(deleted)),
            ]
        ws = wb.create_sheet('Usage Reporting')
        widths(ws, [Column('', '', width=70), Column('', '', width=24)])
        ws.append([cell(ws, 'Renewal guidance', bold=True, size=14)])
        ws.append([cell(ws, 'Report Period', bold=True), o.period_label])
        ws.append([cell(ws, 'Updated', bold=True), f'{now:%b %d, %Y}'])
        ws.append([])
        ws.append(header_row(ws, ['Description', 'Quantity']))
        for text, value in rows:
            ws.append([text, cell(ws, value, fmt=INTEGER)])
        self._nodes(wb, 'Managed nodes', active)
        if ephemeral_hosts is not None and usage is not None:
            self._nodes(wb, 'Managed nodes ephemeral', ephemeral_hosts)
            ws = wb.create_sheet('Managed nodes ephemeral usage')
            columns = [
                Column('Window start', 'window_start', 'yyyy-mm-dd', 16),
                Column('Window end', 'window_end', 'yyyy-mm-dd', 16),
                Column('Ephemeral hosts', 'ephemeral_hosts', INTEGER),
            ]
            widths(ws, columns)
            write_table(ws, columns, usage)
        self._nodes(wb, 'Deleted Managed nodes', deleted)
        return wb

    def _nodes(self, wb: Workbook, title: str, frame: pd.DataFrame) -> None:
        ws = wb.create_sheet(title)
        widths(ws, NODE_COLUMNS)
        ws.freeze_panes = 'A2'
        table_rows(ws, NODE_COLUMNS, frame)
