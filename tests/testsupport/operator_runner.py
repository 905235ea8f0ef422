"""Runs the real Kopf operator (`kopf.operator`) as a task on the test's event loop, against an emulator URL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from metrics_operator.config import OperatorConfig
from metrics_operator.handlers import Runtime, register


class OperatorRun:
    """One operator process-equivalent: start, stop, start again (a restart) with fresh in-memory state."""

    def __init__(self, url: str, config: OperatorConfig, namespaces: tuple[str, ...] = ('default',)) -> None:
        self.url = str(url).rstrip('/')
        self.config = config
        self.namespaces = namespaces
        self.runtime: Runtime | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    def _login(self) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=self.url, token='test-token')

    async def start(self) -> None:
        registry = kopf.OperatorRegistry()
        self.runtime = register(registry, self.config, login=self._login)
        login = self._login

        @kopf.on.login(registry=registry)
        def _login(**_: Any) -> kopf.ConnectionInfo:
            return login()

        settings = kopf.OperatorSettings()
        settings.watching.server_timeout = 10
        settings.watching.reconnect_backoff = 0.1
        settings.persistence.consistency_timeout = 2
        settings.posting.enabled = True
        self._stop = asyncio.Event()
        ready = asyncio.Event()
        self._task = asyncio.create_task(
            kopf.operator(
                registry=registry,
                settings=settings,
                standalone=True,
                namespaces=self.namespaces,
                stop_flag=self._stop,
                ready_flag=ready,
            )
        )
        await asyncio.wait_for(ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is None or self._stop is None:
            return
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=15)
        self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


async def eventually(check: Callable[[], Awaitable[Any] | Any], *, timeout: float = 10.0, what: str = '') -> Any:
    """Wait until `check()` returns something truthy (and return it), or fail with the last value after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        result = check()
        last = await result if asyncio.iscoroutine(result) else result
        if last:
            return last
        if loop.time() > deadline:
            raise AssertionError(f'timed out after {timeout}s waiting for {what or check}; last value: {last!r}')
        await asyncio.sleep(0.05)  # yield to the emulator and the operator on this loop; not a timing assumption


def quiet_kopf_logs() -> None:
    logging.getLogger('kopf').setLevel(logging.INFO)
