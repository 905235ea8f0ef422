"""The `proxy` group: outbound proxies and the one CA bundle every outbound client trusts (enterprise networks).

Why here: every client (S3 through botocore, console.redhat.com and its SSO, Prometheus, Elasticsearch through
requests, the Pushgateway through urllib) honours `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` by itself, but each fails
in its own words on a malformed proxy URL or an unusable CA file, deep inside a run. Checking them once, before
anything runs, turns every such mistake into one line naming the variable (exit 2), and a proxy URL is never
echoed: it may hold a password.

METRICS_UTILITY_CA_BUNDLE is checked before the run (missing, empty, a directory, not PEM: one line, exit 2). CA
precedence: a client's own variable (`METRICS_UTILITY_CRC_CA_BUNDLE`, `…_PROMETHEUS_CA`,
`…_ELASTICSEARCH_CA_BUNDLE`) wins for that client; otherwise `METRICS_UTILITY_CA_BUNDLE`; otherwise the default
store (certifi for requests and botocore, the system store for the Pushgateway). A bundle replaces the default
store, as `REQUESTS_CA_BUNDLE` does: give one that holds every CA needed (on OpenShift the injected trusted-CA
bundle holds the system CAs plus the cluster's additional ones).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from metrics_utility.library import secret

from .messages import shown
from .variables import VARIABLES

if TYPE_CHECKING:
    from .environment import Environment

CA_BUNDLE = 'METRICS_UTILITY_CA_BUNDLE'
PROXIES = tuple(v.name for v in VARIABLES if v.group == 'proxy' and v.kind == 'url')
NO_PROXIES = ('NO_PROXY', 'no_proxy')
PROXY_SCHEMES = ('http', 'https')
_PEM_CERTIFICATE = b'-----BEGIN CERTIFICATE-----'
_EXPECTED_PROXY = 'expected http://host:port (the value is not shown: it may hold a password)'


@dataclass(frozen=True)
class NetworkSettings:
    """What the outbound clients share: the CA bundle trusted when a client has none of its own."""

    ca_bundle: str | None = None


def network_settings(env: Environment, problems: list[str]) -> NetworkSettings:
    """Check the proxy variables (registering their passwords for redaction) and the shared CA bundle."""
    for name in PROXIES:
        value = env.raw(name)
        if value is None or value.strip() == '':
            continue
        register_proxy_password(value)
        if problem := proxy_problem(name, value):
            problems.append(problem)
    for name in NO_PROXIES:
        value = env.raw(name)
        if value is not None and any(ch == '\x00' or not (ch.isprintable() or ch == ' ') for ch in value):
            problems.append(
                f'{name}={shown(value)}: expected host names, domains (.example.com) and addresses separated by commas'
            )
    return NetworkSettings(ca_bundle=checked_ca_bundle(env, CA_BUNDLE, problems))


def trusted_ca(env: Environment, own: str) -> str | None:
    """The CA bundle a client trusts: its own variable `own` (read by that client as it always was: a missing file
    is its TLS error), else METRICS_UTILITY_CA_BUNDLE (checked once by `network_settings`), else None."""
    return env.text(own) or env.text(CA_BUNDLE)


def checked_ca_bundle(env: Environment, name: str, problems: list[str]) -> str | None:
    """The variable's path when it names a readable PEM file of CA certificates; a problem (and None) otherwise."""
    path = env.text(name)
    if path is None or '\x00' in path:  # a NUL byte is reported by nul_problems with every METRICS_UTILITY_ variable
        return None
    problem = ca_bundle_problem(name, path)
    if problem:
        problems.append(problem)
        return None
    return path


def ca_bundle_problem(name: str, path: str) -> str | None:
    """Why `path` is not a usable CA bundle, in one line naming `name`; None when it is one."""
    expected = 'expected a PEM file of CA certificates'
    where = f'{name}={shown(path)}'
    if '\x00' in path:
        return f'{name} contains a NUL byte; remove it'
    file = Path(path)
    try:
        if file.is_dir():
            return f'{where} is a directory; {expected} (e.g. …/ca-bundle.crt inside it)'
        data = file.read_bytes()
    except FileNotFoundError:
        return f'{where} does not exist; {expected}'
    except OSError as exc:
        return f'{where} cannot be read ({exc.strerror or type(exc).__name__}); {expected}'
    if not data.strip():
        return f'{where} is empty; {expected}'
    if _PEM_CERTIFICATE not in data:
        return f'{where} holds no PEM certificate (-----BEGIN CERTIFICATE-----); {expected}'
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError):  # OpenSSL says only "PEM lib": say which promise the file breaks
        return f'{where} holds a PEM block that is not a valid certificate; {expected}'
    return None


def proxy_problem(name: str, value: str) -> str | None:
    """Why a proxy URL is unusable, without repeating it; None when requests, botocore and urllib all take it."""
    if any(not ch.isprintable() or ch.isspace() for ch in value):  # a Secret's trailing newline too: refused
        return f'{name} holds a space or control character; {_EXPECTED_PROXY}'
    given = value
    parts = urlsplit(given if '://' in given else f'http://{given}')  # requests and botocore add http:// too
    if parts.scheme.lower() not in PROXY_SCHEMES:
        scheme = parts.scheme if parts.scheme.isascii() and parts.scheme.isalnum() else '?'
        return f'{name}: scheme {scheme!r} is not supported (http or https); {_EXPECTED_PROXY}'
    try:
        port = parts.port
    except ValueError:
        return f'{name}: the port is not a number from 1 to 65535; {_EXPECTED_PROXY}'
    if not parts.hostname:
        return f'{name} names no host; {_EXPECTED_PROXY}'
    if port == 0 or parts.path not in ('', '/') or parts.query or parts.fragment:
        return f'{name} is not a proxy address (only scheme, host and port); {_EXPECTED_PROXY}'
    return None


def register_proxy_password(value: str | None) -> None:
    """requests, botocore and urllib read the proxy URL themselves; its password (as written, percent-decoded and
    in the base64 of a Proxy-Authorization header) must not reach a log or a summary."""
    if value and secret.url_has_credentials(value):
        userinfo = value.split('://', 1)[-1].rsplit('@', 1)[0]
        user, _, password = userinfo.partition(':')
        secret.register(password, unquote(password), user=unquote(user))
