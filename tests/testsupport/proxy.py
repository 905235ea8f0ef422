"""A tiny forward proxy (HTTP CONNECT tunnels) that records which hosts it was asked to reach, and a TLS front.

Used to prove that the clients really send their calls through the configured proxy (metrics-utility's SSO token
call bypassed it). It tunnels to 127.0.0.1 only, so tests never reach the network.
"""

from __future__ import annotations

import base64
import selectors
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import quote

import trustme

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
        required = self.server.owner.required_authorization
        if required is not None and headers.get('proxy-authorization') != required:
            self.wfile.write(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n'
                b'Content-Length: 0\r\nConnection: close\r\n\r\n'
            )
            return
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
        with upstream:
            pipe(self.connection, upstream)


def pipe(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes (or 30 s of silence)."""
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, other)
        selector.register(other, selectors.EVENT_READ, one)
        while True:
            ready = selector.select(timeout=30)
            if not ready:
                return
            for key, _ in ready:
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except OSError:
                    return
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
    """A CONNECT proxy on 127.0.0.1 with a free port; `tunnels` lists what it was asked to reach, in order.

    With `user`/`password` it answers 407 to a CONNECT without that Basic Proxy-Authorization (still recorded)."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.tunnels: list[Tunnel] = []
        self.required_authorization = (
            'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode() if user is not None else None
        )
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

    def url_with(self, user: str, password: str) -> str:
        """The proxy URL with percent-encoded credentials, as an admin writes it into HTTPS_PROXY."""
        return f'http://{quote(user, safe="")}:{quote(password, safe="")}@127.0.0.1:{self._server.server_address[1]}'

    def authorized_tunnels(self) -> int:
        """How many tunnels were opened with the required Proxy-Authorization (all of them without a requirement)."""
        with self._lock:
            wanted = self.required_authorization
            return sum(1 for t in self.tunnels if wanted is None or t.proxy_authorization == wanted)


class _TLSFrontServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: TLSFront) -> None:
        self.owner = owner
        super().__init__(('127.0.0.1', 0), _TLSFrontHandler)

    def handle_error(self, request: object, client_address: object) -> None:  # failed handshakes are the point
        pass


class _TLSFrontHandler(socketserver.BaseRequestHandler):
    server: _TLSFrontServer

    def handle(self) -> None:
        owner = self.server.owner
        try:
            tls = owner.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            owner.failed_handshakes += 1
            return
        with tls, socket.create_connection(owner.upstream, timeout=10) as upstream:
            pipe(tls, upstream)


class TLSFront(ServedInThread):
    """TLS in front of a plain-TCP server on 127.0.0.1 (moto's S3), with a certificate issued by `ca` for
    127.0.0.1 and localhost: S3 over HTTPS signed by a private CA, reachable through a CONNECT proxy."""

    def __init__(self, ca: trustme.CA, upstream: tuple[str, int]) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert('127.0.0.1', 'localhost').configure_cert(self.context)
        self.upstream = upstream
        self.failed_handshakes = 0
        self._serve(_TLSFrontServer(self), 'tls-front')

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f'https://127.0.0.1:{self.port}'
