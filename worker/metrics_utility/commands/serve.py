"""`metrics-utility serve`: the usage API (and dashboard) over the storage build-report reads (docs/serve.md).

Settings (settings/serve.py) decide who may ask: loopback without a check (kubectl port-forward), or any address with
every caller reviewed by Kubernetes over TLS. A configuration that would serve host names to the network unchecked is
refused before anything listens (exit 2). The server only reads; rollups of days that have none are written back only
when the storage takes writes (a read-only mount costs speed, never an answer).
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from datetime import date, timedelta
from typing import TYPE_CHECKING

from metrics_utility.commands import failed
from metrics_utility.library import secret
from metrics_utility.library.errors import MetricsUtilityError
from metrics_utility.settings.common import ConfigError

if TYPE_CHECKING:  # the server's machinery (asyncio, aiohttp) is imported when it runs
    import asyncio
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from aiohttp import web

    from metrics_utility.library.storage import Storage
    from metrics_utility.library.usage_periods import UsageReader
    from metrics_utility.serve.access import Access
    from metrics_utility.serve.app import PlotRenderer
    from metrics_utility.settings.serve import ServeSettings

PROG = 'metrics-utility serve'


class ListenError(MetricsUtilityError):
    """The address cannot be listened on (in use, not this machine's): the run failed, exit 1."""


WARM_MONTHS = 13  # the dashboard's first page: this month, last month and the trend of a year


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        'serve',
        help='serve usage, reports and collection health over HTTP (read-only)',
        description='Serve the usage API and dashboard over the storage build-report reads. Listens on 127.0.0.1 '
        'unless METRICS_UTILITY_SERVE_AUTH=kubernetes (docs/serve.md).',
    )
    parser.add_argument('--address', help='IP address to listen on (overrides METRICS_UTILITY_SERVE_ADDRESS)')
    parser.add_argument('--port', help='TCP port (overrides METRICS_UTILITY_SERVE_PORT)')
    parser.add_argument('--also-from', action='append', metavar='DIR_OR_S3_URI', help='as build-report takes it')
    parser.add_argument('--verbose', action='store_true', help='debug logging')
    parser.set_defaults(func=run)


def writable(storage: Storage) -> bool:
    """Whether rolled-up days may be written back: a directory the process may write, or an object store."""
    from metrics_utility.library.storage import StorageDirectory
    from metrics_utility.library.storage.multi import MultiStorage

    main = storage.primary if isinstance(storage, MultiStorage) else storage
    if isinstance(main, StorageDirectory):
        return os.access(main.base_path, os.W_OK)
    return True


def tls_context(settings: ServeSettings) -> ssl.SSLContext | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            [f'METRICS_UTILITY_SERVE_TLS_CERT/_TLS_KEY cannot be loaded as a certificate and its key ({exc})']
        ) from None
    return context


def access_for(settings: ServeSettings, host: str | None, port: str | None) -> Access:
    from metrics_utility.serve.access import KubernetesAccess, KubernetesReviews, LoopbackAccess

    if settings.auth != 'kubernetes':
        return LoopbackAccess()
    if not host or not port:
        raise ConfigError(
            [
                'METRICS_UTILITY_SERVE_AUTH=kubernetes runs in a pod: KUBERNETES_SERVICE_HOST and '
                'KUBERNETES_SERVICE_PORT are not set'
            ]
        )
    assert settings.namespace is not None and settings.collection is not None
    return KubernetesAccess(KubernetesReviews.in_cluster(host, port), settings.namespace, settings.collection)


def application(
    storage: Storage,
    access: Access,
    *,
    persist: bool,
    plot: PlotRenderer | None = None,
    pages: Iterable[Callable[[web.Application], None]] = (),
    cache_dir: Path | None = None,
) -> web.Application:
    """The app (`plot` renders `mode=plot`, `pages` add the dashboard's routes), with the last months' usage read
    once in the background at start so the dashboard's first page is answered from memory."""
    import asyncio

    from metrics_utility.serve.app import WARMING, Served, make_app

    served = Served.of(storage, persist=persist, cache_dir=cache_dir)
    app = make_app(served, access, plot=plot, pages=pages)

    async def warm(app: web.Application) -> None:
        today = served.today()
        since = today.replace(day=1) - timedelta(days=31 * (WARM_MONTHS - 1))
        task = asyncio.create_task(asyncio.to_thread(warm_usage, served.usage, since.replace(day=1), today))
        task.add_done_callback(_warmed)
        app[WARMING] = task

    app.on_startup.append(warm)
    return app


def warm_usage(reader: UsageReader, since: date, today: date) -> None:
    """The month digests first (the first page), then the days a month at a time, newest first (the day and week
    views), so a request waits at most for one month's read."""
    from metrics_utility.library.usage_digest import month_end

    until = today + timedelta(days=1)
    reader.usage('month', since, until)
    month = today.replace(day=1)
    while month >= since:
        reader.usage('day', month, min(month_end(month), until))
        month = (month - timedelta(days=1)).replace(day=1)


def _warmed(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger(__name__).warning('reading usage at start failed (%s)', type(task.exception()).__name__)


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    from aiohttp import web

    from metrics_utility.commands.reports import open_storage
    from metrics_utility.serve import page, plot
    from metrics_utility.settings.environment import Environment, overrides, process_environment
    from metrics_utility.settings.serve import serve_settings

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format='%(levelname)s %(message)s')
    secret.install_log_redaction(logging.getLogger().handlers)
    environment = Environment(process_environment() if env is None else env, overrides(args))
    problems: list[str] = []
    settings = serve_settings(environment, problems)
    if settings is None:
        return failed(PROG, ConfigError(problems))
    try:
        context = tls_context(settings)
        access = access_for(
            settings, environment.text('KUBERNETES_SERVICE_HOST'), environment.text('KUBERNETES_SERVICE_PORT')
        )
        storage = open_storage(settings.storage)
        app = application(
            storage,
            access,
            persist=writable(storage),
            plot=plot.render,
            pages=[page.add_routes],
            cache_dir=settings.cache_dir,
        )
    except MetricsUtilityError as error:
        return failed(PROG, error)
    scheme = 'https' if context else 'http'
    host = f'[{settings.address}]' if ':' in settings.address else settings.address
    mode = 'every caller reviewed by Kubernetes' if settings.auth == 'kubernetes' else 'loopback only'
    print(f'{PROG}: {storage.describe()} on {scheme}://{host}:{settings.port}/ ({mode})', flush=True)
    try:
        web.run_app(
            app,
            host=settings.address,
            port=settings.port,
            ssl_context=context,
            print=None,
            access_log_format='%a "%r" %s %b %Tfs',
        )
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        return failed(PROG, ListenError(f'cannot listen on {host}:{settings.port} ({reason})'))
    print(f'{PROG}: stopped', file=sys.stderr)
    return 0
