"""`metrics-utility serve` and `reports list|get` settings: the storage (as build-report reads it) and, for serve,
where it listens and who may ask (docs/serve.md).

The one exposure rule lives here: host names are customer data, so a server that listens beyond the loopback
interface must check every caller (`METRICS_UTILITY_SERVE_AUTH=kubernetes`) and that check needs TLS, or a bearer
token would cross the network in clear. Every problem is reported at once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .common import PREFIX, ShipSettings, nul_problems, ship_settings, shown
from .environment import Environment
from .network import network_settings
from .sources import Source, additional_sources

STORAGE_TARGETS = ('directory', 's3')
AUTH_MODES = ('none', 'kubernetes')
LOOPBACK_NAMES = ('localhost',)
_NAME_CHARS = set('abcdefghijklmnopqrstuvwxyz0123456789-.')


@dataclass(frozen=True)
class StorageSettings:
    ship: ShipSettings
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class ServeSettings:
    storage: StorageSettings
    address: str
    port: int
    auth: str
    tls_cert: str | None
    tls_key: str | None
    namespace: str | None
    collection: str | None
    cache_dir: Path | None = None  # usage digests of a read-only storage (library/usage_digest.py)


def storage_settings(
    env: Mapping[str, str] | Environment, problems: list[str], also_from: list[str] | None = None
) -> StorageSettings | None:
    """The main storage (SHIP_TARGET directory or s3, as build-report) plus the read-only additional sources."""
    env = Environment.of(env)
    problems += nul_problems({k: v for k, v in env.values.items() if k.startswith(PREFIX)})
    problems += nul_problems({f: v if isinstance(v, str) else ';'.join(v) for f, v in env.flags.values()})
    ship = ship_settings(env, STORAGE_TARGETS, problems, path_must_exist=True)
    network_settings(env, problems)
    sources = additional_sources(env, also_from, problems, ship)
    return None if ship is None else StorageSettings(ship, tuple(sources))


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`: only this machine (or `kubectl port-forward`) reaches them."""
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _dns_label(value: str) -> bool:
    return 0 < len(value) <= 253 and set(value) <= _NAME_CHARS and value[0].isalnum() and value[-1].isalnum()


def serve_settings(
    env: Mapping[str, str] | Environment, problems: list[str], also_from: list[str] | None = None
) -> ServeSettings | None:
    env = Environment.of(env)
    storage = storage_settings(env, problems, also_from)
    given = env.flag(f'{PREFIX}SERVE_ADDRESS')
    address = (str(given[1]).strip() if given else env.text(f'{PREFIX}SERVE_ADDRESS')) or '127.0.0.1'
    label = given[0] if given else f'{PREFIX}SERVE_ADDRESS'
    if not is_loopback(address):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            problems.append(f'{label}={shown(address)} is not an IP address; expected e.g. 127.0.0.1, 0.0.0.0 or ::')
    port = env.whole(f'{PREFIX}SERVE_PORT', problems, 8080)
    auth = env.text(f'{PREFIX}SERVE_AUTH') or 'none'
    if auth not in AUTH_MODES:
        problems.append(f'{PREFIX}SERVE_AUTH={shown(auth)} is not an access mode; expected one of: none, kubernetes')
    cert, key = env.text(f'{PREFIX}SERVE_TLS_CERT'), env.text(f'{PREFIX}SERVE_TLS_KEY')
    for name, path in ((f'{PREFIX}SERVE_TLS_CERT', cert), (f'{PREFIX}SERVE_TLS_KEY', key)):
        if path is not None and not Path(path).is_file():
            problems.append(f'{name}={shown(path)} is not a readable file; expected a PEM file')
    if (cert is None) != (key is None):
        problems.append(f'{PREFIX}SERVE_TLS_CERT and {PREFIX}SERVE_TLS_KEY go together; set both or neither')
    namespace, collection = env.text(f'{PREFIX}SERVE_NAMESPACE'), env.text(f'{PREFIX}SERVE_COLLECTION')
    if auth == 'kubernetes':
        if cert is None or key is None:
            problems.append(
                f'{PREFIX}SERVE_AUTH=kubernetes needs {PREFIX}SERVE_TLS_CERT and {PREFIX}SERVE_TLS_KEY: bearer tokens '
                'never cross the network in clear'
            )
        for name, value in ((f'{PREFIX}SERVE_NAMESPACE', namespace), (f'{PREFIX}SERVE_COLLECTION', collection)):
            if value is None:
                problems.append(f'{name} is not set; {PREFIX}SERVE_AUTH=kubernetes reviews access to that collection')
            elif not _dns_label(value):
                problems.append(f'{name}={shown(value)} is not a Kubernetes name; expected lowercase a-z, 0-9, - and .')
    elif auth == 'none' and not is_loopback(address):
        problems.append(
            f'{label}={shown(address)} is not a loopback address and {PREFIX}SERVE_AUTH is not kubernetes: host names '
            'are customer data, so a server reachable from the network checks every caller (set '
            f'{PREFIX}SERVE_AUTH=kubernetes) or listens on 127.0.0.1 (reach it with kubectl port-forward)'
        )
    cache_dir = env.text(f'{PREFIX}SERVE_CACHE_DIR')
    if cache_dir is not None and not Path(cache_dir).is_dir():
        problems.append(f'{PREFIX}SERVE_CACHE_DIR={shown(cache_dir)} is not a directory; expected an existing one')
    if storage is None or port is None or problems:
        return None
    cache = Path(cache_dir) if cache_dir is not None else None
    return ServeSettings(storage, address, port, auth, cert, key, namespace, collection, cache)
