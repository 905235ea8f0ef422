"""The sheets CCSP and CCSPv2 share: node lists, scope, infrastructure, usage tables, status and trend."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from . import figures, status
from .xlsx import DATETIME, GREEN, INTEGER, RED, YELLOW, Column, cell, header_row, table_rows, widths, write_table

NODE_COLUMNS = [
    Column('Host name', 'host_name', width=40), Column('Automated by organizations', 'organizations', INTEGER),
    Column('Job runs', 'job_runs', INTEGER), Column('Number of task runs', 'task_runs', INTEGER),
    Column('First automation', 'first_automation', DATETIME, 20), Column('Last automation', 'last_automation',
                                                                         DATETIME, 20),
]  # fmt: skip
DEDUP_COLUMNS = [
    Column('Host names before deduplication', 'names_before_dedup', width=50),
    Column('Host names before deduplication count', 'names_before_dedup_count', INTEGER),
]
INDIRECT_COLUMNS = [*NODE_COLUMNS, Column('Canonical Facts', 'canonical_facts', width=50),
                    Column('Facts', 'facts', width=50), Column('Manage Node Types', 'node_types'),
                    Column('Events', 'events', width=50)]  # fmt: skip
SCOPE_COLUMNS = [
    Column('Host name', 'host_name', width=40), Column('Last Automation', 'last_automation', DATETIME, 20),
    Column('Organizations', 'organizations', width=40), Column('Inventories', 'inventories', width=40),
    Column('Canonical Facts', 'canonical_facts', width=50), Column('Facts', 'facts', width=50),
]  # fmt: skip
INFRA_COLUMNS = [Column('Infrastructure Type', 'infra_type', width=24), Column('Infrastructure Bucket', 'infra_bucket',
                 width=24), Column('Device Type', 'device_type', width=24), Column('Unique Nodes', 'unique_nodes',
                 INTEGER), Column('Total Nodes', 'total_nodes', INTEGER)]  # fmt: skip
JOBS_COLUMNS = [
    Column('Organization name', 'organization_name', width=30), Column('Job template name', 'job_template_name',
                                                                       width=40),
    Column('Job runs', 'job_runs', INTEGER), Column('Unique managed nodes automated', 'unique_nodes', INTEGER),
    Column('Non-unique managed nodes automated', 'non_unique_nodes', INTEGER),
    Column('Number of task runs', 'task_runs', INTEGER), Column('First run', 'first_run', DATETIME, 20),
    Column('Last run', 'last_run', DATETIME, 20),
]  # fmt: skip
CONTENT_NAMES = {'collection_name': 'Collection name', 'role_name': 'Role name', 'module_name': 'Module name'}
CONTENT_SHEETS = {
    'usage_by_collections': ('Usage by collections', 'collection_name'),
    'usage_by_roles': ('Usage by roles', 'role_name'),
    'usage_by_modules': ('Usage by modules', 'module_name'),
}


def table_sheet(wb: Workbook, title: str, columns: Sequence[Column], frame: pd.DataFrame) -> None:
    ws = wb.create_sheet(title)
    widths(ws, columns)
    ws.freeze_panes = 'A2'
    table_rows(ws, columns, frame)


def managed_nodes(wb: Workbook, nodes: pd.DataFrame, dedup: bool, org_columns: bool) -> None:
    columns = list(NODE_COLUMNS)
    if dedup:
        columns += DEDUP_COLUMNS
    if org_columns:
        columns += [Column(c[4:], c, DATETIME, 20) for c in nodes.columns if c.startswith('org:')]
    table_sheet(wb, 'Managed nodes', columns, nodes)


def usage_by_organizations(wb: Workbook, frame: pd.DataFrame, indirect: bool) -> None:
    columns = [
        Column('Organization name', 'organization_name', width=30),
        Column('Job runs', 'job_runs', INTEGER),
        Column('Unique managed nodes automated', 'unique_nodes', INTEGER),
        Column('Non-unique managed nodes automated', 'non_unique_nodes', INTEGER),
    ]
    if indirect:
        columns += [
            Column('Unique indirect managed nodes automated', 'indirect_unique_nodes', INTEGER),
            Column('Non-unique indirect managed nodes automated', 'indirect_non_unique', INTEGER),
        ]
    columns.append(Column('Number of task runs', 'task_runs', INTEGER))
    table_sheet(wb, 'Usage by organizations', columns, frame)


def content(wb: Workbook, sheet: str, frame: pd.DataFrame) -> None:
    """`frame`: `figures.content(events, <the sheet's dimension>)`."""
    title, dimension = CONTENT_SHEETS[sheet]
    columns = [
        Column(CONTENT_NAMES[dimension], dimension, width=45),
        Column('Unique managed nodes automated', 'unique_nodes', INTEGER),
        Column('Non-unique managed nodes automated', 'non_unique_nodes', INTEGER),
        Column('Number of task runs', 'task_runs', INTEGER),
        Column('Duration of task runs [seconds]', 'duration', '#,##0.000', 22),
    ]
    table_sheet(wb, title, columns, frame)


_BAD = re.compile(r'[\[\]:*?/\\\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]')  # and what XML cannot hold


def organization_tab_names(organizations: Sequence[str], taken: set[str]) -> dict[str, str]:
    """Excel-safe, unique sheet names (≤31 characters, none of []:*?/\\) for the per-organization tabs."""
    names: dict[str, str] = {}
    used = {t.casefold() for t in taken}
    for org in organizations:
        base = _BAD.sub('_', org).strip("' ") or 'Organization'
        name, n = base[:31], 2
        while name.casefold() in used:
            suffix = f' ({n})'
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        used.add(name.casefold())
        names[org] = name
    return names


def organization_nodes(direct: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(organization, its managed nodes) for the per-organization tabs, organizations sorted."""
    orgs = sorted(direct['organization_name'].dropna().unique())
    return [(org, figures.managed_nodes(direct[direct['organization_name'] == org])) for org in orgs]


def organization_tabs(wb: Workbook, nodes: Sequence[tuple[str, pd.DataFrame]], dedup: bool) -> None:
    tabs = organization_tab_names([org for org, _ in nodes], set(wb.sheetnames))
    columns = NODE_COLUMNS + (DEDUP_COLUMNS if dedup else [])
    for org, frame in nodes:
        table_sheet(wb, tabs[org], columns, frame)


def collection_status(wb: Workbook, found: pd.DataFrame, rows: pd.DataFrame, problems: Sequence) -> None:
    """`found`: `status.gaps(...)` of the period; `rows`: `status.raw(...)`."""
    ws = wb.create_sheet('Data collection status')
    gap_columns = [
        Column('CSV filename', 'file_name', width=34),
        Column('Missing from', 'missing_from', DATETIME, 22),
        Column('Missing until', 'missing_until', DATETIME, 22),
        Column('Gap in seconds', 'gap_seconds', INTEGER, 16),
    ]
    raw_columns = [
        Column('Collection timestamp', 'collection_start_timestamp', DATETIME, 34),
        Column('Since', 'since', DATETIME, 22),
        Column('Until', 'until', DATETIME, 22),
        Column('File name', 'file_name', width=16),
        Column('Status', 'status', width=10),
        Column('Elapsed', 'elapsed', INTEGER, 10),
        Column('Unreadable rows', 'unreadable_rows', INTEGER, 16),
    ]
    widths(ws, [*raw_columns, Column('Time since previous collection', '', width=30)])
    ws.append([cell(ws, 'Gaps in data collection', bold=True, size=12)])
    if found.empty:
        ws.append(['No gaps: every day of the period is covered by successful collections.'])
    else:
        write_table(ws, gap_columns, found)
    ws.append([])
    ws.append([cell(ws, 'Problems reading the data', bold=True, size=12)])
    if not problems:
        ws.append(['None: every package was read.'])
    else:
        problem_rows(ws, problems)
    ws.append([])
    ws.append([cell(ws, 'Collections', bold=True, size=12)])
    ws.append(header_row(ws, [c.header for c in raw_columns] + ['Time since previous collection']))
    median = rows['since_previous'].median() if len(rows) else None
    fills = {'ok': GREEN, 'late': YELLOW, 'very late': RED}
    for record in rows.to_dict('records'):
        values = [cell(ws, record[c.field], fmt=c.fmt) if c.fmt else record[c.field] for c in raw_columns]
        gap = record['since_previous']
        values.append(
            cell(ws, None if pd.isna(gap) else gap, fmt=INTEGER, fill=fills[status.interval_class(gap, median)])
        )
        ws.append(values)


def usage_trend(wb: Workbook, tables: dict[str, pd.DataFrame]) -> None:
    """Unique managed nodes and job runs per day/week/month/quarter/year (`figures.trend` per unit), each with a
    native line chart."""
    ws = wb.create_sheet('Usage trend')
    columns = [
        Column('Period start', 'period', 'yyyy-mm-dd', 14),
        Column('Unique managed nodes', 'unique_nodes', INTEGER, 22),
        Column('Job runs', 'job_runs', INTEGER, 12),
    ]
    widths(ws, columns)
    row = 1
    for unit in figures.TREND_FREQUENCIES:
        table = tables[unit]
        ws.append([cell(ws, f'By {unit.lower()}', bold=True, size=12)])
        header = row + 1
        written = write_table(ws, columns, table)
        if written:
            chart = LineChart()
            chart.title = f'Usage by {unit.lower()}'
            chart.y_axis.title = 'Count'
            chart.x_axis.number_format = 'yyyy-mm-dd'
            chart.height, chart.width = 7, 16
            chart.add_data(
                Reference(ws, min_col=2, max_col=3, min_row=header, max_row=header + written), titles_from_data=True
            )
            chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=header + written))
            ws.add_chart(chart, f'E{row}')
        ws.append([])
        row = header + written + 1
        if written < 14:  # keep room for the chart (≈14 rows high) before the next table
            for _ in range(14 - written):
                ws.append([])
            row += 14 - written


def problem_rows(ws: WriteOnlyWorksheet, problems: Sequence) -> None:
    ws.append(header_row(ws, ['Day', 'Package', 'Problem']))
    for p in problems:
        ws.append([p.day.isoformat(), p.name, p.message])


def problems_sheet(wb: Workbook, problems: Sequence) -> None:
    """The problems alone, for a report without the status sheet: a package left out is never silent."""
    ws = wb.create_sheet('Problems')
    widths(ws, [Column('Day', '', width=12), Column('Package', '', width=60), Column('Problem', '', width=100)])
    ws.append([cell(ws, 'Problems reading the data: these packages or files were not used', bold=True, size=12)])
    problem_rows(ws, problems)
