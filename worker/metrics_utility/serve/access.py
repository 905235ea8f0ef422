"""Who may read the API: nobody checked on loopback, or every caller reviewed by Kubernetes (kube-rbac-proxy's way).

Why two modes only: host names are customer data. On 127.0.0.1 the only way in is the machine itself or `kubectl
port-forward`, which the caller's own RBAC already authorised. Reachable from the network, every request carries a
bearer token; the server asks the API server who it is (TokenReview, authentication.k8s.io/v1) and whether that user
may `get` the collection's `metricscollections/reports` subresource (SubjectAccessReview, authorization.k8s.io/v1),
with its own service-account token. No token → 401, a token without the permission → 403, a review that cannot be
made → 503: never an answer without a yes. Positive answers are kept for CACHE_SECONDS, keyed by the token's hash.
The token itself is never logged, never echoed in an answer and never stored.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp

log = logging.getLogger(__name__)

GROUP = 'metrics.aap.dev'
RESOURCE = 'metricscollections'
SUBRESOURCE = 'reports'
CACHE_SECONDS = 10.0
CACHE_ENTRIES = 1024
MAX_TOKEN_CHARS = 4096  # service-account JWTs are ~1 KiB; aiohttp refuses headers over 8 KiB itself
REVIEW_TIMEOUT = 5.0
SERVICE_ACCOUNT = Path('/var/run/secrets/kubernetes.io/serviceaccount')


class Denied(Exception):
    """A request without access: `status` (401, 403 or 503) and the message answered."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Access(Protocol):
    async def check(self, authorization: str | None) -> None:
        """Return when the caller may read; raise Denied otherwise."""


class LoopbackAccess:
    """No check: the server listens on loopback only (enforced by settings.serve)."""

    async def check(self, authorization: str | None) -> None:
        return None


@dataclass(frozen=True)
class User:
    username: str
    uid: str | None
    groups: tuple[str, ...]
    extra: dict[str, list[str]]


class Reviews(Protocol):
    async def token_review(self, token: str) -> dict[str, Any]: ...

    async def access_review(self, spec: dict[str, Any]) -> dict[str, Any]: ...


class ReviewUnavailable(Exception):
    """The API server could not answer a review (network, status, body); the message names no token."""


class KubernetesReviews:
    """The two review calls, made with the server's own service-account token (read per call: tokens rotate)."""

    def __init__(self, api_url: str, token_file: Path, ca_file: Path | None) -> None:
        self.api_url = api_url.rstrip('/')
        self.token_file = token_file
        self.ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def in_cluster(cls, host: str, port: str) -> KubernetesReviews:
        address = f'[{host}]' if ':' in host else host
        return cls(f'https://{address}:{port}', SERVICE_ACCOUNT / 'token', SERVICE_ACCOUNT / 'ca.crt')

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            own = self.token_file.read_text().strip()
        except OSError as exc:
            raise ReviewUnavailable(f'cannot read the service account token ({exc.strerror})') from None
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REVIEW_TIMEOUT))
        try:
            async with self._session.post(
                f'{self.api_url}{path}', json=body, headers={'Authorization': f'Bearer {own}'}, ssl=self.ssl
            ) as reply:
                if reply.status not in (200, 201):
                    raise ReviewUnavailable(f'{path} answered HTTP {reply.status}')
                answer = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ReviewUnavailable(f'{path} failed ({type(exc).__name__})') from None
        if not isinstance(answer, dict) or not isinstance(answer.get('status'), dict):
            raise ReviewUnavailable(f'{path} answered without a status')
        return answer['status']

    async def token_review(self, token: str) -> dict[str, Any]:
        body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenReview', 'spec': {'token': token}}
        return await self._post('/apis/authentication.k8s.io/v1/tokenreviews', body)

    async def access_review(self, spec: dict[str, Any]) -> dict[str, Any]:
        body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SubjectAccessReview', 'spec': spec}
        return await self._post('/apis/authorization.k8s.io/v1/subjectaccessreviews', body)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; Denied(401) for anything else."""
    if authorization is None or not authorization.strip():
        raise Denied(401, 'a bearer token is required (Authorization: Bearer <token>)')
    scheme, _, token = authorization.strip().partition(' ')
    token = token.strip()
    if scheme.lower() != 'bearer' or not token:
        raise Denied(401, 'the Authorization header is not a bearer token (Authorization: Bearer <token>)')
    if len(token) > MAX_TOKEN_CHARS or not token.isascii() or not token.isprintable() or ' ' in token:
        raise Denied(401, 'the bearer token is malformed')
    return token


def _user(status: dict[str, Any]) -> User | None:
    user = status.get('user')
    if status.get('authenticated') is not True or not isinstance(user, dict):
        return None
    name = user.get('username')
    if not isinstance(name, str) or not name:
        return None
    groups = user.get('groups') if isinstance(user.get('groups'), list) else []
    extra = user.get('extra') if isinstance(user.get('extra'), dict) else {}
    uid = user.get('uid') if isinstance(user.get('uid'), str) else None
    return User(name, uid, tuple(g for g in groups if isinstance(g, str)), extra)


class KubernetesAccess:
    """Token and access reviews for one MetricsCollection (`namespace`/`name`)."""

    def __init__(
        self,
        reviews: Reviews,
        namespace: str,
        name: str,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reviews = reviews
        self.namespace = namespace
        self.name = name
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._allowed: dict[str, float] = {}  # sha256 of the token → until when it is known to be allowed

    def attributes(self) -> dict[str, str]:
        return {
            'verb': 'get',
            'group': GROUP,
            'resource': RESOURCE,
            'subresource': SUBRESOURCE,
            'namespace': self.namespace,
            'name': self.name,
        }

    async def check(self, authorization: str | None) -> None:
        token = bearer_token(authorization)
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        if self._allowed.get(key, 0.0) > now:
            return
        try:
            user = _user(await self.reviews.token_review(token))
            if user is None:
                raise Denied(401, 'the bearer token is not valid (TokenReview: not authenticated)')
            spec: dict[str, Any] = {'user': user.username, 'groups': list(user.groups), 'extra': user.extra}
            if user.uid:
                spec['uid'] = user.uid
            status = await self.reviews.access_review({**spec, 'resourceAttributes': self.attributes()})
        except ReviewUnavailable as exc:
            log.warning('access review unavailable: %s', exc)
            raise Denied(503, 'the access review is unavailable; try again later') from None
        if status.get('allowed') is not True:
            raise Denied(
                403,
                f'{user.username} may not get {RESOURCE}/{SUBRESOURCE} of {self.namespace}/{self.name} ({GROUP})',
            )
        if len(self._allowed) >= CACHE_ENTRIES:
            self._allowed = {k: v for k, v in self._allowed.items() if v > now}
            if len(self._allowed) >= CACHE_ENTRIES:
                self._allowed.clear()
        self._allowed[key] = now + self.cache_seconds
