"""ReportCCSP: the first CCSP report layout, one billed row per organization (docs/reports.md, CCSP (v1)).

Each organization's quantity is its own unique managed nodes, so a host automated by two organizations is billed in
both (partners bill their customers, the organizations, separately) — as metrics-utility does. Unlike
metrics-utility, the optional sheets it validated but never rendered (usage_by_organizations,
managed_nodes_by_organizations, infrastructure_summary) are rendered here.
"""

from __future__ import annotations

from openpyxl import Workbook

from .ccspv2 import ReportCCSPv2
from .xlsx import BLACK, BLUE, DARK_GREEN, PRICE, Column, cell, formula, widths

ORG_HEADERS = ['Organization name (i.e. company name)',
               "Please Mark With An 'X' If The Usage Is Internal To Your Company", 'Red Hat SKU Quantity Consumed',
               'Subscription Fee (SKU Unit Price)', 'Extended Subscription Fees']  # fmt: skip
SKU_HEADERS = ['SKU', 'SKU Description', '', 'Term', 'Unit of Measure', 'Currency', 'MSRP']


class ReportCCSP(ReportCCSPv2):
    always_summary = True
    excluded = frozenset({'jobs', 'data_collection_status'})

    def summary(self, wb: Workbook) -> None:
        o = self.options
        ws = wb.create_sheet('Usage Reporting')
        widths(ws, [Column('', '', width=w) for w in (40, 40, 22, 22, 22, 16, 16)])
        ws.merged_cells.add('A1:B1')
        ws.append([cell(ws, o.h1_heading, bold=True, size=17, color='FFFFFF', fill=BLACK), cell(ws, None, fill=BLACK)])
        label = lambda text: cell(ws, text, bold=True, color='FFFFFF', fill=BLUE)  # noqa: E731
        for text, value in [
            ('CCSP Company Name', o.company_name),
            ('CCSP Email', o.email),
            ('CCSP RHN Login', o.rhn_login),
            ('Report Period (YYYY-MM)', o.period_label),
            ('Company Business leader', o.business_leader),
            ('Company Procurement leader', o.procurement_leader),
            ('Periodicity', 'Report is submitted monthly'),
        ]:
            ws.append([label(text), value])
        ws.append([])
        ws.merged_cells.add('A10:G10')
        ws.append(
            [
                cell(ws, 'Monthly payment', bold=True, size=14, color='FFFFFF', fill=DARK_GREEN),
                *(cell(ws, None, fill=DARK_GREEN) for _ in range(6)),
            ]
        )
        ws.append([cell(ws, h, bold=True, border=True) for h in SKU_HEADERS])
        ws.append(
            [cell(ws, v, border=True) for v in (o.sku, o.sku_description, '', 'MONTH', 'MANAGED NODE', 'USD')]
            + [cell(ws, o.price_per_node, fmt=PRICE, border=True)]
        )
        ws.append([])
        ws.append([cell(ws, h, bold=True, border=True, wrap=True) for h in ORG_HEADERS])
        first = row = 15
        per_org = self.figures.frames['summary']
        for org, qty in zip(per_org['organization_name'], per_org['unique_nodes'], strict=True):
            ws.append(
                [
                    cell(ws, org, border=True),
                    cell(ws, '', border=True),
                    cell(ws, int(qty), border=True),
                    cell(ws, o.price_per_node, fmt=PRICE, border=True),
                    formula(ws, f'=C{row}*D{row}', fmt=PRICE, border=True),
                ]
            )
            row += 1
        if row > first:
            total = formula(ws, f'=SUM(E{first}:E{row - 1})', fmt=PRICE, bold=True)
        else:
            total = cell(ws, 0, fmt=PRICE, bold=True)
        ws.append([cell(ws, 'Sum of monthly payment', bold=True), None, None, None, total])
