"""What `config.json` may contain: an allow-list, so credentials can never reach a tarball.

metrics-utility merges the ship target's parameters into config.json, which puts S3 access and secret keys into
every tarball (weakness #2). Here only the keys of metrics-utility's config 2.0 schema are kept, and
`billing_provider_params` only keeps non-secret identifiers of the target (bucket name, endpoint, region, path,
billing account). Anything else is dropped and its *name* (never its value) is reported, so a caller can log it.
Missing config 2.0 keys are filled with null, which the config 2.0 schema allows, so readers that index them work.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

CONFIG_VERSION = '2.0'

# metrics-utility's config.json version 2.0 (docs/package.md); all nullable except platform and
# billing_provider_params.
CONFIG_KEYS = frozenset(
    {
        'platform',
        'install_uuid',
        'instance_uuid',
        'controller_url_base',
        'controller_version',
        'license_type',
        'license_date',
        'subscription_name',
        'sku',
        'support_level',
        'usage',
        'product_name',
        'valid_key',
        'satellite',
        'pool_id',
        'subscription_id',
        'account_number',
        'current_instances',
        'automated_instances',
        'automated_since',
        'trial',
        'grace_period_remaining',
        'compliant',
        'date_warning',
        'date_expired',
        'subscription_usage_model',
        'free_instances',
        'total_licensed_instances',
        'license_expiry',
        'pendo_tracking',
        'authentication_backends',
        'logging_aggregators',
        'external_logger_enabled',
        'external_logger_type',
        'metrics_utility_version',
        'billing_provider_params',
    }
)

# Identifiers of the ship target that readers and support staff use; none of them grants access to anything.
BILLING_PROVIDER_KEYS = frozenset(
    {
        'ship_path',  # directory and s3
        'bucket_name',  # s3
        'bucket_endpoint',
        'bucket_region',
        'billing_provider',  # crc
        'billing_account_id',
        'red_hat_org_id',
    }
)

_PLATFORM_KEYS = ('system', 'dist', 'release', 'type')
_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    return isinstance(value, _SCALARS) or (isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value))


def _strip_userinfo(value: Any) -> Any:
    """`https://user:pass@host/` → `https://host/`: a URL's credentials are never needed to identify a target."""
    if isinstance(value, str) and '://' in value:
        scheme, _, rest = value.partition('://')
        netloc, slash, path = rest.partition('/')
        if '@' in netloc:
            return f'{scheme}://{netloc.rpartition("@")[2]}{slash}{path}'
    return value


def worker_platform(install_type: str = 'traditional') -> dict[str, Any]:
    """The machine the worker runs on, used only when the config collector supplied no `platform`; the caller
    knows the install type (the library reads no environment)."""
    return {'system': platform.system(), 'dist': [], 'release': platform.release(), 'type': install_type}


def sanitize_billing_provider_params(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Keep only allow-listed, scalar target identifiers; returns (kept, names of dropped keys)."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in (params or {}).items():
        if key in BILLING_PROVIDER_KEYS and isinstance(value, _SCALARS):
            kept[key] = _strip_userinfo(value)
        else:
            dropped.append(f'billing_provider_params.{key}')
    return kept, sorted(dropped)


def sanitize_config(
    config: Mapping[str, Any],
    billing_provider_params: Mapping[str, Any] | None,
    tool_version: str,
    install_type: str = 'traditional',
) -> tuple[dict[str, Any], list[str]]:
    """The config.json content for `config` plus the target's parameters; returns (content, dropped key names).

    `billing_provider_params` given here win over any the config collector returned (both are sanitised).
    """
    if not isinstance(config, Mapping):
        raise TypeError(f'config must be a dict, got {type(config).__name__}')
    dropped = sorted(str(k) for k in config if k not in CONFIG_KEYS)
    content: dict[str, Any] = {}
    for key in sorted(CONFIG_KEYS):
        value = config.get(key)
        if key not in ('platform', 'billing_provider_params') and not _plain(value):
            dropped.append(key)  # nested structures have no place in config 2.0; they could carry anything
            value = None
        content[key] = _strip_userinfo(value)

    given = billing_provider_params if billing_provider_params is not None else config.get('billing_provider_params')
    if given is not None and not isinstance(given, Mapping):
        raise TypeError(f'billing_provider_params must be a dict, got {type(given).__name__}')
    content['billing_provider_params'], dropped_params = sanitize_billing_provider_params(given)
    dropped += dropped_params

    plat = content['platform']
    if isinstance(plat, Mapping):
        content['platform'] = {k: plat.get(k) for k in _PLATFORM_KEYS}
        dropped += sorted(f'platform.{k}' for k in plat if k not in _PLATFORM_KEYS)
    else:
        content['platform'] = worker_platform(install_type)
    if content['metrics_utility_version'] is None:
        content['metrics_utility_version'] = tool_version
    return content, dropped
