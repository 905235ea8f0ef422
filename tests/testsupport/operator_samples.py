"""Sample resources shared by operator tests."""

from __future__ import annotations

import copy
from typing import Any

from metrics_operator import names

DB_PASSWORD = 'S3cr3t-db-p4ss-d0-not-leak'
S3_SECRET = 'S3cr3t-s3-k3y-d0-not-leak'
ES_API_KEY = 'S3cr3t-es-4p1-k3y-d0-not-leak'


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
