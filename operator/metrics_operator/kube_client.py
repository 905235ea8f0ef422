"""A minimal async Kubernetes API client (Kopf is not a client library).

Only what the operator needs: get, create, JSON-patch, delete of namespaced objects. Credentials come from the same
`kopf.ConnectionInfo` that Kopf logs in with, so tests point both at one emulator. Thin on purpose: the logic lives
in `render`, `status` and `reconcile`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp
import kopf

USER_AGENT: Final = 'metrics-operator'
PARTIAL_METADATA: Final = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f'{status} {reason}: {message}')
        self.status = status
        self.reason = reason


def path(api_version: str, plural: str, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
    prefix = '/api/v1' if api_version == 'v1' else f'/apis/{api_version}'
    result = f'{prefix}/namespaces/{namespace}/{plural}'
    if name:
        result += f'/{name}'
    if subresource:
        result += f'/{subresource}'
    return result


def cluster_path(api_version: str, plural: str, name: str | None = None) -> str:
    """The path of a cluster-scoped resource (the dashboard's ClusterRoleBinding)."""
    prefix = '/api/v1' if api_version == 'v1' else f'/apis/{api_version}'
    return f'{prefix}/{plural}' + (f'/{name}' if name else '')


def _ssl(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    context = ssl.create_default_context(
        cafile=str(info.ca_path) if info.ca_path else None,
        cadata=info.ca_data.decode() if isinstance(info.ca_data, bytes) else info.ca_data,
    )
    if info.certificate_path and info.private_key_path:
        context.load_cert_chain(str(info.certificate_path), str(info.private_key_path))
    return context


class Client:
    """One aiohttp session per operator; re-reads credentials on 401 (rotated service-account tokens)."""

    def __init__(self, login: Callable[[], kopf.ConnectionInfo], timeout: float = 30.0) -> None:
        self._login = login
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None

    def _ensure(self) -> tuple[kopf.ConnectionInfo, aiohttp.ClientSession]:
        if self._info is None or self._session is None:
            self._info = self._login()
            headers = {'User-Agent': USER_AGENT}
            if self._info.token:
                headers['Authorization'] = f'{self._info.scheme or "Bearer"} {self._info.token}'
            connector = aiohttp.TCPConnector(ssl=_ssl(self._info)) if self._info.server.startswith('https') else None
            self._session = aiohttp.ClientSession(
                base_url=self._info.server.rstrip('/') + '/',
                headers=headers,
                timeout=self._timeout,
                connector=connector,
            )
        return self._info, self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._info = None

    async def request(
        self, method: str, url: str, *, body: Any = None, content_type: str = 'application/json', accept: str = ''
    ) -> Any:
        for attempt in (1, 2):
            _, session = self._ensure()
            headers = {'Content-Type': content_type}
            if accept:
                headers['Accept'] = accept
            async with session.request(method, url.lstrip('/'), json=body, headers=headers) as response:
                if response.status == 401 and attempt == 1:
                    await self.close()
                    continue
                data = await response.json(content_type=None) if response.content_length != 0 else None
                if response.status >= 400:
                    info = data if isinstance(data, Mapping) else {}
                    raise ApiError(response.status, str(info.get('reason', '')), str(info.get('message', '')))
                return data
        raise AssertionError('unreachable')

    async def get(self, url: str, *, metadata_only: bool = False) -> dict[str, Any] | None:
        """The object, or None when it does not exist. `metadata_only` keeps Secret data out of the operator."""
        try:
            return await self.request('GET', url, accept=PARTIAL_METADATA if metadata_only else '')
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def create(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request('POST', url, body=body)

    async def json_patch(self, url: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        return await self.request('PATCH', url, body=ops, content_type='application/json-patch+json')

    async def delete(self, url: str) -> bool:
        """Delete; False when it was already gone."""
        try:
            await self.request('DELETE', url, body={'propagationPolicy': 'Background'})
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True
