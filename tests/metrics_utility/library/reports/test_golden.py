"""Pinned layout: sheet names, headers, fonts, price formats and formulas of each report type."""

from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from metrics_utility.library.reports import CCSP_SHEETS, CCSPV2_SHEETS, DEFAULT_SHEETS, ReportOptions, build
from metrics_utility.library.reports.ccspv2 import SUMMARY_HEADERS
from metrics_utility.library.storage import StorageDirectory
from testsupport.report_data import partner_february, pg_ts, synthetic, write_tarball

pytestmark = pytest.mark.unit
NOW = datetime(2024, 3, 2, 4, tzinfo=UTC)
HEADERS = {
    'Jobs': ['Organization name', 'Job template name', 'Job runs', 'Unique managed nodes automated',
             'Non-unique managed nodes automated', 'Number of task runs', 'First run', 'Last run'],
    'Managed nodes': ['Host name', 'Automated by organizations', 'Job runs', 'Number of task runs',
                      'First automation', 'Last automation', 'Acme, Inc.', 'Default', 'Zürich Netzwerk'],
    'Indirectly Managed nodes': ['Host name', 'Automated by organizations', 'Job runs', 'Number of task runs',
                                 'First automation', 'Last automation', 'Canonical Facts', 'Facts',
                                 'Manage Node Types', 'Events'],
    'Inventory Scope': ['Host name', 'Last Automation', 'Organizations', 'Inventories', 'Canonical Facts', 'Facts'],
    'Infrastructure Summary': ['Infrastructure Type', 'Infrastructure Bucket', 'Device Type', 'Unique Nodes',
                               'Total Nodes'],
    'Usage by organizations': ['Organization name', 'Job runs', 'Unique managed nodes automated',
                               'Non-unique managed nodes automated', 'Unique indirect managed nodes automated',
                               'Non-unique indirect managed nodes automated', 'Number of task runs'],
    'Usage by installations': ['Installation (install_uuid)', 'Controller URL', 'Controller version', 'Job runs',
                               'Unique managed nodes automated', 'Non-unique managed nodes automated',
                               'Managed nodes also automated by another installation', 'Number of task runs',
                               'First automation', 'Last automation'],
    'Usage by collections': ['Collection name', 'Unique managed nodes automated',
                             'Non-unique managed nodes automated', 'Number of task runs',
                             'Duration of task runs [seconds]'],
}  # fmt: skip


@pytest.fixture(scope='module')
def ship(tmp_path_factory):
    base = tmp_path_factory.mktemp('ship')
    synthetic(date(2024, 2, 27), 3, jobs_per_day=6).write(base)
    return base


def _build(base, kind, sheets, **kw):
    options = partner_february(kind, sheets, 11, **kw)
    out = base / f'{kind}.xlsx'
    assert build(StorageDirectory(base), options, out).path == out
    return load_workbook(out)


def test_ccspv2_sheets_headers_and_formats(ship):
    wb = _build(ship, 'CCSPv2', CCSPV2_SHEETS)
    assert wb.sheetnames == [
        'Usage Reporting',
        'Jobs',
        'Managed nodes',
        'Indirectly Managed nodes',
        'Inventory Scope',
        'Infrastructure Summary',
        'Usage by organizations',
        'Usage by installations',
        'Usage by collections',
        'Usage by roles',
        'Usage by modules',
        'Usage trend',
        'Acme, Inc.',
        'Default',
        'Zürich Netzwerk',
        'Data collection status',
    ]
    for sheet, headers in HEADERS.items():
        assert [c.value for c in wb[sheet][1]] == headers, sheet
    ws = wb['Usage Reporting']
    assert ws['H1'].value == 'Updated: Mar 02, 2024'
    assert [ws[f'A{r}'].value for r in range(2, 6)] == [
        'CCSP Company Name',
        'CCSP Email',
        'CCSP RHN Login',
        'Report Period',
    ]
    assert (ws['B2'].value, ws['B5'].value, ws['E4'].value) == ('Partner Ltd', '2024-02', 'PO Number')
    assert [c.value for c in ws[7]] == SUMMARY_HEADERS  # its text is pinned cell by cell in golden/
    assert (ws['F8'].value, ws['I8'].value, ws['J8'].value) == ('MCT3752MO', 11, '=G8*I8')
    assert (ws['I2'].value, ws['J2'].value) == ('Grand total', '=SUM(J8:J13)')
    assert ws['I8'].number_format == ws['J8'].number_format == ws['J2'].number_format == '$#,##0.00'
    for sheet in wb:
        for row in sheet.iter_rows(max_row=3):
            for c in row:
                if c.value is not None:
                    assert c.font.name == 'Arial', (sheet.title, c.coordinate)
    assert wb['Managed nodes']['E2'].number_format == 'yyyy-mm-dd hh:mm:ss'
    assert len(wb['Usage trend']._charts) == 5


def test_ccspv2_default_sheets(ship):
    wb = _build(ship, 'CCSPv2', DEFAULT_SHEETS)
    assert wb.sheetnames == [
        'Usage Reporting',
        'Managed nodes',
        'Usage by organizations',
        'Usage by collections',
        'Usage by roles',
        'Usage by modules',
    ]
    assert [c.value for c in wb['Usage by organizations'][1]] == [
        'Organization name',
        'Job runs',
        'Unique managed nodes automated',
        'Non-unique managed nodes automated',
        'Number of task runs',
    ]


def test_ccsp_v1_layout(ship):
    wb = _build(ship, 'CCSP', CCSP_SHEETS, h1_heading='Usage report')
    assert wb.sheetnames[0] == 'Usage Reporting'
    assert 'Jobs' not in wb.sheetnames and 'Data collection status' not in wb.sheetnames
    ws = wb['Usage Reporting']
    assert 'A1:B1' in {str(r) for r in ws.merged_cells.ranges}
    assert (ws['A1'].value, ws['A1'].font.sz, ws['A1'].font.color.rgb) == ('Usage report', 17, '00FFFFFF')
    assert [ws[f'A{r}'].value for r in range(2, 9)] == [
        'CCSP Company Name',
        'CCSP Email',
        'CCSP RHN Login',
        'Report Period (YYYY-MM)',
        'Company Business leader',
        'Company Procurement leader',
        'Periodicity',
    ]
    assert [c.value for c in ws[11]] == ['SKU', 'SKU Description', None, 'Term', 'Unit of Measure', 'Currency', 'MSRP']
    assert ws['G12'].number_format == '$#,##0.00'
    rows = list(ws.iter_rows(min_row=15, values_only=True))
    assert rows[0][4] == '=C15*D15'
    assert rows[-1][0] == 'Sum of monthly payment' and rows[-1][4] == f'=SUM(E15:E{14 + len(rows) - 1})'


def test_renewal_guidance_with_ephemeral(tmp_path):
    t0 = datetime(2024, 2, 1, tzinfo=UTC)
    rows = [
        {
            'hostname': 'a',
            'first_automation': pg_ts(t0),
            'last_automation': pg_ts(t0 + timedelta(days=20)),
            'automated_counter': 5,
            'deleted': 'f',
            'ansible_host_variable': '10.0.0.1',
        },
        {
            'hostname': 'b',
            'first_automation': pg_ts(t0),
            'last_automation': pg_ts(t0 + timedelta(days=21)),
            'automated_counter': 2,
            'deleted': 'f',
            'ansible_host_variable': '10.0.0.1',
        },
        {
            'hostname': 'eph',
            'first_automation': pg_ts(t0 + timedelta(days=3)),
            'last_automation': pg_ts(t0 + timedelta(days=4)),
            'automated_counter': 1,
            'deleted': 'f',
        },
        {
            'hostname': 'gone',
            'first_automation': pg_ts(t0),
            'last_automation': pg_ts(t0 + timedelta(days=2)),
            'automated_counter': 1,
            'deleted': 't',
            'deleted_counter': 1,
            'last_deleted': pg_ts(t0 + timedelta(days=25)),
        },
    ]
    write_tarball(
        tmp_path, key='main_hostmetric', rows=rows, since=t0 + timedelta(days=25), until=t0 + timedelta(days=26)
    )
    options = ReportOptions(
        'RENEWAL_GUIDANCE', date(2024, 2, 1), date(2024, 3, 3), deduplicator='renewal', ephemeral_days=5, generated=NOW
    )
    assert build(StorageDirectory(tmp_path), options, tmp_path / 'r.xlsx').path
    wb = load_workbook(tmp_path / 'r.xlsx')
    assert wb.sheetnames == [
        'Usage Reporting',
        'Managed nodes',
        'Managed nodes ephemeral',
        'Managed nodes ephemeral usage',
        'Deleted Managed nodes',
    ]
    summary = {r[0]: r[1] for r in wb['Usage Reporting'].iter_rows(min_row=6, values_only=True)}
    assert summary == {
        'Automated hosts': 1,
        'Ephemeral automated hosts total': 2,
        'Ephemeral automated hosts maximum concurrent usage in defined interval': 2,
        'Deleted Automated hosts': 1,
    }
    nodes = list(wb['Managed nodes'].iter_rows(values_only=True))
    assert nodes[0][:4] == ('Host name', 'First automation', 'Last automation', 'Number of Automations')
    assert nodes[1][0] == 'b' and nodes[1][3] == 7 and nodes[1][10] == 'a, b'


def test_status_rollup_added_to_days_built_for_another_report(tmp_path):
    """Days first rolled up for CCSP v1 (no status rollup) still list every collection in a later CCSPv2 report."""
    from datetime import UTC, date, datetime

    from metrics_utility.library.reports import CCSP_SHEETS, CCSPV2_SHEETS, ReportOptions, build
    from metrics_utility.library.storage import StorageDirectory
    from testsupport.report_data import synthetic
    from testsupport.xlsx_dump import dump

    synthetic(date(2024, 2, 27), 2, jobs_per_day=3, hosts=8, seed=5).write(tmp_path)
    packages = len(list((tmp_path / 'data').rglob('*.tar.gz')))
    when = datetime(2024, 3, 2, tzinfo=UTC)
    period = (date(2024, 2, 1), date(2024, 3, 1))
    build(
        StorageDirectory(tmp_path),
        ReportOptions('CCSP', *period, month='2024-02', sheets=CCSP_SHEETS, generated=when),
        tmp_path / 'v1.xlsx',
    )
    build(
        StorageDirectory(tmp_path),
        ReportOptions('CCSPv2', *period, month='2024-02', sheets=CCSPV2_SHEETS, generated=when),
        tmp_path / 'v2.xlsx',
    )
    rows = dump(tmp_path / 'v2.xlsx')['Data collection status']
    listed = [r for r in rows if r and isinstance(r[0][0], dict) and r[0][0].get('t') == 'datetime']
    assert len(listed) == packages
