"""The managed Candlepin identity (`storage.crc.identity.source: managed`): the pure decisions, no I/O.

The operator registers a Candlepin consumer with a Red Hat account, keeps the consumer's certificate, key and UUID
in the Secret `<collection>-candlepin-identity` it owns (type `kubernetes.io/tls`, mounted into the gather pods as
the client certificate) and renews it before it expires. What to do on each tick is a function of that Secret and
the clock (`plan`); what the Secret holds (`secret_body`, `replace_ops`), what the status says (`status_block`,
`with_identity`) and which credentials are usable (`credentials`) are functions too. `identity_keeper` does the
calls; `handlers` runs it on a timer and on spec changes.

Why register again rather than repair: Candlepin regenerates a certificate only for a consumer that presents a
valid one, so a missing, expired, unparsable or mismatched identity can only be replaced by a new registration.
A Secret of that name that the operator does not own is never overwritten (it is somebody else's), nor one of
another type (a Secret's type cannot change, and the operator has no right to delete Secrets).

No PEM, key or password appears in any message, status field or repr here: messages name fields and reasons.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from metrics_operator import names, spec, status
from metrics_utility import contract
from metrics_utility.library.candlepin.identity import Identity, Unusable, check_identity
from metrics_utility.library.secret import Secret
from metrics_utility.settings.variables import declared

SOURCE: Final = 'managed'
SECRET_TYPE: Final = 'kubernetes.io/tls'
CERT_KEY: Final = 'tls.crt'
KEY_KEY: Final = 'tls.key'
UUID_KEY: Final = 'consumer-uuid'
ANNOTATION_RENEWED: Final = f'{names.GROUP}/candlepin-renewed'  # when the operator last wrote the identity
DEFAULT_RENEW_BEFORE_DAYS: Final = 30
DEFAULT_URL: Final = (declared(f'{contract.PREFIX}CANDLEPIN_URL').default or '').rstrip('/')
MAX_CREDENTIAL_CHARS: Final = 1024
READY: Final = contract.IDENTITY_READY_CONDITION
EXPIRING: Final = contract.CERTIFICATE_EXPIRING_CONDITION  # shared with the other certificate identities

Action = Literal['register', 'renew', 'checkin', 'conflict']


def secret_name(collection: str) -> str:
    """`<collection>-candlepin-identity`: the Secret the operator owns (`names.candlepin_identity_secret`)."""
    return names.candlepin_identity_secret(collection)


@dataclass(frozen=True)
class CredentialsRef:
    name: str
    username_key: str = 'username'
    password_key: str = 'password'


@dataclass(frozen=True)
class ManagedSpec:
    """`identity.managed` of the collection's console.redhat.com block, defaulted (`spec.crc_identity`)."""

    field: str  # e.g. spec.storage.crc.identity.managed, named in messages
    credentials: CredentialsRef
    organization: str | None
    candlepin_url: str
    renew_before_days: int


def managed_spec(name: str, full: Mapping[str, Any]) -> ManagedSpec | None:
    """The managed identity a validated spec asks for (`spec.validate` checked every field), or None."""
    chosen = spec.crc_identity(name, full)
    if chosen is None or chosen.source != SOURCE or chosen.managed is None:
        return None
    managed, ref = chosen.managed, chosen.managed['credentialsSecret']
    return ManagedSpec(
        field=f'{chosen.field}.managed',
        credentials=CredentialsRef(ref['name'], ref['usernameKey'], ref['passwordKey']),
        organization=(managed.get('organization') or '').strip() or None,
        candlepin_url=(managed.get('candlepinUrl') or DEFAULT_URL).rstrip('/'),
        renew_before_days=chosen.renew_before_days,
    )


# -- what to do -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What this tick does: `register` (no usable identity), `renew` (check in, then regenerate: it expires within
    the window), `checkin` (it is fine), `conflict` (the Secret is not ours, or not a TLS Secret: touch nothing).
    `why` is one line."""

    action: Action
    why: str
    identity: Identity | None = None  # the usable identity the Secret holds (renew, checkin)


def plan(secret: Mapping[str, Any] | None, collection: str, now: datetime, renew_before_days: int) -> Plan:
    """The action for the Secret as it is (None: it does not exist)."""
    name = secret_name(collection)
    if secret is None:
        return Plan('register', f'the Secret {name} does not exist')
    labels = (secret.get('metadata') or {}).get('labels') or {}
    if labels.get(names.LABEL_COLLECTION) != collection or labels.get(names.LABEL_MANAGED_BY) != names.MANAGED_BY:
        return Plan(
            'conflict',
            f'the Secret {name} exists but is not managed by this operator for {collection}; delete or rename it',
        )
    if secret.get('type') != SECRET_TYPE:  # a Secret's type cannot change; replacing it would need `delete`
        return Plan(
            'conflict',
            f'the Secret {name} is of type {str(secret.get("type") or "Opaque")[:64]!r}, not {SECRET_TYPE} (a type '
            'cannot change): delete it to register again',
        )
    texts = _decoded(secret.get('data'))
    missing = [key for key in (CERT_KEY, KEY_KEY, UUID_KEY) if key not in texts]
    if missing:
        return Plan('register', f'the Secret {name} lacks {", ".join(missing)} (or it is not ASCII base64)')
    found = check_identity(texts[CERT_KEY], texts[KEY_KEY], texts[UUID_KEY], now)
    if isinstance(found, Unusable):
        return Plan('register', f'the Secret {name}: {secret_reason(found.reason)}')
    if found.remaining(now) <= timedelta(days=renew_before_days):
        return Plan(
            'renew', f'the certificate expires on {_day(found.not_after)}, within {renew_before_days} days', found
        )
    return Plan('checkin', f'the certificate is valid until {_day(found.not_after)}', found)


def _decoded(data: Any) -> dict[str, str]:
    """The Secret's keys that hold ASCII text (base64 as the API returns `data`)."""
    result: dict[str, str] = {}
    for key, value in (data or {}).items() if isinstance(data, Mapping) else ():
        try:
            result[key] = base64.b64decode(value, validate=True).decode('ascii')
        except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
            continue
    return result


def secret_reason(reason: str) -> str:
    """The worker's reason in the Secret's terms (its variable names become the Secret's keys)."""
    for variable, key in (
        ('CANDLEPIN_CONSUMER_UUID', UUID_KEY),
        ('CANDLEPIN_CERT_PEM', CERT_KEY),
        ('CANDLEPIN_KEY_PEM', KEY_KEY),
        ('the controller has', 'it has'),
    ):
        reason = reason.replace(variable, key)
    return reason


def _day(moment: datetime) -> str:
    return moment.strftime('%Y-%m-%d')


# -- the credentials ------------------------------------------------------------------------------------------------


class CredentialsError(ValueError):
    """The credentials Secret cannot be used; the message names Secret and key, never a value."""


def credentials(secret: Mapping[str, Any] | None, ref: CredentialsRef) -> tuple[str, Secret]:
    """(username, password) from the credentials Secret's `data`."""
    if secret is None:
        raise CredentialsError(f'the credentials Secret {ref.name} does not exist')
    data = secret.get('data') if isinstance(secret.get('data'), Mapping) else {}
    values = []
    for what, key in (('username', ref.username_key), ('password', ref.password_key)):
        raw = data.get(key)
        if raw is None:
            raise CredentialsError(f'the credentials Secret {ref.name} has no key {key!r} (the {what})')
        try:
            text = base64.b64decode(raw, validate=True).decode('utf-8')
        except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
            raise CredentialsError(f'the key {key!r} of the Secret {ref.name} is not UTF-8 text') from None
        text = text.strip('\r\n') if what == 'password' else text.strip()
        if not text:
            raise CredentialsError(f'the key {key!r} of the Secret {ref.name} is empty')
        if len(text) > MAX_CREDENTIAL_CHARS or any(not c.isprintable() for c in text):
            raise CredentialsError(
                f'the key {key!r} of the Secret {ref.name} is not a {what} (control characters or too long)'
            )
        values.append(text)
    username, password = values
    if ':' in username:
        raise CredentialsError(f'the key {ref.username_key!r} of the Secret {ref.name}: a username holds no ":"')
    return username, Secret(password)


def only_organization(orgs: list[str], username: str, where: str) -> str:
    """The one organization `username` may register in; otherwise an error that says what to set."""
    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        raise CredentialsError(f'{username} may register in no organization; ask an organization administrator')
    shown = ', '.join(repr(o[:64]) for o in orgs[:10]) + (f' and {len(orgs) - 10} more' if len(orgs) > 10 else '')
    raise CredentialsError(f'{username} belongs to {len(orgs)} organizations ({shown}): set {where}.organization')


def consumer_name(collection: str, namespace: str) -> str:
    """The consumer's name in Candlepin: which collection of which namespace registered it."""
    return f'{collection}.{namespace}.metrics-operator'


# -- the Secret -----------------------------------------------------------------------------------------------------


def _data(uuid: str, cert_pem: str, key_pem: str) -> dict[str, str]:
    encode = lambda text: base64.b64encode(text.encode('ascii')).decode('ascii')  # noqa: E731
    return {CERT_KEY: encode(cert_pem), KEY_KEY: encode(key_pem), UUID_KEY: encode(uuid)}


def secret_body(
    collection: str, namespace: str, owner_uid: str, uuid: str, cert_pem: str, key_pem: str, renewed: str
) -> dict[str, Any]:
    """The whole Secret, owned by the collection (deleted with it)."""
    return {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'type': SECRET_TYPE,
        'metadata': {
            'name': secret_name(collection),
            'namespace': namespace,
            'labels': names.labels(collection),
            'annotations': {ANNOTATION_RENEWED: renewed},
            'ownerReferences': [
                {
                    'apiVersion': names.API_VERSION,
                    'kind': names.KIND,
                    'name': collection,
                    'uid': owner_uid,
                    'controller': True,
                    'blockOwnerDeletion': True,
                }
            ],
        },
        'data': _data(uuid, cert_pem, key_pem),
    }


def replace_ops(resource_version: str, uuid: str, cert_pem: str, key_pem: str, renewed: str) -> list[dict[str, Any]]:
    """One JSON patch that swaps the whole identity at once (readers see old or new, never a mix), only if nobody
    changed the Secret since it was read."""
    return [
        {'op': 'test', 'path': '/metadata/resourceVersion', 'value': resource_version},
        {'op': 'replace', 'path': '/data', 'value': _data(uuid, cert_pem, key_pem)},
        {'op': 'add', 'path': '/metadata/annotations', 'value': {ANNOTATION_RENEWED: renewed}},
    ]


def renewed_at(secret: Mapping[str, Any] | None) -> str | None:
    return ((secret or {}).get('metadata') or {}).get('annotations', {}).get(ANNOTATION_RENEWED)


# -- status ---------------------------------------------------------------------------------------------------------

ConditionValue = tuple[str, str, str]  # (status, reason, message)


@dataclass(frozen=True)
class IdentityState:
    """What the last tick found: the status block (None: no identity yet) and the two conditions."""

    block: dict[str, Any] | None
    ready: ConditionValue | None  # None: the spec no longer asks for a managed identity (see NOT_MANAGED)
    expiring: ConditionValue | None = None
    event: str | None = field(default=None, compare=False)  # a Warning Event's message for this tick's failure


NOT_MANAGED: Final = IdentityState(None, None)  # clears what an earlier managed identity left in status


def status_block(identity: Identity, collection: str, last_renewal: str | None) -> dict[str, Any]:
    """`status.identity`: which consumer, whose subject, until when, where (never PEM)."""
    block = {
        'source': SOURCE,
        'subject': identity.subject,
        'consumerUUID': identity.consumer_uuid,
        'notAfter': status.now_iso(identity.not_after),
        'secretName': secret_name(collection),
    }
    return block | ({'lastRenewal': last_renewal} if last_renewal else {})


def expiry_condition(not_after: datetime, now: datetime, renew_before_days: int) -> ConditionValue:
    """`CertificateExpiring` of the managed identity: True from `renew_before_days` before the expiry (renewal has
    not succeeded yet)."""
    left = not_after - now
    if left <= timedelta(0):
        return 'True', 'Expired', f'the Candlepin certificate expired on {status.now_iso(not_after)}'
    if left <= timedelta(days=renew_before_days):
        days = left.days
        plural = '' if days == 1 else 's'
        return (
            'True',
            'ExpiresSoon',
            f'the Candlepin certificate expires on {status.now_iso(not_after)} (in {days} day{plural})',
        )
    return 'False', 'AsExpected', f'the Candlepin certificate is valid until {status.now_iso(not_after)}'


def with_identity(
    desired: dict[str, Any],
    previous: Mapping[str, Any],
    state: IdentityState | None,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """`desired` (from `status.compose`) with `status.identity` and the identity conditions of `state`; without a
    state (not looked at yet since the start, or an invalid spec) the previous values stay as compose kept them;
    `NOT_MANAGED` removes them."""
    if state is None:
        return desired
    if state.ready is None:  # NOT_MANAGED: IdentityReady goes, and the block when it was ours (`compose` owns
        # CertificateExpiring for the other identities)
        desired['conditions'] = [c for c in desired.get('conditions') or [] if c.get('type') != READY]
        if (previous.get('identity') or {}).get('source') == SOURCE:
            desired['identity'] = None
        return desired
    kept = [c for c in desired.get('conditions') or [] if c.get('type') not in (READY, EXPIRING)]
    prev = previous.get('conditions') or []
    ours = [status.condition(READY, *state.ready, generation, prev, now)]
    if state.expiring is not None:
        ours.append(status.condition(EXPIRING, *state.expiring, generation, prev, now))
    desired['conditions'] = [*kept, *ours]
    if state.block is not None:
        desired['identity'] = state.block
    elif (previous.get('identity') or {}).get('source') == SOURCE:
        desired['identity'] = None  # the Secret holds no usable identity any more (a registration is pending)
    return desired
