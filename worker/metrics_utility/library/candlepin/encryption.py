"""AWX's field encryption, read side: the `$encrypted$UTF8$AESCBC$…` values the controller keeps in `conf_setting`.

Why our own code: the controller encrypts some settings (the Candlepin certificate and key among them) with its
`SECRET_KEY`; to use them the worker must decrypt them exactly as AWX does (`awx/main/utils/encryption.py`), without
importing AWX or Django. The scheme, from AWX's public source:

- key: SHA-512 over the UTF-8 bytes of `SECRET_KEY`, then `str(pk)` of the row (a `conf_setting` row's `id`), then
  the field name (`value` for a setting); the 64 bytes split into an HMAC-SHA256 signing key (first 32) and an
  AES-256 key (last 32): "Fernet" with AES-256-CBC instead of AES-128;
- token: `0x80` ‖ 8-byte big-endian timestamp ‖ 16-byte IV ‖ AES-256-CBC(PKCS7(plaintext)) ‖ HMAC-SHA256 of all
  that; URL-safe base64 of the token, then standard base64 of those ASCII bytes (AWX encodes twice);
- value: `$encrypted$` + optional `UTF8$` + `AESCBC$` + the base64 text. The token's timestamp is not checked
  (AWX decrypts without a TTL).

Every failure is a `DecryptionError` whose message names what is wrong and never carries the value or the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PREFIX = '$encrypted$'
_UTF8 = 'UTF8$'
ALGORITHM = 'AESCBC'
_VERSION = 0x80
_HEADER = 1 + 8 + 16  # version, timestamp, IV
_MAC = 32
_BLOCK = 16


class DecryptionError(ValueError):
    """A value that cannot be decrypted; the message is one line, safe to log (no value, no key)."""


def is_encrypted(value: object) -> bool:
    """True for a value AWX would decrypt (a text starting with `$encrypted$`)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def field_key(secret_key: str | bytes, pk: int | None, field_name: str = 'value') -> bytes:
    """The 64-byte key AWX derives for one field of one row: signing key (first 32 bytes) + AES key (last 32)."""
    digest = hashlib.sha512(secret_key.encode() if isinstance(secret_key, str) else secret_key)
    if pk is not None:
        digest.update(str(pk).encode())
    digest.update(field_name.encode())
    return digest.digest()


def _token(value: str) -> bytes:
    """The raw Fernet-style token inside an `$encrypted$…` value."""
    if not value.startswith(PREFIX):
        raise DecryptionError(f'not an encrypted value (no {PREFIX} prefix)')
    rest = value[len(PREFIX) :]
    if rest.startswith(_UTF8):
        rest = rest[len(_UTF8) :]
    algorithm, sep, data = rest.partition('$')
    if not sep:
        raise DecryptionError('malformed encrypted value (no algorithm and data)')
    if algorithm != ALGORITHM:
        raise DecryptionError(f'unsupported encryption algorithm (expected {ALGORITHM})')
    try:
        return base64.urlsafe_b64decode(base64.b64decode(data.encode('ascii'), validate=True))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise DecryptionError('malformed encrypted value (not base64)') from None


def decrypt_value(value: str, secret_key: str | bytes, pk: int | None, field_name: str = 'value') -> str:
    """The plaintext of an AWX-encrypted field value of row `pk`; raises `DecryptionError`."""
    token = _token(value)
    if len(token) < _HEADER + _BLOCK + _MAC or (len(token) - _HEADER - _MAC) % _BLOCK or token[0] != _VERSION:
        raise DecryptionError('malformed encrypted value (truncated or not an AWX token)')
    key = field_key(secret_key, pk, field_name)
    signing_key, encryption_key = key[:32], key[32:]
    expected = hmac.new(signing_key, token[:-_MAC], hashlib.sha256).digest()
    if not hmac.compare_digest(expected, token[-_MAC:]):
        raise DecryptionError('cannot decrypt: wrong SECRET_KEY for this controller, or a damaged value')
    decryptor = Cipher(algorithms.AES(encryption_key), modes.CBC(token[9:_HEADER])).decryptor()
    padded = decryptor.update(token[_HEADER:-_MAC]) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode('utf-8')
    except (ValueError, UnicodeDecodeError):
        raise DecryptionError('cannot decrypt: the decrypted value is not padded UTF-8 text') from None
