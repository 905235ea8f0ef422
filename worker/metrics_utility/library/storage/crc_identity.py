"""console.redhat.com upload over mutual TLS with an identity held in memory, falling back to a service account.

The identity (a Candlepin consumer certificate and its key, e.g. the controller's own from `conf_setting`) arrives as
PEM text, never as files of ours. The TLS library only loads files, so each upload writes the two PEMs as 0600 files
into a private directory (0700) of the job's temporary directory and removes them when the upload ends.

Uploads go to the ingress URL with the host rewritten to its `cert.` twin (`cert_ingress_url`). When the server
refuses the certificate (TLS handshake refused, or 401/403 to it), or the PEMs cannot be loaded at all, that upload and
every later one of this target go to the configured service account, and `identity_used` says so (the run summary's
`crc` block, with the certificate's subject and expiry, never its content). With no service account, the refusal
is the upload's error: the window is not confirmed and its watermark stays. `NoIdentity` is the target when there is
nothing to authenticate with at all (the controller holds no usable identity and no service account is configured):
every upload fails with that one reason, so the run says why and nothing is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from metrics_utility.library.secret import shorten
from metrics_utility.library.tempdir import job_tempdir

from .base import PayloadKind, PutOnlyStorage, StorageError
from .crc import StorageCRC
from .http import DEFAULT_TIMEOUT, CertificateRefused, HTTPClient, RetryPolicy, Timeout, require_https
from .ingress import BILLING_CONTENT_TYPE, CredentialsRejected, IngressStorage, UploadReceipt, _local_file

log = logging.getLogger(__name__)

CERT_PREFIX = 'cert.'
IdentitySource = Literal['controller', 'managed', 'certificate']
SERVICE_ACCOUNT = 'service-account'


@dataclass(frozen=True)
class ClientIdentity:
    """A client certificate and its private key as PEM text, and where they came from (shown in the summary), with
    the certificate's subject and expiry when known (the summary's `subject` and `not_after`)."""

    cert_pem: str = field(repr=False)
    key_pem: str = field(repr=False)
    source: IdentitySource = 'controller'
    subject: str | None = None
    not_after: datetime | None = None

    def __repr__(self) -> str:  # never the PEMs, even in a traceback's locals
        return f'ClientIdentity(source={self.source!r})'


SUBJECT_MAX = 256  # characters of a subject in the summary (which must stay within 4 KiB)


@dataclass(frozen=True)
class IdentityUsed:
    """Which identity the last accepted upload used, and why the certificate was given up (None: it was not); the
    certificate's subject and expiry when a certificate carried it."""

    identity: str | None
    fallback: str | None = None
    subject: str | None = None
    not_after: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        not_after = self.not_after.isoformat().replace('+00:00', 'Z') if self.not_after else None
        return {
            'identity': self.identity,
            'fallback': self.fallback,
            'subject': shorten(self.subject, SUBJECT_MAX) if self.subject else None,
            'not_after': not_after,
        }


def load_client_identity(
    cert_path: str | Path, key_path: str | Path, source: IdentitySource = 'certificate'
) -> ClientIdentity:
    """A client identity from its certificate and key files (e.g. a mounted kubernetes.io/tls Secret), with the
    certificate's subject and expiry. Raises StorageError naming the file (never its content) when one cannot be
    read; a certificate that does not parse is still returned (the upload then gives it up with the reason)."""
    texts = []
    for what, path in (('certificate', cert_path), ('key', key_path)):
        try:
            texts.append(Path(path).read_text(encoding='ascii', errors='replace'))
        except OSError as exc:
            raise StorageError(f'client {what} file {path} cannot be read: {exc.strerror or exc}') from None
    subject, not_after = certificate_subject(texts[0])
    return ClientIdentity(texts[0], texts[1], source, subject, not_after)


def certificate_subject(cert_pem: str) -> tuple[str | None, datetime | None]:
    """(subject as RFC 4514 text, notAfter) of a PEM certificate; (None, None) when it does not parse."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode('ascii', errors='replace'))
    except ValueError:
        return None, None
    return cert.subject.rfc4514_string() or None, cert.not_valid_after_utc


def cert_ingress_url(ingress_url: str) -> str:
    """The ingress URL for a client certificate: a Red Hat console host (`console.redhat.com`,
    `console.stage.redhat.com`, …) becomes its `cert.` twin; path, query, port and user info stay.

    A host that already starts with `cert.`, and any other host (a custom ingress or gateway, an IP address), is
    kept as given: only Red Hat's console hosts have a `cert.` twin, and sending a custom ingress's uploads to
    Red Hat's would be wrong. Raises ValueError for a URL without a host.
    """
    parts = urlsplit(ingress_url)
    host = (parts.hostname or '').rstrip('.')
    if not host:
        raise ValueError(f'ingress URL {ingress_url!r} has no host: expected https://host/path')
    if not _is_console_host(host):
        return ingress_url
    netloc = parts.netloc.rsplit('@', 1)
    userinfo = f'{netloc[0]}@' if len(netloc) == 2 else ''
    port = f':{parts.port}' if parts.port is not None else ''
    return urlunsplit((parts.scheme, f'{userinfo}{CERT_PREFIX}{host}{port}', parts.path, parts.query, parts.fragment))


def _is_console_host(host: str) -> bool:
    labels = host.split('.')
    return labels[0] == 'console' and labels[-2:] == ['redhat', 'com'] and all(labels)


class _Unusable(StorageError):
    """The PEMs do not load as a certificate and its key (no server was asked)."""


class _MutualIngress(IngressStorage):
    """The ingress protocol over an HTTPClient whose client certificate is set per upload."""

    def describe(self) -> str:
        return f'console.redhat.com ingress {self.ingress_url}'

    def _credentials_hint(self) -> str:
        return 'the client certificate is not accepted: check that it is current and that its consumer is registered'


class StorageCRCIdentity(PutOnlyStorage):
    """Put-only: console.redhat.com with an in-memory client certificate first, the service account second.

    `identity` None means there is no certificate to try (the service account alone). `fallback` None means there is
    no service account: a refused certificate is then the upload's error. `cert_url` overrides the rewritten ingress
    URL (default `cert_ingress_url(ingress_url)`). `tls_dir` is where the private PEM directory is made (the job's
    temporary directory; default the system's). Proxy and CA bundle apply to every call, as for the other targets.
    """

    accepts = frozenset(('filename', 'fileobj'))

    def __init__(
        self,
        identity: ClientIdentity | None,
        ingress_url: str,
        proxy_url: str | None = None,
        verify_cert_path: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        *,
        fallback: StorageCRC | None = None,
        cert_url: str | None = None,
        content_type: str = BILLING_CONTENT_TYPE,
        retry: RetryPolicy | None = None,
        tls_dir: str | Path | None = None,
    ) -> None:
        if identity is None and fallback is None:
            raise StorageError(
                'console.redhat.com needs a client certificate or a service account: neither is configured '
                '(METRICS_UTILITY_SERVICE_ACCOUNT_ID/_SECRET, or the controller identity)'
            )
        try:
            url = cert_url or cert_ingress_url(ingress_url)
        except ValueError as exc:
            raise StorageError(str(exc)) from None
        require_https(url, 'ingress_url')
        if identity is not None and urlsplit(url).scheme != 'https':
            raise StorageError(f'ingress_url {url!r} must use https:// for a client certificate')
        self.identity = identity
        self.fallback = fallback
        self.tls_dir = tls_dir
        client = HTTPClient(proxy_url=proxy_url, verify_cert_path=verify_cert_path, timeout=timeout, retry=retry)
        self.mutual = _MutualIngress(url, client, content_type)
        self.identity_used: IdentityUsed | None = None
        self._given_up: str | None = None if identity is not None else 'no client certificate'
        self.last_upload: UploadReceipt | None = None

    def describe(self) -> str:
        via = self.mutual.client.describe_proxy()
        first = f'{self.identity.source} certificate to {self.mutual.ingress_url}' if self.identity else None
        second = f'service account {self.fallback.client_id} to {self.fallback.ingress_url}' if self.fallback else None
        return f'console.redhat.com ingress ({", then ".join(p for p in (first, second) if p)}{via})'

    def _refused_payload(self, name: str, kind: PayloadKind) -> str:
        return f'{self.describe()} accepts tarballs only (filename= or fileobj=), not dict= for {name}'

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        with _local_file(kind, value, name) as path:  # staged once: a refused attempt must not consume the stream
            if self._given_up is None and self.identity is not None:
                try:
                    self.last_upload = self._upload_with_certificate(name, path)
                    ident = self.identity
                    self.identity_used = IdentityUsed(ident.source, None, ident.subject, ident.not_after)
                    return
                except (CertificateRefused, CredentialsRejected, _Unusable) as exc:
                    self._give_up(str(exc))
            if self.fallback is None:
                raise StorageError(
                    f'cannot upload {name}: the client certificate was not accepted and no service account is '
                    f'configured (METRICS_UTILITY_SERVICE_ACCOUNT_ID/_SECRET) to fall back to: {self._given_up}'
                )
            self.fallback.put(name, filename=path)
            self.last_upload = self.fallback.last_upload
            self.identity_used = IdentityUsed(SERVICE_ACCOUNT, self._fallback_reason())

    def _upload_with_certificate(self, name: str, path: Path) -> UploadReceipt:
        assert self.identity is not None
        with pem_files(self.identity, self.tls_dir) as pair:
            self.mutual.client.client_cert = pair
            try:
                self.mutual.put(name, filename=path)
            finally:
                self.mutual.client.client_cert = None
                self.mutual.client.session.close()  # no pooled connection outlives the files it was made from
        assert self.mutual.last_upload is not None
        return self.mutual.last_upload

    def _give_up(self, reason: str) -> None:
        self._given_up = shorten(reason, 600)  # the summary's crc block must stay small (4 KiB in all)
        then = 'the service account' if self.fallback else 'nothing (no service account is configured)'
        log.warning('console.redhat.com: %s; falling back to %s for this run', reason, then)
        self.identity_used = IdentityUsed(None, self._fallback_reason())

    def _fallback_reason(self) -> str | None:
        return None if self.identity is None else self._given_up


class NoIdentity(PutOnlyStorage):
    """Put-only: console.redhat.com with nothing to authenticate with; every upload fails with `reason` (so the
    window is not confirmed and its watermark stays), and the summary's `crc` block carries the reason."""

    accepts = frozenset(('filename', 'fileobj'))

    def __init__(self, reason: str) -> None:
        self.reason = shorten(reason, 600)
        self.identity_used: IdentityUsed | None = None

    def describe(self) -> str:
        return 'console.redhat.com ingress (no identity)'

    def _refused_payload(self, name: str, kind: PayloadKind) -> str:
        return f'{self.describe()} accepts tarballs only (filename= or fileobj=), not dict= for {name}'

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        self.identity_used = IdentityUsed(None, self.reason)
        raise StorageError(f'cannot upload {name} to console.redhat.com: {self.reason}')


@contextlib.contextmanager
def pem_files(identity: ClientIdentity, base: str | Path | None = None) -> Iterator[tuple[str, str]]:
    """The identity as (cert, key) files readable by this user only, deleted (with their directory) on exit;
    StorageError when they do not load as a certificate and its key."""
    with job_tempdir(prefix='metrics-utility-tls-', base=base) as directory:
        pair = (
            _private_file(directory / 'cert.pem', identity.cert_pem),
            _private_file(directory / 'key.pem', identity.key_pem),
        )
        try:
            ssl.create_default_context(ssl.Purpose.SERVER_AUTH).load_cert_chain(*pair)
        except ssl.SSLError as exc:
            reason = _LOAD_FAILURES.get(exc.reason or '', 'not a PEM certificate and its private key')
            raise _Unusable(f'the {identity.source} client certificate cannot be used: {reason}') from None
        yield pair


# What OpenSSL's reasons for refusing to load a certificate and key mean, in words; others read as "not PEM".
_LOAD_FAILURES = {
    'KEY_VALUES_MISMATCH': 'the private key does not belong to the certificate',
    'CA_MD_TOO_WEAK': 'the certificate is signed with a digest too weak to use',
    'EE_KEY_TOO_SMALL': 'the key is too small to use',
}


def _private_file(path: Path, text: str) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='ascii', errors='replace') as out:
        out.write(text)
    return str(path)
