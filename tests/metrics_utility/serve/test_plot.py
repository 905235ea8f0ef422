"""`mode=plot` of `/api/v1/usage` through the app: the chart of exactly the periods the raw mode answers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.usage_chart import usage_svg
from metrics_utility.library.usage_periods import UsageReader
from metrics_utility.serve import plot
from metrics_utility.serve.app import Served, make_app

pytestmark = pytest.mark.integration
SVG = '{http://www.w3.org/2000/svg}'
TODAY = date(2026, 12, 6)


@pytest_asyncio.fixture
async def charts(demo_storage: Path) -> AsyncIterator[TestClient]:
    """The API over the serve tests' demo storage (27 Feb – 1 Mar 2024) with the chart renderer."""
    storage = StorageDirectory(demo_storage)
    served = Served(storage, UsageReader(storage), today=lambda: TODAY)
    async with TestClient(TestServer(make_app(served, plot=plot.render))) as client:
        yield client


def chart_title(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return ' '.join(t.text or '' for t in root.iter(f'{SVG}text') if t.get('class') == 'title plot_title')


@pytest.mark.parametrize('by', ['day', 'week', 'month', 'quarter', 'year'])
async def test_the_plot_draws_exactly_the_raw_periods(charts: TestClient, by: str):
    window = {'by': by, 'since': '2024-02-26', 'until': '2024-03-04'}
    raw = await (await charts.get('/api/v1/usage', params=window)).json()
    reply = await charts.get('/api/v1/usage', params={**window, 'mode': 'plot'})
    assert reply.status == 200
    assert reply.headers['Content-Type'] == 'image/svg+xml'
    assert reply.headers['Cache-Control'] == 'no-store'
    body = await reply.read()
    assert body == usage_svg(raw)
    assert raw['periods'] and sum(p['managedNodes'] for p in raw['periods']) > 0
    bars = [r for r in ET.fromstring(body).iter(f'{SVG}rect') if r.get('class') == 'rect reactive tooltip-trigger']
    assert len(bars) == 3 * len(raw['periods'])


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('organization', 'title'),
    [
        ('<script>alert(1)</script>', 'Usage by day — organization <script>alert(1)</script>'),
        ('Acme, Inc. & "Partners"', 'Usage by day — organization Acme, Inc. & "Partners"'),
        ('=cmd|"/c calc"!A1', 'Usage by day — organization =cmd|"/c calc"!A1'),
        ('Zürich Netzwerk', 'Usage by day — organization Zürich Netzwerk'),
    ],
    ids=['script-tag', 'ampersand-quotes', 'formula', 'non-ascii'],
)
async def test_an_organization_reaches_the_chart_as_text(charts: TestClient, organization: str, title: str):
    params = {'by': 'day', 'since': '2024-02-27', 'until': '2024-03-01', 'organization': organization, 'mode': 'plot'}
    reply = await charts.get('/api/v1/usage', params=params)
    assert reply.status == 200
    body = await reply.read()
    assert chart_title(body) == title
    assert b'<script' not in body
