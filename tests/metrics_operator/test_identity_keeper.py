"""The managed Candlepin identity, end to end: the real Kopf operator against the strict Kubernetes API emulator and
a local Candlepin over real TLS (tests/testsupport/candlepin.py, trusted through `spec.trustedCA`).

Registration creates the Secret, renewal close to expiry replaces its data in one PATCH, a fine identity only checks
in; every failure is a condition with its reason and exactly one Warning Event, retried on the next tick; and no
password, key or certificate content reaches logs, status or Events in any encoding.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import trustme

from metrics_operator import names
from metrics_operator.config import OperatorConfig
from metrics_utility import contract
from testsupport.candlepin import CandlepinState, Consumer, FakeCandlepin
from testsupport.https_servers import Reply, tls_ca_fixture  # noqa: F401 (fixture)
from testsupport.kube_api import StrictKubernetesEmulator
from testsupport.kube_client import ApiUser
from testsupport.operator_runner import OperatorRun, eventually
from testsupport.operator_samples import (
    RH_PASSWORD,
    RH_USER,
    ca_configmap,
    claim,
    collection,
    crc_secret,
    crc_storage,
    db_secret,
    managed_identity,
    rh_account,
)
from testsupport.proxy import ConnectProxy
from testsupport.secrets import assert_no_secret, logged

pytestmark = pytest.mark.integration
NS = 'default'
NAME = 'controller'
SECRET = 'controller-candlepin-identity'
USER = RH_USER
PASSWORD = RH_PASSWORD
TLS_TYPE = 'kubernetes.io/tls'
UUID = '5f0c2b9e-61a4-4c1e-9a57-2d3c4b5a6f70'  # a consumer registered before the test
OTHER = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'


@pytest.fixture
def candlepin(tls_ca: trustme.CA) -> Iterator[FakeCandlepin]:
    state = CandlepinState(users={USER: PASSWORD}, owners={USER: ['acme']})
    with FakeCandlepin(tls_ca, state) as server:
        yield server


@pytest.fixture
def user(kube_api: StrictKubernetesEmulator) -> ApiUser:
    return ApiUser(str(kube_api.url))


@contextlib.asynccontextmanager
async def running(
    kube_api: StrictKubernetesEmulator, interval: float, timeout: float = 5.0, tick: float | None = None
) -> AsyncIterator[None]:
    """The operator checking in every `interval` seconds and looking at the Secret every `tick` (default: the same)."""
    config = OperatorConfig(
        worker_image='registry.example/metrics-utility:test',
        status_interval=0.2,
        retry_interval=0.3,
        metrics_port=0,
        liveness=None,
        identity_interval=interval,
        identity_retry_interval=interval if tick is None else tick,
        identity_timeout=timeout,
    )
    run = OperatorRun(kube_api.url, config, namespaces=(NS,))
    await run.start()
    try:
        yield
    finally:
        await run.stop()


async def prerequisites(user: ApiUser, tls_ca: trustme.CA, password: str | None = PASSWORD) -> None:
    await user.create('secrets', db_secret())
    await user.create('secrets', crc_secret())
    await user.create('persistentvolumeclaims', claim('watermarks'))
    await user.create('configmaps', ca_configmap('candlepin-ca', tls_ca.cert_pem.bytes().decode()))
    if password is not None:
        await user.create('secrets', rh_account(password=password))


def managed_collection(url: str, **managed: Any) -> dict[str, Any]:
    return collection(
        NAME,
        storage=crc_storage({'claimName': 'watermarks'}, identity=managed_identity(url, **managed)),
        report={'enabled': False},
        trustedCA={'configMapName': 'candlepin-ca', 'key': 'ca.pem'},
    )


def encoded(data: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret['data'].items()}


def condition(kube_api: StrictKubernetesEmulator, type_: str) -> dict[str, Any]:
    obj = kube_api.get_object('metricscollections', NS, NAME) or {}
    return next((c for c in (obj.get('status') or {}).get('conditions', []) if c['type'] == type_), {})


def reason_is(kube_api: StrictKubernetesEmulator, type_: str, status: str, reason: str):
    return lambda: (lambda c: c.get('status') == status and c.get('reason') == reason)(condition(kube_api, type_))


def secret_writes(kube_api: StrictKubernetesEmulator) -> list[str]:
    return [
        r.verb
        for r in kube_api.requests_by('metrics-operator')
        if r.resource == 'secrets' and r.verb in ('create', 'patch', 'delete')
    ]


def assert_nothing_leaked(kube_api: StrictKubernetesEmulator, caplog: pytest.LogCaptureFixture, *more: str) -> None:
    """Password (every encoding), and every consumer key and certificate body: nowhere in logs, status, Events."""
    obj = kube_api.get_object('metricscollections', NS, NAME) or {}
    events = [json.dumps(e) for e in kube_api.stored('events', NS)]
    texts = [*logged(caplog), json.dumps(obj.get('status') or {}), *events]
    assert_no_secret(texts, PASSWORD, user=USER)
    pems = [*more]
    for secret in kube_api.stored('secrets', NS):
        if secret['metadata']['name'] == SECRET:
            pems += list(decoded(secret).values())[:2]
    bodies = [line for pem in pems for line in pem.splitlines()[1:-1] if len(line) > 20]
    assert_no_secret(texts, *bodies)
    assert 'PRIVATE KEY' not in '\n'.join(texts)


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


# -- registration, renewal, check-in --------------------------------------------------------------------------------


async def test_registration_creates_the_tls_secret_and_reports_it(kube_api, user, candlepin, tls_ca, caplog):
    await prerequisites(user, tls_ca)
    async with running(kube_api, interval=3600):
        created = await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'Registered'), what='Registered')
        await eventually(
            lambda: (kube_api.get_object('metricscollections', NS, NAME) or {}).get('status', {}).get('identity')
        )
    [consumer] = candlepin.state.consumers.values()
    secret = kube_api.get_object('secrets', NS, SECRET)
    assert secret['type'] == TLS_TYPE
    assert decoded(secret) == {
        'tls.crt': consumer.cert_pem,
        'tls.key': consumer.key_pem,
        'consumer-uuid': consumer.uuid,
    }
    assert secret['metadata']['labels'] == names.labels(NAME)
    assert secret['metadata']['ownerReferences'][0]['uid'] == created['metadata']['uid']
    renewed = secret['metadata']['annotations']['metrics.aap.dev/candlepin-renewed']
    # What Candlepin saw: the organization lookup and one registration in it, under the collection's name.
    calls = [(r.method, r.path.split('?')[0].removeprefix('/candlepin')) for r in candlepin.requests]
    assert calls == [('GET', f'/users/{USER}/owners'), ('POST', '/consumers')]
    assert candlepin.requests[1].path.endswith('?owner=acme')
    assert candlepin.requests[1].json()['name'] == 'controller.default.metrics-operator'
    status = kube_api.get_object('metricscollections', NS, NAME)['status']
    subject = f'CN={consumer.uuid}'
    assert status['identity']['subject'].startswith(subject)
    assert status['identity'] == {
        'source': 'managed',
        'subject': status['identity']['subject'],
        'consumerUUID': consumer.uuid,
        'notAfter': status['identity']['notAfter'],
        'lastRenewal': renewed,
        'secretName': SECRET,
    }
    assert condition(kube_api, 'IdentityReady')['message'].startswith(f'registered consumer {consumer.uuid}; CN=')
    assert condition(kube_api, 'CertificateExpiring')['reason'] == 'AsExpected'
    assert secret_writes(kube_api) == ['create']
    assert_nothing_leaked(kube_api, caplog)


async def _registered(candlepin: FakeCandlepin, days: int) -> Consumer:
    cert, key = candlepin.issue(UUID, timedelta(days=days))
    consumer = Consumer(UUID, 'acme', cert, key)
    candlepin.state.consumers[UUID] = consumer
    return consumer


def our_secret(consumer: Consumer, **changes: Any) -> dict[str, Any]:
    data = {'tls.crt': consumer.cert_pem, 'tls.key': consumer.key_pem, 'consumer-uuid': consumer.uuid}
    return {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'type': TLS_TYPE,
        'metadata': {'name': SECRET, 'labels': names.labels(NAME)},
        'data': encoded(data),
    } | changes


async def test_renewal_close_to_expiry_replaces_the_data_in_one_patch(kube_api, user, candlepin, tls_ca, caplog):
    await prerequisites(user, tls_ca)
    consumer = await _registered(candlepin, days=10)
    old_cert, old_key = consumer.cert_pem, consumer.key_pem
    await user.create('secrets', our_secret(consumer))
    async with running(kube_api, interval=3600):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'Renewed'), what='Renewed')
    assert (consumer.checkins, consumer.regenerations) == (1, 1)
    secret = kube_api.get_object('secrets', NS, SECRET)
    assert decoded(secret) == {
        'tls.crt': consumer.cert_pem,
        'tls.key': consumer.key_pem,
        'consumer-uuid': consumer.uuid,
    }
    assert consumer.cert_pem != old_cert
    assert secret_writes(kube_api) == ['patch']  # one PATCH swaps certificate, key and UUID together
    assert condition(kube_api, 'CertificateExpiring')['reason'] == 'AsExpected'
    assert_nothing_leaked(kube_api, caplog, old_cert, old_key)


async def test_a_fine_identity_only_checks_in_on_every_tick(kube_api, user, candlepin, tls_ca, caplog):
    await prerequisites(user, tls_ca)
    consumer = await _registered(candlepin, days=200)
    await user.create('secrets', our_secret(consumer))
    async with running(kube_api, interval=0.3):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(lambda: consumer.checkins >= 3, what='three check-ins (spec, then the timer)')
        await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'CheckedIn'), what='CheckedIn')
    assert consumer.regenerations == 0
    assert secret_writes(kube_api) == []
    assert_nothing_leaked(kube_api, caplog)


async def test_check_ins_wait_for_the_interval_while_each_tick_looks_at_the_secret(kube_api, user, candlepin, tls_ca):
    await prerequisites(user, tls_ca)
    consumer = await _registered(candlepin, days=200)
    await user.create('secrets', our_secret(consumer))
    reads = lambda: len([r for r in kube_api.requests_by('metrics-operator') if r.resource == 'secrets'])  # noqa: E731
    async with running(kube_api, interval=3600, tick=0.3):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'CheckedIn'), what='CheckedIn')
        ticks = reads()
        await eventually(lambda: reads() >= ticks + 3, what='three more ticks')
    assert (consumer.checkins, consumer.regenerations) == (1, 0)  # the spec's check-in; the next is due in an hour


async def test_deleting_the_secret_forces_a_new_registration(kube_api, user, candlepin, tls_ca):
    await prerequisites(user, tls_ca)
    async with running(kube_api, interval=3600, tick=0.3):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(lambda: kube_api.get_object('secrets', NS, SECRET), what='the Secret')
        await user.delete(f'/api/v1/namespaces/{NS}/secrets/{SECRET}')
        await eventually(lambda: len(candlepin.state.consumers) == 2, what='a second registration')
        await eventually(
            lambda: (
                decoded(kube_api.get_object('secrets', NS, SECRET) or {'data': {}}).get('consumer-uuid')
                == list(candlepin.state.consumers)[1]
            ),
            what='the new consumer in the Secret',
        )


async def test_an_expiring_identity_that_cannot_be_renewed_warns(kube_api, user, candlepin, tls_ca, caplog):
    await prerequisites(user, tls_ca)
    consumer = await _registered(candlepin, days=10)
    await user.create('secrets', our_secret(consumer))
    candlepin.responder = lambda request: Reply(503, {'displayMessage': 'down for maintenance'})
    async with running(kube_api, interval=3600):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(reason_is(kube_api, 'CertificateExpiring', 'True', 'ExpiresSoon'), what='ExpiresSoon')
    ready = condition(kube_api, 'IdentityReady')
    assert (ready['status'], ready['reason']) == ('False', 'RenewalFailed')
    assert ready['message'] == (f'checking in consumer {consumer.uuid} failed: HTTP 503: down for maintenance')
    status = kube_api.get_object('metricscollections', NS, NAME)['status']
    assert status['identity']['consumerUUID'] == consumer.uuid  # the identity still in use stays visible
    assert secret_writes(kube_api) == []
    assert_nothing_leaked(kube_api, caplog)


# -- failures: a condition, one Warning Event, retried on the next tick ---------------------------------------------


class Silent:
    """A TCP server that accepts and never answers (not even the TLS handshake): the timeout case."""

    def __init__(self) -> None:
        self.socket = socket.create_server(('127.0.0.1', 0))
        self.accepted: list[socket.socket] = []
        self.port = self.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f'https://127.0.0.1:{self.port}/candlepin'

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.socket.accept()[0])

    def close(self) -> None:
        self.socket.close()
        for connection in self.accepted:
            connection.close()


def owners_url(candlepin: FakeCandlepin) -> str:
    return f'listing the organizations of {USER} at {candlepin.api}'


FAILURES = {
    'wrong password (401)': (
        {'password': 'not-the-password-0815'},
        lambda c: (
            f'{owners_url(c)} failed: Candlepin refused the username or password of {USER} (HTTP 401): '
            'Invalid Credentials'
        ),
        'RegistrationFailed',
    ),
    'no credentials Secret': (
        {'password': None},
        lambda c: 'the credentials Secret rh-account does not exist',
        'CredentialsSecretNotFound',
    ),
    'empty password in the credentials Secret': (
        {'password': ''},
        lambda c: "the key 'password' of the Secret rh-account is empty",
        'CredentialsInvalid',
    ),
    'Candlepin 5xx': (
        {'reply': Reply(502, 'Bad Gateway')},
        lambda c: f'{owners_url(c)} failed: HTTP 502',
        'RegistrationFailed',
    ),
    'garbage answer': (
        {'reply': Reply(200, '<html>login</html>')},
        lambda c: f'{owners_url(c)}: the answer (HTTP 200) is not JSON; is the URL a Candlepin API?',
        'RegistrationFailed',
    ),
    'a server that echoes the password': (
        {'reply': Reply(401, {'displayMessage': f'wrong password {PASSWORD} for {USER}'})},
        lambda c: (
            f'{owners_url(c)} failed: Candlepin refused the username or password of {USER} (HTTP 401): '
            f'wrong password *** for {USER}'
        ),
        'RegistrationFailed',
    ),
    'a server that echoes basic auth': (
        {'echo_authorization': True},
        lambda c: (
            f'{owners_url(c)} failed: Candlepin refused the username or password of {USER} (HTTP 401): '
            'you sent Basic ***'
        ),
        'RegistrationFailed',
    ),
    'an unusable certificate issued': (
        {
            'issue': {
                'cert': '-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n',
                'key': '-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n',
            }
        },
        lambda c: 'the certificate Candlepin issued is not usable: tls.crt is not a PEM certificate',
        'RegistrationFailed',
    ),
    'a Secret of that name that is not ours': (
        {'foreign_secret': True},
        lambda c: f'the Secret {SECRET} exists but is not managed by this operator for {NAME}; delete or rename it',
        'SecretConflict',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', FAILURES, ids=list(FAILURES))
async def test_a_failure_is_a_condition_and_one_event_and_is_retried(kube_api, user, candlepin, tls_ca, caplog, case):
    given, message, reason = FAILURES[case]
    await prerequisites(user, tls_ca, password=given.get('password', PASSWORD))
    if 'reply' in given:
        candlepin.responder = lambda request: given['reply']
    if given.get('echo_authorization'):
        candlepin.responder = lambda request: Reply(
            401, {'displayMessage': 'you sent ' + request.headers.get('Authorization', '')}
        )
    if 'issue' in given:
        candlepin.responder = lambda request: Reply(
            200,
            [{'key': 'acme'}] if request.method == 'GET' else {'uuid': UUID, 'idCert': given['issue']},
        )
    if given.get('foreign_secret'):
        await user.create(
            'secrets',
            {
                'apiVersion': 'v1',
                'kind': 'Secret',
                'metadata': {'name': SECRET},
                'data': encoded({'note': 'somebody else'}),
            },
        )
    expected = message(candlepin)
    reads = lambda: len([r for r in kube_api.requests_by('metrics-operator') if r.resource == 'secrets'])  # noqa: E731
    async with running(kube_api, interval=0.3):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(reason_is(kube_api, 'IdentityReady', 'False', reason), what=reason)
        ticks = reads()
        await eventually(lambda: reads() >= ticks + 3, what='more ticks (the failure is retried)')
    ready = condition(kube_api, 'IdentityReady')
    assert ready['message'] == expected
    events = [e for e in kube_api.stored('events', NS) if e.get('reason') == reason]
    assert [(e['type'], e['message']) for e in events] == [('Warning', expected)]  # once, not on every retry
    assert 'identity' not in kube_api.get_object('metricscollections', NS, NAME)['status']
    if given.get('foreign_secret'):
        assert secret_writes(kube_api) == []
        assert decoded(kube_api.get_object('secrets', NS, SECRET)) == {'note': 'somebody else'}
    assert_nothing_leaked(kube_api, caplog)


@pytest.mark.hostile
async def test_a_candlepin_that_never_answers_times_out_into_a_condition(kube_api, user, tls_ca, caplog):
    await prerequisites(user, tls_ca)
    silent = Silent()
    try:
        async with running(kube_api, interval=3600, timeout=0.5):
            await user.create('metricscollections', managed_collection(silent.url))
            await eventually(reason_is(kube_api, 'IdentityReady', 'False', 'RegistrationFailed'), what='timeout')
    finally:
        silent.close()
    message = condition(kube_api, 'IdentityReady')['message']
    port = silent.url.split(':')[2].split('/')[0]
    head = (
        f'listing the organizations of {USER} at {silent.url} failed after 1 attempts: cannot reach 127.0.0.1:{port}: '
    )
    assert message.startswith(head) and message.endswith('timed out'), message
    assert_nothing_leaked(kube_api, caplog)


async def test_choosing_another_identity_clears_the_managed_status(kube_api, user, candlepin, tls_ca):
    await prerequisites(user, tls_ca)
    async with running(kube_api, interval=3600):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'Registered'), what='Registered')
        patch = {'spec': {'storage': {'crc': {'identity': {'source': 'serviceAccount', 'managed': None}}}}}
        await user.merge_patch(f'/apis/metrics.aap.dev/v1alpha1/namespaces/{NS}/metricscollections/{NAME}', patch)

        def cleared() -> bool:
            status = (kube_api.get_object('metricscollections', NS, NAME) or {}).get('status') or {}
            types = {c['type'] for c in status.get('conditions', [])}
            return 'identity' not in status and not types & {'IdentityReady', 'CertificateExpiring'}

        await eventually(cleared, what='the managed identity gone from status')
    assert len(candlepin.state.consumers) == 1


def regenerated(candlepin: FakeCandlepin, uuid: str, cert: str | None = None, key: str | None = None) -> Any:
    """A Candlepin that accepts the check-in and answers the regeneration with `uuid` and the given PEM (default:
    a fresh, valid pair for `uuid`)."""
    fresh_cert, fresh_key = candlepin.issue(uuid)
    body = {'uuid': uuid, 'idCert': {'cert': cert or fresh_cert, 'key': key or fresh_key}}
    return lambda request: Reply(204) if request.method == 'PUT' else Reply(200, body)


LIFECYCLE_FAILURES = {
    'consumer deleted in Candlepin (410)': (
        lambda c: lambda request: Reply(410, {'displayMessage': 'Consumer has been deleted'}),
        f'checking in consumer {UUID} failed: the consumer was deleted in Candlepin (HTTP 410); register again',
    ),
    'certificate refused (401)': (
        lambda c: lambda request: Reply(401, {'displayMessage': 'Unauthorized'}),
        f'checking in consumer {UUID} failed: Candlepin refused the consumer certificate (HTTP 401): Unauthorized; '
        'register again',
    ),
    'regenerated for another consumer': (
        lambda c: regenerated(c, OTHER),
        f'regenerating the certificate of consumer {UUID}: the answer is for another consumer ({OTHER})',
    ),
    'regenerated certificate unparsable': (
        lambda c: regenerated(c, UUID, cert='-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n'),
        'the certificate Candlepin regenerated is not usable: tls.crt is not a PEM certificate',
    ),
    'regenerated key of another certificate': (
        lambda c: regenerated(c, UUID, key=c.issue(OTHER)[1]),
        'the certificate Candlepin regenerated is not usable: tls.key is not the key of tls.crt',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', LIFECYCLE_FAILURES, ids=list(LIFECYCLE_FAILURES))
async def test_a_failed_renewal_keeps_the_secret_and_warns(kube_api, user, candlepin, tls_ca, caplog, case):
    responder, expected = LIFECYCLE_FAILURES[case]
    await prerequisites(user, tls_ca)
    consumer = await _registered(candlepin, days=10)
    await user.create('secrets', our_secret(consumer))
    before = kube_api.get_object('secrets', NS, SECRET)
    candlepin.responder = responder(candlepin)
    async with running(kube_api, interval=0.3):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(reason_is(kube_api, 'IdentityReady', 'False', 'RenewalFailed'), what='RenewalFailed')
        answered = len(candlepin.requests)
        await eventually(lambda: len(candlepin.requests) >= answered + 2, what='retries on the next ticks')
    assert condition(kube_api, 'IdentityReady')['message'] == expected
    assert condition(kube_api, 'CertificateExpiring')['reason'] == 'ExpiresSoon'
    events = [e for e in kube_api.stored('events', NS) if e.get('reason') == 'RenewalFailed']
    assert [(e['type'], e['message']) for e in events] == [('Warning', expected)]
    assert kube_api.get_object('secrets', NS, SECRET)['data'] == before['data']
    assert secret_writes(kube_api) == []
    sent = [r.body.decode(errors='replace') for r in candlepin.requests]
    assert not [body for body in sent if 'PRIVATE KEY' in body]  # the key goes over TLS only, never in a body
    assert_nothing_leaked(kube_api, caplog, consumer.key_pem)


SPOILED = {
    'garbage key': {'tls.key': 'bm90IGEga2V5'},
    'all-zero consumer': {'consumer-uuid': base64.b64encode(b'00000000-0000-0000-0000-000000000000').decode()},
    'certificate not base64': {'tls.crt': '%%%'},
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', SPOILED, ids=list(SPOILED))
async def test_a_spoiled_secret_is_replaced_by_a_new_registration(kube_api, user, candlepin, tls_ca, caplog, case):
    await prerequisites(user, tls_ca)
    async with running(kube_api, interval=3600, tick=0.3):
        await user.create('metricscollections', managed_collection(candlepin.api))
        await eventually(lambda: len(candlepin.state.consumers) == 1, what='the first registration')
        await eventually(lambda: kube_api.get_object('secrets', NS, SECRET), what='the Secret')
        await user.merge_patch(f'/api/v1/namespaces/{NS}/secrets/{SECRET}', {'data': SPOILED[case]})
        await eventually(lambda: len(candlepin.state.consumers) == 2, what='a second registration')
        second = list(candlepin.state.consumers.values())[1]
        await eventually(
            lambda: decoded(kube_api.get_object('secrets', NS, SECRET)).get('consumer-uuid') == second.uuid,
            what='the new identity in the Secret',
        )
        await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'Registered'), what='Registered')
    secret = kube_api.get_object('secrets', NS, SECRET)
    assert decoded(secret) == {'tls.crt': second.cert_pem, 'tls.key': second.key_pem, 'consumer-uuid': second.uuid}
    assert secret_writes(kube_api) == ['create', 'patch']  # the Secret is replaced in place, never deleted
    assert_nothing_leaked(kube_api, caplog)


# -- the network: proxy and trusted CA as the worker pods use them --------------------------------------------------


@pytest.mark.parametrize('where', ['spec.proxy.httpsProxy', 'storage.crc.proxyUrl'])
async def test_candlepin_is_reached_through_the_specs_proxy(kube_api, user, candlepin, tls_ca, where):
    await prerequisites(user, tls_ca)
    with ConnectProxy() as proxy:
        mc = managed_collection(candlepin.api)
        if where == 'spec.proxy.httpsProxy':
            mc['spec']['proxy'] = {'httpsProxy': proxy.url}
        else:
            mc['spec']['storage']['crc']['proxyUrl'] = proxy.url
        async with running(kube_api, interval=3600):
            await user.create('metricscollections', mc)
            await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'Registered'), what='Registered')
        assert proxy.targets() == [f'127.0.0.1:{candlepin.port}']  # one tunnel, kept alive for both calls
    assert [r.method for r in candlepin.requests] == ['GET', 'POST']


@pytest.mark.parametrize('no_proxy', ['127.0.0.1', '127.0.0.0/8', '*'])
async def test_candlepin_named_in_no_proxy_is_reached_directly(kube_api, user, candlepin, tls_ca, no_proxy):
    await prerequisites(user, tls_ca)
    with ConnectProxy() as proxy:
        mc = managed_collection(candlepin.api)
        mc['spec']['proxy'] = {'httpsProxy': proxy.url, 'noProxy': no_proxy}
        async with running(kube_api, interval=3600):
            await user.create('metricscollections', mc)
            await eventually(reason_is(kube_api, 'IdentityReady', 'True', 'Registered'), what='Registered')
        assert proxy.targets() == []  # as the worker pods, whose NO_PROXY holds the same list
    assert [r.method for r in candlepin.requests] == ['GET', 'POST']


NETWORK_FAILURES = {
    'trusted CA key missing': (
        {'trustedCA': {'configMapName': 'candlepin-ca', 'key': 'other.pem'}},
        "the trusted CA ConfigMap candlepin-ca does not exist or has no key 'other.pem'",
    ),
    'Candlepin CA not trusted': (
        {'trustedCA': None},
        'listing the organizations of alice at {api} failed: cannot verify the TLS certificate of {host} (*): it is '
        'not trusted by the default CA store; set spec.trustedCA to a PEM bundle holding the CA that signed it (a '
        'TLS-inspecting proxy needs its CA too)',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', NETWORK_FAILURES, ids=list(NETWORK_FAILURES))
async def test_a_network_misconfiguration_is_one_clear_condition(kube_api, user, candlepin, tls_ca, caplog, case):
    change, expected = NETWORK_FAILURES[case]
    await prerequisites(user, tls_ca)
    mc = managed_collection(candlepin.api)
    mc['spec'].update({key: value for key, value in change.items() if value is not None})
    for key in [key for key, value in change.items() if value is None]:
        del mc['spec'][key]
    async with running(kube_api, interval=3600):
        await user.create('metricscollections', mc)
        await eventually(reason_is(kube_api, 'IdentityReady', 'False', 'RegistrationFailed'), what='the failure')
    wanted = expected.format(api=candlepin.api, host=f'127.0.0.1:{candlepin.port}')
    message = condition(kube_api, 'IdentityReady')['message']
    if '(*)' in wanted:  # (*): the TLS library's own words, which vary with its version
        head, _, tail = wanted.partition('(*)')
        assert message.startswith(head) and message.endswith(tail) and len(message) > len(wanted), message
    else:
        assert message == wanted
    assert candlepin.state.consumers == {}
    assert_nothing_leaked(kube_api, caplog)


def test_every_reason_these_tests_expect_is_in_the_contract():
    reasons = {reason for _, _, reason in FAILURES.values()} | {'Registered', 'Renewed', 'CheckedIn', 'RenewalFailed'}
    assert reasons == set(contract.IDENTITY_REASONS)
