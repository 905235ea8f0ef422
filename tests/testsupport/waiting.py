"""Waiting on a condition with a deadline, instead of sleeping for a guessed time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

POLL_SECONDS = 0.05


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `predicate` until it holds and return the seconds it took; fail the test naming `what` after `timeout`.

    The states waited on (pg_stat_activity, objects in a store) send no notification, so the predicate is asked again
    every POLL_SECONDS, each pause bounded by what is left of the deadline."""
    started = time.monotonic()
    pause = threading.Event()  # never set: its timed wait is the pause between two polls
    while not predicate():
        left = timeout - (time.monotonic() - started)
        assert left > 0, f'timed out after {timeout:g} s waiting for {what}'
        pause.wait(min(POLL_SECONDS, left))
    return time.monotonic() - started
