"""A real Prometheus for tests, filled with a history the test wrote, and a bearer-token TLS proxy in front of it.

`PrometheusServer` writes the samples as OpenMetrics (with timestamps), turns them into TSDB blocks with
`promtool tsdb create-blocks-from openmetrics`, and starts `prometheus` on a free loopback port with a scrape-less
config, so the blocks are the only data and queries at any past instant are deterministic.

`BearerTLSProxy` stands in for what sits in front of Prometheus on OpenShift (kube-rbac-proxy / oauth-proxy):
HTTPS with a certificate from a test CA (trustme), and `Authorization: Bearer <token>` required. Prometheus itself
only knows basic auth, so this is the way to exercise the collector's token and CA-bundle options for real.
"""

from __future__ import annotations

import hmac
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from .serving import ServedInThread

__all__ = [
    'BearerTLSProxy',
    'PrometheusNotFoundError',
    'PrometheusServer',
    'Sample',
    'find_binaries',
    'free_port',
    'reference_sum',
    'write_openmetrics',
]


class PrometheusNotFoundError(RuntimeError):
    """prometheus or promtool is not installed."""


@dataclass(frozen=True)
class Sample:
    """One sample of a gauge: metric name, labels, value, Unix timestamp in seconds."""

    metric: str
    labels: Mapping[str, str]
    value: float
    timestamp: float


def find_binaries() -> tuple[str, str]:
    """Paths of `prometheus` and `promtool` (env PROMETHEUS_BIN / PROMTOOL_BIN override), or raise."""
    found = []
    for name, env in (('prometheus', 'PROMETHEUS_BIN'), ('promtool', 'PROMTOOL_BIN')):
        path = shutil.which(os.environ.get(env) or name)
        if not path:
            raise PrometheusNotFoundError(f'{name} binary not found; run `make prometheus` (Debian package prometheus)')
        found.append(path)
    return found[0], found[1]


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _labels(labels: Mapping[str, str]) -> str:
    inner = ','.join(
        '{}="{}"'.format(k, v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n'))
        for k, v in sorted(labels.items())
    )
    return '{' + inner + '}' if inner else ''


def write_openmetrics(samples: Iterable[Sample], path: Path) -> Path:
    """Write gauges in OpenMetrics text: one family block per metric, series in time order, then `# EOF`."""
    families: dict[str, dict[str, list[Sample]]] = {}
    for sample in samples:
        families.setdefault(sample.metric, {}).setdefault(_labels(sample.labels), []).append(sample)
    lines = []
    for metric, series in families.items():
        lines.append(f'# TYPE {metric} gauge')
        for labels, points in series.items():
            lines.extend(f'{metric}{labels} {_num(p.value)} {_num(p.timestamp)}' for p in sorted(points, key=_stamp))
    lines.append('# EOF')
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return path


def _num(value: float) -> str:
    """Exact text for a number: integers without exponent or '.0' (format 'g' would turn 1709200800 into 1.7092e+09)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _stamp(sample: Sample) -> float:
    return sample.timestamp


def reference_sum(samples: Iterable[Sample], metric: str, at: float, lookback: float = 300.0) -> float | None:
    """What `sum(<metric>)` evaluates to at `at`, computed without Prometheus (None: no series present).

    Each series contributes its latest sample with timestamp ≤ `at` and within `lookback`. Prometheus 2.x
    includes a sample exactly `lookback` old and 3.x does not; such a sample makes the answer version-dependent,
    so it raises instead of guessing: the test data must avoid that tie.
    """
    latest: dict[tuple[tuple[str, str], ...], Sample] = {}
    for sample in samples:
        if sample.metric != metric or sample.timestamp > at:
            continue
        key = tuple(sorted(sample.labels.items()))
        if key not in latest or sample.timestamp > latest[key].timestamp:
            latest[key] = sample
    values = []
    for sample in latest.values():
        age = at - sample.timestamp
        if age == lookback:
            raise ValueError(f'sample at {sample.timestamp} is exactly one lookback before {at}: ambiguous')
        if age < lookback:
            values.append(sample.value)
    return sum(values) if values else None


class PrometheusServer:
    """A private Prometheus serving only backfilled blocks; a context manager that always stops the process."""

    def __init__(self, samples: Iterable[Sample], workdir: Path, *, startup_timeout: float = 30.0) -> None:
        self.prometheus_bin, self.promtool_bin = find_binaries()
        self.workdir = workdir
        self.samples = list(samples)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / 'prometheus.log'

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        data = self.workdir / 'data'
        data.mkdir(parents=True, exist_ok=True)
        history = write_openmetrics(self.samples, self.workdir / 'history.om')
        subprocess.run(
            [self.promtool_bin, 'tsdb', 'create-blocks-from', 'openmetrics', '--quiet', str(history), str(data)],
            check=True,
            capture_output=True,
        )
        config = self.workdir / 'prometheus.yml'
        config.write_text('global:\n  evaluation_interval: 1h\nscrape_configs: []\n', encoding='utf-8')
        self.port = free_port()
        with self.log_path.open('wb') as log:
            self.process = subprocess.Popen(
                [
                    self.prometheus_bin,
                    f'--config.file={config}',
                    f'--storage.tsdb.path={data}',
                    f'--web.listen-address=127.0.0.1:{self.port}',
                    # Retention counts back from the newest block, not from now; 100y keeps old test data anyway.
                    '--storage.tsdb.retention.time=100y',
                    '--query.lookback-delta=5m',  # the default, stated because the expectations depend on it
                    '--log.level=warn',
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        """Poll /-/ready until 200, the process exits, or the deadline passes."""
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f'{self.url}/-/ready', timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            try:
                code = self.process.wait(timeout=0.05)  # doubles as the poll interval and an early-exit check
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f'prometheus exited with {code} during startup:\n{self.log_tail()}')
        raise TimeoutError(f'prometheus not ready after {self.startup_timeout} s:\n{self.log_tail()}')

    def log_tail(self, lines: int = 30) -> str:
        try:
            return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])
        except OSError:
            return '(no log)'

    def stop(self, timeout: float = 10.0) -> None:
        """terminate → wait; kill if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = 'HTTP/1.1'

    def do_GET(self) -> None:
        given = self.headers.get('Authorization', '')
        if not any(hmac.compare_digest(given, f'Bearer {token}') for token in self.server.tokens):
            if any(hmac.compare_digest(given, f'Bearer {token}') for token in self.server.forbidden_tokens):
                self._reply(403, b'Forbidden\n', 'text/plain')
            else:
                self._reply(401, b'Unauthorized\n', 'text/plain', {'WWW-Authenticate': 'Bearer'})
            return
        try:
            with urllib.request.urlopen(f'{self.server.upstream}{self.path}', timeout=10) as upstream:
                self._reply(upstream.status, upstream.read(), upstream.headers.get('Content-Type', ''))
        except urllib.error.HTTPError as exc:
            self._reply(exc.code, exc.read(), exc.headers.get('Content-Type', ''))
        except (urllib.error.URLError, OSError):
            self._reply(502, b'Bad Gateway: upstream unreachable\n', 'text/plain')

    def _reply(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type or 'application/octet-stream')
        self.send_header('Content-Length', str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the proxy must not print request lines (or anything else) into test output."""


class _ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    upstream: str
    tokens: tuple[str, ...]
    forbidden_tokens: tuple[str, ...]


class BearerTLSProxy(ServedInThread):
    """HTTPS reverse proxy on 127.0.0.1 that requires a bearer token; a context manager.

    `tokens` are accepted (forwarded to `upstream`), `forbidden_tokens` get 403, anything else 401. The server
    certificate comes from `ca` (a trustme.CA), so a client verifies it with `ca.cert_pem`.
    """

    def __init__(self, upstream: str, ca: object, tokens: Iterable[str], forbidden_tokens: Iterable[str] = ()) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert('127.0.0.1', 'localhost').configure_cert(context)  # type: ignore[attr-defined]
        server = _ProxyServer(('127.0.0.1', 0), _ProxyHandler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.upstream = upstream.rstrip('/')
        server.tokens = tuple(tokens)
        server.forbidden_tokens = tuple(forbidden_tokens)
        self._serve(server, 'bearer-tls-proxy')

    @property
    def url(self) -> str:
        return f'https://127.0.0.1:{self._server.server_address[1]}'
