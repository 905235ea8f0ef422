"""A tiny forward proxy (HTTP CONNECT tunnels) that records which hosts it was asked to reach.

Used to prove that the clients really send their calls through the configured proxy (metrics-utility's SSO token
call bypassed it). It tunnels to 127.0.0.1 only, so tests never reach the network.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading
from dataclasses import dataclass

from .serving import ServedInThread


@dataclass(frozen=True)
class Tunnel:
    """One CONNECT request: the target and the Proxy-Authorization header, if any."""

    target: str
    proxy_authorization: str | None


class _Handler(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        request_line = self.rfile.readline(65536).decode('latin-1').strip()
        headers: dict[str, str] = {}
        while line := self.rfile.readline(65536).decode('latin-1').strip():
            key, _, value = line.partition(':')
            headers[key.strip().lower()] = value.strip()
        method, target, _ = ([*request_line.split(' '), '', '', ''])[:3]
        host, _, port = target.rpartition(':')
        self.server.owner._record(Tunnel(target, headers.get('proxy-authorization')))
        if method != 'CONNECT' or host not in ('127.0.0.1', 'localhost') or not port.isdigit():
            self.wfile.write(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
            return
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            self.wfile.write(b'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
            return
        self.wfile.write(b'HTTP/1.1 200 Connection established\r\n\r\n')
        self.wfile.flush()
        with upstream, selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, self.connection)
            while True:
                for key, _ in selector.select(timeout=30):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: ConnectProxy) -> None:
        self.owner = owner
        super().__init__(('127.0.0.1', 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:  # a closed tunnel is normal
        pass


class ConnectProxy(ServedInThread):
    """A CONNECT proxy on 127.0.0.1 with a free port; `tunnels` lists what it was asked to reach, in order."""

    def __init__(self) -> None:
        self.tunnels: list[Tunnel] = []
        self._lock = threading.Lock()
        self._serve(_ProxyServer(self), 'connect-proxy')

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self._server.server_address[1]}'

    def _record(self, tunnel: Tunnel) -> None:
        with self._lock:
            self.tunnels.append(tunnel)

    def targets(self) -> list[str]:
        with self._lock:
            return [t.target for t in self.tunnels]
