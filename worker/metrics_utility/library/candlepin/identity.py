"""The Candlepin consumer identity and the checks it passes before any upload uses it (pure: no I/O).

Why check first: a certificate that does not parse, belongs to another key, has expired or names the all-zero
placeholder consumer would only fail later as an opaque TLS error at console.redhat.com; here it becomes one clear
line (`Unusable.reason`) and the caller falls back to the service account. The private key is held as a `Secret`, so
no repr, log line, summary or exception text can show it; reasons name what is wrong, never PEM content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from metrics_utility.library.secret import Secret

PLACEHOLDER_UUID = '00000000-0000-0000-0000-000000000000'
_UUID = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')


@dataclass(frozen=True)
class Identity:
    """A checked identity: the client certificate and key for mutual TLS, the consumer it belongs to, and when it
    expires. `key_pem` is a `Secret`: `identity.key_pem.reveal()` where the TLS context needs it, nowhere else; the
    certificate is left out of the repr too (status and logs name it by subject and expiry)."""

    cert_pem: str = field(repr=False)
    key_pem: Secret
    consumer_uuid: str
    subject: str
    not_after: datetime

    def remaining(self, now: datetime) -> timedelta:
        """How long the certificate has left at `now` (the renewal window and the status use it)."""
        return self.not_after - now

    def describe(self, now: datetime) -> str:
        """One line for logs and summaries: consumer, subject, expiry; never key or certificate content."""
        days = self.remaining(now).days
        return (
            f'consumer {self.consumer_uuid}, subject {self.subject}, '
            f'expires {self.not_after.isoformat()} (in {days} day{"" if days == 1 else "s"})'
        )


@dataclass(frozen=True)
class Unusable:
    """No identity to use. `absent`: the controller holds none (register one, or use the service account);
    `unusable`: it holds one that fails a check (`reason` says which, in one line)."""

    state: Literal['absent', 'unusable']
    reason: str


IdentityResult = Identity | Unusable
NO_CONSUMER = Unusable('absent', 'the controller has no Candlepin consumer (CANDLEPIN_CONSUMER_UUID is all zeros)')


def check_identity(cert_pem: str, key_pem: str, consumer_uuid: str, now: datetime) -> IdentityResult:
    """The identity, or why it cannot be used: UUID not the placeholder, certificate parses and is valid at `now`,
    the key parses and is the certificate's key."""
    uuid = consumer_uuid.strip()
    if uuid == PLACEHOLDER_UUID:
        return NO_CONSUMER
    if not _UUID.fullmatch(uuid):
        return Unusable('unusable', 'CANDLEPIN_CONSUMER_UUID is not a UUID')
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError:
        return Unusable('unusable', 'CANDLEPIN_CERT_PEM is not a PEM certificate')
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return Unusable('unusable', 'CANDLEPIN_KEY_PEM is not an unencrypted PEM private key')
    if _public(cert.public_key()) != _public(key.public_key()):
        return Unusable('unusable', 'CANDLEPIN_KEY_PEM is not the key of CANDLEPIN_CERT_PEM')
    subject = cert.subject.rfc4514_string() or '(empty subject)'
    not_after = cert.not_valid_after_utc
    if now >= not_after:
        return Unusable('unusable', f'the Candlepin certificate ({subject}) expired on {not_after.isoformat()}')
    if now < cert.not_valid_before_utc:
        valid_from = cert.not_valid_before_utc.isoformat()
        return Unusable('unusable', f'the Candlepin certificate ({subject}) is not valid before {valid_from}')
    return Identity(cert_pem, Secret(key_pem), uuid.lower(), subject, not_after)


def _public(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
