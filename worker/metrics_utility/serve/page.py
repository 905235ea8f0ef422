"""The dashboard page: `GET /` and its static assets (script, style, icon), shipped as package data (no CDN).

The page is static HTML + a small vanilla script that reads the JSON API and puts every text in with `textContent`;
the usage chart is the API's server-rendered SVG, loaded as an image (an image runs no script). A strict
Content-Security-Policy lets the page load only from its own origin, so even a name that slipped into markup could
neither run inline script nor send data elsewhere.
"""

from __future__ import annotations

import functools
from importlib import resources

from aiohttp import web

ASSETS = {
    'dashboard.js': 'text/javascript',
    'dashboard.css': 'text/css',
    'favicon.svg': 'image/svg+xml',
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-cache',
}


@functools.cache
def asset(name: str) -> bytes:
    """One shipped file of `static/` (read once, on first use)."""
    return resources.files(__package__).joinpath('static').joinpath(name).read_bytes()


async def index(request: web.Request) -> web.Response:
    return web.Response(body=asset('index.html'), content_type='text/html', charset='utf-8', headers=PAGE_HEADERS)


async def static(request: web.Request) -> web.Response:
    name = request.match_info['name']
    if name not in ASSETS:  # a fixed list: no path from the request ever reaches the file system
        raise web.HTTPNotFound(text='no such asset\n')
    return web.Response(body=asset(name), content_type=ASSETS[name], charset='utf-8', headers=PAGE_HEADERS)


def add_routes(app: web.Application) -> None:
    """Serve the page at `/` and its assets at `/static/{name}` of `app`."""
    app.router.add_get('/', index)
    app.router.add_get('/static/{name}', static)
