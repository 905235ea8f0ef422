"""Enterprise networks: `spec.proxy` and `spec.trustedCA`, as pure functions of the defaulted spec.

`spec.proxy` gives the worker pods `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as container env, which every client of
the worker honours (S3, console.redhat.com and its SSO, Prometheus, Elasticsearch, the Pushgateway). With
`fromOperator: true` the pods get the operator's own proxy variables: OLM injects the cluster-wide proxy
(`config.openshift.io/v1 Proxy cluster`) into the operator's pod, so the workers follow the cluster proxy without
the operator reading cluster-scoped objects. Explicit fields win, field by field. A proxy URL with a password is
refused in both places (it would be copied into CronJobs in clear): such a URL belongs in a Secret, passed with
`spec.env[].valueFrom.secretKeyRef` (`HTTPS_PROXY`), whose password the worker redacts.

`spec.trustedCA` mounts one CA bundle into every worker pod and points `METRICS_UTILITY_CA_BUNDLE` at it:
`{configMapName, key}` names an existing ConfigMap; `{inject: true}` makes the operator create `<name>-trusted-ca`
labelled `config.openshift.io/inject-trusted-cabundle: "true"`, which OpenShift fills with the cluster's trusted CAs
(system CAs plus the proxy's additional trust bundle) under `ca-bundle.crt`. The operator never writes that key, so
its updates never erase what OpenShift injected.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from metrics_operator import dropin, names
from metrics_utility.settings.network import proxy_problem

# spec.proxy field → the variable the worker pods get.
PROXY_FIELDS: Final = (('httpsProxy', 'HTTPS_PROXY'), ('httpProxy', 'HTTP_PROXY'), ('noProxy', 'NO_PROXY'))
PROXY_VARIABLES: Final = tuple(variable for _, variable in PROXY_FIELDS)
ENV_PROXY_NAMES: Final = ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy')
INJECT_LABEL: Final = 'config.openshift.io/inject-trusted-cabundle'
INJECTED_KEY: Final = 'ca-bundle.crt'
TRUSTED_CA_VOLUME: Final = 'ca-trusted'
TRUSTED_CA_DIR: Final = '/etc/metrics-utility/ca/trusted'

Problem = tuple[str, str]  # (field, message) for spec.SpecError


def trusted_ca_configmap_name(collection: str) -> str:
    return f'{collection}-trusted-ca'


def problem(full: Mapping[str, Any], operator: Mapping[str, str] | None = None) -> Problem | None:
    """The first problem of `proxy` and `trustedCA` (and of the operator's proxy when the spec asks for it)."""
    return _proxy(full.get('proxy'), full.get('env'), operator or {}) or _trusted_ca(full.get('trustedCA'))


def _proxy(proxy: Any, user_env: Any, operator: Mapping[str, str]) -> Problem | None:
    if proxy is None:
        return _env_proxy(user_env)
    if not isinstance(proxy, Mapping):
        return 'spec.proxy', 'must be an object with httpsProxy, httpProxy, noProxy or fromOperator'
    if not isinstance(proxy.get('fromOperator', False), bool):
        return 'spec.proxy.fromOperator', 'must be true or false'
    if not proxy.get('fromOperator') and not any(proxy.get(field) is not None for field, _ in PROXY_FIELDS):
        return 'spec.proxy', 'set httpsProxy, httpProxy, noProxy or fromOperator true'
    for field, variable in PROXY_FIELDS:
        value = proxy.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            return f'spec.proxy.{field}', 'must be a non-empty string'
        if field == 'noProxy':
            if any(not (ch.isprintable() or ch == ' ') for ch in value):
                return 'spec.proxy.noProxy', 'must be host names, domains (.svc) and addresses separated by commas'
            continue
        if '@' in value.split('://', 1)[-1].split('/', 1)[0]:
            return (
                f'spec.proxy.{field}',
                'must not hold user:password@ (it would reach the CronJobs in clear): put the URL in a Secret and '
                f'pass {variable} with spec.env valueFrom.secretKeyRef',
            )
        if why := proxy_problem(variable, value):
            return f'spec.proxy.{field}', why.removeprefix(variable).lstrip(': ')
    inherited = operator if proxy.get('fromOperator') else {}
    for variable, value in inherited.items():
        if variable == 'NO_PROXY':
            continue
        if '@' in value.split('://', 1)[-1].split('/', 1)[0]:
            return (
                'spec.proxy.fromOperator',
                f"the operator's {variable} holds user:password@, which would reach the CronJobs in clear: set "
                f'{variable} from a Secret with spec.env valueFrom.secretKeyRef instead',
            )
        if why := proxy_problem(variable, value):
            return 'spec.proxy.fromOperator', f"the operator's {why}"
    # Only what spec.proxy renders conflicts: a password'd HTTPS_PROXY from a Secret may sit beside noProxy.
    rendered = {variable for field, variable in PROXY_FIELDS if proxy.get(field) is not None} | set(inherited)
    named = {item.get('name') for item in user_env or [] if isinstance(item, Mapping)}
    for variable in PROXY_VARIABLES:
        if variable in rendered and {variable, variable.lower()} & named:
            return 'spec.env', f'{variable} is set by spec.proxy; set it in one place'
    return _env_proxy(user_env)


def _env_proxy(user_env: Any) -> Problem | None:
    """A proxy URL given as a literal `spec.env` value that the worker would refuse (a secretKeyRef is checked by the
    worker itself, before its run)."""
    for index, item in enumerate(user_env if isinstance(user_env, list) else []):
        name = item.get('name') if isinstance(item, Mapping) else None
        given = item.get('value') if isinstance(item, Mapping) else None
        if name in ENV_PROXY_NAMES and isinstance(given, str) and given.strip() and (why := proxy_problem(name, given)):
            return f'spec.env[{index}].value', why.removeprefix(name).lstrip(': ')
    return None


def _trusted_ca(ca: Any) -> Problem | None:
    if ca is None:
        return None
    if not isinstance(ca, Mapping) or bool(ca.get('inject')) == bool(ca.get('configMapName')):
        return 'spec.trustedCA', 'must set either configMapName (with key) or inject: true'
    if not isinstance(ca.get('inject', False), bool):
        return 'spec.trustedCA.inject', 'must be true or false'
    name = ca.get('configMapName')
    if name is not None and not (
        isinstance(name, str) and len(name) <= 253 and dropin.DNS_SUBDOMAIN_RE.fullmatch(name)
    ):
        return 'spec.trustedCA.configMapName', 'must name a ConfigMap in this namespace (a lowercase DNS subdomain)'
    key = ca.get('key', INJECTED_KEY)
    if not (isinstance(key, str) and len(key) <= 253 and dropin.KEY_RE.fullmatch(key)):
        return 'spec.trustedCA.key', "must be a key of the ConfigMap (letters, digits, '-', '_', '.')"
    if ca.get('inject') and key != INJECTED_KEY:
        return 'spec.trustedCA.key', f'must be {INJECTED_KEY} (or unset) with inject: OpenShift writes that key'
    return None


def resolved(full: Mapping[str, Any], operator: Mapping[str, str]) -> Mapping[str, Any]:
    """The spec with `fromOperator` replaced by the operator's proxy variables (the spec's fields win), so rendering
    stays a pure function of the spec and a change of the cluster proxy (OLM restarts the operator with the new
    variables) changes the rendered CronJobs."""
    proxy = full.get('proxy')
    if not proxy or not proxy.get('fromOperator'):
        return full
    filled = {field: operator[variable] for field, variable in PROXY_FIELDS if operator.get(variable)}
    filled |= {key: value for key, value in proxy.items() if key != 'fromOperator'}
    return {**full, 'proxy': filled}


def bypasses_proxy(url: str, no_proxy: str | None) -> bool:
    """Whether `no_proxy` (`spec.proxy.noProxy`, NO_PROXY's syntax) exempts `url`'s host from the proxy: `*`, the
    host name or a domain it ends in (`.svc` or `svc`; with or without the port; Python's own NO_PROXY rules), the
    address, or a CIDR range holding it (as the worker pods' HTTP client also reads it). For the operator's own
    calls (Candlepin), which are given the proxy URL rather than read it from the environment."""
    if not no_proxy:
        return False
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    host = parts.hostname if parts.port is None else f'{parts.hostname}:{parts.port}'
    if urllib.request.proxy_bypass_environment(host, {'no': no_proxy.replace(' ', '')}):
        return True
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return False
    for entry in no_proxy.split(','):
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:  # a name, not a range
            continue
    return False


def proxy_env(full: Mapping[str, Any]) -> list[dict[str, str]]:
    """HTTPS_PROXY/HTTP_PROXY/NO_PROXY for the worker container, from the (resolved) `spec.proxy`."""
    proxy = full.get('proxy') or {}
    return [{'name': variable, 'value': proxy[field].strip()} for field, variable in PROXY_FIELDS if proxy.get(field)]


def trusted_ca_source(name: str, full: Mapping[str, Any]) -> tuple[str, str] | None:
    """(ConfigMap, key) of the trusted CA bundle, or None without `spec.trustedCA`."""
    ca = full.get('trustedCA')
    if not ca:
        return None
    if ca.get('inject'):
        return trusted_ca_configmap_name(name), INJECTED_KEY
    return ca['configMapName'], ca.get('key', INJECTED_KEY)


def ca_bundle_path(full: Mapping[str, Any]) -> str | None:
    """Where the worker finds the trusted CA bundle (METRICS_UTILITY_CA_BUNDLE), or None."""
    ca = full.get('trustedCA')
    return f'{TRUSTED_CA_DIR}/{ca.get("key", INJECTED_KEY)}' if ca else None


def volumes(name: str, full: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volume, container mount) of the trusted CA ConfigMap, mounted read-only in every worker pod."""
    source = trusted_ca_source(name, full)
    if source is None:
        return [], []
    volume = {'name': TRUSTED_CA_VOLUME, 'configMap': {'name': source[0]}}
    return [volume], [{'name': TRUSTED_CA_VOLUME, 'mountPath': TRUSTED_CA_DIR, 'readOnly': True}]


def trusted_ca_configmap(name: str, namespace: str, full: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ConfigMap OpenShift fills with the trusted CAs (`inject: true`), without `data`: the operator never
    overwrites what was injected."""
    if not (full.get('trustedCA') or {}).get('inject'):
        return None
    return {
        'apiVersion': 'v1',
        'kind': 'ConfigMap',
        'metadata': {
            'name': trusted_ca_configmap_name(name),
            'namespace': namespace,
            'labels': {**names.labels(name), INJECT_LABEL: 'true'},
        },
    }


def configmap_refs(full: Mapping[str, Any]) -> list[tuple[str, str]]:
    """ConfigMaps the spec names that must exist before the pods can start."""
    ca = full.get('trustedCA') or {}
    return [('spec.trustedCA.configMapName', ca['configMapName'])] if ca.get('configMapName') else []
