"""`config` (v2.0, json): who and what the data comes from — installation ids, controller version, license.

Read from `conf_setting` (system settings, `user_id IS NULL`) and `main_instance` (the newest enabled instance's
`version`); no window. Output keys are those of metrics-utility's config.json 2.0.

Secrets never leave the database: only the settings named in `SETTINGS` are read (an allow-list in the query, so a
credential setting is not even fetched), and of the license object only the descriptive fields in `LICENSE_FIELDS`
are copied. Billing provider parameters are likewise filtered to `BILLING_PROVIDER_FIELDS`, which drops S3 keys
that metrics-utility wrote into every tarball.

Differences: license figures AWX computes at read time (`current_instances`, `compliant`, `time_remaining`, …) are
not in the database, so they are `null` here unless the stored license carries them.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import psycopg

from ..base import collector
from .streaming import session

SETTINGS = (
    'AUTHENTICATION_BACKENDS',
    'INSTALL_UUID',
    'LICENSE',
    'LOG_AGGREGATOR_ENABLED',
    'LOG_AGGREGATOR_LOGGERS',
    'LOG_AGGREGATOR_TYPE',
    'PENDO_TRACKING_STATE',
    'SUBSCRIPTION_USAGE_MODEL',
    'SYSTEM_UUID',
    'TOWER_URL_BASE',
)
LICENSE_FIELDS = {  # output key -> license key
    'account_number': 'account_number',
    'automated_instances': 'automated_instances',
    'automated_since': 'automated_since',
    'compliant': 'compliant',
    'current_instances': 'current_instances',
    'date_expired': 'date_expired',
    'date_warning': 'date_warning',
    'free_instances': 'free_instances',
    'grace_period_remaining': 'grace_period_remaining',
    'license_date': 'license_date',
    'license_expiry': 'time_remaining',
    'license_type': 'license_type',
    'pool_id': 'pool_id',
    'product_name': 'product_name',
    'satellite': 'satellite',
    'sku': 'sku',
    'subscription_id': 'subscription_id',
    'subscription_name': 'subscription_name',
    'support_level': 'support_level',
    'total_licensed_instances': 'instance_count',
    'trial': 'trial',
    'usage': 'usage',
    'valid_key': 'valid_key',
}
BILLING_PROVIDER_FIELDS = (
    'ship_path',
    'bucket_name',
    'bucket_endpoint',
    'bucket_region',
    'billing_provider',
    'billing_account_id',
    'red_hat_org_id',
)


def _settings(db: psycopg.Connection) -> dict[str, Any]:
    rows = db.execute(
        'SELECT key, value FROM conf_setting WHERE user_id IS NULL AND key = ANY(%s) ORDER BY modified, id',
        (list(SETTINGS),),
    ).fetchall()
    settings: dict[str, Any] = {}
    for key, value in rows:  # the newest row wins when a key is stored twice (no unique constraint)
        settings[key] = json.loads(value) if isinstance(value, str) and key == 'LICENSE' else value
    return settings


def _controller_version(db: psycopg.Connection) -> str | None:
    row = db.execute(
        "SELECT version FROM main_instance WHERE enabled AND version <> '' ORDER BY last_seen DESC NULLS LAST LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def _own_version() -> str | None:
    try:
        return version('metrics-utility')
    except PackageNotFoundError:
        return None


def _platform(install_type: str) -> dict[str, Any]:
    try:
        release = platform.freedesktop_os_release()
        dist = [release.get('NAME', ''), release.get('VERSION_ID', ''), release.get('VERSION_CODENAME', '')]
    except OSError:
        dist = ['', '', '']
    return {'system': platform.system(), 'dist': dist, 'release': platform.release(), 'type': install_type}


@collector('config', '2.0', 'json', kind='snapshot')
def config(
    *,
    db: psycopg.Connection,
    billing_provider_params: Mapping[str, Any] | None = None,
    install_type: str = 'traditional',
) -> dict[str, Any]:
    """Installation identity, versions, license and a few settings; never credentials. `install_type` (openshift,
    k8s or traditional) is detected by the caller's settings (`settings.gather.platform_settings`)."""
    with session(db):
        settings = _settings(db)
        controller_version = _controller_version(db)
    license_info = settings.get('LICENSE')
    if not isinstance(license_info, Mapping):
        license_info = {}
    provider = {k: v for k, v in (billing_provider_params or {}).items() if k in BILLING_PROVIDER_FIELDS}
    result: dict[str, Any] = {
        'authentication_backends': settings.get('AUTHENTICATION_BACKENDS'),
        'controller_url_base': settings.get('TOWER_URL_BASE'),
        'external_logger_enabled': settings.get('LOG_AGGREGATOR_ENABLED'),
        'external_logger_type': settings.get('LOG_AGGREGATOR_TYPE'),
        'install_uuid': settings.get('INSTALL_UUID'),
        'instance_uuid': settings.get('SYSTEM_UUID'),
        'logging_aggregators': settings.get('LOG_AGGREGATOR_LOGGERS'),
        'pendo_tracking': settings.get('PENDO_TRACKING_STATE'),
        'subscription_usage_model': settings.get('SUBSCRIPTION_USAGE_MODEL'),
        **{out: license_info.get(key) for out, key in LICENSE_FIELDS.items()},
        'billing_provider_params': provider,
        'controller_version': controller_version,
        'metrics_utility_version': _own_version(),
        'platform': _platform(install_type),
    }
    if result['license_type'] is None:
        result['license_type'] = 'UNLICENSED'
    return result
