"""Retention as the last step of a gather: prune by the configured limits, then report what the storage holds.

It runs under the gather's lock, so it never races a gather re-shipping an old window. It runs even when a
collector failed (freeing space is what a run that hit a full disk needs). The rule is in
`metrics_utility.library.retention`; this module only feeds it the limits and the upload watermarks and fills the
run summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from metrics_utility.library import instants, retention
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.settings.gather import RetentionSettings

from .secondary import confirmed_marks
from .state import StateError, StorageStateStore
from .summary import RunSummary

log = logging.getLogger('metrics_utility.gather.retention')


def step(
    storage: Storage,
    limits: RetentionSettings,
    now: Callable[[], datetime] = instants.now,
    secondary: bool = False,
) -> Callable[[RunSummary], None]:
    """The runner's `finish` hook for a readable storage (directory, S3); with `secondary`, packages the second
    target has not confirmed are kept too (`gather/secondary.py`)."""
    policy = retention.Policy(limits.max_age_days, limits.max_bytes)
    upload_state = limits.upload_state

    def finish(summary: RunSummary) -> None:
        try:
            # An upload stage that never wrote its document has uploaded nothing: every package is protected.
            uploaded = StorageStateStore(storage, upload_state).load().shipped_until if upload_state else None
            if secondary:
                sent = confirmed_marks(storage)  # None: its document is damaged, every package is kept
                uploaded = lowest(uploaded, sent.shipped_until if sent is not None else {})
            outcome = retention.apply(storage, policy, now(), uploaded)
        except (StorageError, StateError) as exc:
            message = f'retention: {exc}'
            log.error('%s', message)
            summary.ok = False
            summary.error = f'{summary.error}; {message}' if summary.error else message
            return
        summary.stored_bytes = outcome.stored_bytes
        summary.stored_objects = outcome.stored_objects
        if policy.enabled:
            summary.retention = outcome.as_json()
        if outcome.volume_bytes is not None and outcome.volume_free_bytes is not None:
            summary.volume = {'bytes': outcome.volume_bytes, 'free_bytes': outcome.volume_free_bytes}

    return finish


def lowest(first: Mapping[str, datetime] | None, second: Mapping[str, datetime]) -> dict[str, datetime]:
    """Pure: per collector, the mark both upload stages reached (a collector missing in one is not uploaded)."""
    if first is None:
        return dict(second)
    return {key: min(mark, second[key]) for key, mark in first.items() if key in second}
