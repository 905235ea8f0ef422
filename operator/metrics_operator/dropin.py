"""Reuse of an AAP install's own configuration: `spec.controller`, `spec.envFrom` and `spec.env`, as pure functions.

`spec.controller.name` names an AutomationController; the AAP operator keeps its database connection in the Secret
`<name>-postgres-configuration`. Pods reference that Secret's keys (`secretKeyRef`): the operator never reads it, so
nothing of it can reach a ConfigMap, status or Events. Explicit `spec.database` fields win, field by field.

`spec.envFrom` / `spec.env` pass the admin's existing ConfigMap and Secret (the ones the AAP operator's built-in
CronJobs use) to every worker pod unchanged. What the spec renders wins: the operator's ConfigMap is the last
`envFrom` source (Kubernetes: the last source wins) and its per-pod variables are `env` (which wins over `envFrom`);
`spec.env` may not name a variable the operator renders, so neither can silently override the other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from metrics_utility import contract

SECRET_SUFFIX: Final = '-postgres-configuration'
# spec.database field → (key of the AAP operator's Secret, worker variable, whether the key may be missing).
DATABASE_KEYS: Final = (
    ('host', 'host', 'DB_HOST', False),
    ('port', 'port', 'DB_PORT', False),
    ('name', 'database', 'DB_NAME', False),
    ('sslMode', 'sslmode', 'DB_SSLMODE', True),
)
CREDENTIAL_KEYS: Final = (('username', 'DB_USER'), ('password', 'DB_PASSWORD'))
MAX_ENV: Final = 64
MAX_ENV_FROM: Final = 16
MAX_VALUE: Final = 32768
CONTROLLER_NAME_RE: Final = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')  # DNS-1123 label, at most 63
DNS_SUBDOMAIN_RE: Final = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
ENV_NAME_RE: Final = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
KEY_RE: Final = re.compile(r'^[-._a-zA-Z0-9]+$')
# Names `spec.env` may not set: every variable the operator renders (set the spec field instead) and what the pod
# itself needs (a writable HOME/TMPDIR on the read-only root; the index Kubernetes gives a backfill shard).
RESERVED_ENV: Final = tuple(
    sorted({contract.PREFIX + v for v in contract.RENDERED_VARIABLES} | {'HOME', 'TMPDIR', 'JOB_COMPLETION_INDEX'})
)
REF_KINDS: Final = {'envFrom': ('configMapRef', 'secretRef'), 'valueFrom': ('configMapKeyRef', 'secretKeyRef')}

Problem = tuple[str, str]  # (field, message) for spec.SpecError


def secret_name(controller: str) -> str:
    return f'{controller}{SECRET_SUFFIX}'


# The AAP operator keeps the controller's SECRET_KEY (the key of its field encryption, which protects the Candlepin
# identity in conf_setting) in `<name>-secret-key`, key `secret_key`.
SECRET_KEY_SUFFIX: Final = '-secret-key'
SECRET_KEY_KEY: Final = 'secret_key'


def secret_key_secret_name(controller: str) -> str:
    return f'{controller}{SECRET_KEY_SUFFIX}'


def problem(full: Mapping[str, Any]) -> Problem | None:
    """The first problem of `controller`, `envFrom` and `env`, or None."""
    return _controller(full.get('controller')) or _env_from(full.get('envFrom')) or _env(full.get('env'))


def _controller(controller: Any) -> Problem | None:
    if controller is None:
        return None
    name = controller.get('name') if isinstance(controller, Mapping) else None
    if not (isinstance(name, str) and len(name) <= 63 and CONTROLLER_NAME_RE.fullmatch(name)):
        return (
            'spec.controller.name',
            'must name an AutomationController in this namespace (a lowercase DNS label of at most 63 characters)',
        )
    return None


def _ref(ref: Any, field: str, with_key: bool) -> Problem | None:
    if not isinstance(ref, Mapping):
        return field, 'must be an object with name' + (' and key' if with_key else '')
    name = ref.get('name')
    if not (isinstance(name, str) and len(name) <= 253 and DNS_SUBDOMAIN_RE.fullmatch(name)):
        return f'{field}.name', 'must name an object in this namespace (a lowercase DNS subdomain)'
    key = ref.get('key')
    if with_key and not (isinstance(key, str) and len(key) <= 253 and KEY_RE.fullmatch(key)):
        return f'{field}.key', "must be a key of the object (letters, digits, '-', '_', '.')"
    if not isinstance(ref.get('optional', False), bool):
        return f'{field}.optional', 'must be true or false'
    return None


def _one_ref(block: Any, field: str, kinds: tuple[str, str], with_key: bool) -> Problem | None:
    if not isinstance(block, Mapping) or sum(kind in block for kind in kinds) != 1:
        return field, f'set exactly one of {kinds[0]} and {kinds[1]}'
    kind = next(kind for kind in kinds if kind in block)
    return _ref(block[kind], f'{field}.{kind}', with_key)


def _env_from(sources: Any) -> Problem | None:
    if sources is None:
        return None
    if not isinstance(sources, list) or len(sources) > MAX_ENV_FROM:
        return 'spec.envFrom', f'must be a list of at most {MAX_ENV_FROM} configMapRef/secretRef sources'
    for index, source in enumerate(sources):
        found = _one_ref(source, f'spec.envFrom[{index}]', REF_KINDS['envFrom'], with_key=False)
        if found:
            return found
    return None


def _env(env: Any) -> Problem | None:
    if env is None:
        return None
    if not isinstance(env, list) or len(env) > MAX_ENV:
        return 'spec.env', f'must be a list of at most {MAX_ENV} variables (name with value or valueFrom)'
    seen: set[str] = set()
    for index, item in enumerate(env):
        field = f'spec.env[{index}]'
        name = item.get('name') if isinstance(item, Mapping) else None
        if not (isinstance(name, str) and len(name) <= 253 and ENV_NAME_RE.fullmatch(name)):
            return f'{field}.name', 'must be a variable name (letters, digits and _, not starting with a digit)'
        if name in RESERVED_ENV:
            return f'{field}.name', f'{name} is set by the operator: set the matching spec field instead'
        if name in seen:
            return f'{field}.name', f'{name} is listed twice; list each variable once'
        seen.add(name)
        if 'value' in item and 'valueFrom' in item:
            return field, 'set value or valueFrom, not both'
        value = item.get('value', '')
        if not isinstance(value, str) or len(value) > MAX_VALUE or '\x00' in value:
            return f'{field}.value', f'must be text of at most {MAX_VALUE} characters without NUL'
        if 'valueFrom' in item:
            found = _one_ref(item['valueFrom'], f'{field}.valueFrom', REF_KINDS['valueFrom'], with_key=True)
            if found:
                return found
    return None


def _database_refs(full: Mapping[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(variable, Secret, key, optional) of every database setting the controller's Secret supplies."""
    controller = full.get('controller')
    if not controller:
        return []
    secret, db = secret_name(controller['name']), full.get('database') or {}
    refs = [(var, secret, key, optional) for field, key, var, optional in DATABASE_KEYS if db.get(field) is None]
    if not db.get('credentialsSecret'):
        refs += [(var, secret, key, False) for key, var in CREDENTIAL_KEYS]
    return refs


def database_env(full: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`secretKeyRef` env of the database settings taken from the controller's Secret (none without a controller)."""
    env = []
    for var, secret, key, optional in _database_refs(full):
        ref: dict[str, Any] = {'name': secret, 'key': key}
        if optional:
            ref['optional'] = True
        env.append({'name': contract.PREFIX + var, 'valueFrom': {'secretKeyRef': ref}})
    return env


def _known(ref: Mapping[str, Any], with_key: bool) -> dict[str, Any]:
    """A reference with the fields the CRD knows only (the API server prunes the others; an emulator may not)."""
    keys = ('name', 'key', 'optional') if with_key else ('name', 'optional')
    return {key: ref[key] for key in keys if key in ref}


def user_env(full: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`spec.env` as given (its names never collide with the operator's)."""
    env = []
    for item in full.get('env') or []:
        if 'valueFrom' in item:
            kind = next(kind for kind in REF_KINDS['valueFrom'] if kind in item['valueFrom'])
            env.append({'name': item['name'], 'valueFrom': {kind: _known(item['valueFrom'][kind], with_key=True)}})
        else:
            env.append({key: item[key] for key in ('name', 'value') if key in item})
    return env


def user_env_from(full: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`spec.envFrom` as given; the operator's ConfigMap goes after these, so its settings win."""
    sources = []
    for source in full.get('envFrom') or []:
        kind = next(kind for kind in REF_KINDS['envFrom'] if kind in source)
        sources.append({kind: _known(source[kind], with_key=False)})
    return sources


def secret_refs(full: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, Secret) pairs a pod cannot start without (optional references are left out)."""
    refs = []
    if _database_refs(full):
        refs.append(('spec.controller.name', secret_name(full['controller']['name'])))
    return refs + _refs(full, 'secretRef', 'secretKeyRef')


def configmap_refs(full: Mapping[str, Any]) -> list[tuple[str, str]]:
    return _refs(full, 'configMapRef', 'configMapKeyRef')


def _refs(full: Mapping[str, Any], from_kind: str, value_kind: str) -> list[tuple[str, str]]:
    refs = []
    for index, source in enumerate(full.get('envFrom') or []):
        ref = source.get(from_kind)
        if ref and not ref.get('optional'):
            refs.append((f'spec.envFrom[{index}].{from_kind}.name', ref['name']))
    for index, item in enumerate(full.get('env') or []):
        ref = (item.get('valueFrom') or {}).get(value_kind)
        if ref and not ref.get('optional'):
            refs.append((f'spec.env[{index}].valueFrom.{value_kind}.name', ref['name']))
    return refs
