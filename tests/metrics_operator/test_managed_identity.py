"""`metrics_operator.managed_identity`: the pure decisions of the managed Candlepin identity, as exact tables.

Certificates are real (trustme) with the validity each case needs; the Secret is given as the API returns it
(base64 `data`). Every reason is asserted in full, and none may hold PEM or key content.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme
from cryptography import x509

from metrics_operator import managed_identity, names, spec
from metrics_operator.managed_identity import CredentialsRef, IdentityState, ManagedSpec
from metrics_utility.library.candlepin.identity import check_identity
from testsupport.secrets import assert_no_secret

pytestmark = pytest.mark.unit
NOW = datetime.now(UTC).replace(microsecond=0)
UUID = '5f0c2b9e-61a4-4c1e-9a57-2d3c4b5a6f70'
COLLECTION = 'controller'
SECRET = 'controller-candlepin-identity'
CA = trustme.CA()


def issue(days: float, uuid: str = UUID, before: float = 1) -> tuple[str, str]:
    leaf = CA.issue_cert(
        'consumer.candlepin.test',
        common_name=uuid,
        not_before=NOW - timedelta(days=before),
        not_after=NOW + timedelta(days=days),
    )
    return leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes().decode()


CERT, KEY = issue(365)
SOON_CERT, SOON_KEY = issue(10)
OLD_CERT, OLD_KEY = issue(-1, before=30)
OTHER_CERT, OTHER_KEY = issue(365)


def subject(cert_pem: str) -> str:
    return x509.load_pem_x509_certificate(cert_pem.encode()).subject.rfc4514_string()


def b64(text: str | bytes) -> str:
    return base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode()


def secret(
    data: dict[str, str | bytes] | None = None, *, type_: str = 'kubernetes.io/tls', labels: Any = None
) -> dict[str, Any]:
    given = {'tls.crt': CERT, 'tls.key': KEY, 'consumer-uuid': UUID} if data is None else data
    return {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'type': type_,
        'metadata': {
            'name': SECRET,
            'resourceVersion': '7',
            'labels': names.labels(COLLECTION) if labels is None else labels,
        },
        'data': {key: b64(value) for key, value in given.items()},
    }


# -- plan -----------------------------------------------------------------------------------------------------------

PLANS = {
    'no Secret': (None, 'register', f'the Secret {SECRET} does not exist'),
    'fine': (secret(), 'checkin', f'the certificate is valid until {(NOW + timedelta(days=365)):%Y-%m-%d}'),
    'expiring within the window': (
        secret({'tls.crt': SOON_CERT, 'tls.key': SOON_KEY, 'consumer-uuid': UUID}),
        'renew',
        f'the certificate expires on {(NOW + timedelta(days=10)):%Y-%m-%d}, within 30 days',
    ),
}
HOSTILE_PLANS = {
    'not ours (no labels)': (
        secret(labels={}),
        'conflict',
        f'the Secret {SECRET} exists but is not managed by this operator for {COLLECTION}; delete or rename it',
    ),
    'another collection': (
        secret(labels=names.labels('other')),
        'conflict',
        f'the Secret {SECRET} exists but is not managed by this operator for {COLLECTION}; delete or rename it',
    ),
    'wrong type': (
        secret(type_='Opaque'),
        'conflict',
        f"the Secret {SECRET} is of type 'Opaque', not kubernetes.io/tls (a type cannot change): delete it to "
        'register again',
    ),
    'key missing': (
        secret({'tls.crt': CERT, 'consumer-uuid': UUID}),
        'register',
        f'the Secret {SECRET} lacks tls.key (or it is not ASCII base64)',
    ),
    'not base64': (
        {**secret(), 'data': {'tls.crt': '%%%', 'tls.key': b64(KEY), 'consumer-uuid': b64(UUID)}},
        'register',
        f'the Secret {SECRET} lacks tls.crt (or it is not ASCII base64)',
    ),
    'no data at all': (
        {**secret(), 'data': None},
        'register',
        f'the Secret {SECRET} lacks tls.crt, tls.key, consumer-uuid (or it is not ASCII base64)',
    ),
    'binary certificate': (
        secret({'tls.crt': b'\xff\xfe\x00garbage', 'tls.key': KEY, 'consumer-uuid': UUID}),
        'register',
        f'the Secret {SECRET} lacks tls.crt (or it is not ASCII base64)',
    ),
    'garbage PEM': (
        secret(
            {
                'tls.crt': '-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n',
                'tls.key': KEY,
                'consumer-uuid': UUID,
            }
        ),
        'register',
        f'the Secret {SECRET}: tls.crt is not a PEM certificate',
    ),
    'garbage key': (
        secret({'tls.crt': CERT, 'tls.key': 'not a key', 'consumer-uuid': UUID}),
        'register',
        f'the Secret {SECRET}: tls.key is not an unencrypted PEM private key',
    ),
    'key not matching the certificate': (
        secret({'tls.crt': CERT, 'tls.key': OTHER_KEY, 'consumer-uuid': UUID}),
        'register',
        f'the Secret {SECRET}: tls.key is not the key of tls.crt',
    ),
    'all-zero UUID': (
        secret({'tls.crt': CERT, 'tls.key': KEY, 'consumer-uuid': '00000000-0000-0000-0000-000000000000'}),
        'register',
        f'the Secret {SECRET}: it has no Candlepin consumer (consumer-uuid is all zeros)',
    ),
    'UUID not a UUID': (
        secret({'tls.crt': CERT, 'tls.key': KEY, 'consumer-uuid': '../../etc'}),
        'register',
        f'the Secret {SECRET}: consumer-uuid is not a UUID',
    ),
    'expired': (
        secret({'tls.crt': OLD_CERT, 'tls.key': OLD_KEY, 'consumer-uuid': UUID}),
        'register',
        f'the Secret {SECRET}: the Candlepin certificate ({subject(OLD_CERT)}) expired on '
        f'{(NOW - timedelta(days=1)).isoformat()}',
    ),
}


@pytest.mark.parametrize('case', PLANS, ids=list(PLANS))
def test_plan_decides_from_the_secret_and_the_clock(case):
    given, action, why = PLANS[case]
    found = managed_identity.plan(given, COLLECTION, NOW, 30)
    assert (found.action, found.why) == (action, why)
    assert (found.identity is not None) == (action in ('renew', 'checkin'))


@pytest.mark.hostile
@pytest.mark.parametrize('case', HOSTILE_PLANS, ids=list(HOSTILE_PLANS))
def test_plan_of_a_hostile_secret(case):
    given, action, why = HOSTILE_PLANS[case]
    found = managed_identity.plan(given, COLLECTION, NOW, 30)
    assert (found.action, found.why, found.identity) == (action, why, None)
    assert_no_secret(found.why, KEY.split('\n')[1], CERT.split('\n')[1])


@pytest.mark.parametrize(
    ('days', 'window', 'action'),
    [(10, 9, 'checkin'), (10, 10, 'renew'), (10, 30, 'renew'), (365, 364, 'checkin'), (365, 366, 'renew')],
    ids=['outside', 'on the boundary', 'inside', 'a year, window below', 'a year, window above'],
)
def test_the_renewal_window_includes_its_boundary(days, window, action):
    cert, key = issue(days)
    found = managed_identity.plan(
        secret({'tls.crt': cert, 'tls.key': key, 'consumer-uuid': UUID}), COLLECTION, NOW, window
    )
    assert found.action == action


# -- the spec -------------------------------------------------------------------------------------------------------


def raw_spec(target: str = 'crc', **identity: Any) -> dict[str, Any]:
    storage: dict[str, Any] = {'type': 'directory', 'directory': {'claimName': 'data'}}
    block = {'billingAccountId': '123456789012', 'identity': identity}
    if target == 'crc':
        storage = {'type': 'crc', 'crc': {**block, 'state': {'claimName': 'watermarks'}}}
    else:
        storage['console'] = block
    return {
        'database': {'host': 'pg', 'credentialsSecret': {'name': 'db'}},
        'storage': storage,
        'report': {'enabled': target != 'crc'},
    }


def managed_of(raw: dict[str, Any]) -> ManagedSpec | None:
    return managed_identity.managed_spec(COLLECTION, spec.validate(COLLECTION, raw))


MANAGED = {'credentialsSecret': {'name': 'rh-account'}}


def test_managed_spec_defaults():
    assert managed_of(raw_spec(source='managed', managed=MANAGED)) == ManagedSpec(
        field='spec.storage.crc.identity.managed',
        credentials=CredentialsRef('rh-account', 'username', 'password'),
        organization=None,
        candlepin_url='https://subscription.rhsm.redhat.com/subscription',
        renew_before_days=30,
    )


def test_managed_spec_of_the_console_block_with_every_field():
    managed = {
        'credentialsSecret': {'name': 'rh', 'usernameKey': 'u', 'passwordKey': 'p'},
        'organization': '1234567',
        'candlepinUrl': 'https://candlepin.example/candlepin/',
        'renewBeforeDays': 7,
    }
    assert managed_of(raw_spec('console', source='managed', managed=managed)) == ManagedSpec(
        field='spec.storage.console.identity.managed',
        credentials=CredentialsRef('rh', 'u', 'p'),
        organization='1234567',
        candlepin_url='https://candlepin.example/candlepin',
        renew_before_days=7,
    )


DIRECTORY_ONLY = {
    'database': {'host': 'pg', 'credentialsSecret': {'name': 'db'}},
    'storage': {'type': 'directory', 'directory': {'claimName': 'data'}},
}
SERVICE_ACCOUNT = raw_spec('console', source='serviceAccount')
SERVICE_ACCOUNT['storage']['console']['serviceAccountSecret'] = {'name': 'sa'}


@pytest.mark.parametrize(
    'raw',
    [DIRECTORY_ONLY, raw_spec(source='certificateSecret', certificateSecret={'name': 'tls'}), SERVICE_ACCOUNT],
    ids=['directory', 'certificateSecret', 'service account'],
)
def test_no_managed_identity(raw):
    assert managed_of(raw) is None


W = 'spec.storage.crc.identity.managed'


# -- the credentials ------------------------------------------------------------------------------------------------

REF = CredentialsRef('rh-account')
PASSWORD = 'Rh-p4ss/+=:%-do-not-leak'


def credentials_secret(**data: str | bytes) -> dict[str, Any]:
    return {'metadata': {'name': 'rh-account'}, 'data': {k: b64(v) for k, v in data.items()}}


def test_credentials_are_read_and_the_password_hidden():
    username, password = managed_identity.credentials(
        credentials_secret(username=' alice ', password=PASSWORD + '\n'), REF
    )
    assert (username, password.reveal()) == ('alice', PASSWORD)
    assert PASSWORD not in repr(password)


HOSTILE_CREDENTIALS = {
    'no Secret': (None, 'the credentials Secret rh-account does not exist'),
    'no username key': (
        credentials_secret(password=PASSWORD),
        "the credentials Secret rh-account has no key 'username' (the username)",
    ),
    'no password key': (
        credentials_secret(username='alice'),
        "the credentials Secret rh-account has no key 'password' (the password)",
    ),
    'empty password': (
        credentials_secret(username='alice', password='\n'),
        "the key 'password' of the Secret rh-account is empty",
    ),
    'blank username': (
        credentials_secret(username='  ', password=PASSWORD),
        "the key 'username' of the Secret rh-account is empty",
    ),
    'password not UTF-8': (
        credentials_secret(username='alice', password=b'\xff\xfe' + PASSWORD.encode()),
        "the key 'password' of the Secret rh-account is not UTF-8 text",
    ),
    'password not base64': (
        {'data': {'username': b64('alice'), 'password': '%%%' + PASSWORD}},
        "the key 'password' of the Secret rh-account is not UTF-8 text",
    ),
    'password with a NUL': (
        credentials_secret(username='alice', password=PASSWORD + '\x00x'),
        "the key 'password' of the Secret rh-account is not a password (control characters or too long)",
    ),
    'username with a newline inside': (
        credentials_secret(username='ali\nce', password=PASSWORD),
        "the key 'username' of the Secret rh-account is not a username (control characters or too long)",
    ),
    'password too long': (
        credentials_secret(username='alice', password='x' * 1025),
        "the key 'password' of the Secret rh-account is not a password (control characters or too long)",
    ),
    'username with a colon': (
        credentials_secret(username='alice:admin', password=PASSWORD),
        'the key \'username\' of the Secret rh-account: a username holds no ":"',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', HOSTILE_CREDENTIALS, ids=list(HOSTILE_CREDENTIALS))
def test_hostile_credentials_are_one_message_without_the_password(case):
    given, message = HOSTILE_CREDENTIALS[case]
    with pytest.raises(managed_identity.CredentialsError) as caught:
        managed_identity.credentials(given, REF)
    assert str(caught.value) == message
    assert_no_secret(str(caught.value), PASSWORD, user='alice')


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('orgs', 'message'),
    [
        ([], 'alice may register in no organization; ask an organization administrator'),
        (['a', 'b'], f"alice belongs to 2 organizations ('a', 'b'): set {W}.organization"),
        (
            [f'o{i}' for i in range(12)],
            "alice belongs to 12 organizations ('o0', 'o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9' and 2 more):"
            f' set {W}.organization',
        ),
    ],
    ids=['none', 'two', 'twelve'],
)
def test_organization_discovery_needs_exactly_one(orgs, message):
    with pytest.raises(managed_identity.CredentialsError) as caught:
        managed_identity.only_organization(orgs, 'alice', W)
    assert str(caught.value) == message


def test_the_only_organization_is_taken():
    assert managed_identity.only_organization(['acme'], 'alice', W) == 'acme'


# -- the Secret and the status --------------------------------------------------------------------------------------


def test_the_secret_is_a_tls_secret_owned_by_the_collection():
    body = managed_identity.secret_body(COLLECTION, 'aap', 'uid-1', UUID, CERT, KEY, '2026-03-02T04:00:00Z')
    assert body == {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'type': 'kubernetes.io/tls',
        'metadata': {
            'name': SECRET,
            'namespace': 'aap',
            'labels': names.labels(COLLECTION),
            'annotations': {'metrics.aap.dev/candlepin-renewed': '2026-03-02T04:00:00Z'},
            'ownerReferences': [
                {
                    'apiVersion': 'metrics.aap.dev/v1alpha1',
                    'kind': 'MetricsCollection',
                    'name': COLLECTION,
                    'uid': 'uid-1',
                    'controller': True,
                    'blockOwnerDeletion': True,
                }
            ],
        },
        'data': {'tls.crt': b64(CERT), 'tls.key': b64(KEY), 'consumer-uuid': b64(UUID)},
    }
    assert managed_identity.plan(body, COLLECTION, NOW, 30).action == 'checkin'  # what it writes, it reads back


def test_a_renewal_replaces_the_whole_data_in_one_patch_guarded_by_the_version():
    assert managed_identity.replace_ops('7', UUID, CERT, KEY, '2026-03-02T04:00:00Z') == [
        {'op': 'test', 'path': '/metadata/resourceVersion', 'value': '7'},
        {
            'op': 'replace',
            'path': '/data',
            'value': {'tls.crt': b64(CERT), 'tls.key': b64(KEY), 'consumer-uuid': b64(UUID)},
        },
        {
            'op': 'add',
            'path': '/metadata/annotations',
            'value': {'metrics.aap.dev/candlepin-renewed': '2026-03-02T04:00:00Z'},
        },
    ]


def test_the_status_block_names_the_identity_never_its_content():
    identity = check_identity(CERT, KEY, UUID, NOW)
    block = managed_identity.status_block(identity, COLLECTION, '2026-03-02T04:00:00Z')
    assert block == {
        'source': 'managed',
        'subject': subject(CERT),
        'consumerUUID': UUID,
        'notAfter': (NOW + timedelta(days=365)).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'secretName': SECRET,
        'lastRenewal': '2026-03-02T04:00:00Z',
    }
    assert 'lastRenewal' not in managed_identity.status_block(identity, COLLECTION, None)


AFTER = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ('now', 'expected'),
    [
        (
            AFTER - timedelta(days=31),
            ('False', 'AsExpected', 'the Candlepin certificate is valid until 2026-06-01T00:00:00Z'),
        ),
        (
            AFTER - timedelta(days=30),
            ('True', 'ExpiresSoon', 'the Candlepin certificate expires on 2026-06-01T00:00:00Z (in 30 days)'),
        ),
        (
            AFTER - timedelta(hours=30),
            ('True', 'ExpiresSoon', 'the Candlepin certificate expires on 2026-06-01T00:00:00Z (in 1 day)'),
        ),
        (AFTER, ('True', 'Expired', 'the Candlepin certificate expired on 2026-06-01T00:00:00Z')),
    ],
    ids=['outside the window', 'on its edge', 'one day left', 'expired'],
)
def test_the_expiry_condition(now, expected):
    assert managed_identity.expiry_condition(AFTER, now, 30) == expected


def test_with_identity_sets_status_and_both_conditions_and_keeps_other_conditions():
    previous = {
        'conditions': [
            {
                'type': 'IdentityReady',
                'status': 'True',
                'reason': 'Registered',
                'message': 'm',
                'lastTransitionTime': '2026-01-01T00:00:00Z',
            },
        ]
    }
    desired = {'conditions': [{'type': 'Ready', 'status': 'True'}, previous['conditions'][0]]}
    state = IdentityState({'source': 'managed'}, ('True', 'CheckedIn', 'checked in'), ('False', 'AsExpected', 'ok'))
    result = managed_identity.with_identity(desired, previous, state, 3, '2026-03-02T04:00:00Z')
    assert result == {
        'identity': {'source': 'managed'},
        'conditions': [
            {'type': 'Ready', 'status': 'True'},
            {
                'type': 'IdentityReady',
                'status': 'True',
                'reason': 'CheckedIn',
                'message': 'checked in',
                'lastTransitionTime': '2026-01-01T00:00:00Z',
                'observedGeneration': 3,
            },
            {
                'type': 'CertificateExpiring',
                'status': 'False',
                'reason': 'AsExpected',
                'message': 'ok',
                'lastTransitionTime': '2026-03-02T04:00:00Z',
                'observedGeneration': 3,
            },
        ],
    }


def test_without_a_state_the_status_stays_as_compose_made_it():
    desired = {'conditions': [{'type': 'Ready'}]}
    assert managed_identity.with_identity(desired, {}, None, 1, 'now') == {'conditions': [{'type': 'Ready'}]}


def test_not_managed_removes_our_condition_and_our_block_only():
    previous = {'identity': {'source': 'managed'}, 'conditions': []}
    desired = {'conditions': [{'type': 'Ready'}, {'type': 'IdentityReady'}, {'type': 'CertificateExpiring'}]}
    result = managed_identity.with_identity(desired, previous, managed_identity.NOT_MANAGED, 1, 'now')
    # CertificateExpiring is status.compose's for the other certificate identities: it stays as compose made it
    assert result == {'conditions': [{'type': 'Ready'}, {'type': 'CertificateExpiring'}], 'identity': None}
    other = {'identity': {'source': 'controller'}}
    assert managed_identity.with_identity({'conditions': []}, other, managed_identity.NOT_MANAGED, 1, 'now') == {
        'conditions': []
    }


def test_a_failure_without_a_usable_identity_removes_the_stale_block():
    previous = {'identity': {'source': 'managed', 'consumerUUID': UUID}}
    state = IdentityState(None, ('False', 'RegistrationFailed', 'refused'))
    result = managed_identity.with_identity({'conditions': []}, previous, state, 1, 'now')
    assert result['identity'] is None
    assert [c['reason'] for c in result['conditions']] == ['RegistrationFailed']
