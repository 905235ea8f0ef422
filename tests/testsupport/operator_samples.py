"""Sample resources shared by operator tests."""

from __future__ import annotations

import copy
from typing import Any

from metrics_operator import names

DB_PASSWORD = 'S3cr3t-db-p4ss-d0-not-leak'
S3_SECRET = 'S3cr3t-s3-k3y-d0-not-leak'
ES_API_KEY = 'S3cr3t-es-4p1-k3y-d0-not-leak'

# A successful gather's run summary (the termination message), as the worker writes it.
GATHER_SUMMARY: dict[str, Any] = {
    'command': 'gather',
    'ok': True,
    'window': {'since': '2026-03-02T02:50:00Z', 'until': '2026-03-02T03:50:00Z'},
    'rows': 123,
    'bytes': 4567,
    'packages': 2,
    'target': 'directory',
}


def collection(name: str = 'controller', **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        'database': {'host': 'controller-postgres', 'credentialsSecret': {'name': 'db-reader'}},
        'storage': {'type': 'directory', 'directory': {'claimName': 'metrics-data'}},
    }
    for key, value in spec.items():
        base[key] = value
    return {
        'apiVersion': names.API_VERSION,
        'kind': names.KIND,
        'metadata': {'name': name},
        'spec': copy.deepcopy(base),
    }


def crc_storage(state: dict[str, Any] | None = None, **crc: Any) -> dict[str, Any]:
    """`spec.storage` for console.redhat.com; `state` (the watermark volume, required) is left out when None."""
    block = {'billingAccountId': '123456789012', 'serviceAccountSecret': {'name': 'sa'}, **crc}
    return {'type': 'crc', 'crc': block | ({'state': state} if state is not None else {})}


def crc_secret(name: str = 'sa') -> dict[str, Any]:
    """The service account of `storage.crc.serviceAccountSecret` (keys `client-id`, `client-secret`)."""
    return {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'metadata': {'name': name},
        'stringData': {'client-id': 'metrics', 'client-secret': 'crc-client-secret'},
    }


def db_secret(name: str = 'db-reader') -> dict[str, Any]:
    return {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'metadata': {'name': name},
        'stringData': {'username': 'metrics_reader', 'password': DB_PASSWORD},
        'data': {'password': 'UzNjcjN0LWRiLXA0c3MtZDAtbm90LWxlYWs='},
    }


def es_secret(name: str = 'es-kpi') -> dict[str, Any]:
    """The Elasticsearch API key of `spec.kpi.apiKeySecret` (key `api-key`)."""
    return {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': name}, 'stringData': {'api-key': ES_API_KEY}}


def claim(name: str = 'metrics-data') -> dict[str, Any]:
    return {
        'apiVersion': 'v1',
        'kind': 'PersistentVolumeClaim',
        'metadata': {'name': name},
        'spec': {'accessModes': ['ReadWriteOnce'], 'resources': {'requests': {'storage': '1Gi'}}},
    }


# The managed Candlepin identity (docs/operator.md): the Red Hat account and the block that asks for it.
RH_USER = 'alice'
RH_PASSWORD = 'Rh-p4ss/+=:%-do-not-leak-4711'


def rh_account(name: str = 'rh-account', password: str = RH_PASSWORD) -> dict[str, Any]:
    """The credentials Secret of `identity.managed` as the API server stores it (`data`, base64)."""
    import base64

    data = {'username': RH_USER, 'password': password}
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': name}, 'data': encoded}


def managed_identity(candlepin_url: str, **managed: Any) -> dict[str, Any]:
    """`storage.crc.identity` with `source: managed` against `candlepin_url`."""
    block = {'credentialsSecret': {'name': 'rh-account'}, 'candlepinUrl': candlepin_url, **managed}
    return {'source': 'managed', 'managed': block}


def ca_configmap(name: str, pem: str, key: str = 'ca.pem') -> dict[str, Any]:
    """A ConfigMap holding a CA bundle (what `spec.trustedCA.configMapName` names)."""
    return {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': name}, 'data': {key: pem}}
