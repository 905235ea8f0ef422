"""The local identity store: a Candlepin consumer's certificate, key and UUID as three files in one directory.

Why files: metrics-utility 0.8 keeps the identity in `METRICS_UTILITY_CANDLEPIN_CERT_DIR` and mutual TLS clients
(requests) take certificate and key as paths. Each file is written to a temporary name in the same directory with
mode 0600 and renamed over the old one, so a reader sees the old or the new file, never half of one; the key is
replaced before the certificate so that a crash between the two leaves a pair `renew` reports as not matching
rather than a silently stale key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CERT_FILE = 'cert.pem'
KEY_FILE = 'key.pem'
UUID_FILE = 'consumer_uuid'
MAX_FILE_BYTES = 1 << 20  # a certificate or key is a few kilobytes; a larger file is not ours

_PEM_CERT = re.compile(rb'-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----')
_UUID = re.compile(r'[0-9A-Za-z][0-9A-Za-z-]{0,63}')


class StoreError(Exception):
    """The store cannot be read or written; the message names the directory, never a file's content."""


@dataclass(frozen=True)
class Identity:
    """A consumer identity: the PEM texts and the consumer's UUID. `repr` never shows the key."""

    uuid: str
    cert_pem: str
    key_pem: str

    def __repr__(self) -> str:
        return f'Identity(uuid={self.uuid!r})'


def valid_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


def not_after(cert_pem: str | bytes) -> datetime:
    """The certificate's expiry (UTC), read from its DER (no dependency beyond the standard library)."""
    data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    match = _PEM_CERT.search(data)
    if not match:
        raise ValueError('no PEM certificate')
    try:
        der = base64.b64decode(b''.join(match[1].split()), validate=True)
    except binascii.Error:
        raise ValueError('the certificate is not valid base64') from None
    try:
        certificate, _ = _element(der, 0, 0x30)
        tbs, _ = _element(der, certificate, 0x30)
        at = tbs
        if der[at] == 0xA0:  # [0] version
            at = _skip(der, at)
        for _field in ('serial', 'signature', 'issuer'):
            at = _skip(der, at)
        validity, _ = _element(der, at, 0x30)
        after = _skip(der, validity)  # notBefore
        tag = der[after]
        start, end = _content(der, after)
        text = der[start:end].decode('ascii')
    except (IndexError, UnicodeDecodeError):
        raise ValueError('the certificate is not valid DER') from None
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = f'{1900 + year if year >= 50 else 2000 + year}{text[2:]}'
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError('the certificate has no validity time')
    try:
        return datetime.strptime(text, '%Y%m%d%H%M%SZ').replace(tzinfo=UTC)
    except ValueError:
        raise ValueError('the certificate has an invalid expiry time') from None


def _content(der: bytes, at: int) -> tuple[int, int]:
    """(start, end) of the content of the DER element at `at`."""
    length = der[at + 1]
    start = at + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise IndexError('length')
        length = int.from_bytes(der[start : start + count], 'big')
        start += count
    if start + length > len(der):
        raise IndexError('truncated')
    return start, start + length


def _element(der: bytes, at: int, tag: int) -> tuple[int, int]:
    if der[at] != tag:
        raise IndexError('tag')
    return _content(der, at)


def _skip(der: bytes, at: int) -> int:
    return _content(der, at)[1]


class IdentityStore:
    """The three files under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def read(self) -> Identity | None:
        """The stored identity; None when the directory holds none; StoreError when it holds part of one."""
        paths = [self.directory / name for name in (UUID_FILE, CERT_FILE, KEY_FILE)]
        present = [p.exists() for p in paths]
        if not any(present):
            return None
        if not all(present):
            missing = ', '.join(p.name for p, there in zip(paths, present, strict=True) if not there)
            raise StoreError(f'the identity in {self.directory} is incomplete: {missing} missing')
        texts = []
        for path in paths:
            try:
                with path.open('rb') as file:
                    data = file.read(MAX_FILE_BYTES + 1)
            except OSError as exc:
                raise StoreError(f'cannot read {path}: {exc.strerror or type(exc).__name__}') from None
            if len(data) > MAX_FILE_BYTES:
                raise StoreError(f'{path} is larger than {MAX_FILE_BYTES} bytes: not an identity file')
            try:
                texts.append(data.decode('ascii'))
            except UnicodeDecodeError:
                raise StoreError(f'{path} is not ASCII text: not an identity file') from None
        uuid = texts[0].strip()
        if not valid_uuid(uuid):
            raise StoreError(f'{paths[0]} does not hold a consumer UUID')
        return Identity(uuid=uuid, cert_pem=texts[1], key_pem=texts[2])

    def paths(self) -> tuple[str, str]:
        """(certificate, key) paths, as mutual TLS clients take them."""
        return str(self.directory / CERT_FILE), str(self.directory / KEY_FILE)

    def write(self, identity: Identity) -> None:
        """Replace the three files atomically one by one (key, certificate, UUID), each 0600."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            for name, text in (
                (KEY_FILE, identity.key_pem),
                (CERT_FILE, identity.cert_pem),
                (UUID_FILE, identity.uuid),
            ):
                _write_atomically(self.directory / name, text.encode('ascii'))
        except OSError as exc:
            raise StoreError(
                f'cannot write the identity to {self.directory}: {exc.strerror or type(exc).__name__}'
            ) from None


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f'.{path.name}.', dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(descriptor, 'wb') as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
