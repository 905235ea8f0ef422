"""The `candlepin` group: what `metrics-utility candlepin register|renew` needs to manage a consumer identity.

Why a group of its own: the command runs without a database or a ship target (a CronJob of the operator, or a
timer next to the controller), so it loads only these variables plus the shared proxy and CA settings. The names
and defaults are metrics-utility 0.8's (docs/upstream.md); `CANDLEPIN_STORAGE=db` is refused because the worker
only ever reads the controller database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from metrics_utility.library.secret import Secret
from metrics_utility.library.storage.http import is_loopback

from .common import nul_problems
from .environment import Environment
from .gather import url
from .messages import shown
from .network import checked_ca_bundle, network_settings
from .variables import declared

PREFIX = 'METRICS_UTILITY_'
DEFAULT_URL = declared(f'{PREFIX}CANDLEPIN_URL').default
DEFAULT_CERT_DIR = declared(f'{PREFIX}CANDLEPIN_CERT_DIR').default
RHSM_CA = '/etc/rhsm/ca/redhat-uep.pem'  # where subscription-manager keeps the Candlepin CA


@dataclass(frozen=True)
class CandlepinSettings:
    url: str
    ca_bundle: str | None
    ca_variable: str  # the variable to name when the server's certificate is not trusted
    proxy_url: str | None
    org: str | None
    cert_dir: Path
    renewal_days: int
    registration_enabled: bool
    lifecycle_enabled: bool
    username: str | None
    password: Secret | None


def candlepin_settings(env: Environment | dict[str, str], problems: list[str]) -> CandlepinSettings:
    """Read and check the group; every problem is appended (one line each, a password never shown)."""
    env = Environment.of(env)
    problems += nul_problems({k: v for k, v in env.values.items() if k.startswith(PREFIX)})
    shared_ca = network_settings(env, problems).ca_bundle
    own = env.text(f'{PREFIX}CANDLEPIN_CA')
    ca = checked_ca_bundle(env, f'{PREFIX}CANDLEPIN_CA', problems) if own else None
    if own is None:
        ca = shared_ca or (RHSM_CA if Path(RHSM_CA).is_file() else None)
    ca_variable = f'{PREFIX}CA_BUNDLE' if own is None and ca == shared_ca else f'{PREFIX}CANDLEPIN_CA'
    storage = env.text(f'{PREFIX}CANDLEPIN_STORAGE') or 'local'
    if storage != 'local':
        problems.append(
            f'{PREFIX}CANDLEPIN_STORAGE={shown(storage)}: expected local (db is not supported: the worker only reads '
            'the controller database)'
        )
    password = env.raw(f'{PREFIX}RH_PASSWORD')
    api = (url(env, f'{PREFIX}CANDLEPIN_URL', problems) or DEFAULT_URL or '').rstrip('/')
    parts = urlsplit(api)
    if (parts.scheme != 'https' and not (parts.scheme == 'http' and is_loopback(parts.hostname))) or not parts.hostname:
        problems.append(
            f'{PREFIX}CANDLEPIN_URL={shown(api)}: expected https://host/path (the password and the consumer '
            'key are sent to it)'
        )
    return CandlepinSettings(
        url=api,
        ca_bundle=ca,
        ca_variable=ca_variable,
        proxy_url=url(env, f'{PREFIX}PROXY_URL', problems),
        org=env.text(f'{PREFIX}CANDLEPIN_ORG'),
        cert_dir=Path(env.text(f'{PREFIX}CANDLEPIN_CERT_DIR') or DEFAULT_CERT_DIR or ''),
        renewal_days=env.whole(f'{PREFIX}CANDLEPIN_RENEWAL_DAYS', problems, 30) or 30,
        registration_enabled=env.boolean(f'{PREFIX}CANDLEPIN_REGISTRATION_ENABLED', problems, True),
        lifecycle_enabled=env.boolean(f'{PREFIX}CANDLEPIN_LIFECYCLE_ENABLED', problems, True),
        username=env.text(f'{PREFIX}RH_USERNAME'),
        password=Secret(password) if password else None,
    )
