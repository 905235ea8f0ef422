"""HTTP plumbing shared by the upload targets: one configured session, bounded retries with backoff, clear errors.

console.redhat.com and Segment need the same things metrics-utility lacked: the proxy honoured for every call (the
SSO token call too), a CA bundle, timeouts that are really applied, retries of transient failures with backoff, and
error messages that say what to fix without ever containing a secret.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

from metrics_utility.library.secret import Redactor

from .base import StorageError

log = logging.getLogger(__name__)

Timeout = float | tuple[float, float]

# metrics-utility used (31 s connect, 31 s read) for console.redhat.com; keep it (and actually apply it).
DEFAULT_TIMEOUT: tuple[float, float] = (31.0, 31.0)

# Named in TLS failures: the variable that makes a private CA trusted by every client (docs/settings.md).
CA_SETTING = 'METRICS_UTILITY_CA_BUNDLE'

# Statuses worth another attempt: the server (or a gateway) says "not now", not "never".
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# TLS alerts a server sends when it does not accept our client certificate.
_CLIENT_CERT_ALERTS = (
    'CERTIFICATE_REQUIRED',
    'UNKNOWN_CA',
    'BAD_CERTIFICATE',
    'CERTIFICATE_UNKNOWN',
    'CERTIFICATE_EXPIRED',
    'CERTIFICATE_REVOKED',
    'ACCESS_DENIED',
    'HANDSHAKE_FAILURE',
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient failures (5xx, 408/429, connection errors, timeouts).

    The delay before retry n (1-based) is `base_delay * 2**(n-1)`, capped at `max_delay`, with "equal jitter"
    (between half and all of it) so that many workers failing together do not come back in lock-step. A server's
    `Retry-After` wins when it is shorter than `max_delay`. `sleep` and `random` are injectable for tests.
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f'RetryPolicy.attempts must be at least 1, got {self.attempts}')
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError('RetryPolicy delays must not be negative')

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_delay))
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return ceiling * (0.5 + 0.5 * self.random())


class CertificateRefused(StorageError):
    """The server refused our client certificate in the TLS handshake (a caller may fall back to other credentials)."""


def redact_url(url: str) -> str:
    """The URL without a password (proxy URLs may carry `user:password@`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ''
    if ':' in host:
        host = f'[{host}]'
    netloc = f'{parts.username}:***@{host}' + (f':{parts.port}' if parts.port else '')
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https(url: str, what: str) -> str:
    """Refuse URLs that would send credentials in clear text (plain HTTP is allowed to loopback only)."""
    parts = urlsplit(url or '')
    if parts.scheme not in ('https', 'http') or not parts.hostname:
        raise StorageError(f'{what} {url!r} is not a valid URL: expected https://host/path')
    if parts.scheme == 'http' and not is_loopback(parts.hostname):
        raise StorageError(f'{what} {url!r} must use https:// (credentials are sent to it)')
    return url


def describe_failure(exc: BaseException) -> str:
    """A short reason for a requests/urllib3 failure: the innermost cause, not three nested reprs."""
    seen: set[int] = set()
    current: BaseException | None = exc
    innermost = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        innermost = current
        reason = getattr(current, 'reason', None)
        arg = next((a for a in getattr(current, 'args', ()) if isinstance(a, BaseException)), None)
        current = (reason if isinstance(reason, BaseException) else None) or arg or current.__cause__
    if isinstance(innermost, ssl.SSLError) and innermost.reason:
        return f'{innermost.reason} ({innermost.strerror or innermost})'.replace('_', ' ').lower()
    if isinstance(innermost, OSError) and innermost.strerror:
        return innermost.strerror
    text = str(innermost).strip()
    # urllib3 prefixes some messages with a connection object's repr; drop it.
    if text.startswith('<') and '>: ' in text:
        text = text.split('>: ', 1)[1]
    return text or type(innermost).__name__


def _client_cert_rejected(exc: BaseException) -> bool:
    return any(alert in str(exc).upper().replace(' ', '_') for alert in _CLIENT_CERT_ALERTS)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get('Retry-After')
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:  # the other allowed form is an HTTP date
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (when - datetime.now(UTC)).total_seconds() if when.tzinfo else None


class HTTPClient:
    """A requests.Session bound to one proxy / CA bundle / client certificate, with the retry loop.

    An explicit `proxy_url` is passed per request so it wins over `HTTP(S)_PROXY`/`NO_PROXY`; without one, requests
    honours those variables as usual. `verify_cert_path` None means the default bundle (certifi or
    `REQUESTS_CA_BUNDLE`).
    """

    def __init__(
        self,
        *,
        proxy_url: str | None = None,
        verify_cert_path: str | None = None,
        client_cert: str | tuple[str, str] | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        redact: Redactor | None = None,
        ca_setting: str = CA_SETTING,
    ) -> None:
        self.ca_setting = ca_setting  # named in a certificate verification failure
        if proxy_url:
            parts = urlsplit(proxy_url)
            if parts.scheme not in ('http', 'https', 'socks5', 'socks5h') or not parts.hostname:
                raise StorageError(f'proxy URL {redact_url(proxy_url)!r} is not valid: expected http://host:port')
        self.proxy_url = proxy_url or None
        self.verify: str | bool = verify_cert_path or True
        self.client_cert = client_cert
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.redact = redact or Redactor()
        if proxy_url:
            parts = urlsplit(proxy_url)
            self.redact.add(parts.password, user=parts.username)
            self.redact.add(unquote(parts.password or ''), user=unquote(parts.username or ''))
        self.session = requests.Session()
        self.session.headers['User-Agent'] = user_agent or _user_agent()

    def describe_proxy(self) -> str:
        return f' via proxy {redact_url(self.proxy_url)}' if self.proxy_url else ''

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        fresh: Callable[[], Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries; returns the final response (which may still be a 5xx once attempts run out).

        `what` names the operation for messages ("upload of x.tar.gz to https://…"). `fresh` builds keyword
        arguments anew for every attempt, for bodies that are streams and can be read only once. Connection
        failures that outlast the attempts, and TLS certificate failures (not retried: they do not heal by
        themselves), raise StorageError.
        """
        proxies = {'http': self.proxy_url, 'https': self.proxy_url} if self.proxy_url else None
        attempts = self.retry.attempts
        for attempt in range(1, attempts + 1):
            refused = False
            extra = dict(fresh()) if fresh else {}
            try:
                response = self.session.request(
                    method,
                    url,
                    proxies=proxies,
                    verify=self.verify,
                    cert=self.client_cert,
                    timeout=self.timeout,
                    **kwargs,
                    **extra,
                )
            except requests.exceptions.SSLError as exc:
                if 'EOF' not in str(exc).upper():  # a certificate problem does not heal by retrying
                    error = CertificateRefused if self._ours_refused(exc) else StorageError
                    raise error(self.redact(f'{what} failed: {self._tls_hint(url, exc)}')) from None
                failure = self._tls_hint(url, exc)  # a cut connection may be the network: worth another try
                retry_after = None
                refused = bool(self.client_cert)  # TLS 1.3: a refused certificate may arrive as a cut
            except requests.exceptions.ProxyError as exc:
                via = redact_url(self.proxy_url) if self.proxy_url else 'from HTTPS_PROXY/HTTP_PROXY'
                failure = f'cannot use proxy {via}: {describe_failure(exc)}'
                retry_after = None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                failure = f'cannot reach {_host(url)}{self.describe_proxy()}: {describe_failure(exc)}'
                retry_after = None
            except requests.exceptions.RequestException as exc:  # invalid URL, bad client certificate file, …
                raise StorageError(self.redact(f'{what} failed: {describe_failure(exc)}')) from None
            else:
                if response.status_code not in RETRY_STATUSES or attempt == attempts:
                    return response
                failure = f'HTTP {response.status_code} {response.reason or ""}'.strip()
                retry_after = _retry_after(response)
                response.close()
            if attempt == attempts:
                error = CertificateRefused if refused else StorageError
                raise error(self.redact(f'{what} failed after {attempts} attempts: {failure}'))
            delay = self.retry.delay(attempt, retry_after)
            log.warning(
                '%s',
                self.redact(f'{what}: {failure}; retrying in {delay:.1f} s (attempt {attempt + 1} of {attempts})'),
            )
            self.retry.sleep(delay)
        raise AssertionError('unreachable')  # pragma: no cover

    def _ours_refused(self, exc: BaseException) -> bool:
        return bool(self.client_cert) and _client_cert_rejected(exc)

    def _tls_hint(self, url: str, exc: BaseException) -> str:
        reason = describe_failure(exc)
        host = _host(url)
        if 'CERTIFICATE_VERIFY_FAILED' in str(exc).upper().replace(' ', '_'):
            store = f'the CA bundle {self.verify!r}' if isinstance(self.verify, str) else 'the default CA store'
            return (
                f'cannot verify the TLS certificate of {host} ({reason}): it is not trusted by {store}; set '
                f'{self.ca_setting} to a PEM bundle holding the CA that signed it (a TLS-inspecting proxy needs its '
                'CA too)'
            )
        if _client_cert_rejected(exc) and self.client_cert:
            return f'{host} rejected our client certificate ({reason}); check that it is valid, current and registered'
        if _client_cert_rejected(exc):
            return f'{host} refused the TLS handshake ({reason}); it may require a client certificate'
        if self.client_cert and 'EOF' in str(exc).upper():
            # TLS 1.3 sends the rejection after the client thinks the handshake is done; it may arrive as a cut.
            return (
                f'{host} closed the TLS connection ({reason}); it most likely rejected our client certificate: '
                'check that it is valid, current and registered'
            )
        if 'EOF' in str(exc).upper():
            return f'{host} closed the TLS connection ({reason}); it may require a client certificate'
        return f'TLS with {host} failed: {reason}'


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit('@', 1)[-1] or url


def _user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f'metrics-utility/{version("metrics-utility")}'
    except PackageNotFoundError:  # running from a source tree
        return 'metrics-utility'


def excerpt(response: requests.Response, redact: Redactor, limit: int = 300) -> str:
    """The start of a response body, for an error message (servers often explain a 4xx there)."""
    try:
        text = response.text.strip()
    except (requests.exceptions.RequestException, UnicodeDecodeError):
        return ''
    return redact.excerpt(' '.join(text.split()), limit)  # redact first: a cut must not leave half a secret


FailureKind = Literal['credentials', 'too_large', 'unavailable', 'refused']


@dataclass(frozen=True)
class Failure:
    """An unsuccessful answer, classified the same way for every target's error message."""

    status: int
    kind: FailureKind  # credentials: 401/403; too_large: 413; unavailable: 5xx, 408, 429 (retried); refused: the rest
    detail: str  # ': <start of the body, redacted>', or '' when the body says nothing
    attempts: int  # how many attempts the client makes before it reports an answer 'unavailable'


def failure(response: requests.Response, client: HTTPClient) -> Failure:
    """What went wrong with `response`, once `client` has spent its retries on it."""
    status = response.status_code
    if status in (401, 403):
        kind: FailureKind = 'credentials'
    elif status == 413:
        kind = 'too_large'
    elif status >= 500 or status in (408, 429):
        kind = 'unavailable'
    else:
        kind = 'refused'
    body = excerpt(response, client.redact)
    return Failure(status, kind, f': {body}' if body else '', client.retry.attempts)
