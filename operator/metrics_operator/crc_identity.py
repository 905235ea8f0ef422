"""The console.redhat.com upload identity in the worker pods (`storage.crc.identity`, `storage.console.identity`).

`spec.crc_identity` resolves which identity a collection uploads with; this module renders it, as pure functions:

- controller: `METRICS_UTILITY_CANDLEPIN_ENABLED=true` and the AAP operator's `<controller>-secret-key` Secret (key
  `secret_key`) mounted read-only as a file that `METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE` names: the worker reads
  the controller's Candlepin certificate from `conf_setting` and decrypts it with that key.
- certificateSecret and managed: `tls.crt`/`tls.key` of a kubernetes.io/tls Secret (the user's, or the operator's own
  `<name>-candlepin-identity`) mounted read-only; `METRICS_UTILITY_CRC_CLIENT_CERT`/`_KEY` name the files.
- serviceAccount: nothing here (the service account's `secretKeyRef`s are `render.secret_env`).

Secret volumes are not optional: a missing Secret keeps the pod from starting, which the operator reports before
it ever writes a CronJob (`spec.secret_refs` lists the Secrets the user supplies). The values never leave the Secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from metrics_operator import dropin
from metrics_operator.names import JobKind
from metrics_operator.spec import CrcIdentity, crc_identity
from metrics_utility import contract

SECRET_KEY_VOLUME: Final = 'controller-secret-key'
SECRET_KEY_DIR: Final = '/etc/metrics-utility/controller'
SECRET_KEY_FILE: Final = f'{SECRET_KEY_DIR}/{dropin.SECRET_KEY_KEY}'
CERTIFICATE_VOLUME: Final = 'crc-identity'
CERTIFICATE_DIR: Final = '/etc/metrics-utility/crc-identity'
TLS_CERT: Final = 'tls.crt'  # the keys of a kubernetes.io/tls Secret
TLS_KEY: Final = 'tls.key'
# Which pods upload to each target: crc storage is shipped by the gather and the vCPU gather; the second target
# (`storage.console`) by the main gather only. The check Job and a backfill take the gather's pod.
UPLOADING_KINDS: Final = {'crc': ('gather', 'vcpu'), 'console': ('gather',)}


def _uploads(name: str, kind: JobKind, full: Mapping[str, Any]) -> CrcIdentity | None:
    ident = crc_identity(name, full)
    return ident if ident is not None and kind in UPLOADING_KINDS[ident.target] else None


def env(name: str, kind: JobKind, full: Mapping[str, Any]) -> list[dict[str, str]]:
    """The variables that choose the identity in a pod that uploads to console.redhat.com."""
    ident = _uploads(name, kind, full)
    if ident is None:
        return []
    values: dict[str, str] = {}
    if ident.source == 'controller':
        values = {'CANDLEPIN_ENABLED': 'true', 'CONTROLLER_SECRET_KEY_FILE': SECRET_KEY_FILE}
    elif full.get('envFrom'):
        # The chosen identity wins over an upstream ConfigMap (spec.envFrom) that turns the controller's on.
        values = {'CANDLEPIN_ENABLED': 'false'}
    if ident.tls_secret is not None:
        values |= {'CRC_CLIENT_CERT': f'{CERTIFICATE_DIR}/{TLS_CERT}', 'CRC_CLIENT_KEY': f'{CERTIFICATE_DIR}/{TLS_KEY}'}
    return [{'name': contract.PREFIX + key, 'value': value} for key, value in values.items()]


def volumes(name: str, kind: JobKind, full: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, container mounts) of the identity's Secret, read-only and required."""
    ident = _uploads(name, kind, full)
    if ident is None:
        return [], []
    if ident.source == 'controller':
        secret = dropin.secret_key_secret_name(full['controller']['name'])
        volume, path, keys = SECRET_KEY_VOLUME, SECRET_KEY_DIR, (dropin.SECRET_KEY_KEY,)
    elif ident.tls_secret is not None:
        secret, volume, path, keys = ident.tls_secret, CERTIFICATE_VOLUME, CERTIFICATE_DIR, (TLS_CERT, TLS_KEY)
    else:
        return [], []
    source = {'secretName': secret, 'items': [{'key': key, 'path': key} for key in keys], 'optional': False}
    return [{'name': volume, 'secret': source}], [{'name': volume, 'mountPath': path, 'readOnly': True}]
