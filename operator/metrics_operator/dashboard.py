"""`spec.dashboard`: `metrics-utility serve` per collection, as pure functions of the defaulted spec.

Host names are customer data, so the dashboard is never open by default: the server listens on 127.0.0.1 in its pod
and the only way in is `kubectl port-forward` (authorised by the caller's own RBAC). Network mode
(`network.enabled`) listens on all addresses, with TLS from a serving-certificate Secret and every request checked
by TokenReview + SubjectAccessReview (`get` on `metricscollections/reports`); its pod gets a ServiceAccount of its
own, bound to the ClusterRole the chart installs for those reviews (`dashboard.networkMode`). A Route (OpenShift,
re-encrypting) or an Ingress is optional.

The storage is mounted read-only. With a ReadWriteOnce claim every other pod of the collection (gather, report,
vCPU, check, backfill) gets a required pod affinity to the dashboard pod, so it lands on the node that holds the
claim. Spec rules here mirror the CRD's CEL rules (a test keeps both in step); `spec.validate` calls `problem`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from metrics_operator import names

COMPONENT: Final = 'dashboard'
DEFAULTS: Final[dict[str, Any]] = {
    'enabled': False,
    'resources': {'requests': {'cpu': '50m', 'memory': '256Mi'}, 'limits': {'memory': '1Gi'}},
}
NETWORK_DEFAULTS: Final[dict[str, Any]] = {'enabled': False}
EXPOSURE_DEFAULTS: Final[dict[str, Any]] = {'enabled': False}

LOOPBACK: Final = '127.0.0.1'
ANY_ADDRESS: Final = '0.0.0.0'  # network mode: the pod IP, behind token + access review and TLS
LOOPBACK_PORT: Final = 8080
NETWORK_PORT: Final = 8443
SERVICE_NETWORK_PORT: Final = 443
SERVING_DIR: Final = '/etc/metrics-utility/serving'
SERVING_VOLUME: Final = 'serving-cert'
# The usage digests serve builds of the read-only storage, kept where a restarted container finds them again
# (METRICS_UTILITY_SERVE_CACHE_DIR, docs/serve.md): an emptyDir lives as long as the pod.
CACHE_DIR: Final = '/var/cache/metrics-utility'
CACHE_VOLUME: Final = 'usage-digests'
CACHE_SIZE_LIMIT: Final = '256Mi'
SERVICE_CA_ANNOTATION: Final = 'service.beta.openshift.io/serving-cert-secret-name'
NGINX_BACKEND_PROTOCOL: Final = 'nginx.ingress.kubernetes.io/backend-protocol'
# What a caller needs in network mode (the SubjectAccessReview the server sends).
ACCESS: Final = {'verb': 'get', 'group': names.GROUP, 'resource': names.PLURAL, 'subresource': 'reports'}

# Service and Deployment are named `<collection>-dashboard`: a Service name is a DNS-1035 label.
SERVICE_NAME_RE: Final = re.compile(r'^[a-z]([-a-z0-9]*[a-z0-9])?$')
DNS_LABEL: Final = r'[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?'
HOST_RE: Final = re.compile(rf'^{DNS_LABEL}(\.{DNS_LABEL})+$')  # a fully qualified name: no wildcard, no port
DNS_SUBDOMAIN_RE: Final = re.compile(rf'^{DNS_LABEL}(\.{DNS_LABEL})*$')
MAX_NAME: Final = 253
SHARED_ACCESS_MODES: Final = ('ReadWriteOnce', 'ReadWriteMany')

Problem = tuple[str, str]  # (field, message) for spec.SpecError


def name(collection: str) -> str:
    """Deployment, Service, Route, Ingress and ServiceAccount: at most 45 + 10 = 55 characters."""
    return f'{collection}-{COMPONENT}'


def tls_secret_name(collection: str) -> str:
    """The Secret OpenShift's service CA writes when the Service carries its annotation."""
    return f'{collection}-{COMPONENT}-tls'


def cluster_binding_name(namespace: str, collection: str) -> str:
    """Cluster-scoped, so it names its namespace; ':' cannot occur in either name, so two never collide."""
    return f'metrics-utility-dashboard:{namespace}:{collection}'


def labels(collection: str) -> dict[str, str]:
    return names.labels(collection) | {'app.kubernetes.io/component': COMPONENT}


def selector(collection: str) -> dict[str, str]:
    """What selects the dashboard pod (Deployment, Service, the other pods' affinity)."""
    return {'app.kubernetes.io/instance': collection, names.LABEL_COLLECTION: collection, **_component()}


def _component() -> dict[str, str]:
    return {'app.kubernetes.io/component': COMPONENT}


def settings(full: Mapping[str, Any]) -> dict[str, Any] | None:
    """The dashboard block with defaults (as the API server stores it), or None when it is off."""
    block = full.get('dashboard')
    if not isinstance(block, Mapping) or block.get('enabled') is not True:
        return None
    result = copy.deepcopy(DEFAULTS) | copy.deepcopy(dict(block))
    network = dict(NETWORK_DEFAULTS) | dict(result.get('network') or {})
    for key in ('route', 'ingress'):
        network[key] = dict(EXPOSURE_DEFAULTS) | dict(network.get(key) or {})
    result['network'] = network
    return result


def apply_defaults(spec: dict[str, Any]) -> None:
    """The CRD's defaults inside a given `dashboard` block (and its network, route and ingress blocks), in place."""
    block = spec.get('dashboard')
    if not isinstance(block, dict):
        return
    for key, value in DEFAULTS.items():
        block.setdefault(key, copy.deepcopy(value))
    network = block.get('network')
    if isinstance(network, dict):
        for key, value in NETWORK_DEFAULTS.items():
            network.setdefault(key, value)
        for key in ('route', 'ingress'):
            if isinstance(network.get(key), dict):
                for field, value in EXPOSURE_DEFAULTS.items():
                    network[key].setdefault(field, value)


def network_mode(full: Mapping[str, Any]) -> bool:
    found = settings(full)
    return bool(found and found['network']['enabled'])


def problem(collection: str, full: Mapping[str, Any]) -> Problem | None:
    """The first problem of `spec.dashboard`, or None."""
    block = full.get('dashboard')
    if block is None:
        return None
    if not isinstance(block, Mapping):
        return 'spec.dashboard', 'must be an object (enabled, network, resources)'
    if not isinstance(block.get('enabled', False), bool):
        return 'spec.dashboard.enabled', 'must be true or false'
    network = block.get('network')
    if network is not None and not isinstance(network, Mapping):
        return 'spec.dashboard.network', 'must be an object (enabled, servingCertSecret, route, ingress)'
    found = _network(network or {})
    if found or not block.get('enabled'):
        return found
    if not SERVICE_NAME_RE.fullmatch(collection):
        return (
            'metadata.name',
            "must start with a letter and hold only lowercase letters, digits and '-' when dashboard.enabled is true "
            '(the dashboard Service is named <name>-dashboard)',
        )
    storage = full.get('storage') if isinstance(full.get('storage'), Mapping) else {}
    if storage.get('type') == 'crc':
        return 'spec.dashboard.enabled', 'needs directory or s3 storage (console.redhat.com cannot be read back)'
    directory = storage.get('directory') if isinstance(storage.get('directory'), Mapping) else {}
    if storage.get('type') == 'directory' and directory.get('accessMode', 'ReadWriteOnce') not in SHARED_ACCESS_MODES:
        return (
            'spec.dashboard.enabled',
            'cannot share a ReadWriteOncePod claim with the gather and report pods; '
            'use storage.directory.accessMode ReadWriteOnce or ReadWriteMany',
        )
    return None


def _network(network: Mapping[str, Any]) -> Problem | None:
    field = 'spec.dashboard.network'
    if not isinstance(network.get('enabled', False), bool):
        return f'{field}.enabled', 'must be true or false'
    secret = network.get('servingCertSecret')
    if secret is not None and not _dns_subdomain(secret):
        return f'{field}.servingCertSecret', 'must name a Secret (a lowercase DNS subdomain of at most 253 characters)'
    exposures = {}
    for key in ('route', 'ingress'):
        value = network.get(key)
        if value is not None and not isinstance(value, Mapping):
            return f'{field}.{key}', 'must be an object (enabled, host, ...)'
        exposures[key] = value or {}
        if not isinstance(exposures[key].get('enabled', False), bool):
            return f'{field}.{key}.enabled', 'must be true or false'
        host = exposures[key].get('host')
        if host is not None and not (isinstance(host, str) and len(host) <= MAX_NAME and HOST_RE.fullmatch(host)):
            return (
                f'{field}.{key}.host',
                'must be a fully qualified lowercase host name such as metrics.apps.example.com '
                '(no wildcard, no port, at most 253 characters)',
            )
    ingress = exposures['ingress']
    for key, what in (('className', 'an IngressClass'), ('tlsSecret', 'a Secret')):
        if ingress.get(key) is not None and not _dns_subdomain(ingress[key]):
            return f'{field}.ingress.{key}', f'must name {what} (a lowercase DNS subdomain of at most 253 characters)'
    if exposures['route'].get('enabled') and ingress.get('enabled'):
        return field, 'set route.enabled or ingress.enabled, not both'
    for key in ('route', 'ingress'):
        if exposures[key].get('enabled') and not network.get('enabled'):
            return f'{field}.{key}.enabled', 'needs network.enabled (the dashboard then requires a token and TLS)'
    if ingress.get('enabled') and not ingress.get('host'):
        return f'{field}.ingress.host', 'is required with ingress.enabled (the host name the Ingress serves)'
    return None


def _dns_subdomain(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_NAME and bool(DNS_SUBDOMAIN_RE.fullmatch(value))


def secret_refs(full: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Secrets the user names (the service CA's Secret appears only after the Service exists: not checked)."""
    found = settings(full)
    if not found or not found['network']['enabled']:
        return []
    refs = []
    if found['network'].get('servingCertSecret'):
        refs.append(('spec.dashboard.network.servingCertSecret', found['network']['servingCertSecret']))
    ingress = found['network']['ingress']
    if ingress['enabled'] and ingress.get('tlsSecret'):
        refs.append(('spec.dashboard.network.ingress.tlsSecret', ingress['tlsSecret']))
    return refs


def shares_rwo_claim(full: Mapping[str, Any]) -> bool:
    """Whether the dashboard mounts a ReadWriteOnce claim (directory storage): the other pods must join its node."""
    storage = full['storage']
    return (
        settings(full) is not None
        and storage['type'] == 'directory'
        and storage['directory'].get('accessMode', 'ReadWriteOnce') == 'ReadWriteOnce'
    )


def with_affinity(collection: str, affinity: Mapping[str, Any] | None) -> dict[str, Any]:
    """`affinity` plus a required pod affinity to the dashboard pod on the same node (a ReadWriteOnce claim is
    attached to one node at a time); the user's own terms are kept."""
    result = copy.deepcopy(dict(affinity or {}))
    pod_affinity = result.setdefault('podAffinity', {})
    terms = pod_affinity.setdefault('requiredDuringSchedulingIgnoredDuringExecution', [])
    terms.append({'labelSelector': {'matchLabels': selector(collection)}, 'topologyKey': 'kubernetes.io/hostname'})
    return result


def serving_secret(collection: str, found: Mapping[str, Any]) -> str:
    return found['network'].get('servingCertSecret') or tls_secret_name(collection)


def environment(collection: str, namespace: str, found: Mapping[str, Any]) -> list[dict[str, str]]:
    """The `metrics-utility serve` variables; the storage settings come from the shared ConfigMap."""
    network = found['network']['enabled']
    values = {
        'SERVE_ADDRESS': ANY_ADDRESS if network else LOOPBACK,
        'SERVE_PORT': str(NETWORK_PORT if network else LOOPBACK_PORT),
        'SERVE_AUTH': 'kubernetes' if network else 'none',
        'SERVE_NAMESPACE': namespace,
        'SERVE_COLLECTION': collection,
        'SERVE_CACHE_DIR': CACHE_DIR,
    }
    if network:
        values |= {'SERVE_TLS_CERT': f'{SERVING_DIR}/tls.crt', 'SERVE_TLS_KEY': f'{SERVING_DIR}/tls.key'}
    return [{'name': f'METRICS_UTILITY_{key}', 'value': value} for key, value in values.items()]


def probes(found: Mapping[str, Any]) -> dict[str, Any]:
    """/healthz. On the loopback address the kubelet cannot reach the server (it probes the pod IP), so the probe
    runs inside the container; in network mode it is an HTTPS GET (the kubelet does not verify the certificate)."""
    if found['network']['enabled']:
        action: dict[str, Any] = {'httpGet': {'path': '/healthz', 'port': 'https', 'scheme': 'HTTPS'}}
    else:
        script = (
            'import urllib.request; '
            f'urllib.request.urlopen("http://{LOOPBACK}:{LOOPBACK_PORT}/healthz", timeout=3).read()'
        )
        action = {'exec': {'command': ['python3', '-c', script]}}
    return {
        'readinessProbe': {**action, 'periodSeconds': 10, 'timeoutSeconds': 5, 'failureThreshold': 3},
        'livenessProbe': {**action, 'initialDelaySeconds': 15, 'periodSeconds': 30, 'timeoutSeconds': 5},
    }


def read_only(mounts: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> None:
    """Every claim and its mount read-only (the dashboard never writes to the storage); /tmp stays writable."""
    claims = {v['name'] for v in volumes if 'persistentVolumeClaim' in v}
    for volume in volumes:
        if 'persistentVolumeClaim' in volume:
            volume['persistentVolumeClaim']['readOnly'] = True
    for mount in mounts:
        if mount['name'] in claims:
            mount['readOnly'] = True


def deployment(
    collection: str, namespace: str, full: Mapping[str, Any], pod: dict[str, Any], found: Mapping[str, Any]
) -> dict[str, Any]:
    """One replica of `pod` (the report pod's template, rewritten by `render.dashboard_pod`). `Recreate` with a
    ReadWriteOnce claim: a rolling update's second pod could land on another node and never mount it."""
    return {
        'apiVersion': 'apps/v1',
        'kind': 'Deployment',
        'metadata': {'name': name(collection), 'namespace': namespace, 'labels': labels(collection)},
        'spec': {
            'replicas': 1,
            'selector': {'matchLabels': selector(collection)},
            'strategy': {'type': 'Recreate' if shares_rwo_claim(full) else 'RollingUpdate'},
            'template': pod,
        },
    }


def service(collection: str, namespace: str, found: Mapping[str, Any]) -> dict[str, Any]:
    """The port-forward target (loopback mode) or the network endpoint; with no `servingCertSecret` in network mode,
    OpenShift's service CA writes `<collection>-dashboard-tls` for it."""
    network = found['network']
    meta: dict[str, Any] = {'name': name(collection), 'namespace': namespace, 'labels': labels(collection)}
    if network['enabled'] and not network.get('servingCertSecret'):
        meta['annotations'] = {SERVICE_CA_ANNOTATION: tls_secret_name(collection)}
    if network['enabled']:
        port = {'name': 'https', 'port': SERVICE_NETWORK_PORT, 'targetPort': 'https', 'protocol': 'TCP'}
    else:
        port = {'name': 'http', 'port': LOOPBACK_PORT, 'targetPort': 'http', 'protocol': 'TCP'}
    return {
        'apiVersion': 'v1',
        'kind': 'Service',
        'metadata': meta,
        'spec': {'type': 'ClusterIP', 'selector': selector(collection), 'ports': [port]},
    }


def route(collection: str, namespace: str, found: Mapping[str, Any]) -> dict[str, Any] | None:
    """OpenShift Route, re-encrypting: the router trusts the service CA's certificate."""
    block = found['network']['route']
    if not (found['network']['enabled'] and block['enabled']):
        return None
    spec: dict[str, Any] = {
        'to': {'kind': 'Service', 'name': name(collection), 'weight': 100},
        'port': {'targetPort': 'https'},
        'tls': {'termination': 'reencrypt', 'insecureEdgeTerminationPolicy': 'Redirect'},
    }
    if block.get('host'):
        spec['host'] = block['host']
    return {
        'apiVersion': 'route.openshift.io/v1',
        'kind': 'Route',
        'metadata': {'name': name(collection), 'namespace': namespace, 'labels': labels(collection)},
        'spec': spec,
    }


def ingress(collection: str, namespace: str, found: Mapping[str, Any]) -> dict[str, Any] | None:
    """An Ingress to the HTTPS Service port (ingress-nginx is told the backend speaks HTTPS)."""
    block = found['network']['ingress']
    if not (found['network']['enabled'] and block['enabled']):
        return None
    backend = {'service': {'name': name(collection), 'port': {'name': 'https'}}}
    spec: dict[str, Any] = {
        'rules': [{'host': block['host'], 'http': {'paths': [{'path': '/', 'pathType': 'Prefix', 'backend': backend}]}}]
    }
    if block.get('className'):
        spec['ingressClassName'] = block['className']
    if block.get('tlsSecret'):
        spec['tls'] = [{'hosts': [block['host']], 'secretName': block['tlsSecret']}]
    return {
        'apiVersion': 'networking.k8s.io/v1',
        'kind': 'Ingress',
        'metadata': {
            'name': name(collection),
            'namespace': namespace,
            'labels': labels(collection),
            'annotations': {NGINX_BACKEND_PROTOCOL: 'HTTPS'},
        },
        'spec': spec,
    }


def service_account(collection: str, namespace: str) -> dict[str, Any]:
    return {
        'apiVersion': 'v1',
        'kind': 'ServiceAccount',
        'metadata': {'name': name(collection), 'namespace': namespace, 'labels': labels(collection)},
    }


def cluster_binding(collection: str, namespace: str, auth_role: str) -> dict[str, Any]:
    """Binds the dashboard's ServiceAccount to the chart's ClusterRole for token and access reviews (cluster-scoped:
    no owner reference can point at a namespaced collection, so `reconcile.cleanup` deletes it by its labels)."""
    return {
        'apiVersion': 'rbac.authorization.k8s.io/v1',
        'kind': 'ClusterRoleBinding',
        'metadata': {
            'name': cluster_binding_name(namespace, collection),
            'labels': labels(collection) | {NAMESPACE_LABEL: namespace},
        },
        'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': auth_role},
        'subjects': [{'kind': 'ServiceAccount', 'name': name(collection), 'namespace': namespace}],
    }


NAMESPACE_LABEL: Final = f'{names.GROUP}/namespace'


def status_block(collection: str, namespace: str, found: Mapping[str, Any]) -> dict[str, Any]:
    """`status.dashboard`: where it is and how to reach it (never a credential)."""
    network = found['network']
    service_name = name(collection)
    if not network['enabled']:
        return {
            'service': service_name,
            'port': LOOPBACK_PORT,
            'access': f'kubectl port-forward -n {namespace} svc/{service_name} {LOOPBACK_PORT}:{LOOPBACK_PORT}',
        }
    host = next((network[key].get('host') for key in ('route', 'ingress') if network[key]['enabled']), None)
    block: dict[str, Any] = {'service': service_name, 'port': SERVICE_NETWORK_PORT}
    if host:
        where = block['url'] = f'https://{host}'
    elif network['route']['enabled']:  # the router names the host: the Route's status holds it
        where = f'https://<oc get route -n {namespace} {service_name} -o jsonpath={{.spec.host}}>'
    else:
        where = f'https://{service_name}.{namespace}.svc:{SERVICE_NETWORK_PORT}'
    block['access'] = f'{where} (bearer token with get on {names.PLURAL}/reports)'
    return block
