"""AWX's field encryption, read side: a known vector byte for byte, the token layout checked against `cryptography`'s
own Fernet, and every malformed or foreign value refused with its exact one-line reason."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from metrics_utility.library.candlepin.encryption import DecryptionError, decrypt_value, field_key
from testsupport.awx_encryption import awx_key, encrypt_setting, fernet_token, wrap

pytestmark = pytest.mark.unit

SECRET_KEY = 'awx-secret-key-for-tests'
PK = 7
PLAIN = '-----BEGIN CERTIFICATE-----\nkn0wn vector\n'
TIMESTAMP = 1_700_000_000
IV = bytes(range(16))
# encrypt_field(Setting(pk=7, value=PLAIN), 'value') with SECRET_KEY, at TIMESTAMP with IV: pinned once, never edited
KNOWN = (
    '$encrypted$UTF8$AESCBC$Z0FBQUFBQmxVX0VBQUFFQ0F3UUZCZ2NJQ1FvTERBME9EM05mWll1QTFENWliYzd0dWRTT3owc0ZLVUFGWWduM0t'
    'LZGtJZnBWbDlOWTQwdXN3VXJNVExsS0gtU1ZRSkhLWmNob3RHamZ6V1NkR0wwRm9oSWpoVF83X1dpRVo2TTdySzV6czduXzFKdzY='
)


def test_the_reference_encryption_gives_the_known_vector_byte_for_byte():
    assert encrypt_setting(PLAIN, SECRET_KEY, PK, timestamp=TIMESTAMP, iv=IV) == KNOWN


def test_the_known_vector_decrypts():
    assert decrypt_value(KNOWN, SECRET_KEY, PK) == PLAIN
    assert decrypt_value(KNOWN, SECRET_KEY.encode(), PK) == PLAIN  # SECRET_KEY as read from its file (bytes)


def test_the_token_layout_is_fernets():
    """The reference encrypter with a 32-byte key is plain Fernet (AES-128): so its layout is Fernet's, and AWX's
    "Fernet256" differs only in the key size."""
    key = bytes(range(32))
    mine = fernet_token(key, b'layout', TIMESTAMP, IV)
    assert mine == Fernet(base64.urlsafe_b64encode(key))._encrypt_from_parts(b'layout', TIMESTAMP, IV)


def test_the_key_is_sha512_of_secret_key_pk_and_field_name():
    assert field_key(SECRET_KEY, PK) == awx_key(SECRET_KEY, PK)
    assert field_key(SECRET_KEY, None, 'password') == awx_key(SECRET_KEY, None, 'password')
    assert field_key(SECRET_KEY, 7) != field_key(SECRET_KEY, 70)


@pytest.mark.parametrize(
    'plain',
    ['', 'x', 'a' * 16, 'é ünïcödé ✓', '-----BEGIN PRIVATE KEY-----\n' + 'Q' * 1700 + '\n-----END PRIVATE KEY-----\n'],
    ids=['empty', 'one-char', 'one-block', 'unicode', 'pem-sized'],
)
def test_round_trip(plain):
    assert decrypt_value(encrypt_setting(plain, SECRET_KEY, 42), SECRET_KEY, 42) == plain


def test_the_utf8_marker_is_optional():
    assert decrypt_value(KNOWN.replace('$UTF8$', '$', 1), SECRET_KEY, PK) == PLAIN


_TOKEN = base64.b64decode(KNOWN.rpartition('$')[2])
_RAW = base64.urlsafe_b64decode(_TOKEN)


def _raw(raw: bytes) -> str:
    return wrap(base64.urlsafe_b64encode(raw))


WRONG_KEY = 'cannot decrypt: wrong SECRET_KEY for this controller, or a damaged value'
TRUNCATED = 'malformed encrypted value (truncated or not an AWX token)'
HOSTILE = [
    ('plain-text', 'hello', SECRET_KEY, PK, 'not an encrypted value (no $encrypted$ prefix)'),
    ('prefix-only', '$encrypted$', SECRET_KEY, PK, 'malformed encrypted value (no algorithm and data)'),
    ('no-data', '$encrypted$UTF8$AESCBC', SECRET_KEY, PK, 'malformed encrypted value (no algorithm and data)'),
    (
        'other-cipher',
        KNOWN.replace('AESCBC', 'AESGCM'),
        SECRET_KEY,
        PK,
        'unsupported encryption algorithm (expected AESCBC)',
    ),
    ('not-base64', '$encrypted$UTF8$AESCBC$not base64!', SECRET_KEY, PK, 'malformed encrypted value (not base64)'),
    ('not-ascii', '$encrypted$UTF8$AESCBC$ëë==', SECRET_KEY, PK, 'malformed encrypted value (not base64)'),
    ('empty-data', '$encrypted$UTF8$AESCBC$', SECRET_KEY, PK, TRUNCATED),
    ('truncated-ciphertext', _raw(_RAW[:-40]), SECRET_KEY, PK, TRUNCATED),
    ('cut-mid-block', _raw(_RAW[:-7]), SECRET_KEY, PK, TRUNCATED),
    ('header-only', _raw(_RAW[:25]), SECRET_KEY, PK, TRUNCATED),
    ('wrong-version', _raw(b'\x81' + _RAW[1:]), SECRET_KEY, PK, TRUNCATED),
    ('wrong-secret-key', KNOWN, 'another-controller-key', PK, WRONG_KEY),
    ('wrong-row', KNOWN, SECRET_KEY, PK + 1, WRONG_KEY),
    ('no-row', KNOWN, SECRET_KEY, None, WRONG_KEY),
    ('flipped-ciphertext', _raw(_RAW[:30] + bytes([_RAW[30] ^ 1]) + _RAW[31:]), SECRET_KEY, PK, WRONG_KEY),
    ('flipped-mac', _raw(_RAW[:-1] + bytes([_RAW[-1] ^ 1])), SECRET_KEY, PK, WRONG_KEY),
    (
        'bad-padding',
        wrap(fernet_token(awx_key(SECRET_KEY, PK), bytes(16), TIMESTAMP, IV, pad=False)),
        SECRET_KEY,
        PK,
        'cannot decrypt: the decrypted value is not padded UTF-8 text',
    ),
    (
        'not-utf8',
        wrap(fernet_token(awx_key(SECRET_KEY, PK), b'\xff\xfe', TIMESTAMP, IV)),
        SECRET_KEY,
        PK,
        'cannot decrypt: the decrypted value is not padded UTF-8 text',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('value', 'secret_key', 'pk', 'message'), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_a_bad_value_is_one_clear_reason(value, secret_key, pk, message):
    with pytest.raises(DecryptionError) as caught:
        decrypt_value(value, secret_key, pk)
    assert str(caught.value) == message
    assert caught.value.__context__ is None or caught.value.__suppress_context__  # no library text chained
    assert secret_key not in str(caught.value)
