"""Optional push of a run's figures to a Prometheus Pushgateway, for cron users without the operator.

Off unless `METRICS_UTILITY_PUSHGATEWAY_URL` is set (the `push` group, `metrics_utility.settings.push`). One group
per (job, instance, kind): `kind` is `gather` or `report`, so the two commands never overwrite each other. Pushes
use POST (`pushadd`): a metric replaces only its own name in the group, so a failed run keeps the figures and
`last_success` of the last good one. A failed push is a warning, never a failed run. Only figures are pushed;
credentials stay in the HTTP handler and out of logs.
"""

from __future__ import annotations

import base64
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metrics_utility.library import secret
from metrics_utility.settings.push import PushSettings, push_settings  # noqa: F401 - PushSettings re-exported

if TYPE_CHECKING:  # prometheus_client (~14 MiB) is imported only when a push is configured
    from prometheus_client import CollectorRegistry

log = logging.getLogger('metrics_utility.pushgateway')


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace('Z', '+00:00')).timestamp()
    except ValueError:
        return None


def registry_for(summary: Mapping[str, Any], duration: float, now: float) -> CollectorRegistry:
    """The run's figures (from its summary, the operator contract) as a registry ready to push."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()

    def gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> None:
        metric = Gauge(name, doc, list(labels or {}), registry=registry)
        (metric.labels(**labels) if labels else metric).set(value)

    ok = summary.get('ok') is True
    gauge('metrics_utility_run_success', '1 when the last run succeeded, else 0.', 1 if ok else 0)
    gauge('metrics_utility_run_duration_seconds', 'How long the last run took.', duration)
    gauge('metrics_utility_last_run_timestamp_seconds', 'When the last run ended.', now)
    if not ok:
        gauge('metrics_utility_last_failure_timestamp_seconds', 'When a run last failed.', now)
        return registry
    gauge('metrics_utility_last_success_timestamp_seconds', 'When a run last succeeded.', now)
    for figure in ('rows', 'bytes', 'packages'):
        if summary.get('command') == 'gather' and isinstance(summary.get(figure), int):
            gauge(f'metrics_utility_gather_last_{figure}', f'{figure} of the last successful gather', summary[figure])
    until = _timestamp((summary.get('window') or {}).get('until'))
    if until is not None:
        gauge('metrics_utility_gather_shipped_until_timestamp_seconds', 'End of the window shipped.', until)
    usage = summary.get('usage')
    if isinstance(usage, Mapping) and usage.get('month'):
        month = {'period': 'month', 'month': str(usage['month'])}
        gauge(
            'metrics_utility_unique_managed_nodes',
            'Unique managed nodes month-to-date.',
            usage.get('unique_managed_nodes', 0),
            month,
        )
        gauge('metrics_utility_job_runs', 'Controller job runs month-to-date.', usage.get('job_runs', 0), month)
    if isinstance(summary.get('quantity'), int):
        gauge(
            'metrics_utility_report_billed_managed_nodes',
            'Billed managed nodes of the last report built.',
            summary['quantity'],
            {'period': str(summary.get('period') or '')},
        )
    return registry


def push_run(
    kind: str, summary: Mapping[str, Any], duration: float, settings: PushSettings | None, now: float | None = None
) -> bool:
    """Push the run's figures when configured (`settings.push.push_settings`); True when pushed. Never raises."""
    if settings is None:
        return False
    from prometheus_client import pushadd_to_gateway
    from prometheus_client.exposition import basic_auth_handler, default_handler

    handler: Callable = default_handler
    if settings.ca_bundle:
        handler = _trusting_handler(settings)
    elif settings.username:

        def handler(url: str, method: str, timeout: float | None, headers: list, data: bytes) -> Callable[[], None]:
            return basic_auth_handler(url, method, timeout, headers, data, settings.username, settings.password or '')

    try:
        pushadd_to_gateway(
            settings.url,
            job=settings.job,
            registry=registry_for(summary, duration, time.time() if now is None else now),
            grouping_key={**settings.grouping, 'kind': kind},
            timeout=settings.timeout,
            handler=handler,
        )
    except Exception as exc:  # a Pushgateway outage must not fail a gather or a report
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = secret.Redactor(settings.password, user=settings.username)(message)
        if 'CERTIFICATE_VERIFY_FAILED' in message:
            message += '; set METRICS_UTILITY_CA_BUNDLE to a PEM bundle holding the CA that signed its certificate'
        log.warning('could not push the run metrics to %s: %s', settings.url, message)
        return False
    return True


def _trusting_handler(settings: PushSettings) -> Callable:
    """A push handler that trusts `settings.ca_bundle` (prometheus_client's own handlers use the system store only)
    and sends basic auth when a user is set; urllib honours HTTPS_PROXY/NO_PROXY as the default handler does."""
    import urllib.request

    context = ssl.create_default_context(cafile=settings.ca_bundle)

    def handler(url: str, method: str, timeout: float | None, headers: list, data: bytes) -> Callable[[], None]:
        def send() -> None:
            request = urllib.request.Request(url, data=data, method=method)
            for name, value in headers:
                request.add_header(name, value)
            if settings.username:
                pair = f'{settings.username}:{settings.password or ""}'.encode()
                request.add_header('Authorization', 'Basic ' + base64.b64encode(pair).decode())
            opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
            with opener.open(request, timeout=timeout) as response:
                if response.status >= 400:  # urllib raises for most; a proxy may still answer oddly
                    raise OSError(f'error talking to pushgateway: {response.status} {response.reason}')

        return send

    return handler
