"""An S3 bucket (AWS or any S3-compatible store: MinIO, Ceph, SeaweedFS, …) as storage.

Unlike metrics-utility, a failed upload raises instead of being logged and reported as shipped (its weakness #1,
which let the checkpoint advance past lost data), and transient errors are retried by botocore.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.exceptions
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from metrics_utility.library.secret import Redactor, url_has_credentials

from .base import PayloadKind, Storage, StorageError, check_name, document_bytes, literal_prefix, matches

log = logging.getLogger(__name__)

MiB = 1024 * 1024
CA_SETTING = 'METRICS_UTILITY_CA_BUNDLE'  # named in TLS failures: the variable that makes a private CA trusted
T = TypeVar('T')

# Errors that mean "these credentials are not good here": the person must fix a Secret, not wait.
_CREDENTIAL_ERRORS = frozenset(
    {
        'AccessDenied',
        'InvalidAccessKeyId',
        'SignatureDoesNotMatch',
        'ExpiredToken',
        'InvalidToken',
        'AllAccessDisabled',
        'Forbidden',
        '403',
    }
)


class StorageS3(Storage):
    """Objects are keys `<prefix>/<name>` in `bucket`.

    Credentials: both `access_key` and `secret_key`, or neither (then boto3's usual chain: environment, IRSA web
    identity, instance profile, ~/.aws). Files above `multipart_threshold` go up in parallel parts of
    `multipart_chunksize` (S3 wants parts of at least 5 MiB); `glob` lists `list_page_size` keys per request.
    botocore's "standard" retry mode retries throttling, 5xx and connection errors, `max_attempts` tries in total,
    with jittered backoff. `put` returns when S3 confirmed the object (PutObject or CompleteMultipartUpload
    answered 200) and raises StorageError otherwise.
    """

    def __init__(
        self,
        bucket: str,
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = '',
        *,
        verify_cert_path: str | None = None,
        multipart_threshold: int = 16 * MiB,
        multipart_chunksize: int = 16 * MiB,
        max_attempts: int = 5,
        connect_timeout: float = 31.0,
        read_timeout: float = 60.0,
        list_page_size: int = 1000,
    ) -> None:
        if not bucket:
            raise StorageError('StorageS3 needs a bucket name (METRICS_UTILITY_BUCKET_NAME)')
        if bool(access_key) != bool(secret_key):
            given, missing = ('access_key', 'secret_key') if access_key else ('secret_key', 'access_key')
            raise StorageError(
                f'StorageS3 got {given} without {missing}: give both (METRICS_UTILITY_BUCKET_ACCESS_KEY and '
                'METRICS_UTILITY_BUCKET_SECRET_KEY) or neither to use the implicit AWS credentials chain'
            )
        if endpoint and url_has_credentials(endpoint):  # describe() and every error show the endpoint
            raise StorageError(
                'S3 endpoint must not hold credentials (user:password@host): give access_key and secret_key'
            )
        if endpoint and not endpoint.startswith(('http://', 'https://')):
            raise StorageError(f'S3 endpoint {endpoint!r} is not a URL: expected e.g. https://s3.example.com')
        self.bucket = bucket
        self.endpoint = endpoint or None
        self.region = region or None
        self.prefix = '/'.join(part for part in prefix.split('/') if part)
        self._redact = Redactor(secret_key, access_key)
        self._implicit_credentials = not access_key
        self.verify_cert_path = verify_cert_path or None
        config = Config(
            retries={'mode': 'standard', 'total_max_attempts': max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None, region_name=self.region
        )
        try:
            self._client = session.client('s3', endpoint_url=self.endpoint, config=config, verify=verify_cert_path)
        except (Boto3Error, botocore.exceptions.BotoCoreError, ValueError) as exc:
            raise StorageError(self._redact(f'cannot set up {self.describe()}: {exc}')) from None
        self.list_page_size = list_page_size
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunksize
        )

    def describe(self) -> str:
        where = f's3://{self.bucket}/{self.prefix + "/" if self.prefix else ""}'
        return f'S3 {where}' + (f' at {self.endpoint}' if self.endpoint else '')

    def _key(self, name: str) -> str:
        check_name(name)
        return f'{self.prefix}/{name}' if self.prefix else name

    def _error(self, action: str, name: str, exc: BaseException) -> StorageError:
        """One readable message per failure: which object, which bucket, what S3 said and what to do."""
        cause = _client_error(exc)
        if cause is not None:
            error = cause.response.get('Error', {})
            code = str(error.get('Code') or cause.response.get('ResponseMetadata', {}).get('HTTPStatusCode', ''))
            text = error.get('Message') or code
            if code in ('NoSuchBucket',):
                detail = f'bucket {self.bucket!r} does not exist'
            elif code in _CREDENTIAL_ERRORS:
                detail = f'access denied ({code}: {text}); check the access key, secret key and bucket policy'
            else:
                detail = f'{code}: {text}'
        elif isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
            detail = (
                'no S3 credentials found: set access_key and secret_key, or provide implicit AWS credentials '
                '(AWS_* environment variables, IRSA, instance profile)'
            )
        elif isinstance(exc, botocore.exceptions.SSLError) and 'CERTIFICATE_VERIFY_FAILED' in str(exc).upper():
            store = f'the CA bundle {self.verify_cert_path!r}' if self.verify_cert_path else 'the default CA store'
            detail = (
                f'cannot verify the TLS certificate of {self.endpoint or "the S3 endpoint"}: it is not trusted by '
                f'{store}; set {CA_SETTING} to a PEM bundle holding the CA that signed it (a TLS-inspecting proxy '
                'needs its CA too)'
            )
        elif isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectionError):
            detail = f'cannot connect to {self.endpoint or "the S3 endpoint"}: {exc}'
        else:
            detail = str(exc) or type(exc).__name__
        return StorageError(self._redact(f'cannot {action} {name} in {self.describe()}: {detail}'))

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        key = self._key(name)
        try:
            if kind == 'filename':
                self._client.upload_file(str(value), self.bucket, key, Config=self._transfer)
            else:
                stream = io.BytesIO(document_bytes(value)) if kind == 'dict' else value
                self._client.upload_fileobj(stream, self.bucket, key, Config=self._transfer)
        except (Boto3Error, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error('upload', name, exc) from None
        except OSError as exc:  # reading the local file
            raise StorageError(f'cannot upload {name} to {self.describe()}: {exc.strerror or exc}') from exc
        log.debug('stored %s in %s', name, self.describe())

    @contextlib.contextmanager
    def get(self, name: str) -> Iterator[Path]:
        key = self._key(name)
        fd, tmp = tempfile.mkstemp(prefix='metrics-utility-s3-', suffix='-' + name.rsplit('/', 1)[-1])
        os.close(fd)
        try:
            try:
                self._client.download_file(self.bucket, key, tmp)
            except botocore.exceptions.ClientError as exc:
                if _status(exc) == 404:
                    raise StorageError(f'{name} not found in {self.describe()}') from None
                raise self._error('download', name, exc) from None
            except (Boto3Error, botocore.exceptions.BotoCoreError) as exc:
                raise self._error('download', name, exc) from None
            yield Path(tmp)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _unless_missing(self, action: str, name: str, request: Callable[[], T]) -> T | None:
        """`request()`, or None when the object does not exist (HTTP 404); any other failure is a StorageError
        'cannot <action> <name>'."""
        try:
            return request()
        except botocore.exceptions.ClientError as exc:
            if _status(exc) == 404:
                return None
            raise self._error(action, name, exc) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._error(action, name, exc) from None

    def _head(self, name: str) -> dict[str, Any] | None:
        """The object's HEAD reply, or None when it does not exist."""
        return self._unless_missing(
            'look up', name, lambda: self._client.head_object(Bucket=self.bucket, Key=self._key(name))
        )

    def exists(self, name: str) -> bool:
        return self._head(name) is not None

    def remove(self, name: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._error('remove', name, exc) from None

    def _listing(self, prefix: str, shown: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(name, listing entry) of every object below `prefix`, names relative to this storage's own prefix; a
        failed page request is a StorageError about `shown`."""
        root = self.prefix + '/' if self.prefix else ''
        try:
            for page in self._client.get_paginator('list_objects_v2').paginate(
                Bucket=self.bucket, Prefix=root + prefix, PaginationConfig={'PageSize': self.list_page_size}
            ):
                for item in page.get('Contents', ()):
                    yield item['Key'][len(root) :], item
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._error('list', shown, exc) from None

    def glob(self, pattern: str) -> list[str]:
        fixed = literal_prefix(pattern)
        # List only below the fixed directory part; `matches` then applies the wildcards segment by segment.
        listing = fixed + '/' if fixed and fixed != pattern else fixed
        return sorted(name for name, _ in self._listing(listing, pattern) if matches(name, pattern))

    def list_sizes(self, prefix: str = '') -> dict[str, int]:
        """Keys below `prefix` with their sizes, from the listing itself (no per-object request)."""
        return dict(sorted((name, int(item['Size'])) for name, item in self._listing(prefix, prefix or '*')))

    def list_stats(self, prefix: str = '') -> dict[str, tuple[int, datetime | None]]:
        """Keys below `prefix` with size and LastModified, from the listing itself."""
        return dict(
            sorted(
                (name, (int(item['Size']), item.get('LastModified')))
                for name, item in self._listing(prefix, prefix or '*')
            )
        )

    def read_tagged(self, name: str) -> tuple[bytes, str] | None:
        """A small object's content and ETag (None when it does not exist), for `put_if_unchanged`."""

        def download() -> tuple[bytes, str]:
            reply = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
            return reply['Body'].read(), reply['ETag']

        return self._unless_missing('download', name, download)

    def put_if_unchanged(self, name: str, data: bytes, etag: str | None) -> str | None:
        """Compare-and-swap: store `data` only if the object still has `etag` (None: only if it does not exist).
        Returns the new ETag, or None when another writer changed it first (S3 conditional writes: If-Match /
        If-None-Match, HTTP 412)."""
        condition = {'IfMatch': etag} if etag is not None else {'IfNoneMatch': '*'}
        try:
            reply = self._client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, **condition)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get('Error', {}).get('Code')
            status = exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')
            if code in ('PreconditionFailed', 'ConditionalRequestConflict') or status in (409, 412):
                return None
            raise self._error('upload', name, exc) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._error('upload', name, exc) from None
        return reply['ETag']

    def age(self, name: str) -> tuple[str, float] | None:
        """An object's ETag and seconds since it was last written, both by the server's clock (Last-Modified against
        the reply's Date), so the clocks of the pods never matter; None when it does not exist."""
        reply = self._head(name)
        if reply is None:
            return None
        date = reply.get('ResponseMetadata', {}).get('HTTPHeaders', {}).get('date')
        now = email.utils.parsedate_to_datetime(date) if date else datetime.now(UTC)
        return reply['ETag'], (now - reply['LastModified']).total_seconds()


def _client_error(exc: BaseException) -> botocore.exceptions.ClientError | None:
    """The ClientError behind `exc` (boto3's S3UploadFailedError wraps one)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, botocore.exceptions.ClientError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _status(exc: botocore.exceptions.ClientError) -> int | None:
    code = exc.response.get('Error', {}).get('Code')
    if code in ('404', 'NoSuchKey', 'NotFound'):
        return 404
    return exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')
