"""The local identity store and the certificate expiry read from DER without a crypto library.

The expiry decides whether `candlepin renew` regenerates, so it is checked against certificates made by trustme
with a chosen expiry (UTCTime before 2050, GeneralizedTime after), and every malformed certificate gives one
ValueError with a fixed message, never an IndexError or a wrong date.
"""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
import trustme

from metrics_utility.library.candlepin.store import (
    CERT_FILE,
    KEY_FILE,
    UUID_FILE,
    Identity,
    IdentityStore,
    StoreError,
    not_after,
)

CA = trustme.CA()


def certificate(expiry: datetime) -> str:
    leaf = CA.issue_cert('consumer.test', common_name='c-1', not_after=expiry)
    return leaf.cert_chain_pems[0].bytes().decode()


def pem(der: bytes) -> str:
    return '-----BEGIN CERTIFICATE-----\n' + base64.b64encode(der).decode() + '\n-----END CERTIFICATE-----\n'


def der_of(text: str) -> bytes:
    return base64.b64decode(''.join(text.strip().splitlines()[1:-1]))


@pytest.mark.unit
@pytest.mark.parametrize(
    'expiry',
    [
        datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC),
        datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2050, 1, 1, tzinfo=UTC),
        datetime(2099, 2, 3, 4, 5, 6, tzinfo=UTC),
    ],
    ids=['utctime-2031', 'utctime-last-2049', 'generalizedtime-2050', 'generalizedtime-2099'],
)
def test_not_after_reads_the_expiry_trustme_wrote(expiry):
    assert not_after(certificate(expiry)) == expiry


REAL = der_of(certificate(datetime(2031, 5, 6, tzinfo=UTC)))
VALIDITY_AT = REAL.index(b'\x17\x0d', 0)  # notBefore (UTCTime, 13 bytes)
AFTER_AT = REAL.index(b'\x17\x0d', VALIDITY_AT + 2)  # notAfter
HOSTILE = [  # (id, certificate text, message)
    ('empty', '', 'no PEM certificate'),
    ('a-key-not-a-certificate', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', 'no PEM certificate'),
    (
        'bad-base64',
        '-----BEGIN CERTIFICATE-----\nA===A\n-----END CERTIFICATE-----\n',
        'the certificate is not valid base64',
    ),
    ('not-der', pem(b'hello world'), 'the certificate is not valid DER'),
    ('truncated', pem(REAL[: len(REAL) // 2]), 'the certificate is not valid DER'),
    ('only-the-header', pem(REAL[:4]), 'the certificate is not valid DER'),
    ('outer-tag-not-sequence', pem(b'\x31' + REAL[1:]), 'the certificate is not valid DER'),
    ('length-of-nine-bytes', pem(b'\x30\x89' + b'\xff' * 9), 'the certificate is not valid DER'),
    ('length-beyond-the-end', pem(b'\x30\x84\x7f\xff\xff\xff' + REAL[4:]), 'the certificate is not valid DER'),
    (
        'expiry-not-a-time',
        pem(REAL[:AFTER_AT] + b'\x04' + REAL[AFTER_AT + 1 :]),
        'the certificate has no validity time',
    ),
    (
        'expiry-month-13',
        pem(REAL[: AFTER_AT + 4] + b'13' + REAL[AFTER_AT + 6 :]),
        'the certificate has an invalid expiry time',
    ),
    (
        'expiry-not-ascii',
        pem(REAL[: AFTER_AT + 2] + b'\xff' + REAL[AFTER_AT + 3 :]),
        'the certificate is not valid DER',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('text', 'message'), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_not_after_refuses_malformed_certificates(text, message):
    with pytest.raises(ValueError) as caught:
        not_after(text)
    assert (type(caught.value), str(caught.value)) == (ValueError, message)


@pytest.mark.unit
def test_write_replaces_each_file_by_rename_with_mode_0600(tmp_path):
    store = IdentityStore(tmp_path / 'certs')
    first = Identity('c-1', certificate(datetime.now(UTC) + timedelta(days=5)), 'KEY-1')
    store.write(first)
    inodes = {n: os.stat(tmp_path / 'certs' / n).st_ino for n in (CERT_FILE, KEY_FILE, UUID_FILE)}
    second = Identity('c-1', certificate(datetime.now(UTC) + timedelta(days=500)), 'KEY-2')
    store.write(second)
    assert store.read() == second and repr(second) == "Identity(uuid='c-1')"  # repr shows no key
    assert sorted(os.listdir(tmp_path / 'certs')) == sorted([CERT_FILE, KEY_FILE, UUID_FILE])
    assert {n: os.stat(tmp_path / 'certs' / n).st_ino != i for n, i in inodes.items()} == dict.fromkeys(inodes, True)
    assert {stat.S_IMODE(os.stat(tmp_path / 'certs' / n).st_mode) for n in inodes} == {0o600}
    assert stat.S_IMODE(os.stat(tmp_path / 'certs').st_mode) == 0o700
    assert store.paths() == (str(tmp_path / 'certs' / CERT_FILE), str(tmp_path / 'certs' / KEY_FILE))


@pytest.mark.hostile
def test_a_huge_file_is_not_read_whole(tmp_path):
    store = IdentityStore(tmp_path)
    store.write(Identity('c-1', 'CERT', 'KEY'))
    (tmp_path / CERT_FILE).write_bytes(b'A' * (2 << 20))
    with pytest.raises(StoreError) as caught:
        store.read()
    assert str(caught.value) == f'{tmp_path / CERT_FILE} is larger than 1048576 bytes: not an identity file'


@pytest.mark.hostile
def test_an_unwritable_directory_is_one_message(tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(StoreError) as caught:
        IdentityStore(tmp_path / 'file' / 'certs').write(Identity('c-1', 'CERT', 'KEY'))
    assert str(caught.value) == f'cannot write the identity to {tmp_path / "file" / "certs"}: Not a directory'
