"""Local HTTPS servers with real TLS that record every request and answer from a script.

console.redhat.com, Red Hat SSO and Segment cannot be called from tests, yet the clients must still do real TLS (CA
bundles, client certificates), send real multipart and gzip bodies and retry against a real socket. These servers
listen on 127.0.0.1 only, with certificates issued by a `trustme` CA the test passes in.
"""

from __future__ import annotations

import collections
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

from .serving import ServedInThread


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: Message
    body: bytes
    client_cert_subject: str | None = None  # subject and alternative names of a client certificate

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What the server answers; a dict body is sent as JSON."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b''
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, dict | list):
            headers.setdefault('Content-Type', 'application/json')
            return json.dumps(self.body).encode(), headers
        if isinstance(self.body, str):
            headers.setdefault('Content-Type', 'text/plain; charset=utf-8')
            return self.body.encode(), headers
        return self.body, headers


Responder = Callable[[Recorded], Reply]


def read_body(rfile: Any, headers: Message) -> bytes:
    """The request body, whether sent with Content-Length or chunked."""
    if 'chunked' in headers.get('Transfer-Encoding', '').lower():
        parts = []
        while True:
            size = int(rfile.readline().split(b';', 1)[0].strip(), 16)
            if size == 0:
                while rfile.readline().strip():  # trailers
                    pass
                return b''.join(parts)
            parts.append(rfile.read(size))
            rfile.readline()
    return rfile.read(int(headers.get('Content-Length') or 0))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server: _TLSServer

    def _handle(self) -> None:
        body = read_body(self.rfile, self.headers)
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        names = [value for rdn in peer.get('subject', ()) for _, value in rdn] if peer else []
        names += [value for _, value in peer.get('subjectAltName', ())] if peer else []
        subject = ', '.join(names) if peer else None
        request = Recorded(self.command, self.path, self.headers, body, subject)
        reply = self.server.owner._answer(request)
        data, headers = reply.encoded()
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: HTTPSServer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.context = context
        super().__init__(('127.0.0.1', 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs in the connection's own thread, so a slow or failing client never blocks the others.
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.owner._record_tls_failure(exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, ConnectionError) as exc:
            self.owner._record_tls_failure(exc)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:  # errors are recorded, not printed
        pass


class HTTPSServer(ServedInThread):
    """An HTTPS server on 127.0.0.1 with a free port.

    Replies come first from `script(...)` (in order), then from `responder` (default: 200 with an empty body).
    With `client_ca`, the server requires a client certificate issued by that CA and rejects the handshake otherwise.
    `names` are the host names its certificate is valid for (a test that resolves another name to 127.0.0.1 adds it).
    """

    def __init__(
        self,
        ca: trustme.CA,
        responder: Responder | None = None,
        *,
        client_ca: trustme.CA | None = None,
        names: tuple[str, ...] = ('127.0.0.1', 'localhost'),
    ):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names).configure_cert(context)
        if client_ca is not None:
            client_ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        self.responder: Responder = responder or (lambda request: Reply(200))
        self.requests: list[Recorded] = []
        self.tls_failures: list[str] = []
        self._scripted: collections.deque[Reply] = collections.deque()
        self._changed = threading.Condition()
        self._serve(_TLSServer(self, context), 'https-server')

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = '/') -> str:
        return f'https://127.0.0.1:{self.port}{path}'

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order."""
        with self._changed:
            self._scripted.extend(replies)

    def _answer(self, request: Recorded) -> Reply:
        with self._changed:
            self.requests.append(request)
            reply = self._scripted.popleft() if self._scripted else None
            self._changed.notify_all()
        return reply if reply is not None else self.responder(request)

    def _record_tls_failure(self, exc: BaseException) -> None:
        with self._changed:
            self.tls_failures.append(f'{type(exc).__name__}: {exc}')
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until `predicate()` holds (checked whenever the server records something); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True


def form_parts(request: Recorded) -> list[Message]:
    """The parts of a multipart/form-data request, parsed by the standard library (not by the code under test)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f'Content-Type: {request.headers["Content-Type"]}\r\n\r\n'.encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    assert message.is_multipart(), 'not a multipart body'
    return list(message.iter_parts())  # type: ignore[attr-defined]


# Fixtures `tls_ca` and `ca_bundle`: import these functions into a conftest or test module to use them.


@pytest.fixture(scope='session', name='tls_ca')
def tls_ca_fixture() -> trustme.CA:
    """The CA that issues every test server's certificate (and the accepted client certificates)."""
    return trustme.CA()


@pytest.fixture(scope='session', name='ca_bundle')
def ca_bundle_fixture(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`tls_ca`'s certificate as a PEM file: what the clients' CA bundle setting names."""
    path = tmp_path_factory.mktemp('tls') / 'ca.pem'
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)
