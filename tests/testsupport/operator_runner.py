"""Runs the real Kopf operator (`kopf.operator`) as a task on the test's event loop, against an emulator URL."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from metrics_operator.config import OperatorConfig
from metrics_operator.handlers import Runtime, register


class OperatorRun:
    """One operator process-equivalent: start, stop, start again (a restart) with fresh in-memory state."""

    def __init__(
        self, url: str, config: OperatorConfig, namespaces: tuple[str, ...] = ('default',), clusterwide: bool = False
    ) -> None:
        self.url = str(url).rstrip('/')
        self.config = config
        self.namespaces = () if clusterwide else namespaces
        self.clusterwide = clusterwide
        self.runtime: Runtime | None = None
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._failures: list[BaseException] = []

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
        settings.queueing.idle_timeout = 0.3  # idle per-object workers must exit before the operator can stop
        settings.posting.enabled = True
        self._stop = threading.Event()
        ready = threading.Event()
        failures: list[BaseException] = []

        def run() -> None:
            # Its own loop in its own thread: Kopf waits for every task on its loop when stopping, and the
            # emulator's never-ending watch responses live on the test's loop.
            try:
                asyncio.run(
                    kopf.operator(
                        registry=registry,
                        settings=settings,
                        standalone=True,
                        clusterwide=self.clusterwide,
                        namespaces=self.namespaces,
                        stop_flag=self._stop,
                        ready_flag=ready,
                    )
                )
            except BaseException as exc:  # surfaced by stop()
                failures.append(exc)

        self._failures = failures
        self._thread = threading.Thread(target=run, name='operator', daemon=True)
        self._thread.start()
        if not await asyncio.to_thread(ready.wait, 10):
            raise AssertionError('the operator did not get ready within 10 s')

    async def stop(self) -> None:
        if self._thread is None or self._stop is None:
            return
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 15)
        alive = self._thread.is_alive()
        self._thread = None
        assert not alive, 'the operator did not stop within 15 s'
        assert not self._failures, self._failures

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
