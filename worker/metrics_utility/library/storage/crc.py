"""console.redhat.com upload with a service account (OAuth2 client credentials from Red Hat SSO)."""

from __future__ import annotations

import time
from collections.abc import Callable

from .base import StorageError
from .http import DEFAULT_TIMEOUT, HTTPClient, Redactor, RetryPolicy, Timeout, require_https
from .ingress import BILLING_CONTENT_TYPE, DEFAULT_INGRESS_URL, IngressStorage
from .sso import DEFAULT_SSO_URL, ServiceAccountToken


class StorageCRC(IngressStorage):
    """Put-only: uploads tarballs to the ingress service with a bearer token of a service account.

    The token is cached until shortly before it expires and renewed once when ingress answers 401. The proxy and the
    CA bundle apply to the SSO token call as well as to the upload (metrics-utility sent the token call direct).
    Transient failures (5xx, connection errors) of either call are retried with exponential backoff.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        ingress_url: str = DEFAULT_INGRESS_URL,
        proxy_url: str | None = None,
        sso_url: str = DEFAULT_SSO_URL,
        verify_cert_path: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        *,
        scope: str | None = None,
        content_type: str = BILLING_CONTENT_TYPE,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id:
            raise StorageError(
                'StorageCRC needs client_id (the service account id, METRICS_UTILITY_SERVICE_ACCOUNT_ID)'
            )
        if not client_secret:
            raise StorageError(
                'StorageCRC needs client_secret (the service account secret, METRICS_UTILITY_SERVICE_ACCOUNT_SECRET)'
            )
        require_https(ingress_url, 'ingress_url')
        require_https(sso_url, 'sso_url')
        redact = Redactor(client_secret)
        client = HTTPClient(
            proxy_url=proxy_url, verify_cert_path=verify_cert_path, timeout=timeout, retry=retry, redact=redact
        )
        super().__init__(ingress_url, client, content_type)
        self.client_id = client_id
        self.sso_url = sso_url
        self.token = ServiceAccountToken(
            client, sso_url=sso_url, client_id=client_id, client_secret=client_secret, scope=scope, clock=clock
        )

    def describe(self) -> str:
        via = self.client.describe_proxy()
        return f'console.redhat.com ingress {self.ingress_url} (service account {self.client_id}{via})'

    def _auth_headers(self) -> dict[str, str]:
        return {'Authorization': f'Bearer {self.token.get()}'}

    def _renew_credentials(self) -> bool:
        self.token.invalidate()
        return True

    def _credentials_hint(self) -> str:
        return (
            f'the token from {self.sso_url} for service account {self.client_id} is not accepted: check that the '
            'service account belongs to the right organisation and has the permission to upload'
        )
