"""The dashboard page and its assets over real HTTP: served with a strict CSP, nothing loaded from elsewhere."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib import resources

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from metrics_utility.library.storage import StorageDirectory
from metrics_utility.serve import page
from metrics_utility.serve.app import Served, make_app

STATIC = resources.files('metrics_utility.serve').joinpath('static')
SHIPPED = sorted(p.name for p in STATIC.iterdir() if p.is_file())
SVG_NAMESPACE = 'http://www.w3.org/2000/svg'  # a name in the icon's markup, never fetched
# Anything that would make the browser reach another origin: a scheme, a protocol-relative URL, a CSS import.
EXTERNAL = re.compile(
    r'(?i)\b(?:https?|ftp|wss?|data|javascript|blob):|(?:src|href|action|url\()\s*=?\s*["\']?\s*//|@import',
)
# DOM sinks that parse text as markup or code: data must never reach them.
MARKUP_SINKS = re.compile(r'\b(?:innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval|Function|srcdoc)\b')


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = web.Application()
    page.add_routes(app)
    async with TestClient(TestServer(app, host='127.0.0.1')) as test_client:
        yield test_client


@pytest.mark.integration
async def test_the_page_is_html_with_the_strict_policy(client: TestClient):
    response = await client.get('/')
    assert response.status == 200
    assert response.headers['Content-Type'] == 'text/html; charset=utf-8'
    assert response.headers['Content-Security-Policy'] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert response.headers['X-Content-Type-Options'] == 'nosniff'
    assert response.headers['Referrer-Policy'] == 'no-referrer'
    body = await response.text()
    assert body == (STATIC / 'index.html').read_text('utf-8')
    assert '<script src="static/dashboard.js" defer></script>' in body
    assert '<link rel="stylesheet" href="static/dashboard.css">' in body


@pytest.mark.integration
@pytest.mark.parametrize(
    ('name', 'content_type'),
    [
        ('dashboard.js', 'text/javascript; charset=utf-8'),
        ('dashboard.css', 'text/css; charset=utf-8'),
        ('favicon.svg', 'image/svg+xml; charset=utf-8'),
    ],
    ids=['script', 'style', 'icon'],
)
async def test_each_asset_is_served_with_its_type_and_the_policy(client: TestClient, name: str, content_type: str):
    response = await client.get(f'/static/{name}')
    assert response.status == 200
    assert response.headers['Content-Type'] == content_type
    assert response.headers['Content-Security-Policy'] == page.CONTENT_SECURITY_POLICY
    assert await response.read() == (STATIC / name).read_bytes()


@pytest.mark.hostile
@pytest.mark.integration
@pytest.mark.parametrize(
    'path',
    [
        '/static/../page.py',
        '/static/..%2Fpage.py',
        '/static/%2e%2e%2fpage.py',
        '/static/index.html',
        '/static/DASHBOARD.JS',
        '/static/dashboard.js%00.png',
        '/static/dashboard.js.map',
        '/static/',
    ],
    ids=['dot-dot', 'encoded-slash', 'encoded-dots', 'page-as-asset', 'case', 'nul', 'unknown', 'empty'],
)
async def test_only_the_listed_assets_are_served(client: TestClient, path: str):
    response = await client.get(path)
    assert response.status == 404
    text = await response.text()
    assert 'import' not in text and 'aiohttp' not in text  # never a source file


@pytest.mark.integration
async def test_the_served_app_carries_the_page_behind_its_guard(tmp_path):
    """Through `make_app` (as `metrics-utility serve` builds it): the page keeps its policy, the guard adds no-store,
    and an unknown asset is the API's JSON 404."""
    app = make_app(Served.of(StorageDirectory(tmp_path)), pages=[page.add_routes])
    async with TestClient(TestServer(app, host='127.0.0.1')) as served:
        response = await served.get('/')
        assert response.status == 200
        assert response.headers['Content-Security-Policy'] == page.CONTENT_SECURITY_POLICY
        assert response.headers['Cache-Control'] == 'no-store'
        missing = await served.get('/static/secrets.txt')
        assert (missing.status, await missing.json()) == (404, {'error': 'no such route'})


@pytest.mark.unit
def test_the_shipped_files_are_the_page_and_the_listed_assets():
    assert sorted(['index.html', *page.ASSETS]) == SHIPPED


@pytest.mark.unit
@pytest.mark.parametrize('name', SHIPPED)
def test_no_shipped_file_refers_to_another_origin(name: str):
    text = (STATIC / name).read_text('utf-8')
    assert EXTERNAL.findall(text.replace(f'xmlns="{SVG_NAMESPACE}"', '')) == []


@pytest.mark.unit
def test_the_page_has_no_inline_script_or_style_the_policy_would_block():
    html = (STATIC / 'index.html').read_text('utf-8')
    assert re.findall(r'<script(?![^>]*\bsrc=)[^>]*>', html) == []
    assert re.findall(r'<style\b|\sstyle=|\son[a-z]+=', html) == []


@pytest.mark.unit
def test_the_script_puts_text_in_as_text_only():
    script = (STATIC / 'dashboard.js').read_text('utf-8')
    assert MARKUP_SINKS.findall(script) == []
    assert 'textContent' in script


@pytest.mark.hostile
@pytest.mark.unit
@pytest.mark.parametrize(
    ('text', 'found'),
    [
        ('<script src="https://cdn.example/x.js">', ['https:']),
        ('<img src=//cdn.example/x.png>', ['src=//']),
        ('body { background: url(//cdn.example/x.png) }', ['url(//']),
        ("@import 'x.css';", ['@import']),
        ('<a href="javascript:alert(1)">', ['javascript:']),
        ('<img src="data:image/png;base64,AAAA">', ['data:']),
        ('fetch("api/v1/usage")', []),
    ],
    ids=['https-script', 'protocol-relative', 'css-url', 'css-import', 'javascript-url', 'data-url', 'relative'],
)
def test_the_external_reference_check_finds_what_it_must(text: str, found: list[str]):
    assert EXTERNAL.findall(text) == found
