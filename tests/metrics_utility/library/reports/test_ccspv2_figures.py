"""CCSPv2 figures against expectations computed independently, in plain Python, from the generated CSV rows."""

from collections import defaultdict
from datetime import date

import pytest
from openpyxl import load_workbook

from metrics_utility.library.reports import CCSPV2_SHEETS, ReportOptions, build
from metrics_utility.library.storage import StorageDirectory
from testsupport.report_data import synthetic

pytestmark = pytest.mark.unit
FEB = (date(2024, 2, 1), date(2024, 3, 1))


def _reachable(r):
    return sum(int(r[k] or 0) for k in ('ok', 'failures', 'skipped', 'ignored', 'rescued')) > 0


def _identity(r):
    return r['ansible_host_variable'] or r['host_name']


def _org(r):
    return r['organization_name'] or 'No organization name'


def _in_feb(rows):
    return [r for r in rows if r['modified'].startswith('2024-02')]


@pytest.fixture(scope='module')
def month(tmp_path_factory):
    base = tmp_path_factory.mktemp('ship')
    data = synthetic(date(2024, 1, 31), 31, jobs_per_day=8, hosts=45, seed=11)  # 31 Jan .. 1 Mar
    data.write(base)
    options = ReportOptions('CCSPv2', *FEB, month='2024-02', sheets=CCSPV2_SHEETS, price_per_node=11.5)
    result = build(StorageDirectory(base), options, base / 'r.xlsx')
    return data, load_workbook(base / 'r.xlsx'), result


def _table(ws, header_row=1):
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]


def test_quantity_is_unique_reachable_identities(month):
    data, wb, result = month
    jhs = [r for r in _in_feb(data.all('job_host_summary')) if _reachable(r)]
    expected = len({_identity(r) for r in jhs})
    assert wb['Usage Reporting']['G8'].value == expected == result.quantity
    assert any(not _reachable(r) for r in _in_feb(data.all('job_host_summary')))  # the case is exercised
    assert any(r['ansible_host_variable'] for r in jhs)


def test_usage_by_organizations(month):
    data, wb, _ = month
    jhs = [r for r in _in_feb(data.all('job_host_summary')) if _reachable(r)]
    nodes, jobs, pairs, tasks = defaultdict(set), defaultdict(set), defaultdict(set), defaultdict(int)
    for r in jhs:
        org = _org(r)
        nodes[org].add(_identity(r))
        jobs[org].add(r['job_remote_id'])
        pairs[org].add((_identity(r), r['job_remote_id']))
        tasks[org] += sum(int(r[k] or 0) for k in ('ok', 'failures', 'skipped', 'ignored', 'rescued', 'dark'))
    got = {row['Organization name']: row for row in _table(wb['Usage by organizations'])}
    assert set(got) == set(nodes)
    assert 'No organization name' in got
    for org, row in got.items():
        assert row['Unique managed nodes automated'] == len(nodes[org]), org
        assert row['Job runs'] == len(jobs[org]), org
        assert row['Non-unique managed nodes automated'] == len(pairs[org]), org
        assert row['Number of task runs'] == tasks[org], org


def test_managed_nodes_sheet_and_org_tabs(month):
    data, wb, _ = month
    jhs = [r for r in _in_feb(data.all('job_host_summary')) if _reachable(r)]
    jobs, orgs = defaultdict(set), defaultdict(set)
    for r in jhs:
        jobs[_identity(r)].add(r['job_remote_id'])
        orgs[_identity(r)].add(_org(r))
    rows = {row['Host name']: row for row in _table(wb['Managed nodes'])}
    assert set(rows) == set(jobs)
    for host, row in rows.items():
        assert row['Job runs'] == len(jobs[host])
        assert row['Automated by organizations'] == len(orgs[host])
    tab = {row['Host name'] for row in _table(wb['Default'])}
    assert tab == {_identity(r) for r in jhs if _org(r) == 'Default'}


def _event_expectations(data, key):
    summaries = {}
    for r in _in_feb(data.all('job_host_summary')):
        summaries[(r['job_remote_id'], r['host_name'])] = _identity(r)
    runs, nodes, pairs = defaultdict(int), defaultdict(set), defaultdict(set)
    for e in data.all('main_jobevent'):
        ident = summaries.get((e['job_remote_id'], e['host_name']))
        if ident is None or not e['modified'].startswith('2024-02'):
            continue
        module = e['resolved_action'] or e['task_action']
        parts = module.split('.')
        name = {
            'module': module,
            'collection': '.'.join(parts[:2]) if len(parts) >= 3 else 'No collection used',
            'role': e['resolved_role'] or e['role'] or 'No role used',
        }[key]
        runs[name] += 1
        nodes[name].add(ident)
        pairs[name].add((ident, e['job_remote_id']))
    return runs, nodes, pairs


@pytest.mark.parametrize(
    ('key', 'sheet'),
    [('module', 'Usage by modules'), ('collection', 'Usage by collections'), ('role', 'Usage by roles')],
)
def test_content_usage(month, key, sheet):
    data, wb, _ = month
    runs, nodes, pairs = _event_expectations(data, key)
    rows = {row[f'{key.capitalize()} name']: row for row in _table(wb[sheet])}
    assert set(rows) == set(runs)
    for name, row in rows.items():
        assert row['Number of task runs'] == runs[name], name
        assert row['Unique managed nodes automated'] == len(nodes[name]), name
        assert row['Non-unique managed nodes automated'] == len(pairs[name]), name


def test_jobs_sheet(month):
    data, wb, _ = month
    jhs = [r for r in _in_feb(data.all('job_host_summary')) if _reachable(r)]
    runs = defaultdict(set)
    for r in jhs:
        runs[(_org(r), r['job_template_name'])].add(r['job_remote_id'])
    rows = {(row['Organization name'], row['Job template name']): row['Job runs'] for row in _table(wb['Jobs'])}
    assert rows == {k: len(v) for k, v in runs.items()}


def test_indirect_nodes_stay_off_direct_figures(month):
    data, wb, _ = month
    audit = [r for r in data.all('main_indirectmanagednodeaudit') if r['created'].startswith('2024-02')]
    feb_days = {r['job_remote_id'] for r in _in_feb(data.all('job_host_summary'))}
    audit = [r for r in audit if r['job_remote_id'] in feb_days]
    rows = {row['Host name'] for row in _table(wb['Indirectly Managed nodes'])}
    assert rows == {r['host_name'] for r in audit}
    direct = {row['Host name'] for row in _table(wb['Managed nodes'])}
    assert not rows & direct
    orgs = {row['Organization name']: row for row in _table(wb['Usage by organizations'])}
    per_org = defaultdict(set)
    for r in audit:
        per_org[r['organization_name']].add(r['host_name'])
    for org, names in per_org.items():
        assert orgs[org]['Unique indirect managed nodes automated'] == len(names)


def test_trend_month_total_equals_quantity(month):
    _, wb, result = month
    rows = list(wb['Usage trend'].iter_rows(values_only=True))
    start = rows.index(('By month', None, None))
    assert rows[start + 2][1] == result.quantity
