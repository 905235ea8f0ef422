"""The API's routes over one storage (aiohttp, already installed with kopf): read-only, JSON, errors as
`{"error": "..."}`.

Every answer goes through one middleware: the access check (`access.py`; `/healthz` and `/openapi.json` are public),
then the handler, whose blocking storage and pandas work runs in a thread; a bad parameter is 400 with its exact
message, a missing report 404, a storage that cannot be read 503 (the detail goes to the log, not to the caller:
it may name paths), anything else 500. Answers are never cached by clients (`no-store`): they hold customer data.

Hooks for the dashboard (`GET /`, the `mode=plot` chart): `make_app(..., plot=render, pages=register)`; without a
plot renderer `mode=plot` answers 501.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from metrics_utility.library import secret
from metrics_utility.library.collection_view import collection_view
from metrics_utility.library.reports import catalog
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.library.usage_periods import PeriodUsage, UsageReader

from . import openapi
from .access import Access, Denied, LoopbackAccess
from .params import ParameterError, UsageQuery, collection_query, usage_query

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({'/healthz', '/openapi.json'})
PlotRenderer = Callable[[UsageQuery, list[PeriodUsage]], tuple[bytes, str]]  # → (body, content type)


def _today() -> date:
    return datetime.now(UTC).date()


@dataclass
class Served:
    """What the routes read: the storage and its usage reader (whose per-day cache lives as long as the server)."""

    storage: Storage
    usage: UsageReader
    today: Callable[[], date] = _today
    public_paths: frozenset[str] = field(default=PUBLIC_PATHS)

    @classmethod
    def of(cls, storage: Storage, *, persist: bool = False, ttl: float = 60.0, cache_dir: Path | None = None) -> Served:
        return cls(storage, UsageReader(storage, persist=persist, ttl=ttl, cache_dir=cache_dir))


SERVED = web.AppKey('served', Served)
ACCESS = web.AppKey('access', Access)
PLOT = web.AppKey('plot', object)
WARMING = web.AppKey('warming', asyncio.Task)  # the start-up read of the last months (commands/serve.py)


def _params(request: web.Request) -> dict[str, list[str]]:
    """The query string as name → every value given (a repeated parameter is an error the checks name)."""
    return {name: request.query.getall(name) for name in set(request.query)}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({'error': message}, status=status, headers=headers)


def _json(data: Any) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), content_type='application/json')


@web.middleware
async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Access check, then the handler; every failure becomes one JSON error."""
    served = request.app[SERVED]
    try:
        if request.path not in served.public_paths:
            await request.app[ACCESS].check(request.headers.get('Authorization'))
        response = await handler(request)
    except Denied as denied:
        headers = {'WWW-Authenticate': 'Bearer'} if denied.status == 401 else None
        response = error(denied.status, denied.message, headers)
    except ParameterError as exc:
        response = error(400, str(exc))
    except catalog.ReportNotFound as exc:
        response = error(404, exc.message)
    except StorageError as exc:
        log.warning('storage failed answering %s: %s', request.path, secret.redact(str(exc)))
        response = error(503, 'the storage cannot be read now; the server log says why')
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = 'no such route' if exc.status == 404 else exc.reason
        response = error(exc.status, reason, {'Allow': exc.headers['Allow']} if 'Allow' in exc.headers else None)
    except Exception as exc:  # a bug: one line in the log, no traceback text to the caller
        log.error('internal error answering %s (%s)', request.path, type(exc).__name__, exc_info=True)
        response = error(500, 'internal error; the server log says more')
    response.headers['Cache-Control'] = 'no-store'
    response.headers['X-Content-Type-Options'] = 'nosniff'
    return response


async def healthz(request: web.Request) -> web.Response:
    return _json({'status': 'ok'})


async def openapi_document(request: web.Request) -> web.Response:
    return _json(openapi.document())


async def reports(request: web.Request) -> web.Response:
    served = request.app[SERVED]
    entries = await asyncio.to_thread(catalog.list_reports, served.storage)
    return _json({'reports': [e.to_json() for e in entries]})


async def report(request: web.Request) -> web.Response:
    served = request.app[SERVED]
    report_id = request.match_info['id']

    def read() -> tuple[catalog.ReportEntry, bytes]:
        entry = catalog.find(served.storage, report_id)
        with catalog.main_storage(served.storage).get(entry.name) as path:
            return entry, path.read_bytes()

    entry, body = await asyncio.to_thread(read)
    return web.Response(
        body=body,
        content_type=catalog.CONTENT_TYPE,
        headers={'Content-Disposition': f'attachment; filename="{entry.file_name}"'},
    )


async def usage(request: web.Request) -> web.Response:
    served = request.app[SERVED]
    query = usage_query(_params(request), served.today())
    plot: PlotRenderer | None = request.app[PLOT]  # type: ignore[assignment]
    if query.mode == 'plot' and plot is None:
        return error(501, 'mode=plot is not available in this build; use mode=raw')
    periods = await asyncio.to_thread(served.usage.usage, query.by, query.since, query.until, query.organization)
    if query.mode == 'plot':
        assert plot is not None
        body, content_type = await asyncio.to_thread(plot, query, periods)
        return web.Response(body=body, content_type=content_type)
    return _json(
        {
            'by': query.by,
            'since': query.since.isoformat(),
            'until': query.until.isoformat(),
            'organization': query.organization,
            'periods': [p.to_json() for p in periods],
        }
    )


async def collection(request: web.Request) -> web.Response:
    served = request.app[SERVED]
    query = collection_query(_params(request), served.today())
    view = await asyncio.to_thread(collection_view, served.storage, query.since, query.until)
    return _json(view.to_json())


def make_app(
    served: Served,
    access: Access | None = None,
    *,
    plot: PlotRenderer | None = None,
    pages: Iterable[Callable[[web.Application], None]] = (),
) -> web.Application:
    """The application; `pages` register more routes (the dashboard), `plot` renders `mode=plot`."""
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[SERVED] = served
    app[ACCESS] = access or LoopbackAccess()
    app[PLOT] = plot
    app.router.add_get('/healthz', healthz)
    app.router.add_get('/openapi.json', openapi_document)
    app.router.add_get('/api/v1/reports', reports)
    app.router.add_get('/api/v1/reports/{id}', report)
    app.router.add_get('/api/v1/usage', usage)
    app.router.add_get('/api/v1/collection', collection)
    for register in pages:
        register(app)
    return app
