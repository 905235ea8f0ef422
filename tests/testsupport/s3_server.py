"""S3 over HTTP for tests: moto's server on 127.0.0.1, plus a fault-injecting reverse proxy to put in front of it.

moto has no fault injection of its own (its /moto-api offers reset, seed, recorder and static results only), so
`FaultyS3Proxy` forwards every request to moto unchanged except the ones it is told to fail with an S3-style 500
`InternalError`, and counts what it saw. That lets tests prove the client retries and never swallows a failure.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from .https_servers import read_body
from .serving import ServedInThread

# Credentials the test S3 accepts (moto accepts any); tests scan their output for the secret.
ACCESS_KEY = 'AKIATESTACCESSKEY0001'
SECRET_KEY = 'test-s3-secret-key-do-not-leak-0001'


class S3Server:
    """moto's S3 server on 127.0.0.1 with a free port (real HTTP, SigV4 requests parsed as S3 would)."""

    def __init__(self) -> None:
        self._moto = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)

    @property
    def endpoint(self) -> str:
        host, port = self._moto.get_host_and_port()
        return f'http://{host}:{port}'

    def client(self, endpoint: str | None = None) -> Any:
        """A plain boto3 client for test setup and inspection (creating buckets, reading raw objects)."""
        return boto3.client(
            's3',
            endpoint_url=endpoint or self.endpoint,
            region_name='us-east-1',
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={'mode': 'standard', 'total_max_attempts': 1}),
        )

    def start(self) -> S3Server:
        self._moto.start()
        return self

    def stop(self) -> None:
        self._moto.stop()


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    status: int


Predicate = Callable[[str, str], bool]

_INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b'<Message>We encountered an internal error. Please try again.</Message></Error>'
)
_HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'expect', 'proxy-connection', 'upgrade'}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server: _ProxyServer

    def _handle(self) -> None:
        owner = self.server.owner
        body = read_body(self.rfile, self.headers)
        if owner._should_fail(self.command, self.path):
            self._send(500, {'Content-Type': 'application/xml'}, _INTERNAL_ERROR)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers['Content-Length'] = str(len(body))
        upstream = http.client.HTTPConnection(owner.upstream_host, owner.upstream_port, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            reply = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
        finally:
            upstream.close()
        owner._saw(Seen(self.command, self.path, response.status))
        self._send(response.status, reply, data)

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if self.command == 'HEAD' or name.lower() != 'content-length':
                self.send_header(name, value)
        if self.command != 'HEAD':
            self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: FaultyS3Proxy) -> None:
        self.owner = owner
        super().__init__(('127.0.0.1', 0), _Handler)


class FaultyS3Proxy(ServedInThread):
    """A reverse proxy in front of an S3 endpoint that fails chosen requests with 500 InternalError.

    `fail(n, when=...)` fails the next `n` requests for which `when(method, path)` holds; `fail(None, …)` fails
    them all. `seen` lists every request (including the failed ones) with the status the client got.
    """

    def __init__(self, upstream: str) -> None:
        host_port = upstream.split('://', 1)[1]
        self.upstream_host, _, port = host_port.partition(':')
        self.upstream_port = int(port or 80)
        self.seen: list[Seen] = []
        self._failures: int | None = 0
        self._when: Predicate = lambda method, path: True
        self._lock = threading.Lock()
        self._serve(_ProxyServer(self), 'faulty-s3')

    @property
    def endpoint(self) -> str:
        return f'http://127.0.0.1:{self._server.server_address[1]}'

    def fail(self, count: int | None, when: Predicate = lambda method, path: True) -> None:
        with self._lock:
            self._failures, self._when = count, when

    def _should_fail(self, method: str, path: str) -> bool:
        with self._lock:
            if not self._when(method, path) or self._failures == 0:
                return False
            if self._failures is not None:
                self._failures -= 1
            self.seen.append(Seen(method, path, 500))
            return True

    def _saw(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)
