"""Secrets that never show themselves: the `Secret` value, and the one redaction every outgoing text passes through.

Foreign text (server bodies, library exception messages, third-party debug logs) may echo a credential back in any
encoding, so a `Redactor` replaces each known secret in every form a server or library is likely to produce:

- plain, URL-encoded (`quote` and `quote_plus`, upper- or lower-case hex, fully or partly, once or twice) and
  JSON-escaped (`\\u00XX`, `\\/`, `\\"`) or in a Python bytes repr (`\\xNN`) — matched character by character, so
  any mix of these is caught;
- base64 of the secret and of `user:secret` (HTTP basic auth), of their UTF-8 and Latin-1 bytes (requests sends
  basic auth as Latin-1), standard and URL-safe alphabets, with or without padding, and also where the secret sits at
  any offset inside a longer base64 text;
- a prefix of the secret cut at the end of a text, or a suffix at its start (a server that truncated its echo).

On top of the known secrets, `scrub` removes the *shapes* of credentials whatever their value: `Authorization:`
header values, AWS `Credential=` and security tokens, `password=`/`client_secret=` form fields and their JSON keys,
and `user:password@` in URLs. The operator uses `scrub` alone (it never holds the worker's secrets).

Order matters: redact first, then shorten (`excerpt`), so a cut can never leave a prefix of a secret behind.

Secrets shorter than `MIN_LENGTH` characters are not searched for in free text (replacing every "ab" would make
messages unreadable and would itself tell the secret); they are still never printed by our own code, and the
shapes above (`password=…`, `Authorization: Basic …`) still hide them where they appear in a credential's place.

`register` adds secrets to the process-wide redactor that the log record factory (`install_log_redaction`) and
the run summary use; every `Redactor` registers its secrets there too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

# Shorter secrets are not searched for in free text (see the module docstring).
MIN_LENGTH = 4
# A truncated echo is recognised from this many characters of the secret on (shorter cuts are too common).
MIN_PARTIAL = 8
# A base64 fragment this short could be anything; shorter fragments are not searched for.
MIN_BASE64 = 6
MASK = '***'

# Third-party loggers that print request headers (botocore's signed `Authorization`, urllib3's request lines) or
# bodies at DEBUG: they are capped at WARNING whatever the verbosity, so `--verbose` shows our own debug only.
CHATTY_LOGGERS = ('botocore', 'boto3', 's3transfer', 'urllib3', 'requests', 'kubernetes', 'aiohttp.client')


class Secret:
    """A string that never shows itself: `repr`, `str` and f-strings print `***`; `reveal()` gives the value."""

    __slots__ = ('_value',)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError('Secret values are not picklable')


_CREDENTIAL_NAMES = (
    r'client_secret|password|passwd|pwd|access_token|refresh_token|id_token|api_key|apikey|secret_key|'
    r'aws_secret_access_key|aws_session_token|write_key|private_key|token'
)
# Credentials recognised by their shape, whatever their value: (a word the text must hold, pattern, replacement).
_SHAPES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # Authorization: Basic/Bearer/ApiKey/AWS4-HMAC-SHA256 <value> (also as a Python or JSON dict entry).
    (
        'authorization',
        re.compile(
            r'(?i)\b((?:proxy-)?authorization["\']?\s*[:=]\s*(?:b?["\'])?\s*'
            r'(?:(?:basic|bearer|apikey|token|negotiate|digest|aws4-hmac-sha256)\s+)?)[^\s"\',;()<>{}\[\]]+'
        ),
        r'\1' + MASK,
    ),
    # AWS signature credential scope (access key id) in headers and presigned URLs.
    ('credential=', re.compile(r'(?i)\b((?:x-amz-)?credential=)[^/%\s,&"\']+'), r'\1' + MASK),
    (
        'security-token',
        re.compile(r'(?i)\b(x-amz-security-token["\']?\s*[:=]\s*(?:b?["\'])?)[^\s"\',&;()<>{}\[\]]+'),
        r'\1' + MASK,
    ),
    # form fields: client_secret=…&password=… (also DB_PASSWORD=… in an echoed environment)
    ('=', re.compile(rf'(?i)(?<![a-z0-9])((?:{_CREDENTIAL_NAMES})=)[^&\s"\',;()<>{{}}\[\]]+'), r'\1' + MASK),
    # JSON / Python dict entries: "client_secret": "…"
    (':', re.compile(rf'(?i)(["\'](?:{_CREDENTIAL_NAMES})["\']\s*:\s*b?["\'])[^"\']+'), r'\1' + MASK),
    # user:password@ and token@ in URLs
    ('@', re.compile(r'(?i)\b([a-z][a-z0-9+.-]*://[^/\s@:"\']*:)[^/\s@"\']*@'), r'\1' + MASK + '@'),
    ('@', re.compile(r'(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:"\']+@'), r'\1' + MASK + '@'),
    # PEM blocks (a private key, a client certificate): the whole block, or to the end of a cut-off text
    ('-----begin', re.compile(r'(?is)-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)'), 'PEM ' + MASK),
)


_SCHEME = re.compile(r'^\s*[a-z][a-z0-9+.-]*:[/\\]*', re.IGNORECASE)


def url_has_credentials(url: str) -> bool:
    """True when `url` carries user information (`user:password@host`, `token@host`) in its authority."""
    authority = re.split(r'[/?#\\]', _SCHEME.sub('', url or '', count=1), maxsplit=1)[0]
    return '@' in authority


def url_credentials_problem(name: str, url: str | None, instead: str) -> str | None:
    """The one message for a URL holding credentials (it never repeats the URL), or None when it holds none."""
    if not url or not url_has_credentials(url):
        return None
    return f'{name} holds credentials (user:password@host), which would reach logs and ConfigMaps: {instead}'


def scrub(text: str) -> str:
    """Hide credentials recognised by their shape (no secret needs to be known): headers, form fields, URLs."""
    lower = text.lower()
    for word, pattern, replacement in _SHAPES:
        if word in lower:  # a cheap test first: most log lines hold none of these words
            text = pattern.sub(replacement, text)
    return text


def _any_case_hex(digits: str) -> str:
    return ''.join(f'[{d.upper()}{d.lower()}]' if d.isalpha() else d for d in digits)


def _char_forms(char: str) -> str:
    """A regex for one character of a secret: literal, percent-encoded (any case), `+` for space, JSON-escaped."""
    forms = {re.escape(char), re.escape(json.dumps(char)[1:-1])}
    utf8 = [_any_case_hex(f'{b:02x}') for b in char.encode('utf-8')]
    forms |= {''.join(f'%{h}' for h in utf8), ''.join(f'%25{h}' for h in utf8)}  # encoded once, or twice
    if ord(char) < 0x10000:
        forms.add(r'\\u' + _any_case_hex(f'{ord(char):04x}'))
    if not 0x20 <= ord(char) <= 0x7E:  # Python reprs of bytes (UTF-8 or Latin-1) and of unprintable characters
        forms.add(''.join(r'\\x' + h for h in utf8))
        if ord(char) < 0x100:
            forms.add(r'\\x' + _any_case_hex(f'{ord(char):02x}'))
    if char == ' ':
        forms |= {r'\+', '%2[Bb]'}  # quote_plus, and quote_plus encoded once more
    if char == '/':
        forms.add(r'\\/')
    return '(?:' + '|'.join(sorted(forms, key=len, reverse=True)) + ')'


def _base64_forms(data: bytes) -> set[str]:
    """Base64 texts that reveal `data`: whole (both alphabets, padded or not) and the fragment at each offset."""
    forms: set[str] = set()
    whole = base64.b64encode(data).decode()
    forms.update({whole, whole.rstrip('=')})
    for offset in range(3):  # inside a longer base64 text, `data` starts at bit 0, 8 or 16 of a 24-bit group
        encoded = base64.b64encode(b'\0' * offset + data).decode()
        first = -(-8 * offset // 6)  # first character made of `data` bits only
        last = 8 * (offset + len(data)) // 6  # one past the last such character
        fragment = encoded[first:last]
        if len(fragment) >= MIN_BASE64:
            forms.add(fragment)
    return forms | {f.replace('+', '-').replace('/', '_') for f in forms}


def _encodings(text: str) -> set[bytes]:
    """UTF-8, and Latin-1 where it differs: requests encodes basic-auth credentials as Latin-1."""
    out = {text.encode('utf-8')}
    with contextlib.suppress(UnicodeEncodeError):
        out.add(text.encode('latin-1'))
    return out


class Redactor:
    """Replaces known secrets, in every encoding listed in the module docstring, and credential shapes by `***`."""

    def __init__(self, *secrets: str | Secret | None, user: str | None = None, shared: bool = True) -> None:
        self._secrets: set[str] = set()
        self._literals: set[str] = set()  # base64 forms
        self._pattern: re.Pattern[str] | None = None
        # Re-entrant: compiling the pattern can run the garbage collector, whose finalizers may log (an unclosed
        # aiohttp session does), and logging redacts with this same redactor on this same thread.
        self._lock = threading.RLock()
        self._shared = shared
        for secret in secrets:
            self.add(secret, user=user)

    def add(self, secret: str | Secret | None, *, user: str | None = None) -> None:
        """Know `secret`; with `user`, also the base64 of `user:secret` (an HTTP basic-auth header)."""
        value = (secret.reveal() if isinstance(secret, Secret) else secret) or ''
        if not value and not user:  # an empty password with a user is still `user:` in basic auth (Segment)
            return
        if self._shared and self is not _KNOWN:
            _KNOWN.add(value, user=user)
        forms = {f for data in _encodings(f'{user}:{value}') for f in _base64_forms(data)} if user else set()
        with self._lock:
            if len(value) >= MIN_LENGTH and value not in self._secrets:
                self._secrets.add(value)
                forms |= {f for data in _encodings(value) for f in _base64_forms(data)}
                self._pattern = None
            if not forms <= self._literals:
                self._literals |= forms
                self._pattern = None

    def add_api_key(self, key: str | Secret | None) -> None:
        """An Elasticsearch API key is base64 of `id:key`: the key and its decoded parts are secrets too."""
        value = key.reveal() if isinstance(key, Secret) else key
        self.add(value)
        try:
            decoded = base64.b64decode(value or '', validate=True).decode('utf-8')
        except (binascii.Error, ValueError):
            return
        if ':' in decoded:
            ident, _, api_key = decoded.partition(':')
            self.add(api_key, user=ident)

    def forget_all(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._literals.clear()
            self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and (self._secrets or self._literals):
                literals = [re.escape(f) for f in sorted(self._literals, key=len, reverse=True)]
                secrets = [''.join(map(_char_forms, s)) for s in sorted(self._secrets, key=len, reverse=True)]
                # a lookahead on the possible first characters lets most positions fail at once (6x faster)
                first = {f[0] for f in self._literals} | {s[0] for s in self._secrets} | {'%', '\\', '+'}
                alternatives = '|'.join(secrets + literals)  # secrets first: a base64 secret whole, padding too
                self._pattern = re.compile(f'(?=[{re.escape("".join(sorted(first)))}])(?:{alternatives})')
            return self._pattern

    def __call__(self, text: str) -> str:
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(MASK, text)
            text = self._cut_ends(text)
        return scrub(text)

    def _cut_ends(self, text: str) -> str:
        """A secret cut by someone else's truncation: its prefix at the very end, its suffix at the very start."""
        with self._lock:
            secrets = list(self._secrets)
        for secret in secrets:
            body = text.rstrip('.… \n')
            if body[-MIN_PARTIAL:] in secret:  # else no prefix of MIN_PARTIAL or more characters can end the text
                for size in range(len(secret) - 1, MIN_PARTIAL - 1, -1):
                    if body.endswith(secret[:size]):
                        text = body[:-size] + MASK + text[len(body) :]
                        break
            if text[:MIN_PARTIAL] in secret:
                for size in range(len(secret) - 1, MIN_PARTIAL - 1, -1):
                    if text.startswith(secret[-size:]):
                        text = MASK + text[size:]
                        break
        return text

    def excerpt(self, text: str, limit: int) -> str:
        """`text` redacted, then shortened to `limit` characters (with `…`): a cut never leaves part of a secret."""
        return shorten(self(text), limit)


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters plus `…`, without a mask cut in two (a lone `*` would look like data)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if cut.endswith('*') and text[limit] == '*':
        cut = cut.rstrip('*')
    return cut + '…'


_KNOWN = Redactor(shared=False)


def register(*secrets: str | Secret | None, user: str | None = None) -> None:
    """Add secrets to the process-wide redactor (logs, run summary, termination message)."""
    for secret in secrets:
        _KNOWN.add(secret, user=user)


def forget_all() -> None:
    """Empty the process-wide redactor (tests)."""
    _KNOWN.forget_all()


def redact(text: str) -> str:
    """`text` with every registered secret and every credential shape replaced by `***`."""
    return _KNOWN(text)


def redact_tree(value: Any) -> Any:
    """A JSON-like value with every string redacted (the run summary before it is shortened)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """A handler filter that redacts the formatted message and exception text of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, '_redacted', False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what logging would show, redacted
        message = f'{record.msg} {record.args}'
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._redacted = True
    return record


_installed = False


def install_log_redaction(handlers: Iterable[logging.Handler] = ()) -> None:
    """Every log record of the process is redacted when created (whatever handler prints it, even logging's
    last resort), `handlers` get a `RedactingFilter` too, and the chatty third-party loggers are capped."""
    global _installed
    if not _installed:
        factory = logging.getLogRecordFactory()

        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(factory(*args, **kwargs))

        logging.setLogRecordFactory(redacting_factory)
        _installed = True
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
