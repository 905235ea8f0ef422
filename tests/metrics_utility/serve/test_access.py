"""Network mode: every request reviewed by Kubernetes (the strict API emulator answers TokenReview and
SubjectAccessReview), served over real TLS; the caller's token never reaches a log or an answer."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import trustme
from aiohttp import web
from kmock import KubernetesError

from metrics_utility.library.storage import StorageDirectory
from metrics_utility.serve.access import KubernetesAccess, KubernetesReviews
from metrics_utility.serve.app import Served, make_app
from testsupport.kube_api import StrictKubernetesEmulator, serving_emulator

pytestmark = [pytest.mark.integration]
OWN_TOKEN = 'sa-token-of-the-server-5b1e'
ALICE = 'token-alice-7f3a9c'  # may get metricscollections/reports of ns1/mc1
BOB = 'token-bob-2d8e41'  # authenticated, without the permission
ATTRIBUTES = {
    'verb': 'get',
    'group': 'metrics.aap.dev',
    'resource': 'metricscollections',
    'subresource': 'reports',
    'namespace': 'ns1',
    'name': 'mc1',
}


@dataclass
class Cluster:
    """How the emulated API server answers reviews; `down` makes every review fail with a 500."""

    api: StrictKubernetesEmulator
    down: bool = False

    def token_review(self, spec: dict, authorization: str | None) -> dict:
        self._caller(authorization)
        users = {ALICE: {'username': 'alice', 'uid': 'u-1', 'groups': ['team']}, BOB: {'username': 'bob'}}
        user = users.get(spec['token'])
        return {'authenticated': True, 'user': user} if user else {'authenticated': False, 'error': 'invalid'}

    def access_review(self, spec: dict, authorization: str | None) -> dict:
        self._caller(authorization)
        allowed = spec['user'] == 'alice' and spec['resourceAttributes'] == ATTRIBUTES and spec['groups'] == ['team']
        return {'allowed': allowed}

    def _caller(self, authorization: str | None) -> None:
        if self.down:
            raise KubernetesError(status=500, reason='InternalError', message='etcd is down')
        if authorization != f'Bearer {OWN_TOKEN}':  # the server reviews with its own service-account token
            raise KubernetesError(status=401, reason='Unauthorized', message='Unauthorized')


@dataclass
class Served_:
    url: str
    cluster: Cluster
    ca: trustme.CA
    token_file: Path

    def client(self) -> aiohttp.ClientSession:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


@pytest_asyncio.fixture
async def network(tmp_path: Path) -> AsyncIterator[Served_]:
    """The API in network mode over TLS (a trustme certificate for 127.0.0.1), reviewing with the emulator."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert('127.0.0.1').configure_cert(server_context)
    token_file = tmp_path / 'token'
    token_file.write_text(OWN_TOKEN + '\n')
    (tmp_path / 'ship').mkdir()
    async with serving_emulator() as api:
        cluster = Cluster(api)
        api.reviewers['tokenreviews'] = cluster.token_review
        api.reviewers['subjectaccessreviews'] = cluster.access_review
        reviews = KubernetesReviews(str(api.url), token_file, None)
        access = KubernetesAccess(reviews, 'ns1', 'mc1')
        runner = web.AppRunner(make_app(Served.of(StorageDirectory(tmp_path / 'ship')), access))
        await runner.setup()
        site = web.TCPSite(runner, '127.0.0.1', 0, ssl_context=server_context)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield Served_(f'https://127.0.0.1:{port}', cluster, ca, token_file)
        finally:
            await runner.cleanup()
            await reviews.close()


async def _get(network: Served_, path: str, authorization: str | None) -> tuple[int, dict, dict]:
    headers = {'Authorization': authorization} if authorization is not None else {}
    async with network.client() as client, client.get(network.url + path, headers=headers) as reply:
        return reply.status, await reply.json(), dict(reply.headers)


HEADERS = {
    'no-header': (None, 401, 'a bearer token is required (Authorization: Bearer <token>)'),
    'empty-header': ('', 401, 'a bearer token is required (Authorization: Bearer <token>)'),
    'basic-auth': (
        'Basic YWxpY2U6cHc=',
        401,
        'the Authorization header is not a bearer token (Authorization: Bearer <token>)',
    ),
    'bearer-without-token': (
        'Bearer',
        401,
        'the Authorization header is not a bearer token (Authorization: Bearer <token>)',
    ),
    'two-tokens': (f'Bearer {ALICE} {BOB}', 401, 'the bearer token is malformed'),
    'huge-token': ('Bearer ' + 'x' * 5000, 401, 'the bearer token is malformed'),
    'non-ascii': ('Bearer tök€n', 401, 'the bearer token is malformed'),
    'unknown-token': ('Bearer token-nobody', 401, 'the bearer token is not valid (TokenReview: not authenticated)'),
    'lowercase-scheme': (
        f'bearer {BOB}',
        403,
        'bob may not get metricscollections/reports of ns1/mc1 (metrics.aap.dev)',
    ),
    'without-permission': (
        f'Bearer {BOB}',
        403,
        'bob may not get metricscollections/reports of ns1/mc1 (metrics.aap.dev)',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('authorization', 'status', 'message'), HEADERS.values(), ids=list(HEADERS))
async def test_requests_without_a_permitted_token_are_refused(network, authorization, status, message):
    for path in ('/api/v1/reports', '/api/v1/usage', '/api/v1/collection', '/api/v1/reports/CCSPv2-2024-02'):
        code, body, headers = await _get(network, path, authorization)
        assert (code, body) == (status, {'error': message}), path
        assert headers.get('WWW-Authenticate') == ('Bearer' if status == 401 else None)


async def test_a_token_with_the_permission_reads_and_is_cached_briefly(network):
    status, body, _ = await _get(network, '/api/v1/reports', f'Bearer {ALICE}')
    assert (status, body) == (200, {'reports': []})
    reviews = [r.resource for r in network.cluster.api.requests_log]
    assert reviews == ['tokenreviews', 'subjectaccessreviews']
    assert (await _get(network, '/api/v1/usage', f'Bearer {ALICE}'))[0] == 200
    assert len(network.cluster.api.requests_log) == 2  # the positive answer is remembered


async def test_refusals_are_not_cached(network):
    for _ in range(2):
        assert (await _get(network, '/api/v1/reports', f'Bearer {BOB}'))[0] == 403
    assert [r.resource for r in network.cluster.api.requests_log] == ['tokenreviews', 'subjectaccessreviews'] * 2


REVIEW_FAILURES = {
    'api-server-error': lambda n: setattr(n.cluster, 'down', True),
    'own-token-refused': lambda n: n.token_file.write_text('another-token'),
    'own-token-unreadable': lambda n: n.token_file.unlink(),
    'no-reviewer': lambda n: n.cluster.api.reviewers.clear(),
}


@pytest.mark.hostile
@pytest.mark.parametrize('fault', REVIEW_FAILURES.values(), ids=list(REVIEW_FAILURES))
async def test_a_review_that_cannot_be_made_is_503_never_200(network, fault):
    fault(network)
    status, body, _ = await _get(network, '/api/v1/reports', f'Bearer {ALICE}')
    assert (status, body) == (503, {'error': 'the access review is unavailable; try again later'})


async def test_health_and_the_document_need_no_token(network):
    assert (await _get(network, '/healthz', None))[:2] == (200, {'status': 'ok'})
    assert (await _get(network, '/openapi.json', None))[0] == 200
    assert network.cluster.api.requests_log == []


async def test_plain_http_is_not_served(network):
    async with aiohttp.ClientSession() as client:
        with pytest.raises(aiohttp.ClientError):
            await client.get(network.url.replace('https', 'http') + '/healthz')


async def test_no_token_reaches_the_logs(network, caplog):
    """Secret scan: with every logger at DEBUG, neither the callers' tokens nor the server's own appear."""
    caplog.set_level(logging.DEBUG)
    for token in (ALICE, BOB, 'token-nobody'):
        await _get(network, '/api/v1/reports', f'Bearer {token}')
    network.cluster.down = True
    await _get(network, '/api/v1/reports', 'Bearer token-other')
    assert 'GET /api/v1/reports' in caplog.text  # the access log ran
    for secret in (ALICE, BOB, 'token-nobody', 'token-other', OWN_TOKEN):
        assert secret not in caplog.text
