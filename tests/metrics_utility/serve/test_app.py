"""The API over a demo storage: usage equals the built report's figures, reports list and download, the collection
view, every error as JSON with its exact message."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from metrics_utility.library.reports import catalog

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _table(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]


@pytest.fixture(scope='module')
def workbook(demo_storage: Path):
    return load_workbook(demo_storage / 'reports/2024/02/CCSPv2-2024-02.xlsx', read_only=False)


async def _usage(api, **params) -> dict:
    reply = await api.get('/api/v1/usage', params=params)
    assert reply.status == 200, await reply.text()
    return await reply.json()


async def test_a_month_of_usage_equals_that_months_report(api, workbook):
    by_org = _table(workbook['Usage by organizations'])
    answer = await _usage(api, by='month', since='2024-02-01', until='2024-03-01')
    (february,) = answer['periods']
    assert february == {
        'period': '2024-02',
        'since': '2024-02-01',
        'until': '2024-03-01',
        'managedNodes': workbook['Usage Reporting']['G8'].value,
        'jobRuns': sum(row['Job runs'] for row in _table(workbook['Jobs'])),
        'taskRuns': sum(row['Number of task runs'] for row in by_org),
    }
    assert february['managedNodes'] > 100


async def test_each_organizations_usage_equals_its_row_of_the_report(api, workbook):
    rows = _table(workbook['Usage by organizations'])
    assert len(rows) >= 3
    for row in rows:
        answer = await _usage(
            api, by='month', since='2024-02-01', until='2024-03-01', organization=row['Organization name']
        )
        (period,) = answer['periods']
        assert answer['organization'] == row['Organization name']
        assert (period['managedNodes'], period['jobRuns'], period['taskRuns']) == (
            row['Unique managed nodes automated'],
            row['Job runs'],
            row['Number of task runs'],
        )


def trend_tables(ws) -> dict[str, dict[str, tuple[int, int]]]:
    """The report's usage trend sheet as {unit: {period start: (unique nodes, job runs)}}."""
    tables: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    unit = None
    for first, nodes, runs, *_ in ws.iter_rows(values_only=True, max_col=4):
        if isinstance(first, str) and first.startswith('By '):
            unit = first[3:]
        elif isinstance(first, datetime):
            tables[unit][first.date().isoformat()] = (nodes, runs)
    return tables


async def test_the_reports_trend_by_day_week_and_month_is_what_the_api_answers(api, workbook):
    """The report's usage trend (unique nodes and job runs per day, Monday-week, month) is what the API answers."""
    trend = trend_tables(workbook['Usage trend'])
    assert len(trend['day']) == 3
    for unit in ('day', 'week', 'month'):
        answer = await _usage(api, by=unit, since='2024-02-01', until='2024-03-01')
        periods = {p['since']: (p['managedNodes'], p['jobRuns']) for p in answer['periods'] if p['jobRuns']}
        if unit == 'week':  # the API clips the first week to the range asked for; the report's week starts Monday
            periods = {('2024-01-29' if day == '2024-02-01' else day): v for day, v in periods.items()}
        assert periods == trend[unit], unit


async def test_unique_nodes_of_a_period_are_not_the_sum_of_its_days(api):
    days = await _usage(api, by='day', since='2024-02-27', until='2024-03-01')
    month = await _usage(api, by='month', since='2024-02-27', until='2024-03-01')
    assert month['periods'][0]['managedNodes'] < sum(p['managedNodes'] for p in days['periods'])
    assert month['periods'][0]['jobRuns'] == sum(p['jobRuns'] for p in days['periods'])
    assert month['periods'][0]['taskRuns'] == sum(p['taskRuns'] for p in days['periods'])


async def test_reports_are_listed_with_their_billed_quantity(api, workbook):
    reply = await api.get('/api/v1/reports')
    assert reply.status == 200
    reports = (await reply.json())['reports']
    assert [(r['id'], r['type'], r['month'], r['since'], r['until']) for r in reports] == [
        ('CCSP-2024-02', 'CCSP', '2024-02', '2024-02-01', '2024-03-01'),
        ('CCSPv2-2024-02', 'CCSPv2', '2024-02', '2024-02-01', '2024-03-01'),
    ]
    assert reports[1]['billedQuantity'] == workbook['Usage Reporting']['G8'].value
    assert reports[1]['name'] == 'reports/2024/02/CCSPv2-2024-02.xlsx'
    assert reports[1]['size'] > 1000


async def test_a_report_downloads_as_a_named_workbook(api, demo_storage):
    reply = await api.get('/api/v1/reports/CCSPv2-2024-02')
    assert reply.status == 200
    assert reply.headers['Content-Type'] == catalog.CONTENT_TYPE
    assert reply.headers['Content-Disposition'] == 'attachment; filename="CCSPv2-2024-02.xlsx"'
    assert reply.headers['Cache-Control'] == 'no-store'
    body = await reply.read()
    assert body == (demo_storage / 'reports/2024/02/CCSPv2-2024-02.xlsx').read_bytes()
    assert load_workbook(BytesIO(body))['Usage Reporting']['G8'].value > 100


async def test_the_collection_view_tells_packages_per_collector_and_day(api, demo_storage):
    reply = await api.get('/api/v1/collection', params={'since': '2024-02-26', 'until': '2024-03-03'})
    assert reply.status == 200
    view = await reply.json()
    names = {c['name'] for c in view['collectors']}
    assert {'job_host_summary', 'main_jobevent', 'main_host'} <= names
    jhs = next(c for c in view['collectors'] if c['name'] == 'job_host_summary')
    stored = defaultdict(int)
    for path in (demo_storage / 'data').rglob('*job_host_summary.tar.gz'):
        stored[path.parent.relative_to(demo_storage / 'data').as_posix().replace('/', '-')] += 1
    assert {d['day']: d['packages'] for d in jhs['days']} == dict(stored)
    assert view['gaps'] == ['2024-02-26', '2024-03-02']
    assert view['lastGather'] == '2024-03-02T00:00:00+00:00'
    assert view['lastUpload'] is not None


HOSTILE = {
    'unknown-by': (
        '/api/v1/usage?by=fortnight',
        "by='fortnight' is not a period; expected one of: day, week, month, quarter, year",
    ),
    'by-twice': ('/api/v1/usage?by=day&by=week', 'parameter by is given 2 times; give it once'),
    'unknown-parameter': (
        '/api/v1/usage?limit=5',
        "unknown parameter 'limit'; expected some of: by, since, until, organization, mode",
    ),
    'not-a-date': (
        '/api/v1/usage?since=yesterday',
        "since='yesterday' is not a date; expected YYYY-MM-DD (UTC), e.g. 2026-11-01",
    ),
    'compact-iso': (
        '/api/v1/usage?since=20240201',
        "since='20240201' is not a date; expected YYYY-MM-DD (UTC), e.g. 2026-11-01",
    ),
    'february-30': (
        '/api/v1/usage?since=2024-02-30',
        "since='2024-02-30' is not a day of the calendar; expected YYYY-MM-DD",
    ),
    'reversed': (
        '/api/v1/usage?since=2024-03-01&until=2024-02-01',
        'since=2024-03-01 is not before until=2024-02-01 (until is excluded)',
    ),
    'empty-range': (
        '/api/v1/usage?since=2024-03-01&until=2024-03-01',
        'since=2024-03-01 is not before until=2024-03-01 (until is excluded)',
    ),
    'eleven-years': (
        '/api/v1/usage?since=2010-01-01&until=2021-01-01',
        'the range 2010-01-01 to 2021-01-01 spans 4018 days; at most 3660',
    ),
    'before-1970': (
        '/api/v1/usage?since=1969-12-31&until=1970-02-01',
        'since=1969-12-31 is before 1970-01-01; no controller holds older data',
    ),
    'year-9999': (
        '/api/v1/usage?since=9999-01-01&until=9999-12-31',
        'until=9999-12-31 is more than 366 days after today (2026-12-06)',
    ),
    'control-character': (
        '/api/v1/usage?organization=Default%0Ax',
        "parameter organization='Default\\nx' contains control characters",
    ),
    'nul': ('/api/v1/usage?organization=%00', "parameter organization='\\x00' contains control characters"),
    'huge-value': (
        '/api/v1/usage?organization=' + 'a' * 5000,
        'parameter organization is too long (5000 characters; at most 512)',
    ),
    'blank-organization': (
        '/api/v1/usage?organization=%20',
        'organization is empty; leave it out for every organization',
    ),
    'unknown-mode': ('/api/v1/usage?mode=csv', "mode='csv' is not a mode; expected raw or plot"),
    'collection-too-long': (
        '/api/v1/collection?since=2020-01-01&until=2022-01-01',
        'the range 2020-01-01 to 2022-01-01 spans 731 days; at most 366',
    ),
    'collection-organization': (
        '/api/v1/collection?organization=x',
        "unknown parameter 'organization'; expected some of: since, until",
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('url', 'message'), HOSTILE.values(), ids=list(HOSTILE))
async def test_bad_parameters_are_400_with_one_exact_message(api, url, message):
    reply = await api.get(url)
    assert reply.status == 400
    assert reply.headers['Content-Type'].startswith('application/json')
    assert await reply.json() == {'error': message}


NOT_FOUND = {
    'unknown-month': ('/api/v1/reports/CCSPv2-2023-01', 404, "no report 'CCSPv2-2023-01'"),
    'month-13': ('/api/v1/reports/CCSPv2-2024-13', 404, "no report 'CCSPv2-2024-13'"),
    'unknown-type': ('/api/v1/reports/CCSPv3-2024-02', 404, "no report 'CCSPv3-2024-02'"),
    'traversal': ('/api/v1/reports/..%2F..%2Fetc%2Fpasswd', 404, "no report '../../etc/passwd'"),
    'sidecar-id': ('/api/v1/reports/CCSPv2-2024-02.json', 404, "no report 'CCSPv2-2024-02.json'"),
    'long-id': ('/api/v1/reports/' + 'x' * 300, 404, "no report '" + 'x' * 100 + "'… (300 characters)"),
    'control-id': ('/api/v1/reports/CCSPv2%0A2024-02', 404, "no report 'CCSPv2\\n2024-02'"),
    'unknown-route': ('/api/v2/usage', 404, 'no such route'),
    'post': ('POST /api/v1/reports', 405, 'Method Not Allowed'),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('url', 'status', 'message'), NOT_FOUND.values(), ids=list(NOT_FOUND))
async def test_unknown_reports_and_routes_are_json_errors(api, url, status, message):
    method, _, path = url.rpartition(' ')
    reply = await api.request(method or 'GET', path)
    assert reply.status == status
    assert await reply.json() == {'error': message}


async def test_plot_mode_says_it_is_not_available_without_a_renderer(api):
    reply = await api.get('/api/v1/usage', params={'mode': 'plot'})
    assert reply.status == 501
    assert await reply.json() == {'error': 'mode=plot is not available in this build; use mode=raw'}


async def test_health_and_the_openapi_document(api):
    assert await (await api.get('/healthz')).json() == {'status': 'ok'}
    document = json.loads(await (await api.get('/openapi.json')).text())
    assert document['openapi'] == '3.1.0'
    assert set(document['paths']) == {
        '/healthz',
        '/openapi.json',
        '/api/v1/reports',
        '/api/v1/reports/{id}',
        '/api/v1/usage',
        '/api/v1/collection',
    }
