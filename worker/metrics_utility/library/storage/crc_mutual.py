"""console.redhat.com upload authenticated by a client certificate (mutual TLS)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .base import StorageError
from .http import DEFAULT_TIMEOUT, HTTPClient, RetryPolicy, Timeout, require_https
from .ingress import BILLING_CONTENT_TYPE, IngressStorage

# Where RHSM keeps the consumer certificate of a registered RHEL host (metrics-utility's default).
RHSM_CONSUMER_CERT = ('/etc/pki/consumer/cert.pem', '/etc/pki/consumer/key.pem')


class StorageCRCMutual(IngressStorage):
    """Put-only: uploads tarballs over TLS with a client certificate (Candlepin/RHSM consumer certificate).

    Use the `cert.` ingress host (`DEFAULT_CERT_INGRESS_URL`); the URL is taken as given, never rewritten.
    `session_cert` is `(cert_path, key_path)` or one PEM file holding both. The files are checked when the target is
    built, so a missing certificate is reported before any data is gathered. A server that rejects the certificate
    ends the upload at once with a message saying so (a TLS rejection does not heal by retrying).
    """

    def __init__(
        self,
        ingress_url: str,
        proxy_url: str | None = None,
        session_cert: str | tuple[str, str] = RHSM_CONSUMER_CERT,
        verify_cert_path: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        *,
        content_type: str = BILLING_CONTENT_TYPE,
        retry: RetryPolicy | None = None,
    ) -> None:
        require_https(ingress_url, 'ingress_url')
        if urlsplit(ingress_url).scheme != 'https':
            raise StorageError(f'ingress_url {ingress_url!r} must use https:// for a client certificate')
        paths = (session_cert,) if isinstance(session_cert, str | Path) else tuple(session_cert)
        if len(paths) not in (1, 2):
            raise StorageError('session_cert must be (cert_path, key_path) or one PEM file with both')
        for path in paths:
            if not Path(path).is_file():
                raise StorageError(f'client certificate file {path} does not exist or is not a file (session_cert)')
        cert = str(paths[0]) if len(paths) == 1 else (str(paths[0]), str(paths[1]))
        client = HTTPClient(
            proxy_url=proxy_url, verify_cert_path=verify_cert_path, client_cert=cert, timeout=timeout, retry=retry
        )
        super().__init__(ingress_url, client, content_type)
        self.session_cert = cert

    def describe(self) -> str:
        cert = self.session_cert if isinstance(self.session_cert, str) else self.session_cert[0]
        return (
            f'console.redhat.com ingress {self.ingress_url} (client certificate {cert}{self.client.describe_proxy()})'
        )

    def _credentials_hint(self) -> str:
        return 'the client certificate is not accepted: check that it is current and that its consumer is registered'
