"""Keeps the managed Candlepin identity of one collection: the calls around `managed_identity`'s decisions.

One `keep` per tick (the handlers run it on spec changes and on the `identity` timer): read the identity Secret,
`plan`, then register (with the Red Hat account of the credentials Secret), check in, or check in and regenerate,
through the worker library's Candlepin client (run in a thread: it is synchronous) with the spec's proxy and trusted
CA; then create the Secret or replace its data in one PATCH. It never raises for Candlepin or the API: the outcome
is an `IdentityState` whose conditions carry the reason, and a failure's `event` text for one Warning Event.

Certificate and key reach the Candlepin client as files (requests takes mutual TLS material as paths): they live in
a private temporary directory (0700, files 0600) for the length of one call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from metrics_operator import kube_client, managed_identity, network, spec, status
from metrics_operator.managed_identity import CredentialsError, IdentityState, ManagedSpec, Plan
from metrics_utility.library.candlepin.client import CandlepinClient, CandlepinError
from metrics_utility.library.candlepin.identity import Identity, Unusable, check_identity
from metrics_utility.library.candlepin.store import Identity as Issued
from metrics_utility.library.secret import Redactor, scrub
from metrics_utility.library.storage.http import RetryPolicy

RHSM_CA = '/etc/rhsm/ca/redhat-uep.pem'  # subscription-manager's Candlepin CA, trusted when present
RETRY = RetryPolicy(attempts=1)  # no retry within a tick: the next tick retries


class _Failed(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def keep(
    client: kube_client.Client,
    body: Mapping[str, Any],
    raw_spec: Mapping[str, Any],
    *,
    now: datetime,
    checkin: bool = True,
    operator_proxy: Mapping[str, str],
    timeout: float,
    logger: logging.Logger,
) -> IdentityState | None:
    """The identity's state after this tick: `NOT_MANAGED` when the spec asks for no managed identity; None when
    nothing was due (a usable identity outside the renewal window and `checkin` False) or the spec is invalid
    (`reconcile` says why): the status keeps what it showed."""
    meta = body['metadata']
    collection, namespace = meta['name'], meta['namespace']
    try:
        full = spec.validate(collection, raw_spec)
    except spec.SpecError:
        return None  # `reconcile` reports the spec (Ready False, InvalidSpec); nothing to keep until it is fixed
    wanted = managed_identity.managed_spec(collection, full)
    if wanted is None:
        return managed_identity.NOT_MANAGED
    days = wanted.renew_before_days
    url = kube_client.path('v1', 'secrets', namespace, managed_identity.secret_name(collection))
    current: dict[str, Any] | None = None
    step: Plan | None = None
    try:
        current = await client.get(url)
        step = managed_identity.plan(current, collection, now, days)
        if step.action == 'conflict':
            raise _Failed('SecretConflict', step.why)
        if step.action == 'checkin' and not checkin:
            return None
        ca, proxy = await _network(client, namespace, collection, full, operator_proxy, wanted.candlepin_url)
        renewed = status.now_iso(now)
        if step.action == 'register':
            logger.info('Registering a Candlepin consumer: %s', step.why)
            issued = await _register(client, namespace, collection, wanted, ca, proxy, timeout)
            identity = _checked(issued, now, 'the certificate Candlepin issued', 'RegistrationFailed')
            await _store(client, url, body, current, issued, renewed)
            message = f'registered consumer {identity.consumer_uuid}'
            state = _success(collection, 'Registered', message, identity, renewed, now, days)
        else:
            assert step.identity is not None
            fresh = await asyncio.to_thread(_lifecycle, wanted, step, ca, proxy, timeout)
            if fresh is None:
                last = managed_identity.renewed_at(current)
                message = f'consumer {step.identity.consumer_uuid} checked in'
                state = _success(collection, 'CheckedIn', message, step.identity, last, now, days)
            else:
                identity = _checked(fresh, now, 'the certificate Candlepin regenerated', 'RenewalFailed')
                await _store(client, url, body, current, fresh, renewed)
                message = f'consumer {identity.consumer_uuid}: certificate regenerated ({step.why})'
                state = _success(collection, 'Renewed', message, identity, renewed, now, days)
    except _Failed as exc:
        return _failure(collection, step, exc.reason, exc.message, now, current, days)
    except kube_client.ApiError as exc:
        reason = 'RegistrationFailed' if step is None or step.action == 'register' else 'RenewalFailed'
        return _failure(collection, step, reason, f'the API server refused: {exc}', now, current, days)
    logger.info('Candlepin identity: %s', message)
    return state


def _success(
    collection: str, reason: str, message: str, identity: Identity, renewed: str | None, now: datetime, days: int
) -> IdentityState:
    return IdentityState(
        block=managed_identity.status_block(identity, collection, renewed),
        ready=('True', reason, f'{message}; {identity.subject}, valid until {status.now_iso(identity.not_after)}'),
        expiring=managed_identity.expiry_condition(identity.not_after, now, days),
    )


def _failure(
    collection: str,
    step: Plan | None,
    reason: str,
    message: str,
    now: datetime,
    current: Mapping[str, Any] | None = None,
    days: int = managed_identity.DEFAULT_RENEW_BEFORE_DAYS,
) -> IdentityState:
    """A failed tick: the identity the Secret still holds (if usable) stays in status, with its expiry warning."""
    text = scrub(message)
    held = step.identity if step is not None else None
    if held is None:
        return IdentityState(None, ('False', reason, text), None, event=text)
    block = managed_identity.status_block(held, collection, managed_identity.renewed_at(current))
    expiring = managed_identity.expiry_condition(held.not_after, now, days)
    return IdentityState(block, ('False', reason, text), expiring, event=text)


def _checked(issued: Issued, now: datetime, what: str, reason: str) -> Identity:
    found = check_identity(issued.cert_pem, issued.key_pem, issued.uuid, now)
    if isinstance(found, Unusable):
        raise _Failed(reason, f'{what} is not usable: {managed_identity.secret_reason(found.reason)}')
    return found


async def _network(
    client: kube_client.Client,
    namespace: str,
    collection: str,
    full: Mapping[str, Any],
    operator_proxy: Mapping[str, str],
    url: str,
) -> tuple[str | None, str | None]:
    """(CA bundle text, proxy URL) for the Candlepin calls to `url`: `spec.trustedCA` (else the RHSM CA when the
    image has it, else the system CAs) and the storage block's `proxyUrl`, else `spec.proxy`'s HTTPS proxy unless its
    `noProxy` exempts the host (`fromOperator`: the operator's own), as the worker pods would use them."""
    target = spec.crc_target(full)
    proxy = (full['storage'].get(target) or {}).get('proxyUrl') if target else None
    if not proxy:
        given = network.resolved(full, operator_proxy).get('proxy') or {}
        proxy = None if network.bypasses_proxy(url, given.get('noProxy')) else given.get('httpsProxy')
    source = network.trusted_ca_source(collection, full)
    if source is None:
        return None, proxy
    found = await client.get(kube_client.path('v1', 'configmaps', namespace, source[0]))
    bundle = ((found or {}).get('data') or {}).get(source[1])
    if not bundle:
        raise _Failed(
            'RegistrationFailed', f'the trusted CA ConfigMap {source[0]} does not exist or has no key {source[1]!r}'
        )
    return bundle, proxy


@contextmanager
def _files(**texts: str | None) -> Iterator[dict[str, str]]:
    """The texts as 0600 files in a private temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix='candlepin-') as directory:
        paths = {}
        for name, text in texts.items():
            if text is None:
                continue
            path = Path(directory) / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, 'w', encoding='ascii', errors='replace') as file:
                file.write(text)
            paths[name] = str(path)
        yield paths


def _client(url: str, ca_path: str | None, proxy: str | None, timeout: float, redact: Redactor) -> CandlepinClient:
    ca = ca_path or (RHSM_CA if Path(RHSM_CA).is_file() else None)
    try:
        candlepin = CandlepinClient(
            url, ca_bundle=ca, proxy_url=proxy, retry=RETRY, redact=redact, ca_setting='spec.trustedCA'
        )
    except CandlepinError as exc:
        raise _Failed('RegistrationFailed', exc.message) from None
    candlepin.http.timeout = (timeout, timeout)
    return candlepin


async def _register(
    client: kube_client.Client,
    namespace: str,
    collection: str,
    wanted: ManagedSpec,
    ca: str | None,
    proxy: str | None,
    timeout: float,
) -> Issued:
    ref = wanted.credentials
    found = await client.get(kube_client.path('v1', 'secrets', namespace, ref.name))
    try:
        username, password = managed_identity.credentials(found, ref)
    except CredentialsError as exc:
        reason = 'CredentialsSecretNotFound' if found is None else 'CredentialsInvalid'
        raise _Failed(reason, str(exc)) from None
    redact = Redactor(password, user=username, shared=False)
    name = managed_identity.consumer_name(collection, namespace)

    def call() -> Issued:
        with _files(ca=ca) as paths:
            candlepin = _client(wanted.candlepin_url, paths.get('ca'), proxy, timeout, redact)
            try:
                org = wanted.organization or managed_identity.only_organization(
                    candlepin.owners(username, password), username, wanted.field
                )
                return candlepin.register(org, username, password, name)
            except CandlepinError as exc:
                raise _Failed('RegistrationFailed', redact(exc.message)) from None
            except CredentialsError as exc:
                raise _Failed('RegistrationFailed', redact(str(exc))) from None

    return await asyncio.to_thread(call)


def _lifecycle(wanted: ManagedSpec, step: Plan, ca: str | None, proxy: str | None, timeout: float) -> Issued | None:
    """Check in; regenerate when the plan says renew. None when only checked in."""
    identity = step.identity
    assert identity is not None
    redact = Redactor(shared=False)
    with _files(ca=ca, cert=identity.cert_pem, key=identity.key_pem.reveal()) as paths:
        candlepin = _client(wanted.candlepin_url, paths.get('ca'), proxy, timeout, redact)
        mtls = (paths['cert'], paths['key'])
        try:
            candlepin.checkin(identity.consumer_uuid, mtls)
            if step.action != 'renew':
                return None
            return candlepin.regenerate(identity.consumer_uuid, mtls)
        except CandlepinError as exc:
            raise _Failed('RenewalFailed', exc.message) from None


async def _store(
    client: kube_client.Client,
    url: str,
    body: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    issued: Issued,
    renewed: str,
) -> None:
    """Create the Secret, or swap its data in one PATCH (`plan` let only our own TLS Secret through)."""
    meta = body['metadata']
    if current is not None:
        version = current['metadata']['resourceVersion']
        await client.json_patch(
            url, managed_identity.replace_ops(version, issued.uuid, issued.cert_pem, issued.key_pem, renewed)
        )
        return
    secret = managed_identity.secret_body(
        meta['name'], meta['namespace'], meta['uid'], issued.uuid, issued.cert_pem, issued.key_pem, renewed
    )
    await client.create(url.rsplit('/', 1)[0], secret)
