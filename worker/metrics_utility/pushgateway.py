"""Optional push of a run's figures to a Prometheus Pushgateway, for cron users without the operator.

Off unless `METRICS_UTILITY_PUSHGATEWAY_URL` is set. One group per (job, instance, kind): `kind` is `gather` or
`report`, so the two commands never overwrite each other. Pushes use POST (`pushadd`): a metric replaces only its
own name in the group, so a failed run keeps the figures and `last_success` of the last good one. A failed push is
a warning, never a failed run. Only figures are pushed; credentials stay in the HTTP handler and out of logs, and a
URL holding `user:password@` is refused (nothing pushed, a warning) so it never reaches a log line.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler

from metrics_utility.library import secret

PREFIX = 'METRICS_UTILITY_PUSHGATEWAY_'
log = logging.getLogger('metrics_utility.pushgateway')
_LABEL = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')


@dataclass(frozen=True)
class PushSettings:
    url: str
    job: str = 'metrics-utility'
    grouping: dict[str, str] = field(default_factory=dict)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PushSettings | None:
        """None when no URL is set. Bad optional values are warned about and replaced by defaults."""
        url = env.get(f'{PREFIX}URL', '').strip()
        if not url:
            return None
        grouping = {'instance': env.get(f'{PREFIX}INSTANCE', '').strip() or socket.gethostname()}
        for item in filter(None, (i.strip() for i in env.get(f'{PREFIX}GROUPING', '').split(','))):
            key, _, value = item.partition('=')
            if _LABEL.match(key.strip()) and value.strip() and key.strip() not in ('job', 'kind'):
                grouping[key.strip()] = value.strip()
            else:
                log.warning('%sGROUPING: ignoring %r; expected name=value with a label name other than job/kind',
                            PREFIX, item)  # fmt: skip
        try:
            timeout = float(env.get(f'{PREFIX}TIMEOUT', '10') or 10)
        except ValueError:
            log.warning('%sTIMEOUT is not a number of seconds; using 10', PREFIX)
            timeout = 10.0
        username, password = env.get(f'{PREFIX}USERNAME') or None, env.get(f'{PREFIX}PASSWORD') or None
        secret.register(password, user=username)
        refused = secret.url_credentials_problem(
            f'{PREFIX}URL', url, f'give them in {PREFIX}USERNAME/PASSWORD instead; nothing pushed'
        )
        if refused:  # a warning, as for every Pushgateway problem: telemetry never fails the run
            log.warning('%s', refused)
            return None
        return cls(url=url, job=env.get(f'{PREFIX}JOB', '').strip() or cls.job, grouping=grouping,
                   username=username, password=password, timeout=timeout)  # fmt: skip


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace('Z', '+00:00')).timestamp()
    except ValueError:
        return None


def registry_for(summary: Mapping[str, Any], duration: float, now: float) -> CollectorRegistry:
    """The run's figures (from its summary, the operator contract) as a registry ready to push."""
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
        gauge('metrics_utility_unique_managed_nodes', 'Unique managed nodes month-to-date.',
              usage.get('unique_managed_nodes', 0), month)  # fmt: skip
        gauge('metrics_utility_job_runs', 'Controller job runs month-to-date.', usage.get('job_runs', 0), month)
    if isinstance(summary.get('quantity'), int):
        gauge('metrics_utility_report_billed_managed_nodes', 'Billed managed nodes of the last report built.',
              summary['quantity'], {'period': str(summary.get('period') or '')})  # fmt: skip
    return registry


def push_run(kind: str, summary: Mapping[str, Any], duration: float, env: Mapping[str, str],
             now: float | None = None) -> bool:  # fmt: skip
    """Push the run's figures when configured; True when pushed. Never raises."""
    try:
        settings = PushSettings.from_env(env)
    except Exception as exc:  # never fail the run for its telemetry
        log.warning('Pushgateway settings unusable: %s', type(exc).__name__)
        return False
    if settings is None:
        return False
    handler: Callable = default_handler
    if settings.username:

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
        log.warning('could not push the run metrics to %s: %s', settings.url, message)
        return False
    return True
