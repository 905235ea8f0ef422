"""ReportCCSPv2: the CCSP partner usage report, version 2 (reference §11.6, CCSPv2 table)."""

from __future__ import annotations

from openpyxl import Workbook

from . import figures, installations, sheets
from .data import ReportData
from .options import ReportOptions
from .xlsx import BLUE, GREEN, PRICE, Column, cell, new_workbook, widths

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


class ReportCCSPv2:
    """Builds the workbook; every sheet is optional through `options.sheets`."""

    always_summary: bool = False
    excluded: frozenset[str] = frozenset()

    def __init__(self, options: ReportOptions, data: ReportData) -> None:
        self.options, self.data = options, data

    def wants(self, sheet: str) -> bool:
        return self.options.wants(sheet) and sheet not in self.excluded

    def build(self) -> Workbook:
        wb = new_workbook()
        o, d = self, self.data
        if self.always_summary or o.wants('ccsp_summary'):
            self.summary(wb)
        if o.wants('jobs'):
            sheets.table_sheet(wb, 'Jobs', sheets.JOBS_COLUMNS, figures.jobs(d.direct))
        if o.wants('managed_nodes'):
            nodes = figures.managed_nodes(d.direct, with_org_columns=o.wants('managed_nodes_by_organizations'))
            sheets.managed_nodes(wb, nodes, d.experimental, o.wants('managed_nodes_by_organizations'))
        if o.wants('indirectly_managed_nodes'):
            nodes = figures.indirect_nodes(d.indirect, set(d.direct['host_name']))
            sheets.table_sheet(wb, 'Indirectly Managed nodes', sheets.INDIRECT_COLUMNS, nodes)
        if o.wants('inventory_scope'):
            sheets.table_sheet(wb, 'Inventory Scope', sheets.SCOPE_COLUMNS, figures.scope(d.scope))
        if o.wants('infrastructure_summary'):
            sheets.table_sheet(wb, 'Infrastructure Summary', sheets.INFRA_COLUMNS, figures.infrastructure(d.indirect))
        if o.wants('usage_by_organizations'):
            indirect = d.indirect if o.wants('indirectly_managed_nodes') else None
            sheets.usage_by_organizations(wb, figures.organizations(d.direct, indirect), indirect is not None)
        if o.wants('usage_by_installations'):
            installations.sheet(wb, d.direct, d.controllers)
        for sheet in sheets.CONTENT_SHEETS:
            if o.wants(sheet):
                sheets.content(wb, sheet, d.events)
        if o.wants('usage_trend'):
            sheets.usage_trend(wb, d.direct)
        if o.wants('managed_nodes_by_organizations'):
            sheets.organization_tabs(wb, d.direct, d.experimental)
        if o.wants('data_collection_status'):
            sheets.collection_status(wb, d.status, d.problems, self.options.since, self.options.until)
        return wb

    def summary(self, wb: Workbook) -> None:
        o = self.options
        ws = wb.create_sheet('Usage Reporting')
        widths(ws, [Column(h, '', width=w) for h, w in zip(SUMMARY_HEADERS, [30, 18, 18, 18, 18, 16, 12, 40, 16, 20,
                                                                              30], strict=True)])  # fmt: skip
        last = FIRST_DATA_ROW + BLANK_ROWS
        label = lambda text: cell(ws, text, bold=True)  # noqa: E731
        value = lambda text: cell(ws, text, fill=GREEN)  # noqa: E731
        ws.append([cell(ws, o.h1_heading, bold=True, size=12), *[None] * 6,
                   cell(ws, f'Updated: {o.generated:%b %d, %Y}', bold=True)])  # fmt: skip
        ws.append([label('CCSP Company Name'), value(o.company_name), *[None] * 6, label('Grand total'),
                   cell(ws, f'=SUM(J{FIRST_DATA_ROW}:J{last})', fmt=PRICE, bold=True, color='FF0000')])  # fmt: skip
        ws.append([label('CCSP Email'), value(o.email)])
        ws.append([label('CCSP RHN Login'), value(o.rhn_login), None, None, label('PO Number'), value(o.po_number)])
        ws.append([label('Report Period'), value(o.period_label)])
        ws.append([])
        ws.append([cell(ws, h, bold=True, fill=BLUE, color='FFFFFF', wrap=True, border=True) for h in SUMMARY_HEADERS])
        row = FIRST_DATA_ROW
        data = [o.end_user_company_name, '', o.end_user_city, o.end_user_state, o.end_user_country, o.sku,
                figures.quantity(self.data.direct), o.sku_description, o.price_per_node]  # fmt: skip
        ws.append([*(cell(ws, v, border=True) for v in data[:8]), cell(ws, data[8], fmt=PRICE, border=True),
                   cell(ws, f'=G{row}*I{row}', fmt=PRICE, border=True), cell(ws, '', border=True)])  # fmt: skip
        for _ in range(BLANK_ROWS):
            ws.append([*(cell(ws, None, border=True) for _ in range(8)), cell(ws, None, fmt=PRICE, border=True),
                       cell(ws, None, fmt=PRICE, border=True), cell(ws, None, border=True)])  # fmt: skip
