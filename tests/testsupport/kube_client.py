"""A tiny HTTP client for tests to act as a user against the emulator (create, patch, delete)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


class ApiUser:
    """Requests as one client of the API (`user_agent` tells the emulator's request log who sent them)."""

    def __init__(self, url: str, user_agent: str = 'test-user') -> None:
        self.url = str(url).rstrip('/')
        self.user_agent = user_agent

    async def call(self, method: str, path: str, body: Any = None, content_type: str = 'application/json') -> Any:
        """One request; a 4xx/5xx answer fails the test with the status and the body."""
        headers = {'User-Agent': self.user_agent, 'Content-Type': content_type}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, self.url + path, data=json.dumps(body) if body is not None else None, headers=headers
            ) as response,
        ):
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise AssertionError(f'{method} {path} → {response.status}: {data}')
            return data

    async def create(self, plural: str, body: dict[str, Any], namespace: str = 'default') -> Any:
        api_version = body['apiVersion']
        prefix = '/api/v1' if api_version == 'v1' else f'/apis/{api_version}'
        return await self.call('POST', f'{prefix}/namespaces/{namespace}/{plural}', body)

    async def merge_patch(self, path: str, body: dict[str, Any]) -> Any:
        return await self.call('PATCH', path, body, 'application/merge-patch+json')

    async def delete(self, path: str) -> Any:
        return await self.call('DELETE', path)


def mc_path(name: str, namespace: str = 'default') -> str:
    return f'/apis/metrics.aap.dev/v1alpha1/namespaces/{namespace}/metricscollections/{name}'
