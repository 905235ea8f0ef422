"""The I/O edge of `metrics-utility check`: each probe asks one real peer one short question, with its own timeout,
and turns the answer into `CheckResult`s (classification in `outcomes`). Messages pass through the one redaction
(`library.secret.redact`), so an echoed secret never leaves the process."""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from metrics_utility.library import secret
from metrics_utility.library.storage import Storage, StorageError

if TYPE_CHECKING:  # the HTTP stack is imported only by the probes that ask over HTTP
    from metrics_utility.library.storage.crc_identity import ClientIdentity
    from metrics_utility.library.storage.http import HTTPClient

from .outcomes import CheckResult, database_reason, failed, passed, storage_reason, table_reason, table_results

TIMEOUT = 5.0  # seconds for a connection, a statement or one HTTP exchange: a check never hangs
PROBE_PREFIX = 'check/'


def _line(text: str) -> str:
    first = (text or '').strip().splitlines()[0] if (text or '').strip() else ''
    return secret.redact(first[:500])


def database(
    conninfo: dict[str, object],
    role: str,
    tables: Iterable[str],
    optional: Iterable[str] = (),
    timeout: float = TIMEOUT,
) -> list[CheckResult]:
    """Log in (read-only session) and SELECT zero rows from each table: privileges are checked as a real query
    would be, so a passing check means the collectors' queries may run."""
    millis = int(timeout * 1000)
    where = f'{conninfo.get("host")}:{conninfo.get("port")}/{conninfo.get("dbname")}'
    try:
        conn = psycopg.connect(
            **conninfo,
            connect_timeout=max(1, round(timeout)),
            autocommit=True,
            application_name='metrics-utility-check',
            options=f'-c default_transaction_read_only=on -c statement_timeout={millis}',
        )
    except psycopg.Error as exc:
        reason = database_reason(getattr(exc, 'sqlstate', None), str(exc))
        return [failed('database', reason, f'cannot log in to {where} as {role!r}: {_line(str(exc))}')]
    results = [passed('database', f'logged in to {where} as {role!r}')]
    outcomes: dict[str, str] = {}
    with conn:
        for table in tables:
            try:
                conn.execute(sql.SQL('SELECT FROM {} LIMIT 0').format(sql.Identifier(table)))
                outcomes[table] = 'Ok'
            except psycopg.OperationalError as exc:  # the connection broke: the remaining tables cannot be asked
                message = f'{where} stopped answering: {_line(str(exc))}'
                results.append(failed('database', 'DatabaseUnreachable', message))
                return results
            except psycopg.Error as exc:
                outcomes[table] = table_reason(exc.sqlstate) or 'DatabaseUnreachable'
    return results + table_results(role, outcomes, optional)


def storage(store: Storage) -> CheckResult:
    """Write, read back and delete a probe object: what a gather (put, watermarks) and retention (remove) do."""
    name = f'{PROBE_PREFIX}probe-{secrets.token_hex(6)}.txt'
    payload = f'metrics-utility check {time.time():.0f}\n'.encode()
    step = 'write'
    try:
        store.put(name, fileobj=io.BytesIO(payload))
        step = 'read back'
        with store.get(name) as path:
            if path.read_bytes() != payload:
                return failed('storage', 'StorageDenied', f'{store.describe()} returned other bytes for {name}')
        step = 'delete'
        store.remove(name)
    except StorageError as exc:
        text = _line(str(exc))
        return failed('storage', storage_reason(text), f'cannot {step} a probe object: {text}')
    except OSError as exc:
        return failed(
            'storage', 'StorageDenied', f'cannot {step} a probe object in {store.describe()}: {exc.strerror or exc}'
        )
    return passed('storage', f'wrote, read back and deleted {name} in {store.describe()}')


def _probe_client(proxy_url: str | None, ca_bundle: str | None, timeout: float, **options: Any) -> HTTPClient:
    """The uploads' HTTP client (proxy, CA bundle) asking once, with the probe's timeout: a check never hangs."""
    from metrics_utility.library.storage.http import HTTPClient, RetryPolicy

    return HTTPClient(
        proxy_url=proxy_url,
        verify_cert_path=ca_bundle,
        timeout=(timeout, timeout),
        retry=RetryPolicy(attempts=1),
        **options,
    )


def service_account(
    sso_url: str,
    client_id: str,
    client_secret: str,
    proxy_url: str | None,
    ca_bundle: str | None,
    timeout: float = TIMEOUT,
    name: str = 'storage',
) -> CheckResult:
    """console.redhat.com with a service account: SSO hands out a token for it (nothing is uploaded). `name` is
    the check's: 'storage' for the gather's target, 'secondary' for the second target."""
    from metrics_utility.library.storage.sso import ServiceAccountToken

    try:
        client = _probe_client(proxy_url, ca_bundle, timeout)
        ServiceAccountToken(client, sso_url=sso_url, client_id=client_id, client_secret=client_secret).get()
    except StorageError as exc:
        text = _line(str(exc))
        return failed(name, storage_reason(text), text)
    return passed(name, f'SSO {sso_url} issued a token for client_id {client_id!r}')


def client_certificate(
    ingress_url: str,
    cert: str,
    key: str,
    proxy_url: str | None,
    ca_bundle: str | None,
    timeout: float = TIMEOUT,
    name: str = 'storage',
) -> CheckResult:
    """console.redhat.com with mutual TLS: the ingress completes a handshake with our certificate and answers a
    HEAD request with something other than 401/403."""
    try:
        client = _probe_client(proxy_url, ca_bundle, timeout, client_cert=(cert, key))
        with client.request('HEAD', ingress_url, what=f'HEAD {ingress_url}') as response:
            status = response.status_code
    except StorageError as exc:
        text = _line(str(exc))
        return failed(name, storage_reason(text), text)
    if status in (401, 403):
        return failed(
            name,
            'AuthenticationFailed',
            f'{ingress_url} answered HTTP {status} to our client '
            'certificate; check that it is valid, current and registered',
        )
    return passed(name, f'{ingress_url} accepted the client certificate (HTTP {status})')


def client_identity(
    ingress_url: str,
    identity: ClientIdentity,
    proxy_url: str | None,
    ca_bundle: str | None,
    timeout: float = TIMEOUT,
    name: str = 'storage',
) -> CheckResult:
    """`client_certificate` with an identity held in memory (the controller's): its PEMs exist as private files for
    the probe only. The message names the certificate's subject and expiry, never its content."""
    from metrics_utility.library.storage.crc_identity import pem_files

    try:
        with pem_files(identity) as (cert, key):
            result = client_certificate(ingress_url, cert, key, proxy_url, ca_bundle, timeout, name)
    except StorageError as exc:
        return failed(name, 'AuthenticationFailed', _line(str(exc)))
    expires = f', expires {identity.not_after.isoformat()}' if identity.not_after else ''
    about = f'the {identity.source} identity ({identity.subject or "no subject"}{expires})'
    return replace(result, message=f'{about}: {result.message}')


def prometheus(url: str, token_file: str | None, ca_bundle: str | None, timeout: float = TIMEOUT) -> CheckResult:
    """Prometheus answers an instant query (`vector(1)`: needs no data, proves the API, the token and the CA)."""
    from pathlib import Path

    from metrics_utility.library.collectors.base import CollectorError
    from metrics_utility.library.collectors.prometheus.client import (
        PrometheusAuthError,
        PrometheusClient,
        PrometheusConnectionError,
        read_token_file,
    )

    try:
        token = read_token_file(Path(token_file)) if token_file else None
        client = PrometheusClient(url.rstrip('/'), token, Path(ca_bundle) if ca_bundle else None, timeout)
        client.query('vector(1)', time=time.time())
    except PrometheusAuthError as exc:
        return failed('prometheus', 'AuthenticationFailed', _line(str(exc)))
    except PrometheusConnectionError as exc:
        return failed('prometheus', 'PrometheusUnreachable', _line(str(exc)))
    except CollectorError as exc:
        return failed('prometheus', 'PrometheusQueryFailed', _line(str(exc)))
    return passed('prometheus', f'{url} answered a query')
