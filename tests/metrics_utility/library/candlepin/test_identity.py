"""The checks an identity passes before use, on trustme certificates: each bad identity gives its exact one-line
reason, and no reason, repr or description shows key or certificate content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import trustme

from metrics_utility.library.candlepin.identity import PLACEHOLDER_UUID, Identity, Unusable, check_identity

pytestmark = pytest.mark.unit

UUID = '2f1c7e5a-0b3d-4e6f-8a9b-1c2d3e4f5a6b'
ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 8, tzinfo=UTC)
SUBJECT = f'CN={UUID},OU=consumers,O=12345'


def leaf(ca: trustme.CA, *, key_type: trustme.KeyType = trustme.KeyType.ECDSA, **dates) -> tuple[str, str]:
    """(certificate PEM, key PEM) of a consumer certificate as Candlepin issues them: CN the consumer, O the org."""
    cert = ca.issue_cert(
        'consumer.example',
        common_name=UUID,
        organization_name='12345',
        organization_unit_name='consumers',
        not_before=dates.get('not_before', ISSUED),
        not_after=dates.get('not_after', EXPIRES),
        key_type=key_type,
    )
    return cert.cert_chain_pems[0].bytes().decode(), cert.private_key_pem.bytes().decode()


@pytest.fixture(scope='module')
def ca() -> trustme.CA:
    return trustme.CA()


def test_a_good_identity(ca):
    cert, key = leaf(ca)
    identity = check_identity(cert, key, f' {UUID.upper()}\n', NOW)
    assert isinstance(identity, Identity)
    assert (identity.cert_pem, identity.key_pem.reveal(), identity.consumer_uuid) == (cert, key, UUID)
    assert (identity.subject, identity.not_after) == (SUBJECT, EXPIRES)
    assert identity.remaining(NOW) == timedelta(days=25, hours=16)
    assert (
        identity.describe(NOW) == f'consumer {UUID}, subject {SUBJECT}, expires 2027-01-01T00:00:00+00:00 (in 25 days)'
    )
    assert key not in repr(identity) and "Secret('***')" in repr(identity)


def test_an_rsa_identity(ca):
    cert, key = leaf(ca, key_type=trustme.KeyType.RSA)
    assert isinstance(check_identity(cert, key, UUID, NOW), Identity)


def _cases(ca: trustme.CA) -> dict[str, tuple[tuple[str, str, str], Unusable]]:
    cert, key = leaf(ca)
    _, other_key = leaf(ca)
    _, rsa_key = leaf(ca, key_type=trustme.KeyType.RSA)
    expired, expired_key = leaf(ca, not_after=datetime(2026, 12, 6, 7, 59, 59, tzinfo=UTC))
    ends_now, ends_now_key = leaf(ca, not_after=NOW)
    future, future_key = leaf(ca, not_before=datetime(2026, 12, 7, tzinfo=UTC))
    from cryptography.hazmat.primitives import serialization

    locked = (
        serialization.load_pem_private_key(key.encode(), None)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b'passphrase'),
        )
        .decode()
    )
    not_pem = 'CANDLEPIN_CERT_PEM is not a PEM certificate'
    bad_key = 'CANDLEPIN_KEY_PEM is not an unencrypted PEM private key'
    mismatch = 'CANDLEPIN_KEY_PEM is not the key of CANDLEPIN_CERT_PEM'
    return {
        'placeholder-uuid': (
            (cert, key, PLACEHOLDER_UUID),
            Unusable('absent', 'the controller has no Candlepin consumer (CANDLEPIN_CONSUMER_UUID is all zeros)'),
        ),
        'uuid-not-a-uuid': ((cert, key, 'consumer-1'), Unusable('unusable', 'CANDLEPIN_CONSUMER_UUID is not a UUID')),
        'uuid-empty': ((cert, key, ''), Unusable('unusable', 'CANDLEPIN_CONSUMER_UUID is not a UUID')),
        'cert-not-pem': (('not a certificate', key, UUID), Unusable('unusable', not_pem)),
        'cert-is-the-key': ((key, key, UUID), Unusable('unusable', not_pem)),
        'cert-truncated': ((cert[: len(cert) // 2], key, UUID), Unusable('unusable', not_pem)),
        'key-not-pem': ((cert, 'not a key', UUID), Unusable('unusable', bad_key)),
        'key-is-the-cert': ((cert, cert, UUID), Unusable('unusable', bad_key)),
        'key-with-passphrase': ((cert, locked, UUID), Unusable('unusable', bad_key)),
        'key-of-another-cert': ((cert, other_key, UUID), Unusable('unusable', mismatch)),
        'key-of-another-type': ((cert, rsa_key, UUID), Unusable('unusable', mismatch)),
        'expired': (
            (expired, expired_key, UUID),
            Unusable('unusable', f'the Candlepin certificate ({SUBJECT}) expired on 2026-12-06T07:59:59+00:00'),
        ),
        'expires-this-second': (
            (ends_now, ends_now_key, UUID),
            Unusable('unusable', f'the Candlepin certificate ({SUBJECT}) expired on 2026-12-06T08:00:00+00:00'),
        ),
        'not-yet-valid': (
            (future, future_key, UUID),
            Unusable(
                'unusable', f'the Candlepin certificate ({SUBJECT}) is not valid before 2026-12-07T00:00:00+00:00'
            ),
        ),
    }


@pytest.fixture(scope='module')
def cases(ca) -> dict[str, tuple[tuple[str, str, str], Unusable]]:
    return _cases(ca)


CASES = [
    'placeholder-uuid',
    'uuid-not-a-uuid',
    'uuid-empty',
    'cert-not-pem',
    'cert-is-the-key',
    'cert-truncated',
    'key-not-pem',
    'key-is-the-cert',
    'key-with-passphrase',
    'key-of-another-cert',
    'key-of-another-type',
    'expired',
    'expires-this-second',
    'not-yet-valid',
]


def test_every_case_is_run(cases):
    assert sorted(cases) == sorted(CASES)


@pytest.mark.hostile
@pytest.mark.parametrize('case', CASES)
def test_a_bad_identity_is_one_clear_reason(cases, case):
    (cert, key, uuid), expected = cases[case]
    result = check_identity(cert, key, uuid, NOW)
    assert result == expected
    for material in (cert, key):
        for line in material.strip().splitlines()[1:-1]:  # the base64 body, line by line
            assert line not in repr(result)
