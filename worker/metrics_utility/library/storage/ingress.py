"""Uploads to the console.redhat.com ingress service, shared by the service-account and client-certificate targets.

The protocol (docs/storage.md, console.redhat.com): one multipart field `file` carrying the tarball under its base name,
with the vendor MIME type that routes it to the billing service; any 2xx (normally 202) means accepted. This module
turns every other outcome into a StorageError that says what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from .base import PayloadKind, PutOnlyStorage, StorageError
from .http import HTTPClient, failure
from .multipart import MultipartFile

log = logging.getLogger(__name__)

DEFAULT_INGRESS_URL = 'https://console.redhat.com/api/ingress/v1/upload'
# Client-certificate uploads go to the `cert.` host (AAP-73765).
DEFAULT_CERT_INGRESS_URL = 'https://cert.console.redhat.com/api/ingress/v1/upload'
BILLING_CONTENT_TYPE = 'application/vnd.redhat.aap-billing-controller.aap_billing_controller_payload+tgz'
INGRESS_SIZE_LIMIT = 100 * 1024 * 1024


class CredentialsRejected(StorageError):
    """Ingress answered 401/403: it does not accept the credentials (token or client certificate) of the upload."""


@dataclass(frozen=True)
class UploadReceipt:
    """What ingress said about the last accepted upload (for the run summary and the operator's status)."""

    name: str
    status: int
    request_id: str | None
    size: int


class IngressStorage(PutOnlyStorage):
    """Base of the console.redhat.com targets; subclasses say how requests are authenticated."""

    def __init__(self, ingress_url: str, client: HTTPClient, content_type: str = BILLING_CONTENT_TYPE) -> None:
        self.ingress_url = ingress_url
        self.client = client
        self.content_type = content_type
        self.last_upload: UploadReceipt | None = None

    # Authentication hooks -------------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {}

    def _renew_credentials(self) -> bool:
        """Called after a 401; True when fresh credentials were obtained and one more attempt makes sense."""
        return False

    def _credentials_hint(self) -> str:
        return 'check the credentials'

    # Upload ---------------------------------------------------------------------------------------------------

    accepts = frozenset(('filename', 'fileobj'))

    def _refused_payload(self, name: str, kind: PayloadKind) -> str:
        return (
            f'{self.describe()} accepts tarballs only (filename= or fileobj=), not dict= for {name}; '
            'ingress routes uploads by their content type and has no service for plain JSON'
        )

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        with _local_file(kind, value, name) as path:
            self.last_upload = self._upload(name, path)

    def _upload(self, name: str, path: Path) -> UploadReceipt:
        size = path.stat().st_size
        basename = posixpath.basename(name)
        what = f'upload of {name} to {self.ingress_url}'
        bodies: list[MultipartFile] = []

        def fresh() -> dict[str, Any]:
            body = MultipartFile(path, field='file', filename=basename, content_type=self.content_type)
            bodies.append(body)
            return {'data': body, 'headers': {**self._auth_headers(), 'Content-Type': body.content_type}}

        renewed = False
        try:
            response = self.client.request('POST', self.ingress_url, what=what, fresh=fresh)
            if response.status_code == 401 and self._renew_credentials():
                response.close()
                renewed = True
                log.info('%s answered 401; retrying once with fresh credentials', self.ingress_url)
                response = self.client.request('POST', self.ingress_url, what=what, fresh=fresh)
            with response:
                return self._receipt(name, size, response, renewed)
        finally:
            for body in bodies:
                body.close()

    def _receipt(self, name: str, size: int, response: requests.Response, renewed: bool) -> UploadReceipt:
        status = response.status_code
        redact = self.client.redact
        if 200 <= status < 300:
            request_id = response.headers.get('x-rh-insights-request-id')
            log.info(
                'uploaded %s (%d bytes) to %s: HTTP %d, request id %s',
                name,
                size,
                self.ingress_url,
                status,
                request_id or 'none',
            )
            return UploadReceipt(name=name, status=status, request_id=request_id, size=size)
        answer = failure(response, self.client)
        if status == 415:
            message = (
                f'{self.ingress_url} does not accept the content type {self.content_type} (HTTP 415){answer.detail}'
            )
        else:
            again = ' even with freshly obtained credentials' if renewed and status == 401 else ''
            limit = INGRESS_SIZE_LIMIT // (1024 * 1024)
            message = {
                'credentials': f'credentials rejected by {self.ingress_url} (HTTP {status}){again} while uploading '
                f'{name}; {self._credentials_hint()}{answer.detail}',
                'too_large': f'{name} ({size} bytes) is too large for {self.ingress_url} (HTTP 413); ingress accepts '
                f'at most {limit} MB per upload: lower the package size limit',
                'unavailable': f'{self.ingress_url} did not accept {name}: HTTP {status} after {answer.attempts} '
                f'attempts{answer.detail}',
                'refused': f'{self.ingress_url} refused {name}: HTTP {status} {response.reason or ""}'.rstrip()
                + answer.detail,
            }[answer.kind]
        raise (CredentialsRejected if answer.kind == 'credentials' else StorageError)(redact(message))


@contextlib.contextmanager
def _local_file(kind: str, value: Any, name: str) -> Iterator[Path]:
    """A file on disk with the payload: retries must re-read it, and a stream can be read only once."""
    if kind == 'filename':
        path = Path(value)
        if not path.is_file():
            raise StorageError(f'cannot upload {name}: {path} is not a readable file')
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix='metrics-utility-upload-', suffix='.part')
    try:
        try:
            with os.fdopen(fd, 'wb') as out:
                shutil.copyfileobj(value, out, 1 << 20)
        except OSError as exc:
            raise StorageError(f'cannot stage {name} for upload: {exc.strerror or exc}') from exc
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
