"""`spec.dashboard` (operator/metrics_operator/dashboard.py): its rules in the CRD and the operator, the Deployment,
Service, Route/Ingress and ServiceAccount it renders, the pod affinity of the other pods, and `status.dashboard`."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from metrics_operator import dashboard, names, preflight, render, spec
from testsupport.crd_rules import cel_failures, schema_errors
from testsupport.operator_samples import collection, crc_storage

pytestmark = pytest.mark.unit
K8S_VERSION = '1.33.0'
IMAGE = 'registry.example/metrics-utility:1'
HOST_PATTERN = r"'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+\\Z'"
NAME_PATTERN = r"'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\\Z'"
HOST_MESSAGE = (
    'must be a fully qualified lowercase host name such as metrics.apps.example.com '
    '(no wildcard, no port, at most 253 characters)'
)
NAME_RULE = (
    "must start with a letter and hold only lowercase letters, digits and '-' when dashboard.enabled is true "
    '(the dashboard Service is named <name>-dashboard)'
)
RWOP = (
    'cannot share a ReadWriteOncePod claim with the gather and report pods; '
    'use storage.directory.accessMode ReadWriteOnce or ReadWriteMany'
)
S3 = {'type': 's3', 's3': {'bucket': 'metrics', 'endpoint': 'https://s3.example', 'credentialsSecret': {'name': 's3'}}}
LONG_HOST = '.'.join(['a' * 63] * 4)  # 255 characters: every label fits, the name does not


def network(**block) -> dict:
    return {'enabled': True, 'network': {'enabled': True, **block}}


def problems(obj: dict, crd_schema: dict) -> list[str]:
    full = {**obj, 'spec': spec.with_defaults(obj['spec'])}
    return schema_errors(crd_schema, full) + cel_failures(crd_schema, full)


BAD = {
    'route and ingress': (
        collection(dashboard=network(route={'enabled': True}, ingress={'enabled': True, 'host': 'm.example.com'})),
        ['.spec.dashboard: dashboard.network sets route.enabled or ingress.enabled, not both'],
        ('spec.dashboard.network', 'set route.enabled or ingress.enabled, not both'),
    ),
    'wildcard host': (
        collection(dashboard=network(route={'enabled': True, 'host': '*.apps.example.com'})),
        [f"spec.dashboard.network.route.host: '*.apps.example.com' does not match {HOST_PATTERN}"],
        ('spec.dashboard.network.route.host', HOST_MESSAGE),
    ),
    'host with a port': (
        collection(dashboard=network(ingress={'enabled': True, 'host': 'm.example.com:443'})),
        [f"spec.dashboard.network.ingress.host: 'm.example.com:443' does not match {HOST_PATTERN}"],
        ('spec.dashboard.network.ingress.host', HOST_MESSAGE),
    ),
    'host of one label': (
        collection(dashboard=network(route={'enabled': True, 'host': 'metrics'})),
        [f"spec.dashboard.network.route.host: 'metrics' does not match {HOST_PATTERN}"],
        ('spec.dashboard.network.route.host', HOST_MESSAGE),
    ),
    'host too long': (
        collection(dashboard=network(route={'enabled': True, 'host': LONG_HOST})),
        [f"spec.dashboard.network.route.host: '{LONG_HOST}' is too long"],
        ('spec.dashboard.network.route.host', HOST_MESSAGE),
    ),
    'host label too long': (
        collection(dashboard=network(route={'enabled': True, 'host': 'a' * 64 + '.example.com'})),
        [f"spec.dashboard.network.route.host: '{'a' * 64}.example.com' does not match {HOST_PATTERN}"],
        ('spec.dashboard.network.route.host', HOST_MESSAGE),
    ),
    'host in capitals': (
        collection(dashboard=network(route={'enabled': True, 'host': 'Metrics.Example.com'})),
        [f"spec.dashboard.network.route.host: 'Metrics.Example.com' does not match {HOST_PATTERN}"],
        ('spec.dashboard.network.route.host', HOST_MESSAGE),
    ),
    'serving secret not a name': (
        collection(dashboard=network(servingCertSecret='Dashboard_TLS')),
        [f"spec.dashboard.network.servingCertSecret: 'Dashboard_TLS' does not match {NAME_PATTERN}"],
        (
            'spec.dashboard.network.servingCertSecret',
            'must name a Secret (a lowercase DNS subdomain of at most 253 characters)',
        ),
    ),
    'ingress class with a space': (
        collection(dashboard=network(ingress={'enabled': True, 'host': 'm.example.com', 'className': 'nginx public'})),
        [f"spec.dashboard.network.ingress.className: 'nginx public' does not match {NAME_PATTERN}"],
        (
            'spec.dashboard.network.ingress.className',
            'must name an IngressClass (a lowercase DNS subdomain of at most 253 characters)',
        ),
    ),
    'ingress secret a path': (
        collection(dashboard=network(ingress={'enabled': True, 'host': 'm.example.com', 'tlsSecret': '../tls'})),
        [f"spec.dashboard.network.ingress.tlsSecret: '../tls' does not match {NAME_PATTERN}"],
        (
            'spec.dashboard.network.ingress.tlsSecret',
            'must name a Secret (a lowercase DNS subdomain of at most 253 characters)',
        ),
    ),
    'ingress without host': (
        collection(dashboard=network(ingress={'enabled': True})),
        ['.spec.dashboard: dashboard.network.ingress.host is required with ingress.enabled'],
        ('spec.dashboard.network.ingress.host', 'is required with ingress.enabled (the host name the Ingress serves)'),
    ),
    'route without network mode': (
        collection(dashboard={'enabled': True, 'network': {'route': {'enabled': True}}}),
        [
            '.spec.dashboard: dashboard.network.route.enabled needs network.enabled '
            '(the dashboard then requires a token and TLS)'
        ],
        ('spec.dashboard.network.route.enabled', 'needs network.enabled (the dashboard then requires a token and TLS)'),
    ),
    'name starts with a digit': (
        collection('1controller', dashboard={'enabled': True}),
        [f'<root>: metadata.name {NAME_RULE}'],
        ('metadata.name', NAME_RULE),
    ),
    'name with a dot': (
        collection('controller.b', dashboard={'enabled': True}),
        [f'<root>: metadata.name {NAME_RULE}'],
        ('metadata.name', NAME_RULE),
    ),
    'crc storage': (
        collection(dashboard={'enabled': True}, report={'enabled': False}, storage=crc_storage({'size': '1Gi'})),
        ['.spec: dashboard.enabled needs directory or s3 storage (console.redhat.com cannot be read back)'],
        ('spec.dashboard.enabled', 'needs directory or s3 storage (console.redhat.com cannot be read back)'),
    ),
    'ReadWriteOncePod claim': (
        collection(
            dashboard={'enabled': True},
            storage={'type': 'directory', 'directory': {'claimName': 'd', 'accessMode': 'ReadWriteOncePod'}},
        ),
        [f'.spec: dashboard.enabled {RWOP}'],
        ('spec.dashboard.enabled', RWOP),
    ),
    'enabled not a boolean': (
        collection(dashboard={'enabled': 'yes'}),
        ["spec.dashboard.enabled: 'yes' is not of type 'boolean'"],
        ('spec.dashboard.enabled', 'must be true or false'),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('obj', 'crd_problems', 'refused'), BAD.values(), ids=list(BAD))
def test_a_bad_dashboard_is_refused_by_crd_and_operator_naming_the_field(crd_schema, obj, crd_problems, refused):
    assert problems(obj, crd_schema) == crd_problems
    with pytest.raises(spec.SpecError) as exc:
        spec.validate(obj['metadata']['name'], obj['spec'])
    assert (exc.value.field, exc.value.message) == refused


GOOD = {
    'off by default': collection(dashboard={}),
    'port-forward only': collection(dashboard={'enabled': True}),
    'network with the service CA': collection(dashboard=network()),
    'route with a host': collection(dashboard=network(route={'enabled': True, 'host': 'metrics.apps.example.com'})),
    'route, host from the router': collection(dashboard=network(route={'enabled': True})),
    'ingress': collection(
        storage=S3,
        dashboard=network(
            servingCertSecret='dash-cert',
            ingress={'enabled': True, 'host': 'metrics.example.com', 'className': 'nginx', 'tlsSecret': 'front'},
        ),
    ),
    'disabled blocks are not checked for their partners': collection(
        dashboard={'enabled': True, 'network': {'route': {'enabled': False}, 'ingress': {'enabled': False}}}
    ),
    'name of 45 characters': collection('d' * 45, dashboard=network(route={'enabled': True})),
}


@pytest.mark.parametrize('obj', GOOD.values(), ids=list(GOOD))
def test_good_dashboards_pass_crd_and_operator_and_render_valid_objects(crd_schema, obj):
    assert problems(obj, crd_schema) == []
    name = obj['metadata']['name']
    full = spec.validate(name, obj['spec'])
    for rendered in render.dashboard_objects(name, 'ns', full, IMAGE):
        assert len(rendered['metadata']['name']) <= 63  # a Service name is a DNS-1035 label
        if rendered['kind'] != 'Route':  # not a Kubernetes built-in
            kubernetes_validate.validate(rendered, K8S_VERSION, strict=True)


def objects(obj: dict, namespace: str = 'aap') -> dict[str, dict]:
    full = spec.validate(obj['metadata']['name'], obj['spec'])
    return {o['kind']: o for o in render.desired(obj['metadata']['name'], namespace, full, IMAGE)}


def pod(objs: dict[str, dict]) -> dict:
    return objs['Deployment']['spec']['template']['spec']


def env(objs: dict[str, dict]) -> dict[str, str]:
    return {e['name']: e.get('value', '<ref>') for e in pod(objs)['containers'][0]['env']}


def test_default_listens_on_loopback_only_and_mounts_the_claim_read_only():
    objs = objects(collection(dashboard={'enabled': True}))
    assert set(objs) == {'ConfigMap', 'CronJob', 'Deployment', 'Service'}  # no account, binding, Route or Ingress
    spec_ = pod(objs)
    (container,) = spec_['containers']
    assert container['command'] == ['metrics-utility', 'serve']
    variables = env(objs)
    assert {k: v for k, v in variables.items() if k.startswith('METRICS_UTILITY_SERVE_')} == {
        'METRICS_UTILITY_SERVE_ADDRESS': '127.0.0.1',
        'METRICS_UTILITY_SERVE_PORT': '8080',
        'METRICS_UTILITY_SERVE_AUTH': 'none',
        'METRICS_UTILITY_SERVE_NAMESPACE': 'aap',
        'METRICS_UTILITY_SERVE_COLLECTION': 'controller',
        'METRICS_UTILITY_SERVE_CACHE_DIR': '/var/cache/metrics-utility',
    }
    assert not [k for k in variables if k.startswith('METRICS_UTILITY_DB_')]  # no database credentials
    assert spec_['automountServiceAccountToken'] is False and 'serviceAccountName' not in spec_
    assert {'name': 'data', 'persistentVolumeClaim': {'claimName': 'metrics-data', 'readOnly': True}} in spec_[
        'volumes'
    ]
    assert {'name': 'data', 'mountPath': '/metrics-utility', 'readOnly': True} in container['volumeMounts']
    assert {'name': 'tmp', 'mountPath': '/tmp'} in container['volumeMounts']  # writable scratch
    # the usage digests of the read-only storage, kept for a restarted container (docs/serve.md)
    assert {'name': 'usage-digests', 'emptyDir': {'sizeLimit': '256Mi'}} in spec_['volumes']
    assert {'name': 'usage-digests', 'mountPath': '/var/cache/metrics-utility'} in container['volumeMounts']
    writable = [m['mountPath'] for m in container['volumeMounts'] if not m.get('readOnly')]
    assert sorted(writable) == ['/tmp', '/var/cache/metrics-utility']
    # The kubelet probes the pod IP: on loopback the probe runs in the container.
    assert container['readinessProbe']['exec']['command'][:2] == ['python3', '-c']
    assert 'http://127.0.0.1:8080/healthz' in container['readinessProbe']['exec']['command'][2]
    assert objs['Service']['spec']['ports'] == [{'name': 'http', 'port': 8080, 'targetPort': 'http', 'protocol': 'TCP'}]
    assert set(objs['Service']['metadata']['annotations']) == {names.ANNOTATION_HASH}
    assert objs['Deployment']['spec']['replicas'] == 1


@pytest.mark.parametrize(
    'obj',
    [collection(dashboard={'enabled': True}), collection(storage=S3, dashboard=network(route={'enabled': True}))],
    ids=['loopback', 'network'],
)
def test_the_dashboard_pod_is_restricted_v2_like_every_other_pod(obj):
    spec_ = pod(objects(obj))
    assert spec_['securityContext'] == {'runAsNonRoot': True, 'seccompProfile': {'type': 'RuntimeDefault'}}
    (container,) = spec_['containers']
    assert container['securityContext'] == {
        'allowPrivilegeEscalation': False,
        'capabilities': {'drop': ['ALL']},
        'readOnlyRootFilesystem': True,
        'runAsNonRoot': True,
    }
    text = json.dumps(spec_)
    for fixed in ('runAsUser', 'runAsGroup', 'fsGroup', 'privileged', 'hostPath', 'hostNetwork'):
        assert fixed not in text


def test_network_mode_serves_tls_to_reviewed_tokens_through_a_reencrypting_route():
    objs = objects(collection(dashboard=network(route={'enabled': True, 'host': 'metrics.apps.example.com'})))
    assert set(objs) >= {'ServiceAccount', 'Deployment', 'Service', 'Route'} and 'Ingress' not in objs
    variables = env(objs)
    assert variables['METRICS_UTILITY_SERVE_ADDRESS'] == '0.0.0.0'
    assert variables['METRICS_UTILITY_SERVE_AUTH'] == 'kubernetes'
    assert variables['METRICS_UTILITY_SERVE_TLS_CERT'] == '/etc/metrics-utility/serving/tls.crt'
    assert variables['METRICS_UTILITY_SERVE_TLS_KEY'] == '/etc/metrics-utility/serving/tls.key'
    spec_ = pod(objs)
    assert spec_['serviceAccountName'] == 'controller-dashboard' and spec_['automountServiceAccountToken'] is True
    assert {'name': 'serving-cert', 'secret': {'secretName': 'controller-dashboard-tls'}} in spec_['volumes']
    service = objs['Service']
    assert service['metadata']['annotations'][dashboard.SERVICE_CA_ANNOTATION] == 'controller-dashboard-tls'
    assert service['spec']['ports'] == [{'name': 'https', 'port': 443, 'targetPort': 'https', 'protocol': 'TCP'}]
    assert service['spec']['selector'] == objs['Deployment']['spec']['selector']['matchLabels']
    assert objs['Deployment']['spec']['template']['metadata']['labels'].items() >= service['spec']['selector'].items()
    assert objs['Route']['spec'] == {
        'host': 'metrics.apps.example.com',
        'to': {'kind': 'Service', 'name': 'controller-dashboard', 'weight': 100},
        'port': {'targetPort': 'https'},
        'tls': {'termination': 'reencrypt', 'insecureEdgeTerminationPolicy': 'Redirect'},
    }
    probe = spec_['containers'][0]['livenessProbe']['httpGet']
    assert probe == {'path': '/healthz', 'port': 'https', 'scheme': 'HTTPS'}


def test_a_named_serving_certificate_replaces_the_service_ca_and_is_checked_before_writing():
    obj = collection(
        storage=S3,
        dashboard=network(
            servingCertSecret='dash-cert',
            ingress={'enabled': True, 'host': 'metrics.example.com', 'className': 'nginx', 'tlsSecret': 'front'},
        ),
    )
    objs = objects(obj)
    assert dashboard.SERVICE_CA_ANNOTATION not in objs['Service']['metadata']['annotations']
    assert {'name': 'serving-cert', 'secret': {'secretName': 'dash-cert'}} in pod(objs)['volumes']
    assert objs['Ingress']['metadata']['annotations'][dashboard.NGINX_BACKEND_PROTOCOL] == 'HTTPS'
    assert objs['Ingress']['spec'] == {
        'ingressClassName': 'nginx',
        'rules': [
            {
                'host': 'metrics.example.com',
                'http': {
                    'paths': [
                        {
                            'path': '/',
                            'pathType': 'Prefix',
                            'backend': {'service': {'name': 'controller-dashboard', 'port': {'name': 'https'}}},
                        }
                    ]
                },
            }
        ],
        'tls': [{'hosts': ['metrics.example.com'], 'secretName': 'front'}],
    }
    refs = spec.secret_refs(spec.validate('controller', obj['spec']))
    assert refs[-2:] == [
        ('spec.dashboard.network.servingCertSecret', 'dash-cert'),
        ('spec.dashboard.network.ingress.tlsSecret', 'front'),
    ]
    # S3 credentials reach the dashboard as references, like the report pod's.
    refs_env = {e['name']: e['valueFrom'] for e in pod(objs)['containers'][0]['env'] if 'valueFrom' in e}
    assert refs_env == {
        'METRICS_UTILITY_BUCKET_ACCESS_KEY': {'secretKeyRef': {'name': 's3', 'key': 'access-key'}},
        'METRICS_UTILITY_BUCKET_SECRET_KEY': {'secretKeyRef': {'name': 's3', 'key': 'secret-key'}},
    }


AFFINITY_TERM = {
    'labelSelector': {
        'matchLabels': {
            'app.kubernetes.io/instance': 'controller',
            names.LABEL_COLLECTION: 'controller',
            'app.kubernetes.io/component': 'dashboard',
        }
    },
    'topologyKey': 'kubernetes.io/hostname',
}


def other_pods(obj: dict) -> dict[str, dict]:
    """The pod specs of every CronJob, the backfill Job and the check Job."""
    name = obj['metadata']['name']
    full = spec.validate(name, obj['spec'])
    found = {
        o['metadata']['name']: o['spec']['jobTemplate']['spec']['template']['spec']
        for o in render.desired(name, 'ns', full, IMAGE)
        if o['kind'] == 'CronJob'
    }
    backfill = render.backfill_job(name, 'ns', full, IMAGE)
    if backfill:
        found['backfill'] = backfill['spec']['template']['spec']
    found['check'] = preflight.check_job(name, 'ns', full, IMAGE)['spec']['template']['spec']
    return found


BACKFILL = {'since': '2024-01-01', 'until': '2024-02-01'}


def test_with_a_read_write_once_claim_every_other_pod_joins_the_dashboards_node():
    user_affinity = {'podAffinity': {'preferredDuringSchedulingIgnoredDuringExecution': []}}
    obj = collection(
        dashboard={'enabled': True},
        vcpu={'enabled': True, 'clusterName': 'c'},
        backfill=BACKFILL,
        affinity=user_affinity,
    )
    pods = other_pods(obj)
    assert set(pods) == {'controller-gather', 'controller-report', 'controller-vcpu', 'backfill', 'check'}
    for found in pods.values():
        assert found['affinity'] == {
            'podAffinity': {
                'preferredDuringSchedulingIgnoredDuringExecution': [],
                'requiredDuringSchedulingIgnoredDuringExecution': [AFFINITY_TERM],
            }
        }
    assert AFFINITY_TERM['labelSelector']['matchLabels'].items() <= dashboard.labels('controller').items()
    assert pod(objects(obj))['affinity'] == user_affinity  # the user's placement, not an affinity to itself
    assert objects(obj)['Deployment']['spec']['strategy'] == {'type': 'Recreate'}


@pytest.mark.parametrize(
    'obj',
    [
        collection(
            dashboard={'enabled': True},
            storage={'type': 'directory', 'directory': {'claimName': 'shared', 'accessMode': 'ReadWriteMany'}},
        ),
        collection(dashboard={'enabled': True}, storage=S3),
        collection(dashboard={'enabled': False}),
        collection(),
    ],
    ids=['ReadWriteMany', 's3', 'dashboard off', 'no dashboard'],
)
def test_without_a_shared_read_write_once_claim_no_affinity_is_added(obj):
    for found in other_pods(obj).values():
        assert 'affinity' not in found
    if obj['spec'].get('dashboard', {}).get('enabled'):
        assert objects(obj)['Deployment']['spec']['strategy'] == {'type': 'RollingUpdate'}


def test_a_created_claim_is_read_write_once_and_gets_the_affinity():
    obj = collection(dashboard={'enabled': True}, storage={'type': 'directory', 'directory': {'size': '5Gi'}})
    assert all(
        p['affinity']['podAffinity']['requiredDuringSchedulingIgnoredDuringExecution'] == [AFFINITY_TERM]
        for p in other_pods(obj).values()
    )
    volumes = pod(objects(obj))['volumes']
    assert {'name': 'data', 'persistentVolumeClaim': {'claimName': 'controller-data', 'readOnly': True}} in volumes


def test_report_sources_are_mounted_read_only_and_passed_to_the_dashboard():
    obj = collection(dashboard={'enabled': True}, report={'additionalSources': [{'claimName': 'other', 'path': 'x'}]})
    objs = objects(obj)
    assert env(objs)['METRICS_UTILITY_ADDITIONAL_SHIP_PATHS'] == '/sources/0/x'
    assert {'name': 'source-0', 'persistentVolumeClaim': {'claimName': 'other', 'readOnly': True}} in pod(objs)[
        'volumes'
    ]


STATUS = {
    'port-forward': (
        collection(dashboard={'enabled': True}),
        {
            'service': 'controller-dashboard',
            'port': 8080,
            'access': 'kubectl port-forward -n aap svc/controller-dashboard 8080:8080',
        },
    ),
    'route host': (
        collection(dashboard=network(route={'enabled': True, 'host': 'metrics.apps.example.com'})),
        {
            'service': 'controller-dashboard',
            'port': 443,
            'url': 'https://metrics.apps.example.com',
            'access': 'https://metrics.apps.example.com (bearer token with get on metricscollections/reports)',
        },
    ),
    'ingress host': (
        collection(dashboard=network(ingress={'enabled': True, 'host': 'metrics.example.com'})),
        {
            'service': 'controller-dashboard',
            'port': 443,
            'url': 'https://metrics.example.com',
            'access': 'https://metrics.example.com (bearer token with get on metricscollections/reports)',
        },
    ),
    'route, host from the router': (
        collection(dashboard=network(route={'enabled': True})),
        {
            'service': 'controller-dashboard',
            'port': 443,
            'access': 'https://<oc get route -n aap controller-dashboard -o jsonpath={.spec.host}> '
            '(bearer token with get on metricscollections/reports)',
        },
    ),
    'network, no route': (
        collection(dashboard=network()),
        {
            'service': 'controller-dashboard',
            'port': 443,
            'access': 'https://controller-dashboard.aap.svc:443 (bearer token with get on metricscollections/reports)',
        },
    ),
}


@pytest.mark.parametrize(('obj', 'expected'), STATUS.values(), ids=list(STATUS))
def test_status_tells_how_to_reach_the_dashboard(obj, expected):
    full = spec.validate('controller', obj['spec'])
    assert dashboard.status_block('controller', 'aap', dashboard.settings(full)) == expected
