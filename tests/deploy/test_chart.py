"""The Helm chart through the real `helm` binary: lint, template, Kubernetes schemas, values schema, conventions."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from metrics_operator import spec
from testsupport.crd_rules import cel_failures, schema_errors
from testsupport.helm import Helm

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = '1.35.0'  # the kubectl shipped beside helm; the chart's floor is 1.27 (CronJob timeZone)
NS = 'aap'
SPEC = {
    'database': {'host': 'aap-controller-postgres-15', 'credentialsSecret': {'name': 'metrics-db-reader'}},
    'storage': {'type': 'directory', 'directory': {'size': '5Gi'}},
}
# The optional features reach the resource unchanged (validated below by schema, CEL and the operator).
SPEC_KPI_SOURCES = {
    **SPEC,
    'kpi': {'url': 'https://opensearch:9200', 'apiKeySecret': {'name': 'kpi'}, 'caConfigMap': {'name': 'kpi-ca'}},
    'report': {'additionalSources': [{'claimName': 'controller-b', 'path': 'metrics'}]},
}
# Replacing the AAP operator's built-in metrics-utility: its database Secret, ConfigMap and claim (docs/operator.md).
SPEC_AAP_DROPIN = {
    'controller': {'name': 'aap'},
    'envFrom': [{'configMapRef': {'name': 'automationcontroller-metrics-utility-configmap'}}],
    'env': [{'name': 'HTTPS_PROXY', 'value': 'http://proxy.example:3128'}],
    'storage': {'type': 'directory', 'directory': {'claimName': 'automationcontroller-metrics-utility'}},
}
MODES: dict[str, dict[str, Any]] = {
    'collection-aap-dropin': {'collection': {'enabled': True, 'spec': SPEC_AAP_DROPIN}},
    'default': {},
    'collection-kpi-sources': {'collection': {'enabled': True, 'spec': SPEC_KPI_SOURCES}},
    'cluster-wide': {'clusterWide': True},
    'collection': {'collection': {'enabled': True, 'spec': SPEC}},
    'service-monitor': {'metrics': {'serviceMonitor': {'enabled': True}}},
    'cluster-wide+collection+service-monitor+monitoring-view': {
        'clusterWide': True,
        'collection': {'enabled': True, 'spec': SPEC},
        'metrics': {'serviceMonitor': {'enabled': True}},
        'worker': {'clusterMonitoringView': True},
    },
    'metrics-off': {'metrics': {'enabled': False}},
    'dashboard-network-mode': {'dashboard': {'networkMode': True}},
}


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o['kind'] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f'{len(found)} objects of kind {kind}'
    return found[0]


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, 'Deployment')['spec']['template']['spec']['containers'][0]


def env_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {e['name']: e.get('value', e.get('valueFrom')) for e in container(objects)['env']}


@pytest.fixture(scope='module')
def crd() -> dict[str, Any]:
    return yaml.safe_load((ROOT / 'deploy' / 'crds' / 'metricscollections.metrics.aap.dev.yaml').read_text())


@pytest.fixture(scope='module')
def rendered(helm: Helm, chart: Path) -> dict[str, list[dict[str, Any]]]:
    return {mode: helm.template(chart, namespace=NS, values=values) for mode, values in MODES.items()}


@pytest.fixture(scope='module')
def default(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rendered['default']


# -- lint and validity ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize('mode', MODES)
def test_helm_lint_strict(helm: Helm, chart: Path, mode: str) -> None:
    output = helm.lint(chart, values=MODES[mode])
    assert '0 chart(s) failed' in output and '[ERROR]' not in output and '[WARNING]' not in output


@pytest.mark.parametrize('mode', MODES)
def test_every_rendered_object_is_valid(rendered: dict, crd: dict, mode: str) -> None:
    schema = crd['spec']['versions'][0]['schema']['openAPIV3Schema']
    for obj in rendered[mode]:
        if obj['kind'] == 'MetricsCollection':
            # As the API server sees it: the structural schema as sent, CEL after defaulting; and the operator agrees.
            assert schema_errors(schema, obj) == []
            assert cel_failures(schema, {**obj, 'spec': spec.with_defaults(obj['spec'])}) == []
            spec.validate(obj['metadata']['name'], obj['spec'])
        elif obj['kind'] == 'ServiceMonitor':
            # Not a Kubernetes built-in and its CRD is not available offline: the fields prometheus-operator reads.
            assert obj['apiVersion'] == 'monitoring.coreos.com/v1'
            assert set(obj['spec']) == {'selector', 'namespaceSelector', 'endpoints'}
            assert set(obj['spec']['endpoints'][0]) == {'port', 'path', 'interval', 'scrapeTimeout'}
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        if obj['kind'] not in ('CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'):
            assert obj['metadata']['namespace'] == NS, obj['kind']


def test_objects_per_mode(rendered: dict) -> None:
    kinds = {mode: sorted(o['kind'] for o in objects) for mode, objects in rendered.items()}
    base = ['CustomResourceDefinition', 'Deployment', 'Service', 'ServiceAccount', 'ServiceAccount']
    assert kinds['default'] == sorted([*base, 'Role', 'RoleBinding'])
    # Network mode: the dashboards' review role, the operator's right to bind exactly it, the reports reader.
    network = [*base, 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding']
    assert kinds['dashboard-network-mode'] == sorted(network)
    assert kinds['cluster-wide'] == sorted([*base, 'ClusterRole', 'ClusterRoleBinding'])
    assert kinds['collection'] == sorted([*base, 'Role', 'RoleBinding', 'MetricsCollection'])
    assert kinds['service-monitor'] == sorted([*base, 'Role', 'RoleBinding', 'ServiceMonitor'])
    assert 'Service' not in kinds['metrics-off']
    everything = kinds['cluster-wide+collection+service-monitor+monitoring-view']
    assert everything.count('ClusterRoleBinding') == 2 and {'MetricsCollection', 'ServiceMonitor'} <= set(everything)


def test_crd_in_chart_is_the_projects_crd(chart: Path) -> None:
    source = ROOT / 'deploy' / 'crds' / 'metricscollections.metrics.aap.dev.yaml'
    assert (chart / 'crds' / source.name).read_bytes() == source.read_bytes(), 'run scripts/render-deploy.py'
    assert [p.name for p in (chart / 'crds').iterdir()] == [source.name]


def test_chart_versions_follow_the_project(chart: Path) -> None:
    meta = yaml.safe_load((chart / 'Chart.yaml').read_text())
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['version']
    assert meta['apiVersion'] == 'v2' and meta['appVersion'] == project


# -- the operator Deployment ---------------------------------------------------------------------------------------


def test_deployment_is_restricted_v2_and_single(default: list[dict[str, Any]]) -> None:
    deployment = one(default, 'Deployment')
    assert deployment['spec']['replicas'] == 1 and deployment['spec']['strategy'] == {'type': 'Recreate'}
    pod = deployment['spec']['template']['spec']
    assert pod['securityContext'] == {'runAsNonRoot': True, 'seccompProfile': {'type': 'RuntimeDefault'}}
    c = container(default)
    assert c['securityContext'] == {
        'runAsNonRoot': True,
        'allowPrivilegeEscalation': False,
        'readOnlyRootFilesystem': True,
        'capabilities': {'drop': ['ALL']},
    }
    text = yaml.safe_dump(deployment)
    for fixed in ('runAsUser', 'runAsGroup', 'fsGroup', 'privileged', 'hostPath', 'hostNetwork'):
        assert fixed not in text  # OpenShift assigns UID/GID from the namespace range
    assert {'name': 'tmp', 'mountPath': '/tmp'} in c['volumeMounts']
    assert {'name': 'tmp', 'emptyDir': {}} in pod['volumes']
    assert c['resources']['requests'] and c['resources']['limits']['memory']


def test_probe_targets_the_operators_liveness_endpoint(default: list[dict[str, Any]]) -> None:
    c = container(default)
    env = env_of(default)
    ports = {p['name']: p['containerPort'] for p in c['ports']}
    assert c['livenessProbe']['httpGet'] == {'path': '/healthz', 'port': 'healthz'}
    assert env['METRICS_OPERATOR_LIVENESS'] == f'http://0.0.0.0:{ports["healthz"]}/healthz'
    assert 'readinessProbe' not in c
    assert env['METRICS_OPERATOR_METRICS_PORT'] == str(ports['metrics'])


def test_operator_settings_from_the_chart_parse(default: list[dict[str, Any]], rendered: dict) -> None:
    from metrics_operator.config import OperatorConfig

    def config(objects: list[dict[str, Any]]) -> OperatorConfig:
        values = {k: v for k, v in env_of(objects).items() if isinstance(v, str)}
        assert env_of(objects)['POD_NAMESPACE'] == {'fieldRef': {'fieldPath': 'metadata.namespace'}}
        return OperatorConfig.from_env({**values, 'POD_NAMESPACE': NS})

    namespaced = config(default)
    assert (namespaced.namespaces, namespaced.clusterwide, namespaced.standalone) == ((NS,), False, True)
    assert namespaced.worker_image == container(default)['image'] == 'quay.io/metrics-utility/metrics-utility:0.1.0'
    assert (namespaced.liveness, namespaced.metrics_port) == ('http://0.0.0.0:8080/healthz', 8000)
    assert namespaced.watch_client_timeout > namespaced.watch_server_timeout
    wide = config(rendered['cluster-wide'])
    assert (wide.namespaces, wide.clusterwide) == ((), True)
    assert config(rendered['metrics-off']).metrics_port == 0


def test_image_and_scheduling_values_reach_the_pod(helm: Helm, chart: Path) -> None:
    values = {
        'image': {'repository': 'registry.example/mu', 'tag': '9.9', 'pullPolicy': 'Always'},
        'workerImage': 'registry.example/worker:1',
        'imagePullSecrets': ['pull-secret'],
        'nodeSelector': {'node-role.kubernetes.io/infra': ''},
        'tolerations': [{'key': 'infra', 'operator': 'Exists', 'effect': 'NoSchedule'}],
        'affinity': {'nodeAffinity': {}},
        'operator': {'extraEnv': [{'name': 'HTTPS_PROXY', 'value': 'http://proxy:3128'}]},
    }
    objects = helm.template(chart, namespace=NS, values=values)
    pod = one(objects, 'Deployment')['spec']['template']['spec']
    c = pod['containers'][0]
    assert (c['image'], c['imagePullPolicy']) == ('registry.example/mu:9.9', 'Always')
    assert pod['imagePullSecrets'] == [{'name': 'pull-secret'}]
    assert pod['nodeSelector'] == values['nodeSelector'] and pod['tolerations'] == values['tolerations']
    assert pod['affinity'] == values['affinity']
    env = env_of(objects)
    assert env['METRICS_OPERATOR_WORKER_IMAGE'] == 'registry.example/worker:1'
    assert env['HTTPS_PROXY'] == 'http://proxy:3128'


# -- trust model: what a MetricsCollection may choose (docs/install.md) ------------------------------------------

DIGEST = 'registry.example/mu@sha256:' + 'c' * 64
TRUST: dict[str, tuple[Mapping[str, Any], str, str]] = {
    'defaults: the worker account only': ({}, '', 'metrics-utility-worker'),
    'pinned extra images': (
        {'worker': {'allowedImages': [DIGEST, 'registry.example/mu:2']}},
        f'{DIGEST},registry.example/mu:2',
        'metrics-utility-worker',
    ),
    'a renamed worker account': ({'worker': {'serviceAccount': {'name': 'mu-jobs'}}}, '', 'mu-jobs'),
    'extra accounts after the worker account': (
        {'worker': {'allowedServiceAccounts': ['reporting', 'a.b']}},
        '',
        'metrics-utility-worker,reporting,a.b',
    ),
    "the release's collection's own choices": (
        {'collection': {'enabled': True, 'spec': {**SPEC, 'image': DIGEST, 'serviceAccountName': 'mine'}}},
        DIGEST,
        'metrics-utility-worker,mine',
    ),
    'listed twice, kept once': (
        {'worker': {'allowedImages': [DIGEST, DIGEST], 'allowedServiceAccounts': ['metrics-utility-worker']}},
        DIGEST,
        'metrics-utility-worker',
    ),
    'a disabled collection allows nothing': (
        {'collection': {'enabled': False, 'spec': {**SPEC, 'image': DIGEST, 'serviceAccountName': 'mine'}}},
        '',
        'metrics-utility-worker',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', TRUST, ids=list(TRUST))
def test_allowed_images_and_accounts_reach_the_operator(helm: Helm, chart: Path, case: str) -> None:
    from metrics_operator import spec, trust
    from metrics_operator.config import OperatorConfig

    values, images, accounts = TRUST[case]
    objects = helm.template(chart, namespace=NS, values=values)
    env = env_of(objects)
    assert (env['METRICS_OPERATOR_ALLOWED_IMAGES'], env['METRICS_OPERATOR_ALLOWED_SERVICE_ACCOUNTS']) == (
        images,
        accounts,
    )
    config = OperatorConfig.from_env({k: v for k, v in env.items() if isinstance(v, str)})
    for mc in by_kind(objects, 'MetricsCollection'):  # the chart's own collection is never refused
        assert trust.refusal(spec.validate(mc['metadata']['name'], mc['spec']), config.allowed) is None
    foreign = spec.validate('c', {**SPEC, 'image': 'evil.example/x:1', 'serviceAccountName': 'default'})
    assert trust.refusal(foreign, config.allowed).reason == 'ImageNotAllowed'


# -- RBAC, service accounts, metrics ------------------------------------------------------------------------------


def test_rbac_is_namespaced_by_default(default: list[dict[str, Any]]) -> None:
    role, binding = one(default, 'Role'), one(default, 'RoleBinding')
    assert role['metadata']['namespace'] == binding['metadata']['namespace'] == NS
    assert binding['roleRef'] == {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Role', 'name': 'metrics-utility'}
    sa = one(default, 'Deployment')['spec']['template']['spec']['serviceAccountName']
    assert binding['subjects'] == [{'kind': 'ServiceAccount', 'name': sa, 'namespace': NS}]
    rules = {(g, r): set(rule['verbs']) for rule in role['rules'] for g in rule['apiGroups'] for r in rule['resources']}
    assert rules[('metrics.aap.dev', 'metricscollections/finalizers')] == {'update'}  # OpenShift ownerRef check
    assert not any('*' in key or '*' in verbs for key, verbs in rules.items())
    assert ('apiextensions.k8s.io', 'customresourcedefinitions') not in rules  # scanning is off when namespaced


def test_worker_service_account_has_no_rights_unless_monitoring_view(default: list, rendered: dict) -> None:
    worker = next(o for o in by_kind(default, 'ServiceAccount') if o['metadata']['name'].endswith('-worker'))
    assert worker['automountServiceAccountToken'] is False
    bound = {s['name'] for o in default if o['kind'].endswith('Binding') for s in o['subjects']}
    assert worker['metadata']['name'] not in bound
    view = next(
        o
        for o in rendered['cluster-wide+collection+service-monitor+monitoring-view']
        if o['kind'] == 'ClusterRoleBinding' and o['roleRef']['name'] == 'cluster-monitoring-view'
    )
    assert view['subjects'] == [{'kind': 'ServiceAccount', 'name': worker['metadata']['name'], 'namespace': NS}]


def test_metrics_service_and_service_monitor_select_the_operator(rendered: dict) -> None:
    objects = rendered['service-monitor']
    deployment, service, monitor = one(objects, 'Deployment'), one(objects, 'Service'), one(objects, 'ServiceMonitor')
    pod_labels = deployment['spec']['template']['metadata']['labels']
    assert service['spec']['selector'].items() <= pod_labels.items()
    assert service['spec']['ports'] == [{'name': 'metrics', 'port': 8000, 'targetPort': 'metrics', 'protocol': 'TCP'}]
    assert monitor['spec']['selector']['matchLabels'].items() <= service['metadata']['labels'].items()
    assert monitor['spec']['endpoints'][0]['port'] == 'metrics'
    # Worker pods (labelled by the operator) are never selected: their component is the job kind.
    assert service['spec']['selector']['app.kubernetes.io/component'] == 'operator'


# -- the optional collection ---------------------------------------------------------------------------------------


def test_collection_from_values(rendered: dict) -> None:
    mc = one(rendered['collection'], 'MetricsCollection')
    assert mc['apiVersion'] == 'metrics.aap.dev/v1alpha1' and mc['metadata']['name'] == 'controller'
    assert mc['spec'] == {**SPEC, 'serviceAccountName': 'metrics-utility-worker'}
    mc = one(rendered['collection-kpi-sources'], 'MetricsCollection')
    assert mc['spec'] == {**SPEC_KPI_SOURCES, 'serviceAccountName': 'metrics-utility-worker'}
    mc = one(rendered['collection-aap-dropin'], 'MetricsCollection')
    assert mc['spec'] == {**SPEC_AAP_DROPIN, 'serviceAccountName': 'metrics-utility-worker'}


def test_collection_keeps_an_explicit_service_account(helm: Helm, chart: Path) -> None:
    spec = {**SPEC, 'serviceAccountName': 'mine'}
    objects = helm.template(chart, namespace=NS, values={'collection': {'enabled': True, 'spec': spec}})
    assert one(objects, 'MetricsCollection')['spec']['serviceAccountName'] == 'mine'


def test_notes_tell_the_next_steps(helm: Helm, chart: Path) -> None:
    notes = helm.run('install', 'metrics-utility', str(chart), '--namespace', NS, '--dry-run=client').stdout
    notes = notes.split('NOTES:', 1)[1]
    assert 'kubectl -n aap apply -f metricscollection.yaml' in notes
    assert 'kubectl -n aap get mc' in notes
    assert 'kubectl -n aap wait --for=condition=Ready mc/<name>' in notes
    assert 'crds/' in notes  # how to upgrade the CRD
    enabled = helm.run(
        'install',
        'metrics-utility',
        str(chart),
        '-n',
        NS,
        '--dry-run=client',
        '--values',
        '-',
        stdin=json.dumps({'collection': {'enabled': True, 'spec': SPEC}}),
    ).stdout
    assert 'mc/controller' in enabled.split('NOTES:', 1)[1]


# -- values schema -------------------------------------------------------------------------------------------------

BAD_VALUES: list[tuple[Mapping[str, Any], str]] = [
    ({'image': {'repository': 'x', 'pullPolicy': 'Sometimes'}}, "at '/image/pullPolicy': value must be one of"),
    ({'image': {'repository': '', 'pullPolicy': 'Always'}}, "at '/image/repository': minLength"),
    ({'clusterWide': 'yes'}, "at '/clusterWide': got string, want boolean"),
    ({'imagePullSecrets': [{'name': 'pull'}]}, "at '/imagePullSecrets/0': got object, want string"),
    ({'clusterwide': True}, "additional properties 'clusterwide' not allowed"),
    ({'metrics': {'port': 99999}}, "at '/metrics/port': maximum"),
    ({'metrics': {'serviceMonitor': {'interval': '1min'}}}, "at '/metrics/serviceMonitor/interval'"),
    ({'operator': {'statusInterval': 0}}, "at '/operator/statusInterval': exclusiveMinimum"),
    ({'collection': {'enabled': True}}, "at '/collection/spec': missing property 'storage'"),
    (
        {'collection': {'enabled': True, 'spec': {'storage': SPEC['storage']}}},
        "at '/collection/spec': missing property 'controller'",
    ),
    (
        {'collection': {'enabled': True, 'spec': {**SPEC, 'database': {'host': 'pg'}}}},
        "at '/collection/spec/database': missing property 'credentialsSecret'",
    ),
    (
        {'collection': {'enabled': True, 'spec': {**SPEC_AAP_DROPIN, 'controller': {'name': 'AAP'}}}},
        "at '/collection/spec/controller/name': 'AAP' does not match pattern",
    ),
    (
        {'collection': {'enabled': True, 'name': 'x' * 46, 'spec': SPEC}},
        "at '/collection/name': maxLength: got 46, want 45",
    ),
    ({'collection': {'name': 'Controller'}}, "at '/collection/name': 'Controller' does not match pattern"),
    (
        {'collection': {'enabled': True, 'spec': {**SPEC, 'storage': {'type': 'nfs'}}}},
        "at '/collection/spec/storage/type': value must be one of 'directory', 's3', 'crc'",
    ),
    ({'worker': {'clusterMonitoringView': 'true'}}, "at '/worker/clusterMonitoringView': got string, want boolean"),
    ({'worker': {'allowedImages': 'registry.example/mu:1'}}, "at '/worker/allowedImages': got string, want array"),
    ({'worker': {'allowedImages': ['a:1,b:2']}}, "at '/worker/allowedImages/0': 'a:1,b:2' does not match pattern"),
    ({'worker': {'allowedImages': ['']}}, "at '/worker/allowedImages/0': minLength: got 0, want 1"),
    (
        {'worker': {'allowedServiceAccounts': ['Admin']}},
        "at '/worker/allowedServiceAccounts/0': 'Admin' does not match",
    ),
]


@pytest.mark.parametrize(('values', 'message'), BAD_VALUES, ids=[m.split(':')[0] for _, m in BAD_VALUES])
def test_bad_values_are_refused_with_a_readable_message(
    helm: Helm, chart: Path, values: Mapping[str, Any], message: str
) -> None:
    result = helm.template_text(chart, values=values, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


def test_missing_service_account_name_is_refused(helm: Helm, chart: Path) -> None:
    result = helm.template_text(chart, values={'serviceAccount': {'create': False}}, check=False)
    assert result.returncode != 0
    assert 'serviceAccount.name is required when serviceAccount.create is false' in result.stderr
    ok = helm.template(chart, values={'serviceAccount': {'create': False, 'name': 'existing'}})
    assert one(ok, 'RoleBinding')['subjects'][0]['name'] == 'existing'
    assert [o['metadata']['name'] for o in by_kind(ok, 'ServiceAccount')] == ['metrics-utility-worker']


def test_install_guide_lists_exactly_the_roles_rules(default: list[dict[str, Any]]) -> None:
    """docs/install.md's RBAC table is the Role, rule for rule (the table says why each is needed)."""
    text = (ROOT / 'docs' / 'install.md').read_text().split('## RBAC the operator gets', 1)[1]
    documented = set()
    for line in text.splitlines():
        cells = [c.strip().strip('`') for c in line.strip().strip('|').split('|')]
        if len(cells) == 4 and cells[0] not in ('API group', '---'):
            group = '' if cells[0] == 'core' else cells[0]
            documented |= {(group, cells[1], verb.strip()) for verb in cells[2].split(',')}
    granted = {
        (g, r, v)
        for rule in one(default, 'Role')['rules']
        for g in rule['apiGroups']
        for r in rule['resources']
        for v in rule['verbs']
    }
    assert documented == granted


def test_the_reports_reader_grants_the_access_review_and_aggregates_into_admin_only(rendered: dict) -> None:
    """docs/operator.md, "Granting access": what a RoleBinding to it lets a person do with a network dashboard."""
    objects = rendered['dashboard-network-mode']
    (reader,) = [o for o in by_kind(objects, 'ClusterRole') if o['metadata']['name'].endswith('-reports-reader')]
    assert reader['metadata']['name'] == 'metrics-utility-reports-reader'
    aggregation = {k: v for k, v in reader['metadata']['labels'].items() if k.startswith('rbac.authorization.k8s.io/')}
    assert aggregation == {'rbac.authorization.k8s.io/aggregate-to-admin': 'true'}  # not view, not edit
    assert reader['rules'] == [
        {'apiGroups': ['metrics.aap.dev'], 'resources': ['metricscollections/reports'], 'verbs': ['get']},
        {'apiGroups': ['metrics.aap.dev'], 'resources': ['metricscollections'], 'verbs': ['get', 'list']},
    ]


def test_network_mode_tells_the_operator_its_review_role(rendered: dict) -> None:
    assert 'METRICS_OPERATOR_DASHBOARD_AUTH_ROLE' not in env_of(rendered['default'])
    objects = rendered['dashboard-network-mode']
    auth = env_of(objects)['METRICS_OPERATOR_DASHBOARD_AUTH_ROLE']
    assert auth == 'metrics-utility-dashboard-auth'
    binder = next(o for o in by_kind(objects, 'ClusterRole') if o['metadata']['name'].endswith('-dashboard-binder'))
    assert {
        'apiGroups': ['rbac.authorization.k8s.io'],
        'resources': ['clusterroles'],
        'verbs': ['bind'],
        'resourceNames': [auth],
    } in binder['rules']
