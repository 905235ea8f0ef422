"""OAuth2 client-credentials access tokens from Red Hat SSO, cached until shortly before they expire.

metrics-utility fetched a new token for every upload and without the proxy; here the token call goes through the
same HTTPClient as the upload (proxy, CA bundle, retries), and the token is reused while it is valid.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import requests

from .base import StorageError
from .http import HTTPClient, excerpt

log = logging.getLogger(__name__)

DEFAULT_SSO_URL = 'https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token'

# When SSO does not say how long a token lives, assume the shortest common lifetime (Keycloak's default).
_DEFAULT_LIFETIME = 300.0


class ServiceAccountToken:
    """The bearer token of one service account.

    `get()` returns the cached token while it has more than a safety margin left (10% of its lifetime, at most
    60 s), so an upload never starts with a token about to expire. `invalidate()` forgets it (after a 401).
    `clock` is a monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        client: HTTPClient,
        *,
        sso_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.sso_url = sso_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()
        client.redact.add(client_secret, user=client_id)  # also as HTTP basic auth (client_secret_basic)

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token, lifetime = self._fetch()
                self._refresh_at = self._clock() + lifetime - min(60.0, lifetime * 0.1)
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {'grant_type': 'client_credentials', 'client_id': self.client_id, 'client_secret': self._client_secret}
        if self._scope:
            form['scope'] = self._scope
        what = f'access token request to SSO {self.sso_url}'
        response = self._client.request(
            'POST', self.sso_url, what=what, data=form, headers={'Accept': 'application/json'}
        )
        redact = self._client.redact
        with response:
            if response.status_code in (400, 401, 403):
                detail = _oauth_error(response) or excerpt(response, redact)
                status = f'HTTP {response.status_code}' + (f': {detail}' if detail else '')
                raise StorageError(
                    redact(
                        f'SSO {self.sso_url} rejected the service account credentials of client_id {self.client_id!r} '
                        f'({status}); check the client id and secret'
                    )
                )
            if response.status_code != 200:
                raise StorageError(
                    redact(f'{what} failed: HTTP {response.status_code} {excerpt(response, redact)}'.rstrip())
                )
            try:
                body = response.json()
                token = body['access_token']
                if not isinstance(token, str) or not token:
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                raise StorageError(
                    f'{what} failed: the answer has no access_token (is this a token endpoint?)'
                ) from None
        redact.add(token)
        try:
            lifetime = float(body.get('expires_in') or _DEFAULT_LIFETIME)
        except (TypeError, ValueError):
            lifetime = _DEFAULT_LIFETIME
        log.debug('got an access token from %s for client_id %s, valid %.0f s', self.sso_url, self.client_id, lifetime)
        return token, max(lifetime, 1.0)


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ''
    if not isinstance(body, dict):
        return ''
    return ': '.join(str(body[k]) for k in ('error', 'error_description') if body.get(k))
