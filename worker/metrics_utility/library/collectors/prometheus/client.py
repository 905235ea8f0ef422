"""A minimal Prometheus HTTP API client for collectors: instant and range queries, bearer token, CA bundle.

It is small on purpose: two endpoints (`/api/v1/query`, `/api/v1/query_range`), one error hierarchy whose messages
say what to check, and no secret ever in a message, log line or repr. The token is wrapped in `Secret` as soon as
it enters the library and is only revealed when the `Authorization` header is built.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from metrics_utility.library.secret import Redactor, Secret, shorten

from ..base import CollectorError, CollectorParameterError

__all__ = [
    'PrometheusAuthError',
    'PrometheusClient',
    'PrometheusConnectionError',
    'PrometheusError',
    'PrometheusHTTPError',
    'PrometheusResponseError',
    'PrometheusTLSError',
    'Secret',
    'check_url',
    'safe_url',
]

logger = logging.getLogger(__name__)

# RFC 6750 b64token plus what JWTs and opaque tokens use; anything else (spaces, newlines) would break or inject
# into the header, and requests would echo the whole header value in its error message.
_TOKEN_CHARS = re.compile(r'[A-Za-z0-9\-._~+/=]+')


class PrometheusError(CollectorError):
    """Prometheus could not answer a query. `url` never carries credentials."""

    def __init__(self, message: str, *, url: str, query: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.query = query


class PrometheusConnectionError(PrometheusError):
    """No HTTP answer: connection refused, DNS failure, timeout."""


class PrometheusTLSError(PrometheusConnectionError):
    """The TLS handshake failed, usually because the server certificate is not trusted by the CA bundle."""


class PrometheusAuthError(PrometheusError):
    """HTTP 401/403: the token is missing, wrong, expired, or lacks permission."""

    def __init__(self, message: str, *, url: str, query: str | None = None, status: int) -> None:
        super().__init__(message, url=url, query=query)
        self.status = status


class PrometheusHTTPError(PrometheusError):
    """Any other non-200 HTTP status (bad query, overloaded or broken server, proxy without upstream)."""

    def __init__(self, message: str, *, url: str, query: str | None = None, status: int) -> None:
        super().__init__(message, url=url, query=query)
        self.status = status


class PrometheusResponseError(PrometheusError):
    """HTTP 200 but not a successful Prometheus API answer of the expected shape."""


def check_url(url: object, *, field: str = 'prometheus_url') -> str:
    """Return `url` without a trailing slash, or raise `CollectorParameterError` saying what is wrong.

    Credentials inside the URL are refused: they would end up in logs and error messages; use the token options.
    The message never repeats a URL that might contain them.
    """
    if not isinstance(url, str) or not url.strip():
        raise CollectorParameterError(f'{field} must be a non-empty URL such as https://prometheus.example:9091')
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise CollectorParameterError(f'{field} is not a valid URL ({exc})') from None
    if parts.username is not None or parts.password is not None:
        raise CollectorParameterError(
            f'{field} must not contain credentials (user:password@); pass bearer_token or bearer_token_file instead'
        )
    if parts.scheme not in ('http', 'https'):
        raise CollectorParameterError(f'{field} must start with http:// or https://, got scheme {parts.scheme!r}')
    if not parts.hostname:
        raise CollectorParameterError(f'{field} has no host name')
    if parts.query or parts.fragment:
        raise CollectorParameterError(f'{field} must not have a query string or fragment (the value is not shown)')
    del port  # parsed only to validate it
    return url.strip().rstrip('/')


def safe_url(url: str) -> str:
    """`scheme://host[:port]/path` of `url`: what messages and logs may show."""
    parts = urlsplit(url)
    host = parts.hostname or ''
    if ':' in host:
        host = f'[{host}]'
    port = f':{parts.port}' if parts.port else ''
    return f'{parts.scheme}://{host}{port}{parts.path}'


class _BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header; passing an explicit auth also stops requests from reading ~/.netrc."""

    def __init__(self, token: Secret | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is not None:
            request.headers['Authorization'] = f'Bearer {self._token.reveal()}'
        return request

    def __repr__(self) -> str:
        return '<BearerAuth ***>' if self._token is not None else '<BearerAuth none>'


def read_token_file(path: Path) -> Secret:
    """Read a token file now (service-account tokens rotate, so read it per run, not once per process)."""
    try:
        value = path.read_text(encoding='utf-8').strip()
    except OSError as exc:
        raise CollectorError(f'cannot read bearer_token_file {str(path)!r}: {exc.strerror or exc}') from None
    except UnicodeDecodeError:
        raise CollectorError(f'bearer_token_file {str(path)!r} is not UTF-8 text') from None
    return check_token(value, field=f'bearer_token_file {str(path)!r}')


def check_token(value: str, *, field: str = 'bearer_token') -> Secret:
    """Validate a token's characters without ever repeating it."""
    if not value:
        raise CollectorParameterError(f'{field} is empty')
    if not _TOKEN_CHARS.fullmatch(value):
        raise CollectorParameterError(
            f'{field} contains whitespace or characters not allowed in a bearer token '
            '(letters, digits and -._~+/= only); the value is not shown'
        )
    return Secret(value)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Every exception reachable from `exc` through args, `.reason`, `__cause__` and `__context__` (urllib3 nests)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, 'reason', None), *current.args]
        stack.extend(item for item in linked if isinstance(item, BaseException))


def _tls_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or cause.reason or 'certificate verify failed'
        if isinstance(cause, ssl.SSLError):
            return cause.reason or cause.__class__.__name__
    return 'TLS handshake failed'


def _connection_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return 'connection refused'
        if isinstance(cause, OSError) and cause.strerror and not isinstance(cause, ssl.SSLError):
            return cause.strerror
    return 'could not connect'


@dataclass(frozen=True, repr=False)
class PrometheusClient:
    """Queries one Prometheus (or Thanos querier) HTTP API. Build it per run; it holds a revealed-on-use token."""

    url: str
    token: Secret | None = None
    ca_bundle: Path | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f'<PrometheusClient {safe_url(self.url)} token={"***" if self.token else None}>'

    def query(self, promql: str, *, time: float) -> list[dict[str, Any]]:
        """Instant query at `time` (Unix seconds); returns the `result` list (a vector)."""
        return self._get('/api/v1/query', promql, {'time': _ts(time)}, 'vector')

    def query_range(self, promql: str, *, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """Range query evaluated at start, start+step, … ≤ end; returns the `result` list (a matrix)."""
        params = {'start': _ts(start), 'end': _ts(end), 'step': _ts(step)}
        return self._get('/api/v1/query_range', promql, params, 'matrix')

    def _get(self, path: str, promql: str, params: dict[str, str], result_type: str) -> list[dict[str, Any]]:
        shown = safe_url(self.url)
        where = f'Prometheus at {shown}'
        verify: bool | str = str(self.ca_bundle) if self.ca_bundle is not None else True
        try:
            response = requests.get(
                f'{self.url}{path}',
                params={'query': promql, **params},
                auth=_BearerAuth(self.token),
                verify=verify,
                timeout=self.timeout,
                headers={'Accept': 'application/json'},
            )
        except requests.exceptions.RequestException as exc:
            error, message = self._failure(exc, where)
            raise error(message, url=shown, query=promql) from exc
        return self._parse(response, where, shown, promql, result_type)

    def _failure(self, exc: requests.exceptions.RequestException, where: str) -> tuple[type[PrometheusError], str]:
        """The error class and message for a request that got no answer (TLS, timeout, connection, other)."""
        if isinstance(exc, requests.exceptions.SSLError):
            ca = f'the CA bundle {str(self.ca_bundle)!r}' if self.ca_bundle else 'the system CA store'
            return PrometheusTLSError, (
                f'TLS verification of {where} failed ({_tls_reason(exc)}): the server certificate is not trusted by '
                f'{ca}. Set METRICS_UTILITY_PROMETHEUS_CA (or METRICS_UTILITY_CA_BUNDLE) to the CA that signed the '
                'server certificate (on OpenShift the service CA, service-ca.crt) and check that the host name '
                'matches the certificate.'
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return PrometheusConnectionError, (
                f'{where} did not answer within {self.timeout:g} s; check the URL and network policies, '
                'or raise timeout'
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return PrometheusConnectionError, (
                f'cannot reach {where} ({_connection_reason(exc)}); check prometheus_url, DNS, the port and that '
                'Prometheus is running'
            )
        return PrometheusConnectionError, f'request to {where} failed ({exc.__class__.__name__})'

    def _parse(
        self, response: requests.Response, where: str, shown: str, promql: str, result_type: str
    ) -> list[dict[str, Any]]:
        status = response.status_code
        if status in (401, 403):
            token = 'no bearer token was sent' if self.token is None else 'the bearer token was rejected'
            advice = (
                'check bearer_token / bearer_token_file holds a valid, unexpired token'
                if status == 401
                else 'the token is valid but lacks permission: grant its service account read access to metrics '
                '(on OpenShift the cluster-monitoring-view role)'
            )
            raise PrometheusAuthError(
                f'{where} answered HTTP {status} {response.reason} ({token}); {advice}',
                url=shown,
                query=promql,
                status=status,
            )
        body = self._json(response)
        if status != 200:
            detail = body.get('error') if isinstance(body, dict) else None
            text = shorten(self._redact(str(detail) if detail else response.text.strip()), 200)
            raise PrometheusHTTPError(
                f'{where} answered HTTP {status} {response.reason} to query {promql!r}: {text or "(no body)"}',
                url=shown,
                query=promql,
                status=status,
            )
        if not isinstance(body, dict):
            raise PrometheusResponseError(
                f'{where} answered HTTP 200 but not with JSON; is prometheus_url the Prometheus API base URL?',
                url=shown,
                query=promql,
            )
        if body.get('status') != 'success':
            raise PrometheusResponseError(
                f'{where} reported {body.get("errorType", "an error")} for query {promql!r}: '
                f'{self._redact(str(body.get("error", "no detail")))}',
                url=shown,
                query=promql,
            )
        for warning in body.get('warnings') or []:
            logger.warning('%s warned about query %r: %s', where, promql, self._redact(str(warning)))
        data = body.get('data')
        if (
            not isinstance(data, dict)
            or data.get('resultType') != result_type
            or not isinstance(data.get('result'), list)
        ):
            raise PrometheusResponseError(
                f'{where} answered query {promql!r} with an unexpected shape (expected a {result_type})',
                url=shown,
                query=promql,
            )
        return data['result']

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _redact(self, text: str) -> str:
        """Belt and braces: a misbehaving proxy could echo the Authorization header back (in any encoding)."""
        return Redactor(self.token)(text)


def _ts(value: float) -> str:
    """Unix seconds with millisecond precision, the resolution Prometheus stores."""
    return f'{value:.3f}'
