"""The `push` group: where a run's figures go (METRICS_UTILITY_PUSHGATEWAY_*), read once with the other settings.

Telemetry never fails a run: a bad optional value is a warning and its default is used, and a URL holding
`user:password@` is refused (a warning, nothing pushed) so it never reaches a log line.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from metrics_utility.library import secret

from .environment import Environment
from .variables import declared

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
    ca_bundle: str | None = None  # METRICS_UTILITY_CA_BUNDLE (checked with the run's settings); None: system store


def push_settings(env: Mapping[str, str] | Environment) -> PushSettings | None:
    """None when no URL is set or the settings are unusable. Bad optional values are warned about and replaced by
    defaults. Never raises."""
    try:
        return _push_settings(Environment.of(env))
    except Exception as exc:  # never fail the run for its telemetry
        log.warning('Pushgateway settings unusable: %s', type(exc).__name__)
        return None


def _push_settings(env: Environment) -> PushSettings | None:
    url = env.text('METRICS_UTILITY_PUSHGATEWAY_URL')
    job = env.text('METRICS_UTILITY_PUSHGATEWAY_JOB') or PushSettings.job
    instance = env.text('METRICS_UTILITY_PUSHGATEWAY_INSTANCE')
    items = (env.raw('METRICS_UTILITY_PUSHGATEWAY_GROUPING') or '').split(',')
    timeout_text = env.raw('METRICS_UTILITY_PUSHGATEWAY_TIMEOUT')
    username = env.raw('METRICS_UTILITY_PUSHGATEWAY_USERNAME') or None
    password = env.raw('METRICS_UTILITY_PUSHGATEWAY_PASSWORD') or None
    if not url:
        return None
    grouping = {'instance': instance or socket.gethostname()}
    for item in filter(None, (i.strip() for i in items)):
        key, _, value = item.partition('=')
        if _LABEL.match(key.strip()) and value.strip() and key.strip() not in ('job', 'kind'):
            grouping[key.strip()] = value.strip()
        else:
            log.warning(
                '%sGROUPING: ignoring %r; expected name=value with a label name other than job/kind', PREFIX, item
            )
    try:
        timeout = float(timeout_text or 10)
    except ValueError:
        log.warning('%sTIMEOUT is not a number of seconds; using 10', PREFIX)
        timeout = 10.0
    secret.register(password, user=username)
    variable = declared('METRICS_UTILITY_PUSHGATEWAY_URL')
    refused = secret.url_credentials_problem(variable.name, url, variable.instead or '')
    if refused:  # a warning, as for every Pushgateway problem: telemetry never fails the run
        log.warning('%s', refused)
        return None
    return PushSettings(
        url=url,
        job=job,
        grouping=grouping,
        username=username,
        password=password,
        timeout=timeout,
        ca_bundle=env.text('METRICS_UTILITY_CA_BUNDLE'),
    )
