"""The lifecycle every loopback test server shares: served by a daemon thread, started and stopped explicitly or
as a context manager."""

from __future__ import annotations

import socketserver
import threading
from typing import Self


class ServedInThread:
    """Mixin: call `_serve(server, name)` in `__init__`; then `start()`/`stop()` or `with`."""

    _server: socketserver.BaseServer
    _thread: threading.Thread

    def _serve(self, server: socketserver.BaseServer, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={'poll_interval': 0.02}, name=name, daemon=True
        )

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
