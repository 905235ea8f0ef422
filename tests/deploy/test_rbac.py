"""RBAC proof: every request the real operator sends is allowed by the chart's Role — and every rule is needed.

The operator runs against the strict API emulator (which records verb, group, resource, subresource, namespace of
each request) through a representative set of scenarios; the union of its requests is then evaluated against the
RBAC objects `helm template` renders, with Kubernetes' matching rules (`testsupport.rbac`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme

from metrics_operator.config import OperatorConfig
from testsupport import operator_samples
from testsupport.candlepin import CandlepinState, FakeCandlepin
from testsupport.cronjob_controller import FakeCronJobController
from testsupport.helm import Helm
from testsupport.https_servers import tls_ca_fixture  # noqa: F401 (fixture)
from testsupport.kube_api import ApiRequest, StrictKubernetesEmulator
from testsupport.kube_client import ApiUser, mc_path
from testsupport.operator_runner import OperatorRun, eventually
from testsupport.operator_samples import (
    RH_PASSWORD,
    RH_USER,
    ca_configmap,
    claim,
    collection,
    crc_secret,
    crc_storage,
    db_secret,
    es_secret,
    managed_identity,
    rh_account,
)
from testsupport.rbac import Authorizer, describe

pytestmark = pytest.mark.integration
NS = 'aap'
OTHER_NS = 'team-b'
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
OPERATOR_AGENTS = ('kopf', 'metrics-operator')

# Needed in production but not observable in the emulator, each with its reason. Nothing else may stay unused.
NEEDED_BUT_NOT_SENT = {
    # OpenShift's OwnerReferencesPermissionEnforcement admission plugin checks that whoever sets
    # `blockOwnerDeletion: true` on a child (our CronJobs/ConfigMap) may `update` the owner's finalizers. It is an
    # authorization check at admission, not a request, so no emulator can record it.
    ('metrics.aap.dev', 'metricscollections/finalizers', 'update'),
}


def _config(clusterwide: bool) -> OperatorConfig:
    return OperatorConfig(
        worker_image='registry.example/metrics-utility:test',
        clusterwide=clusterwide,
        status_interval=0.2,
        retry_interval=0.3,
        metrics_port=0,
        liveness=None,
        identity_interval=0.3,
        identity_retry_interval=0.3,
    )


@pytest.fixture
def candlepin(tls_ca: trustme.CA) -> Iterator[FakeCandlepin]:
    """A local Candlepin whose certificates expire within the default renewal window (so a tick renews)."""
    state = CandlepinState(users={RH_USER: RH_PASSWORD}, owners={RH_USER: ['acme']}, validity=timedelta(days=10))
    with FakeCandlepin(tls_ca, state) as server:
        yield server


def _condition(kube_api: StrictKubernetesEmulator, ns: str, name: str, type_: str, status: str) -> Callable[[], Any]:
    def check() -> Any:
        obj = kube_api.get_object('metricscollections', ns, name) or {}
        found = {c['type']: c['status'] for c in (obj.get('status') or {}).get('conditions', [])}
        return found.get(type_) == status

    return check


async def _scenarios(
    kube_api: StrictKubernetesEmulator, run: OperatorRun, ns: str, candlepin: FakeCandlepin, network: bool = False
) -> None:
    """Create, update, suspend, Jobs failing and succeeding (pods, Events), invalid spec, missing Secret, operator
    claim created and deleted, managed Candlepin identity registered and renewed, delete with finalizer, restart: each
    path that talks to the API once at least."""
    user, cronjobs = ApiUser(str(kube_api.url)), FakeCronJobController(str(kube_api.url))
    gone = lambda name: lambda: kube_api.get_object('metricscollections', ns, name) is None  # noqa: E731

    # Missing Secret first (Ready=False, Warning Event), then it appears and the retry reconciles.
    await user.create('persistentvolumeclaims', claim(), ns)
    await user.create('metricscollections', collection(vcpu={'enabled': True, 'clusterName': 'prod'}), ns)
    await eventually(_condition(kube_api, ns, 'controller', 'Ready', 'False'), what='SecretNotFound')
    await user.create('secrets', db_secret(), ns)
    await eventually(_condition(kube_api, ns, 'controller', 'Ready', 'True'), what='Ready')

    # Update: a new schedule patches a CronJob, a new host the ConfigMap, a disabled vCPU deletes a CronJob; the KPI
    # sink and a report source add references to look up (Secret, CA ConfigMap, claim).
    await user.create('secrets', es_secret(), ns)
    await user.create('configmaps', {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'es-ca'}}, ns)
    await user.create('persistentvolumeclaims', claim('controller-b'), ns)
    changes = {
        'gather': {'schedule': '*/30 * * * *'},
        'vcpu': {'enabled': False},
        'database': {'host': 'pg-2'},
        'kpi': {'url': 'https://es:9200', 'apiKeySecret': {'name': 'es-kpi'}, 'caConfigMap': {'name': 'es-ca'}},
        'report': {'additionalSources': [{'claimName': 'controller-b'}]},
    }
    await user.merge_patch(mc_path('controller', ns), {'spec': changes})
    await eventually(lambda: kube_api.get_object('cronjobs', ns, 'controller-vcpu') is None, what='vcpu removed')
    await user.merge_patch(mc_path('controller', ns), {'spec': {'suspend': True}})
    await eventually(
        lambda: kube_api.get_object('cronjobs', ns, 'controller-gather')['spec']['suspend'] is True, what='suspend'
    )

    # Jobs with pods: a success, then a failure (Degraded, Warning Event).
    succeeded = json.dumps(operator_samples.GATHER_SUMMARY)
    await cronjobs.run(ns, 'controller-gather', succeeded=True, message=succeeded, at=T0)
    await eventually(_condition(kube_api, ns, 'controller', 'GatherSucceeded', 'True'), what='GatherSucceeded')
    failed = json.dumps({'command': 'gather', 'ok': False, 'error': 'database unreachable'})
    await cronjobs.run(ns, 'controller-gather', succeeded=False, message=failed, at=T0 + timedelta(hours=1))
    await eventually(_condition(kube_api, ns, 'controller', 'Degraded', 'True'), what='Degraded')

    # Invalid spec: a condition and an Event, no children.
    await user.create('metricscollections', collection('broken', gather={'schedule': 'every hour'}), ns)
    await eventually(_condition(kube_api, ns, 'broken', 'Ready', 'False'), what='InvalidSpec')

    # Claims the operator creates, deleted with the collection (reclaimPolicy Delete): directory data, crc watermarks.
    await user.create('secrets', crc_secret(), ns)
    sized = {'type': 'directory', 'directory': {'size': '1Gi', 'reclaimPolicy': 'Delete'}}
    crc = crc_storage({'size': '1Gi', 'reclaimPolicy': 'Delete'})
    for name, storage in (('sized', sized), ('crc', crc)):
        await user.create('metricscollections', collection(name, storage=storage, report={'enabled': False}), ns)
        await eventually(_condition(kube_api, ns, name, 'Ready', 'True'), what=f'{name} Ready')
        await user.delete(mc_path(name, ns))
        await eventually(gone(name), what=f'{name} deleted')
        assert kube_api.get_object('persistentvolumeclaims', ns, f'{name}-data') is None

    # A dashboard (port-forward only): Deployment and Service created, the Deployment patched, both deleted with it.
    await user.create('metricscollections', collection('dash', dashboard={'enabled': True}), ns)
    await eventually(lambda: kube_api.get_object('deployments', ns, 'dash-dashboard'), what='dashboard')
    resources = {'requests': {'cpu': '10m', 'memory': '64Mi'}, 'limits': {'memory': '128Mi'}}
    await user.merge_patch(mc_path('dash', ns), {'spec': {'dashboard': {'resources': resources}}})
    await eventually(
        lambda: (
            kube_api.get_object('deployments', ns, 'dash-dashboard')['spec']['template']['spec']['containers'][0][
                'resources'
            ]
            == resources
        ),
        what='dashboard patched',
    )
    if network:
        await _network_mode(kube_api, user, ns)
    await user.delete(mc_path('dash', ns))
    await eventually(gone('dash'), timeout=30, what='dash deleted')  # many lookups: slow on a loaded machine

    # A backfill request: one Indexed Job, created once.
    await user.merge_patch(
        mc_path('controller', ns), {'spec': {'backfill': {'since': '2024-01-01', 'until': '2024-01-10'}}}
    )
    await eventually(
        lambda: any(j['metadata']['name'].startswith('controller-backfill') for j in kube_api.stored('jobs', ns)),
        what='backfill Job',
    )

    # The managed Candlepin identity: registration reads the account and creates the Secret; a certificate that
    # expires within renewBeforeDays is renewed with one PATCH (this Candlepin issues 10-day certificates).
    await user.create('secrets', rh_account(), ns)
    await user.create('configmaps', ca_configmap('candlepin-ca', candlepin.ca.cert_pem.bytes().decode()), ns)
    await user.create('persistentvolumeclaims', claim('managed-state'), ns)
    managed = crc_storage({'claimName': 'managed-state'}, identity=managed_identity(candlepin.api))
    trusted = {'configMapName': 'candlepin-ca', 'key': 'ca.pem'}
    await user.create(
        'metricscollections', collection('managed', storage=managed, report={'enabled': False}, trustedCA=trusted), ns
    )
    await eventually(lambda: any(c.regenerations for c in candlepin.state.consumers.values()), what='a renewal')
    await user.delete(mc_path('managed', ns))
    await eventually(gone('managed'), what='managed deleted')

    # A restart resumes without writes; then deletion through the finalizer.
    await run.restart()
    await eventually(_condition(kube_api, ns, 'controller', 'Ready', 'True'), what='Ready after restart')
    for name in ('controller', 'broken'):
        await user.delete(mc_path(name, ns))
        await eventually(gone(name), what=f'{name} deleted')


async def _network_mode(kube_api: StrictKubernetesEmulator, user: ApiUser, ns: str) -> None:
    """The dashboard `dash` into network mode (ServiceAccount, binding, Service patched, a Route), its Route host
    changed, then an Ingress instead of the Route (its host changed too), then back to port-forward only."""
    route = {'enabled': True, 'host': 'a.apps.example.com'}
    await user.merge_patch(mc_path('dash', ns), {'spec': {'dashboard': {'network': {'enabled': True, 'route': route}}}})
    await eventually(lambda: kube_api.get_object('routes', ns, 'dash-dashboard'), what='Route')
    await user.merge_patch(
        mc_path('dash', ns), {'spec': {'dashboard': {'network': {'route': {'host': 'b.example.com'}}}}}
    )
    await eventually(
        lambda: kube_api.get_object('routes', ns, 'dash-dashboard')['spec']['host'] == 'b.example.com', what='host'
    )
    ingress = {'enabled': True, 'host': 'c.example.com'}
    change = {'network': {'route': {'enabled': False}, 'ingress': ingress}}
    await user.merge_patch(mc_path('dash', ns), {'spec': {'dashboard': change}})
    await eventually(lambda: kube_api.get_object('routes', ns, 'dash-dashboard') is None, what='Route removed')
    await eventually(lambda: kube_api.get_object('ingresses', ns, 'dash-dashboard'), what='Ingress')
    change = {'network': {'ingress': {'host': 'd.example.com'}}}
    await user.merge_patch(mc_path('dash', ns), {'spec': {'dashboard': change}})
    await eventually(
        lambda: kube_api.get_object('ingresses', ns, 'dash-dashboard')['spec']['rules'][0]['host'] == 'd.example.com',
        what='Ingress host',
    )
    change = {'network': {'enabled': False, 'ingress': {'enabled': False}}}
    await user.merge_patch(mc_path('dash', ns), {'spec': {'dashboard': change}})
    await eventually(lambda: kube_api.get_object('serviceaccounts', ns, 'dash-dashboard') is None, what='unbound')
    await eventually(lambda: kube_api.get_object('ingresses', ns, 'dash-dashboard') is None, what='Ingress removed')


def _operator_requests(kube_api: StrictKubernetesEmulator) -> list[ApiRequest]:
    """Resource requests of Kopf and the operator's client. API discovery (`/api/v1`, `/apis/<group>/<version>`:
    no resource) is a non-resource URL that every authenticated user may read (the built-in `system:discovery`
    ClusterRole), so it needs nothing from the chart; it is checked to be read-only and cluster-scoped instead."""
    ours = [r for r in kube_api.requests_log if r.user_agent.startswith(OPERATOR_AGENTS)]
    discovery = [r for r in ours if not r.resource]
    assert {(r.verb, r.namespace, r.name) for r in discovery} <= {('list', None, None), ('get', None, None)}
    return [r for r in ours if r.resource]


def _prove(authorizer: Authorizer, requests: list[ApiRequest], extra_needed: set[tuple[str, str, str]]) -> None:
    assert authorizer.grants, 'no RBAC objects bind the operator ServiceAccount'
    denied = sorted({describe(r) for r in requests if not authorizer.allows(r)})
    assert not denied, 'the chart does not allow requests the operator sends:\n' + '\n'.join(denied)
    unused = authorizer.unused(requests) - NEEDED_BUT_NOT_SENT - extra_needed
    assert not unused, f'the chart grants rights the operator never uses: {sorted(unused)}'


def _authorizer(objects: list[dict[str, Any]]) -> Authorizer:
    deployment = next(o for o in objects if o['kind'] == 'Deployment')
    sa = deployment['spec']['template']['spec']['serviceAccountName']
    return Authorizer(objects, deployment['metadata']['namespace'], sa)


async def test_namespaced_role_allows_exactly_what_the_operator_sends(
    kube_api: StrictKubernetesEmulator, helm: Helm, chart, candlepin: FakeCandlepin
) -> None:
    objects = helm.template(chart, namespace=NS)
    assert {o['kind'] for o in objects} >= {'Role', 'RoleBinding'}
    assert not {o['kind'] for o in objects} & {'ClusterRole', 'ClusterRoleBinding'}
    env = {
        e['name']: e
        for e in next(o for o in objects if o['kind'] == 'Deployment')['spec']['template']['spec']['containers'][0][
            'env'
        ]
    }
    # The chart and the operator agree on the mode: POD_NAMESPACE → namespaced, scanning off (see config.configure).
    assert 'METRICS_OPERATOR_CLUSTERWIDE' not in env and env['POD_NAMESPACE']['valueFrom']
    config = OperatorConfig.from_env({'POD_NAMESPACE': NS, **{k: v['value'] for k, v in env.items() if 'value' in v}})
    assert (config.namespaces, config.clusterwide, config.standalone) == ((NS,), False, True)

    run = OperatorRun(kube_api.url, _config(clusterwide=False), namespaces=(NS,))
    await run.start()
    try:
        await _scenarios(kube_api, run, NS, candlepin)
    finally:
        await run.stop()

    requests = _operator_requests(kube_api)
    assert {r.namespace for r in requests} == {NS}, 'a namespaced operator must stay inside its namespace'
    _prove(_authorizer(objects), requests, extra_needed=set())


async def test_cluster_wide_role_allows_exactly_what_the_operator_sends(
    kube_api: StrictKubernetesEmulator, helm: Helm, chart, candlepin: FakeCandlepin
) -> None:
    objects = helm.template(chart, namespace=NS, values={'clusterWide': True})
    assert {o['kind'] for o in objects} >= {'ClusterRole', 'ClusterRoleBinding'}
    assert not {o['kind'] for o in objects} & {'Role', 'RoleBinding'}
    env = {
        e['name']: e.get('value')
        for e in next(o for o in objects if o['kind'] == 'Deployment')['spec']['template']['spec']['containers'][0][
            'env'
        ]
    }
    config = OperatorConfig.from_env({'POD_NAMESPACE': NS, **{k: v for k, v in env.items() if v is not None}})
    assert (config.namespaces, config.clusterwide) == ((), True)

    run = OperatorRun(kube_api.url, _config(clusterwide=True), clusterwide=True)
    await run.start()
    try:
        await _scenarios(kube_api, run, OTHER_NS, candlepin)  # a namespace the operator does not live in
    finally:
        await run.stop()

    requests = _operator_requests(kube_api)
    assert {r.namespace for r in requests} >= {None, OTHER_NS}  # cluster-wide watches, namespaced writes
    _prove(_authorizer(objects), requests, extra_needed=set())


# Network mode's rights that no emulator can see used.
NETWORK_MODE_NEEDED_BUT_NOT_SENT = {
    # Creating a ClusterRoleBinding is authorised by `bind` on its role (RBAC's escalation check), not a request.
    ('rbac.authorization.k8s.io', 'clusterroles', 'bind'),
    # OpenShift's Route admission checks it when a Route names its host.
    ('route.openshift.io', 'routes/custom-host', 'create'),
    # `reconcile.apply` re-owns a dashboard ServiceAccount that an earlier collection of the same name left behind.
    ('', 'serviceaccounts', 'patch'),
}


async def test_network_mode_rights_allow_exactly_what_the_operator_sends(
    kube_api: StrictKubernetesEmulator, helm: Helm, chart, candlepin: FakeCandlepin
) -> None:
    objects = helm.template(chart, namespace=NS, values={'dashboard': {'networkMode': True}})
    env = {
        e['name']: e.get('value')
        for e in next(o for o in objects if o['kind'] == 'Deployment')['spec']['template']['spec']['containers'][0][
            'env'
        ]
    }
    config = OperatorConfig.from_env({'POD_NAMESPACE': NS, **{k: v for k, v in env.items() if v is not None}})
    auth_role = next(o for o in objects if o['kind'] == 'ClusterRole' and o['metadata']['name'].endswith('-auth'))
    assert config.dashboard_auth_role == auth_role['metadata']['name']
    assert {(r['apiGroups'][0], r['resources'][0], r['verbs'][0]) for r in auth_role['rules']} == {
        ('authentication.k8s.io', 'tokenreviews', 'create'),
        ('authorization.k8s.io', 'subjectaccessreviews', 'create'),
    }

    run = OperatorRun(
        kube_api.url, replace(_config(clusterwide=False), dashboard_auth_role=config.dashboard_auth_role), (NS,)
    )
    await run.start()
    try:
        await _scenarios(kube_api, run, NS, candlepin, network=True)
    finally:
        await run.stop()

    requests = _operator_requests(kube_api)
    cluster_scoped = {r.resource for r in requests if r.namespace is None}
    assert cluster_scoped == {'clusterrolebindings'}, "only the dashboards' bindings leave the namespace"
    _prove(_authorizer(objects), requests, extra_needed=NETWORK_MODE_NEEDED_BUT_NOT_SENT)
