"""The `usage_by_installations` sheet (CCSPv2): one row per controller installation, plus a de-duplicated total.

Why: a report over several controllers bills each managed node once (identity is a name, not a controller row),
so the per-installation unique nodes add up to more than the billed quantity whenever controllers share nodes. The
sheet shows each installation's own figures, how many of its nodes other installations automated too, and a total
row whose unique nodes are counted across installations — the same figure as the billed quantity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd
from openpyxl import Workbook

from metrics_utility.library.extract.multi import Controller

from . import figures
from .options import DEFAULT_SHEETS, ReportOptions
from .xlsx import DATETIME, INTEGER, Column, cell, widths, write_table

SHEET = 'usage_by_installations'
TITLE = 'Usage by installations'
TOTAL = 'Total (each managed node counted once)'
COLUMNS = [
    Column('Installation (install_uuid)', 'install_uuid', width=40), Column('Controller URL', 'url', width=34),
    Column('Controller version', 'version', width=18), Column('Job runs', 'job_runs', INTEGER),
    Column('Unique managed nodes automated', 'unique_nodes', INTEGER),
    Column('Non-unique managed nodes automated', 'non_unique_nodes', INTEGER),
    Column('Managed nodes also automated by another installation', 'shared_nodes', INTEGER, 26),
    Column('Number of task runs', 'task_runs', INTEGER),
    Column('First automation', 'first_automation', DATETIME, 20),
    Column('Last automation', 'last_automation', DATETIME, 20),
]  # fmt: skip
FIELDS = [c.field for c in COLUMNS]


def count(direct: pd.DataFrame) -> int:
    """How many installations contributed direct usage."""
    return int(direct['install_uuid'].nunique()) if len(direct) else 0


def with_sheet(options: ReportOptions, direct: pd.DataFrame) -> ReportOptions:
    """Add the sheet to a CCSPv2 report with the default sheet list when more than one installation is present.

    An explicit sheet list (variable or --sheets) is honoured exactly; `all` includes this sheet anyway.
    """
    if options.report_type != 'CCSPv2' or SHEET in options.sheets or tuple(options.sheets) != DEFAULT_SHEETS:
        return options
    if count(direct) < 2:
        return options
    return dataclasses.replace(options, sheets=(*options.sheets, SHEET))


def by_installation(direct: pd.DataFrame, controllers: Mapping[str, Controller] | None = None) -> pd.DataFrame:
    """One row per install_uuid, then the total row (unique nodes de-duplicated across installations)."""
    if direct.empty:
        return pd.DataFrame(columns=FIELDS)
    controllers = controllers or {}
    rows = figures.usage(direct, ['install_uuid'])
    installs_per_node = direct.groupby('host_name')['install_uuid'].nunique()
    shared = set(installs_per_node[installs_per_node > 1].index)
    pairs = direct[['install_uuid', 'host_name']].drop_duplicates()
    shared_count = pairs[pairs['host_name'].isin(shared)].groupby('install_uuid').size()
    rows['shared_nodes'] = rows['install_uuid'].map(shared_count).fillna(0).astype('int64')
    rows['url'] = rows['install_uuid'].map(lambda u: controllers[u].url if u in controllers else '')
    rows['version'] = rows['install_uuid'].map(lambda u: controllers[u].version if u in controllers else '')
    rows = rows.sort_values('install_uuid', kind='stable', ignore_index=True)
    total = figures.usage(direct.assign(_all=TOTAL), ['_all']).rename(columns={'_all': 'install_uuid'})
    total['shared_nodes'] = len(shared)
    total['url'] = total['version'] = ''
    return pd.concat([rows[FIELDS], total[FIELDS]], ignore_index=True)


def sheet(wb: Workbook, frame: pd.DataFrame) -> None:
    """Write the sheet from `by_installation`'s frame; the total row is bold."""
    ws = wb.create_sheet(TITLE)
    widths(ws, COLUMNS)
    ws.freeze_panes = 'A2'
    body, total = frame.iloc[:-1], frame.iloc[-1:]
    write_table(ws, COLUMNS, body)
    for record in total.to_dict('records'):
        ws.append([cell(ws, record[c.field], fmt=c.fmt, bold=True) for c in COLUMNS])
