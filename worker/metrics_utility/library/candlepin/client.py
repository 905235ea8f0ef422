"""A Candlepin API client for the four calls that manage a consumer identity.

The contract (Candlepin's REST API, as subscription-manager uses it):
- `GET /users/{user}/owners` (basic auth): the organizations the user may register in, `[{"key": …}, …]`;
- `POST /consumers?owner={org}` (basic auth), body `{"name", "type": {"label": "system"}, "facts"}`: the new
  consumer, `{"uuid", "idCert": {"cert", "key"}}`;
- `PUT /consumers/{uuid}` (the consumer's certificate over mutual TLS): the check-in;
- `POST /consumers/{uuid}` (same): regenerates the identity certificate and answers the consumer with the new
  `idCert`.

Why this shape: every call goes through `HTTPClient` (proxy, CA bundle, retries of transient failures), answers are
read up to `MAX_ANSWER_BYTES` only, and every message passes the redactor that knows the password, so a server that
echoes it (in any encoding) cannot put it in our output. Certificates and keys never appear in a message.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import requests

from metrics_utility.library.errors import MetricsUtilityError
from metrics_utility.library.secret import Redactor, Secret
from metrics_utility.library.storage.base import StorageError
from metrics_utility.library.storage.http import HTTPClient, RetryPolicy

from .store import Identity, valid_uuid

MAX_ANSWER_BYTES = 1 << 20  # a consumer with its certificate is a few kilobytes
MESSAGE_CHARS = 200  # of a server's own message quoted in ours
CA_SETTING = 'METRICS_UTILITY_CANDLEPIN_CA'  # named when the server's certificate is not trusted


class CandlepinError(MetricsUtilityError):
    """A Candlepin call failed; the message says which and why (never a password, key or certificate)."""


class CandlepinClient:
    def __init__(
        self,
        url: str,
        *,
        ca_bundle: str | None = None,
        proxy_url: str | None = None,
        retry: RetryPolicy | None = None,
        redact: Redactor | None = None,
        ca_setting: str = CA_SETTING,
    ) -> None:
        self.url = url.rstrip('/')
        self.redact = redact or Redactor()
        try:
            self.http = HTTPClient(
                proxy_url=proxy_url, verify_cert_path=ca_bundle, retry=retry, redact=self.redact, ca_setting=ca_setting
            )
        except StorageError as exc:
            raise CandlepinError(exc.message) from None

    def owners(self, username: str, password: Secret) -> list[str]:
        """The keys of the organizations `username` may register consumers in."""
        self.redact.add(password, user=username)
        what = f'listing the organizations of {username} at {self.url}'
        answer = self._call('GET', f'/users/{quote(username, safe="")}/owners', what, auth=(username, password))
        if not isinstance(answer, list) or not all(
            isinstance(o, dict) and isinstance(o.get('key'), str) for o in answer
        ):
            raise CandlepinError(f'{what}: the answer is not a list of organizations with a "key"')
        return [o['key'] for o in answer]

    def register(self, org: str, username: str, password: Secret, name: str) -> Identity:
        """Register a new consumer named `name` in `org`."""
        self.redact.add(password, user=username)
        what = f'registering a consumer in organization {org!r} at {self.url}'
        body = {'name': name, 'type': {'label': 'system'}, 'facts': {'system.certificate_version': '3.2'}}
        answer = self._call(
            'POST', f'/consumers?owner={quote(org, safe="")}', what, auth=(username, password), json=body, org=org
        )
        return _identity(answer, what)

    def checkin(self, uuid: str, cert: tuple[str, str]) -> None:
        """Tell Candlepin the consumer is alive (authenticated by its own certificate)."""
        self._call('PUT', f'/consumers/{quote(uuid, safe="")}', f'checking in consumer {uuid}', cert=cert, json={})

    def regenerate(self, uuid: str, cert: tuple[str, str]) -> Identity:
        """A new identity certificate for the consumer (the old one stops being valid)."""
        what = f'regenerating the certificate of consumer {uuid}'
        identity = _identity(self._call('POST', f'/consumers/{quote(uuid, safe="")}', what, cert=cert), what)
        if identity.uuid != uuid:
            raise CandlepinError(f'{what}: the answer is for another consumer ({identity.uuid})')
        return identity

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        auth: tuple[str, Secret] | None = None,
        cert: tuple[str, str] | None = None,
        json: Any = None,
        org: str | None = None,
    ) -> Any:
        self.http.client_cert = cert
        kwargs: dict[str, Any] = {'stream': True, 'headers': {'Accept': 'application/json'}}
        if auth:
            kwargs['auth'] = (auth[0], auth[1].reveal())
        if json is not None:
            kwargs['json'] = json
        try:
            response = self.http.request(method, self.url + path, what=what, **kwargs)
        except StorageError as exc:
            raise CandlepinError(self.redact(exc.message)) from None
        with response:
            try:
                body = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
            except (requests.RequestException, OSError, ValueError) as exc:
                raise CandlepinError(self.redact(f'{what} failed: the answer was cut ({type(exc).__name__})')) from None
            status = response.status_code
        if status >= 400:
            raise CandlepinError(self.redact(_refusal(what, status, body, auth, org)))
        if len(body) > MAX_ANSWER_BYTES:
            raise CandlepinError(f'{what}: the answer is larger than {MAX_ANSWER_BYTES} bytes; not a Candlepin answer')
        if method == 'PUT':
            return None
        try:
            return _json_loads(body)
        except ValueError:
            raise CandlepinError(
                f'{what}: the answer (HTTP {status}) is not JSON; is the URL a Candlepin API?'
            ) from None


def _json_loads(body: bytes) -> Any:
    return json.loads(body.decode('utf-8'))


def _refusal(what: str, status: int, body: bytes, auth: tuple[str, Secret] | None, org: str | None) -> str:
    said = _server_message(body)
    if status == 401 and auth:
        return f'{what} failed: Candlepin refused the username or password of {auth[0]} (HTTP 401){said}'
    if status in (401, 403) and not auth:
        return f'{what} failed: Candlepin refused the consumer certificate (HTTP {status}){said}; register again'
    if status == 410:
        return f'{what} failed: the consumer was deleted in Candlepin (HTTP 410); register again'
    if org is not None and status in (400, 403, 404):
        return f'{what} failed: no organization {org!r} this user may register in (HTTP {status}){said}'
    return f'{what} failed: HTTP {status}{said}'


def _server_message(body: bytes) -> str:
    """Candlepin's own `displayMessage`, cut (the caller redacts the whole message)."""
    try:
        message = _json_loads(body[:MAX_ANSWER_BYTES]).get('displayMessage')
    except (ValueError, AttributeError):
        return ''
    if not isinstance(message, str) or not message.strip():
        return ''
    text = ' '.join(message.split())
    return f': {text[:MESSAGE_CHARS]}' + ('…' if len(text) > MESSAGE_CHARS else '')


def _identity(answer: Any, what: str) -> Identity:
    cert = answer.get('idCert') if isinstance(answer, dict) else None
    fields = {
        'uuid': answer.get('uuid') if isinstance(answer, dict) else None,
        'idCert.cert': cert.get('cert') if isinstance(cert, dict) else None,
        'idCert.key': cert.get('key') if isinstance(cert, dict) else None,
    }
    missing = [name for name, value in fields.items() if not isinstance(value, str) or not value.strip()]
    if missing:
        raise CandlepinError(f'{what}: the answer lacks {", ".join(missing)}')
    if not valid_uuid(fields['uuid']):
        raise CandlepinError(f'{what}: the answer holds no valid consumer uuid')
    if '-----BEGIN CERTIFICATE-----' not in fields['idCert.cert'] or 'PRIVATE KEY-----' not in fields['idCert.key']:
        raise CandlepinError(f'{what}: the answer holds no PEM certificate and key')
    if not (fields['idCert.cert'].isascii() and fields['idCert.key'].isascii()):
        raise CandlepinError(f'{what}: the answer holds no PEM certificate and key')
    return Identity(uuid=fields['uuid'], cert_pem=fields['idCert.cert'], key_pem=fields['idCert.key'])
