"""AWX's field encryption, write side, reimplemented from its public description for the tests.

The worker only decrypts (`metrics_utility.library.candlepin.encryption`); the tests need values as the controller
writes them: `encrypt_field(setting, 'value')` → `$encrypted$UTF8$AESCBC$` + base64(urlsafe_base64(token)), the token
being Fernet's layout (0x80, timestamp, IV, AES-CBC ciphertext, HMAC-SHA256) with AES-256 and a 64-byte key
SHA-512(SECRET_KEY ‖ str(pk) ‖ field name). `fernet_token` takes any key size, so a 32-byte key (AES-128) can be
checked against `cryptography.fernet.Fernet` itself: the same code with AWX's 64-byte key is then AWX's "Fernet256".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def awx_key(secret_key: str | bytes, pk: int | None, field_name: str = 'value') -> bytes:
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key  # the file's bytes, as AWX reads it
    material = secret + (str(pk).encode() if pk is not None else b'') + field_name.encode()
    return hashlib.sha512(material).digest()


def fernet_token(key: bytes, plaintext: bytes, timestamp: int, iv: bytes, *, pad: bool = True) -> bytes:
    """The URL-safe base64 token: the first half of `key` signs, the second half encrypts. `pad=False` encrypts
    `plaintext` (whole blocks) as it is: a validly signed token whose padding is wrong."""
    signing_key, encryption_key = key[: len(key) // 2], key[len(key) // 2 :]
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize() if pad else plaintext
    encryptor = Cipher(algorithms.AES(encryption_key), modes.CBC(iv)).encryptor()
    body = b'\x80' + struct.pack('>Q', timestamp) + iv + encryptor.update(padded) + encryptor.finalize()
    return base64.urlsafe_b64encode(body + hmac.new(signing_key, body, hashlib.sha256).digest())


def wrap(token: bytes) -> str:
    """A token as the text of an encrypted setting."""
    return '$encrypted$UTF8$AESCBC$' + base64.b64encode(token).decode()


def encrypt_setting(
    value: str, secret_key: str | bytes, pk: int | None, *, timestamp: int | None = None, iv: bytes | None = None
) -> str:
    """`value` as AWX stores an encrypted setting of `conf_setting` row `pk`."""
    token = fernet_token(
        awx_key(secret_key, pk),
        value.encode(),
        int(time.time()) if timestamp is None else timestamp,
        os.urandom(16) if iv is None else iv,
    )
    return wrap(token)
