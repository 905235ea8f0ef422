"""Waiting on a condition with a deadline, instead of sleeping for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 0.05


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `predicate` until it holds and return the seconds it took; fail the test naming `what` after `timeout`."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f'timed out after {timeout:g} s waiting for {what}'
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started
