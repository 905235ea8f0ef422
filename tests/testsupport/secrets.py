"""Checks that secrets never reach logs, exception texts or descriptions."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

# The test's credentials: distinctive strings, so a scan finds any copy of them.
CLIENT_ID = 'billing-sa-0001'
CLIENT_SECRET = 'crc-client-secret-do-not-leak-0001'
TOKEN_PREFIX = 'bearer-token-do-not-leak-'
WRITE_KEY = 'segment-write-key-do-not-leak-0001'


def assert_secret_free(texts: Iterable[str], secrets: Iterable[str]) -> None:
    """Fail naming the secret (not the text) when any secret occurs in any text."""
    blob = '\n'.join(texts)
    for secret in secrets:
        assert secret not in blob, f'a secret ({secret[:4]}…) leaked'


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every captured log message, formatted, with any exception text."""
    out = []
    for record in caplog.records:
        out.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            out.append(repr(record.exc_info[1]))
    return out


def exception_texts(exc: BaseException) -> list[str]:
    """str and repr of an exception and of everything chained to it."""
    out: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return out
