"""Month-to-date usage for the gather summary (opt-in: `METRICS_UTILITY_MONTH_USAGE=true`).

Runs after a successful shipping gather on a readable storage (directory, S3), with the report's organization
filter and deduplicator (the `usage` group of `metrics_utility.settings.gather`). It never fails the gather: a
problem is a warning and the figures are omitted.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from metrics_utility.library.storage import Storage
from metrics_utility.settings.gather import UsageSettings

log = logging.getLogger('metrics_utility.gather')
FLAG = 'METRICS_UTILITY_MONTH_USAGE'


def month_usage(storage: Storage | None, settings: UsageSettings, today: date) -> dict[str, Any] | None:
    """The summary's `usage` object, or None when off, not possible (put-only target) or failed."""
    if storage is None or not settings.enabled:
        return None
    if storage.put_only:
        log.warning('%s: %s only accepts uploads; month-to-date usage is not computed', FLAG, storage.describe())
        return None
    from metrics_utility.library.usage import month_to_date

    try:
        return month_to_date(
            storage, today, organizations=settings.organization_filter, deduplicator=settings.deduplicator
        ).to_json()
    except Exception as exc:  # usage is a bonus; the shipped data must not be reported as failed
        log.warning(
            'month-to-date usage not computed: %s', str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        )
        return None
