"""Month-to-date usage for the gather summary (opt-in: `METRICS_UTILITY_MONTH_USAGE=true`).

Runs after a successful shipping gather on a readable storage (directory, S3), with the report's organization
filter and deduplication variables. It never fails the gather: a problem is a warning and the figures are omitted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from metrics_utility.library.storage import Storage

log = logging.getLogger('metrics_utility.gather')
FLAG = 'METRICS_UTILITY_MONTH_USAGE'


def enabled(env: Mapping[str, str]) -> bool:
    return env.get(FLAG, '').strip().lower() in {'1', 'true', 'yes', 'on'}


def month_usage(storage: Storage | None, env: Mapping[str, str], today: date) -> dict[str, Any] | None:
    """The summary's `usage` object, or None when off, not possible (put-only target) or failed."""
    if storage is None or not enabled(env):
        return None
    if storage.put_only:
        log.warning('%s: %s only accepts uploads; month-to-date usage is not computed', FLAG, storage.describe())
        return None
    from metrics_utility.library.dedup import CCSP_MODES
    from metrics_utility.library.usage import month_to_date

    dedup = env.get('METRICS_UTILITY_DEDUPLICATOR', '').strip() or 'ccsp'
    if dedup not in CCSP_MODES:
        dedup = 'ccsp'
    orgs: tuple[str, ...] = ()
    if env.get('METRICS_UTILITY_REPORT_TYPE', '').strip() == 'CCSPv2':  # as build-report: CCSPv2 only
        text = env.get('METRICS_UTILITY_ORGANIZATION_FILTER', '')
        orgs = tuple(o.strip() for o in text.rstrip(';').split(';') if o.strip())
    try:
        return month_to_date(storage, today, organizations=orgs, deduplicator=dedup).to_json()
    except Exception as exc:  # usage is a bonus; the shipped data must not be reported as failed
        log.warning(
            'month-to-date usage not computed: %s', str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        )
        return None
