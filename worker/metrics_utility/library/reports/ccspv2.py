"""ReportCCSPv2: the CCSP partner usage report, version 2 (docs/reports.md, CCSPv2 sheets).

Two steps: `compute` turns the period's data into the figures each wanted sheet shows (`Figures`: small frames,
which `cache` can persist), and `build` writes them; the workbook depends on nothing else but the options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from openpyxl import Workbook

from metrics_utility.library.dataframes.heap import release_memory
from metrics_utility.library.extract import Problem

from . import figures, installations, sheets, status
from .data import ReportData
from .options import ReportOptions
from .xlsx import BLUE, GREEN, PRICE, Column, cell, formula, new_workbook, widths

SUMMARY_HEADERS = [
    'End User Company Name',
    "Enter 'X' to indicate Interal Usage",
    'End User City',
    'End User State/Prov',
    'Country Where SKU Consumed',
    'SKU Number',
    'Quantity',
    'SKU Description',
    'SKU Unit Price',
    'SKU Extended Unit Price',
    'Notes',
]  # verbatim from metrics-utility, typo included, so existing readers find their columns
FIRST_DATA_ROW = 8
BLANK_ROWS = 5


@dataclass
class Figures:
    """What the wanted sheets show: named frames, the billed quantity, and what the status sheet lists."""

    frames: dict[str, pd.DataFrame]
    quantity: int
    experimental: bool = False
    problems: list[Problem] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)  # of the per-organization tabs, in order

    def org_nodes(self) -> list[tuple[str, pd.DataFrame]]:
        return [(org, self.frames[f'org/{i}']) for i, org in enumerate(self.organizations)]


class ReportCCSPv2:
    """Builds the workbook; every sheet is optional through `options.sheets`."""

    always_summary: bool = False
    excluded: frozenset[str] = frozenset()

    def __init__(self, options: ReportOptions, data: ReportData | Figures) -> None:
        self.options = options
        self.figures = data if isinstance(data, Figures) else self.compute(options, data)

    @classmethod
    def wanted(cls, options: ReportOptions, sheet: str) -> bool:
        return options.wants(sheet) and sheet not in cls.excluded

    def wants(self, sheet: str) -> bool:
        return self.wanted(self.options, sheet)

    @classmethod
    def compute(cls, options: ReportOptions, d: ReportData) -> Figures:
        """The figures of every wanted sheet (pure: frames in, frames out)."""
        wants = lambda sheet: cls.wanted(options, sheet)  # noqa: E731
        f: dict[str, pd.DataFrame] = {}
        if cls.always_summary:
            f['summary'] = figures.usage(d.direct, ['organization_name']).sort_values('organization_name')
        if wants('jobs'):
            f['jobs'] = figures.jobs(d.direct)
        if wants('managed_nodes'):
            by_org = wants('managed_nodes_by_organizations')
            f['managed_nodes'] = figures.managed_nodes(d.direct, with_org_columns=by_org)
        if wants('indirectly_managed_nodes'):
            f['indirect_nodes'] = figures.indirect_nodes(d.indirect, set(d.direct['host_name']))
        if wants('inventory_scope'):
            f['scope'] = figures.scope(d.scope)
        if wants('infrastructure_summary'):
            f['infrastructure'] = figures.infrastructure(d.indirect)
        if wants('usage_by_organizations'):
            indirect = d.indirect if wants('indirectly_managed_nodes') else None
            f['organizations'] = figures.organizations(d.direct, indirect)
        if wants(installations.SHEET):
            f['installations'] = installations.by_installation(d.direct, d.controllers)
        release_memory(
            collect=True
        )  # what the figures of summaries left, before those of the events (the largest frame)
        for sheet, (_, dimension) in sheets.CONTENT_SHEETS.items():
            if wants(sheet):
                f[sheet] = figures.content(d.events, dimension)
                release_memory(
                    collect=True
                )  # each figure's temporaries over the period's events, before the next one's
        if wants('usage_trend'):
            f.update({f'trend/{unit}': figures.trend(d.direct, unit) for unit in figures.TREND_FREQUENCIES})
        organizations = []
        if wants('managed_nodes_by_organizations'):
            for i, (org, nodes) in enumerate(sheets.organization_nodes(d.direct)):
                organizations.append(org)
                f[f'org/{i}'] = nodes
        if wants('data_collection_status'):
            f['gaps'] = status.gaps(d.status, options.since, options.until)
            f['collections'] = status.raw(d.status)
        return Figures(f, figures.quantity(d.direct), d.experimental, list(d.problems), organizations)

    def build(self) -> Workbook:
        wb = new_workbook()
        o, f, t = self, self.figures, sheets.table_sheet
        if self.always_summary or o.wants('ccsp_summary'):
            self.summary(wb)
        if o.wants('jobs'):
            t(wb, 'Jobs', sheets.JOBS_COLUMNS, f.frames['jobs'])
        if o.wants('managed_nodes'):
            by_org = o.wants('managed_nodes_by_organizations')
            sheets.managed_nodes(wb, f.frames['managed_nodes'], f.experimental, by_org)
        if o.wants('indirectly_managed_nodes'):
            t(wb, 'Indirectly Managed nodes', sheets.INDIRECT_COLUMNS, f.frames['indirect_nodes'])
        if o.wants('inventory_scope'):
            t(wb, 'Inventory Scope', sheets.SCOPE_COLUMNS, f.frames['scope'])
        if o.wants('infrastructure_summary'):
            t(wb, 'Infrastructure Summary', sheets.INFRA_COLUMNS, f.frames['infrastructure'])
        if o.wants('usage_by_organizations'):
            sheets.usage_by_organizations(wb, f.frames['organizations'], o.wants('indirectly_managed_nodes'))
        if 'installations' in f.frames:  # present when wanted (cached figures keep it)
            installations.sheet(wb, f.frames['installations'])
        for sheet in sheets.CONTENT_SHEETS:
            if o.wants(sheet):
                sheets.content(wb, sheet, f.frames[sheet])
        if o.wants('usage_trend'):
            sheets.usage_trend(wb, {unit: f.frames[f'trend/{unit}'] for unit in figures.TREND_FREQUENCIES})
        if o.wants('managed_nodes_by_organizations'):
            sheets.organization_tabs(wb, f.org_nodes(), f.experimental)
        if o.wants('data_collection_status'):
            sheets.collection_status(wb, f.frames['gaps'], f.frames['collections'], f.problems)
        elif f.problems:  # without the status sheet (always in CCSP v1) the problems get one of their own
            sheets.problems_sheet(wb, f.problems)
        return wb

    def summary(self, wb: Workbook) -> None:
        o = self.options
        ws = wb.create_sheet('Usage Reporting')
        widths(
            ws,
            [
                Column(h, '', width=w)
                for h, w in zip(SUMMARY_HEADERS, [30, 18, 18, 18, 18, 16, 12, 40, 16, 20, 30], strict=True)
            ],
        )
        last = FIRST_DATA_ROW + BLANK_ROWS
        label = lambda text: cell(ws, text, bold=True)  # noqa: E731
        value = lambda text: cell(ws, text, fill=GREEN)  # noqa: E731
        ws.append(
            [
                cell(ws, o.h1_heading, bold=True, size=12),
                *[None] * 6,
                cell(ws, f'Updated: {o.generated:%b %d, %Y}', bold=True),
            ]
        )
        ws.append(
            [
                label('CCSP Company Name'),
                value(o.company_name),
                *[None] * 6,
                label('Grand total'),
                formula(ws, f'=SUM(J{FIRST_DATA_ROW}:J{last})', fmt=PRICE, bold=True, color='FF0000'),
            ]
        )
        ws.append([label('CCSP Email'), value(o.email)])
        ws.append([label('CCSP RHN Login'), value(o.rhn_login), None, None, label('PO Number'), value(o.po_number)])
        ws.append([label('Report Period'), value(o.period_label)])
        ws.append([])
        ws.append([cell(ws, h, bold=True, fill=BLUE, color='FFFFFF', wrap=True, border=True) for h in SUMMARY_HEADERS])
        row = FIRST_DATA_ROW
        data = [
            o.end_user_company_name,
            '',
            o.end_user_city,
            o.end_user_state,
            o.end_user_country,
            o.sku,
            self.figures.quantity,
            o.sku_description,
            o.price_per_node,
        ]
        ws.append(
            [
                *(cell(ws, v, border=True) for v in data[:8]),
                cell(ws, data[8], fmt=PRICE, border=True),
                formula(ws, f'=G{row}*I{row}', fmt=PRICE, border=True),
                cell(ws, '', border=True),
            ]
        )
        for _ in range(BLANK_ROWS):
            ws.append(
                [
                    *(cell(ws, None, border=True) for _ in range(8)),
                    cell(ws, None, fmt=PRICE, border=True),
                    cell(ws, None, fmt=PRICE, border=True),
                    cell(ws, None, border=True),
                ]
            )
