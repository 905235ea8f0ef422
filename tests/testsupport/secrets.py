"""Checks that secrets never reach logs, exception texts or descriptions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import pytest

# The test's credentials: distinctive strings, so a scan finds any copy of them.
CLIENT_ID = 'billing-sa-0001'
CLIENT_SECRET = 'crc-client-secret-do-not-leak-0001'
TOKEN_PREFIX = 'bearer-token-do-not-leak-'
WRITE_KEY = 'segment-write-key-do-not-leak-0001'


def assert_secret_free(texts: Iterable[str], secrets: Iterable[str]) -> None:
    """Fail naming the secret (not the text) when any form of any secret occurs in any text (`assert_no_secret`)."""
    assert_no_secret(list(texts), *secrets)


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


# One scanner for every encoding a secret may leak in (issue 17, class 6). Written independently of
# metrics_utility.library.secret on purpose: the test must not share the code it checks.
PARTIAL = 10  # a run of this many characters of any form counts as a leak (a truncated echo)


def _b64(data: bytes) -> list[str]:
    import base64

    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return [std, std.rstrip('='), url, url.rstrip('=')]


def secret_forms(secret: str, user: str | None = None) -> list[str]:
    """Every text a leak of `secret` may take: plain, URL-encoded (quote / quote_plus / twice, any hex case),
    form-encoded, JSON-escaped, in a Python (bytes) repr, base64 of the secret and of `user:secret` (standard and
    URL-safe, padded or not, of UTF-8 and of Latin-1 bytes), and base64 of the secret at each byte offset of a
    longer base64 text."""
    import json
    import re
    from urllib.parse import quote, quote_plus, urlencode

    def lower_hex(text: str) -> str:
        return re.sub(r'%[0-9A-F]{2}', lambda m: m.group(0).lower(), text)

    forms = [secret, quote(secret, safe=''), quote(secret), quote_plus(secret), urlencode({'k': secret})[2:]]
    forms += [quote(quote_plus(secret), safe='')]  # URL-encoded twice (an echo inside a redirect URL)
    forms += [lower_hex(f) for f in forms]
    forms += [json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]]
    forms += [json.dumps(secret)[1:-1].replace('/', '\\/')]
    forms += [repr(secret)[1:-1], repr(secret.encode())[2:-1]]  # Python reprs of the text and of its bytes
    with contextlib.suppress(UnicodeEncodeError):
        forms += [repr(secret.encode('latin-1'))[2:-1]]
    forms += _b64(secret.encode())
    for offset in (1, 2):  # inside a longer base64 text: drop the groups that mix in the neighbouring bytes
        forms += [f[4:-4] for f in _b64(b'\0' * offset + secret.encode())[::2]]
    if user is not None:
        forms += _b64(f'{user}:{secret}'.encode())
    for text in [secret] + ([f'{user}:{secret}'] if user is not None else []):  # requests sends basic auth as Latin-1
        with contextlib.suppress(UnicodeEncodeError):
            forms += _b64(text.encode('latin-1'))
    return list(dict.fromkeys(forms))


def leaks(text: str, secret: str, user: str | None = None) -> list[str]:
    """The forms of `secret` found in `text`, whole or as a run of PARTIAL characters (a cut-off copy)."""
    found = []
    for form in secret_forms(secret, user):
        pieces = [form] if len(form) <= PARTIAL else [form[i : i + PARTIAL] for i in range(len(form) - PARTIAL + 1)]
        if any(piece in text for piece in pieces):
            found.append(form)
    return found


def assert_no_secret(texts: str | Iterable[str], *secrets: str, user: str | None = None) -> None:
    """Fail, naming the encoding but never the secret, when any form of any secret occurs in any text."""
    blob = texts if isinstance(texts, str) else '\n'.join(texts)
    for secret in secrets:
        found = leaks(blob, secret, user)
        assert not found, f'a secret ({secret[:3]}…) leaked in {len(found)} form(s), e.g. one of {len(found[0])} chars'


class Echo:
    """A hostile server's responder: answers `status` with what the client sent (its body, or one header line),
    passed through `encode` (a server may echo in JSON, percent-encoded, base64, …)."""

    def __init__(self, status: int, part: str = 'body', encode=lambda text: text, before: str = 'you sent: ') -> None:
        self.status, self.part, self.encode, self.before = status, part, encode, before

    def __call__(self, request):
        from .https_servers import Reply

        sent = request.body.decode() if self.part == 'body' else f'{self.part}: {request.headers.get(self.part, "")}'
        return Reply(self.status, self.before + self.encode(sent))
