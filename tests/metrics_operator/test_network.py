"""`spec.proxy` and `spec.trustedCA` (metrics_operator.network): the worker pods' proxy variables and one trusted CA
bundle, rendered as exact env, volumes and mounts; hostile specs as the exact CRD (schema + CEL) and operator
outcomes; the operator against the strict API emulator: the cluster proxy passed on from the operator's own env, the
injected trusted-CA ConfigMap created labelled and never overwritten, proxy passwords never copied.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from metrics_operator import names, network, render, spec
from metrics_operator.config import OperatorConfig
from testsupport.crd_rules import cel_failures, schema_errors
from testsupport.kube_client import ApiUser, mc_path
from testsupport.operator_runner import OperatorRun, eventually
from testsupport.operator_samples import claim, collection, db_secret
from testsupport.secrets import assert_no_secret

NS = 'default'
IMAGE = 'registry.example/worker:1'
CRD = Path(__file__).resolve().parents[2] / 'deploy' / 'crds' / 'metricscollections.metrics.aap.dev.yaml'
POD_ENV = [{'name': 'HOME', 'value': '/tmp'}, {'name': 'TMPDIR', 'value': '/tmp'}]
MONTH_USAGE = {'name': 'METRICS_UTILITY_MONTH_USAGE', 'value': 'true'}
DB_CREDENTIALS = [
    {'name': 'METRICS_UTILITY_DB_USER', 'valueFrom': {'secretKeyRef': {'name': 'db-reader', 'key': 'username'}}},
    {'name': 'METRICS_UTILITY_DB_PASSWORD', 'valueFrom': {'secretKeyRef': {'name': 'db-reader', 'key': 'password'}}},
]
TMP = ({'name': 'tmp', 'emptyDir': {}}, {'name': 'tmp', 'mountPath': '/tmp'})
DATA = (
    {'name': 'data', 'persistentVolumeClaim': {'claimName': 'metrics-data'}},
    {'name': 'data', 'mountPath': '/var/lib/metrics-utility/data'},
)
PROXY = {'httpsProxy': 'http://proxy.corp:3128', 'httpProxy': 'http://proxy.corp:3128', 'noProxy': '.svc,10.0.0.0/8'}
PROXY_ENV = [
    {'name': 'HTTPS_PROXY', 'value': 'http://proxy.corp:3128'},
    {'name': 'HTTP_PROXY', 'value': 'http://proxy.corp:3128'},
    {'name': 'NO_PROXY', 'value': '.svc,10.0.0.0/8'},
]
PROXY_PASSWORD = 'Cl4ster-pr0xy-pass-do-not-leak'


def raw_spec(**fields: Any) -> dict[str, Any]:
    return collection(**fields)['spec']


def pod(kind: names.JobKind, raw: dict[str, Any], operator: dict[str, str] | None = None) -> dict[str, Any]:
    full = dict(network.resolved(spec.validate('mc', raw), operator or {}))
    return render.cronjob('mc', NS, kind, full, IMAGE)['spec']['jobTemplate']['spec']['template']['spec']


def data_path(raw: dict[str, Any]) -> str:
    return spec.validate('mc', raw)['storage']['directory']['path']


@pytest.mark.unit
def test_spec_proxy_and_a_named_trusted_ca_reach_every_pod_exactly():
    raw = raw_spec(proxy=PROXY, trustedCA={'configMapName': 'corp-ca', 'key': 'bundle.pem'})
    volume = {'name': 'ca-trusted', 'configMap': {'name': 'corp-ca'}}
    mount = {'name': 'ca-trusted', 'mountPath': '/etc/metrics-utility/ca/trusted', 'readOnly': True}
    data = ({**DATA[0]}, {**DATA[1], 'mountPath': data_path(raw)})
    for kind, kind_env in (('gather', [MONTH_USAGE]), ('report', [])):
        worker_pod = pod(kind, raw)
        (container,) = worker_pod['containers']
        assert container['env'] == [*POD_ENV, *kind_env, *DB_CREDENTIALS, *PROXY_ENV]
        assert worker_pod['volumes'] == [TMP[0], data[0], volume]
        assert container['volumeMounts'] == [TMP[1], data[1], mount]
    settings = render.configmap('mc', NS, spec.validate('mc', raw))['data']
    assert settings['METRICS_UTILITY_CA_BUNDLE'] == '/etc/metrics-utility/ca/trusted/bundle.pem'
    assert spec.configmap_refs(spec.validate('mc', raw)) == [('spec.trustedCA.configMapName', 'corp-ca')]


@pytest.mark.unit
def test_without_proxy_or_trusted_ca_nothing_is_rendered():
    full = spec.validate('mc', raw_spec())
    assert 'METRICS_UTILITY_CA_BUNDLE' not in render.configmap('mc', NS, full)['data']
    (container,) = pod('gather', raw_spec())['containers']
    assert not {'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'} & {e['name'] for e in container['env']}
    assert [o['kind'] for o in render.desired('mc', NS, full, IMAGE)] == ['ConfigMap', 'CronJob', 'CronJob']


@pytest.mark.unit
def test_inject_creates_the_labelled_configmap_without_data_and_mounts_its_bundle():
    full = spec.validate('mc', raw_spec(trustedCA={'inject': True}))
    objects = render.desired('mc', NS, full, IMAGE)
    trusted = next(o for o in objects if o['metadata']['name'] == 'mc-trusted-ca')
    assert trusted['kind'] == 'ConfigMap' and 'data' not in trusted
    assert trusted['metadata']['labels'] == {
        **names.labels('mc'),
        'config.openshift.io/inject-trusted-cabundle': 'true',
    }
    assert pod('gather', raw_spec(trustedCA={'inject': True}))['volumes'][-1] == {
        'name': 'ca-trusted',
        'configMap': {'name': 'mc-trusted-ca'},
    }
    settings = render.configmap('mc', NS, full)['data']
    assert settings['METRICS_UTILITY_CA_BUNDLE'] == '/etc/metrics-utility/ca/trusted/ca-bundle.crt'
    assert spec.configmap_refs(full) == [], 'the operator creates it: nothing to wait for'


@pytest.mark.unit
def test_from_operator_passes_the_operators_proxy_and_the_spec_fields_win():
    operator = OperatorConfig.from_env(
        {'HTTPS_PROXY': 'http://cluster-proxy:3128', 'http_proxy': 'http://cluster-proxy:80', 'NO_PROXY': '.cluster'}
    ).proxy
    assert operator == {
        'HTTPS_PROXY': 'http://cluster-proxy:3128',
        'HTTP_PROXY': 'http://cluster-proxy:80',
        'NO_PROXY': '.cluster',
    }
    (container,) = pod('gather', raw_spec(proxy={'fromOperator': True, 'noProxy': '.svc'}), operator)['containers']
    assert container['env'][-3:] == [
        {'name': 'HTTPS_PROXY', 'value': 'http://cluster-proxy:3128'},
        {'name': 'HTTP_PROXY', 'value': 'http://cluster-proxy:80'},
        {'name': 'NO_PROXY', 'value': '.svc'},
    ]
    (alone,) = pod('gather', raw_spec(proxy={'fromOperator': True}), {})['containers']
    assert not {'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'} & {e['name'] for e in alone['env']}


@pytest.mark.unit
def test_the_operator_config_reads_its_own_proxy_variables():
    config = OperatorConfig.from_env({'https_proxy': 'http://p:3128', 'NO_PROXY': '.svc', 'POD_NAMESPACE': 'x'})
    assert config.proxy == {'HTTPS_PROXY': 'http://p:3128', 'NO_PROXY': '.svc'}


EXPECTED_PROXY = 'expected http://host:port (the value is not shown: it may hold a password)'
# case → (spec, CRD errors, operator error): the operator checks what the CRD cannot (NUL, port range, spec.env).
HOSTILE: dict[str, tuple[dict[str, Any], list[str], str | None]] = {
    'proxy with credentials': (
        raw_spec(proxy={'httpsProxy': f'http://metrics:{PROXY_PASSWORD}@proxy:3128'}),
        [
            '.spec.proxy.httpsProxy: must not hold user:password@ (it would reach the CronJobs in clear): pass a URL '
            'with a password from a Secret with env valueFrom.secretKeyRef'
        ],
        'spec.proxy.httpsProxy: must not hold user:password@ (it would reach the CronJobs in clear): put the URL in '
        'a Secret and pass HTTPS_PROXY with spec.env valueFrom.secretKeyRef',
    ),
    'proxy socks scheme': (
        raw_spec(proxy={'httpProxy': 'socks5://proxy:1080'}),
        ['.spec.proxy.httpProxy: must be http://host:port or https://host:port (no path)'],
        f"spec.proxy.httpProxy: scheme 'socks5' is not supported (http or https); {EXPECTED_PROXY}",
    ),
    'proxy with a space': (
        raw_spec(proxy={'httpsProxy': 'http://proxy .corp:3128'}),
        ['.spec.proxy.httpsProxy: must be http://host:port or https://host:port (no path)'],
        f'spec.proxy.httpsProxy: holds a space or control character; {EXPECTED_PROXY}',
    ),
    'proxy with a NUL': (
        raw_spec(proxy={'httpsProxy': 'http://proxy\x00:3128'}),
        [],
        f'spec.proxy.httpsProxy: holds a space or control character; {EXPECTED_PROXY}',
    ),
    'proxy port out of range': (
        raw_spec(proxy={'httpsProxy': 'http://proxy:99999'}),
        [],
        f'spec.proxy.httpsProxy: the port is not a number from 1 to 65535; {EXPECTED_PROXY}',
    ),
    'proxy empty object': (
        raw_spec(proxy={}),
        ['.spec.proxy: set httpsProxy, httpProxy, noProxy or fromOperator true'],
        'spec.proxy: set httpsProxy, httpProxy, noProxy or fromOperator true',
    ),
    'noProxy with a newline': (
        raw_spec(proxy={'noProxy': '.svc\n.corp'}),
        ["spec.proxy.noProxy: '.svc\\n.corp' does not match '^[^\\\\x00-\\\\x1f\\\\x7f]*\\\\Z'"],
        'spec.proxy.noProxy: must be host names, domains (.svc) and addresses separated by commas',
    ),
    'fromOperator not a boolean': (
        raw_spec(proxy={'fromOperator': 'yes'}),
        ["spec.proxy.fromOperator: 'yes' is not of type 'boolean'"],
        'spec.proxy.fromOperator: must be true or false',
    ),
    'proxy and the same variable in env': (
        raw_spec(proxy=PROXY, env=[{'name': 'HTTPS_PROXY', 'valueFrom': {'secretKeyRef': {'name': 'p', 'key': 'u'}}}]),
        [],
        'spec.env: HTTPS_PROXY is set by spec.proxy; set it in one place',
    ),
    'trustedCA both ways': (
        raw_spec(trustedCA={'configMapName': 'corp-ca', 'inject': True}),
        ['.spec.trustedCA: set either configMapName or inject true'],
        'spec.trustedCA: must set either configMapName (with key) or inject: true',
    ),
    'trustedCA neither way': (
        raw_spec(trustedCA={'key': 'ca.crt'}),
        ['.spec.trustedCA: set either configMapName or inject true'],
        'spec.trustedCA: must set either configMapName (with key) or inject: true',
    ),
    'trustedCA inject with another key': (
        raw_spec(trustedCA={'inject': True, 'key': 'ca.crt'}),
        ['.spec.trustedCA: with inject, key must be ca-bundle.crt (the key OpenShift writes)'],
        'spec.trustedCA.key: must be ca-bundle.crt (or unset) with inject: OpenShift writes that key',
    ),
    'trustedCA uppercase name': (
        raw_spec(trustedCA={'configMapName': 'Corp-CA'}),
        [
            "spec.trustedCA.configMapName: 'Corp-CA' does not match "
            "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\\\Z'"
        ],
        'spec.trustedCA.configMapName: must name a ConfigMap in this namespace (a lowercase DNS subdomain)',
    ),
    'trustedCA key with a slash': (
        raw_spec(trustedCA={'configMapName': 'corp-ca', 'key': '../ca.crt'}),
        ["spec.trustedCA.key: '../ca.crt' does not match '^[-._a-zA-Z0-9]+\\\\Z'"],
        "spec.trustedCA.key: must be a key of the ConfigMap (letters, digits, '-', '_', '.')",
    ),
    'env proxy value with a tab': (
        raw_spec(env=[{'name': 'https_proxy', 'value': 'http://proxy\t:3128'}]),
        ['.spec.env[0]: a proxy URL must hold no space or control character'],
        f'spec.env[0].value: holds a space or control character; {EXPECTED_PROXY}',
    ),
    'env proxy value with a path': (
        raw_spec(env=[{'name': 'HTTP_PROXY', 'value': 'http://proxy:3128/proxy.pac'}]),
        ['.spec.env[0]: a proxy URL is scheme, host and port only (no path)'],
        f'spec.env[0].value: is not a proxy address (only scheme, host and port); {EXPECTED_PROXY}',
    ),
    'the same variable in env with fromOperator (the operator has it)': (
        raw_spec(proxy={'fromOperator': True}, env=[{'name': 'NO_PROXY', 'value': '.svc'}]),
        [],
        None,  # the operator's own variables are known at reconcile: see the emulator test below
    ),
    # Accepted.
    'noProxy beside a passworded HTTPS_PROXY from a Secret': (
        raw_spec(
            proxy={'noProxy': '.svc'},
            env=[{'name': 'HTTPS_PROXY', 'valueFrom': {'secretKeyRef': {'name': 'p', 'key': 'u'}}}],
        ),
        [],
        None,
    ),
    'env proxy value with credentials (a secretKeyRef is better)': (
        raw_spec(env=[{'name': 'HTTPS_PROXY', 'value': 'http://u:p@proxy:3128'}]),
        [],
        None,
    ),
    'proxy without a scheme': (raw_spec(proxy={'httpsProxy': 'proxy.corp:3128'}), [], None),
    'proxy on IPv6': (raw_spec(proxy={'httpsProxy': 'http://[fd00::1]:3128'}), [], None),
    'trustedCA inject': (raw_spec(trustedCA={'inject': True}), [], None),
}


def crd_outcome(raw: dict[str, Any]) -> list[str]:
    root = yaml.safe_load(CRD.read_text())['spec']['versions'][0]['schema']['openAPIV3Schema']
    obj = {
        'apiVersion': names.API_VERSION,
        'kind': names.KIND,
        'metadata': {'name': 'mc'},
        'spec': spec.with_defaults(raw),
    }
    return schema_errors(root, obj) + cel_failures(root, obj)


@pytest.mark.unit
@pytest.mark.hostile
@pytest.mark.parametrize('case', HOSTILE, ids=list(HOSTILE))
def test_hostile_network_specs_have_exact_crd_and_operator_outcomes(case):
    raw, crd_expected, operator_expected = HOSTILE[case]
    try:
        spec.validate('mc', raw)
    except spec.SpecError as exc:
        assert str(exc) == operator_expected
    else:
        assert operator_expected is None
    assert crd_outcome(raw) == crd_expected
    assert_no_secret([*crd_expected, operator_expected or ''], PROXY_PASSWORD)


# -- the operator against the strict API emulator --------------------------------------------------------------------

CLUSTER_PROXY = {'HTTPS_PROXY': 'http://cluster-proxy.corp:3128', 'NO_PROXY': '.cluster.local,.svc,172.30.0.0/16'}


@pytest.fixture
def operator_config(operator_config: OperatorConfig) -> OperatorConfig:
    """The operator as OLM runs it behind the cluster-wide proxy: HTTPS_PROXY/NO_PROXY injected into its pod."""
    return dataclasses.replace(operator_config, proxy=OperatorConfig.from_env(CLUSTER_PROXY).proxy)


def ready(kube_api, status: str, reason: str):
    def check():
        obj = kube_api.get_object('metricscollections', NS, 'controller')
        found = {c['type']: c for c in ((obj or {}).get('status') or {}).get('conditions', [])}.get('Ready', {})
        return obj if (found.get('status'), found.get('reason')) == (status, reason) else None

    return check


@pytest.mark.integration
async def test_the_cluster_proxy_and_the_injected_ca_reach_the_cronjobs(kube_api, operator, operator_config):
    user = ApiUser(str(kube_api.url))
    await user.create('persistentvolumeclaims', claim())
    await user.create('secrets', db_secret())
    body = collection(proxy={'fromOperator': True, 'noProxy': '.svc,controller-postgres'}, trustedCA={'inject': True})
    await user.create('metricscollections', body)
    await eventually(ready(kube_api, 'True', 'Reconciled'), what='Ready=True')

    trusted = kube_api.get_object('configmaps', NS, 'controller-trusted-ca')
    assert trusted['metadata']['labels']['config.openshift.io/inject-trusted-cabundle'] == 'true'
    assert 'data' not in trusted or not trusted['data']
    for kind in ('gather', 'report'):
        template = kube_api.get_object('cronjobs', NS, f'controller-{kind}')['spec']['jobTemplate']['spec']['template']
        (container,) = template['spec']['containers']
        assert container['env'] == [
            *POD_ENV,
            *([MONTH_USAGE] if kind == 'gather' else []),
            *DB_CREDENTIALS,
            {'name': 'HTTPS_PROXY', 'value': 'http://cluster-proxy.corp:3128'},
            {'name': 'NO_PROXY', 'value': '.svc,controller-postgres'},
        ]
        data = {**DATA[1], 'mountPath': data_path(body['spec'])}
        assert template['spec']['volumes'] == [
            TMP[0],
            DATA[0],
            {'name': 'ca-trusted', 'configMap': {'name': 'controller-trusted-ca'}},
        ]
        assert container['volumeMounts'] == [
            TMP[1],
            data,
            {'name': 'ca-trusted', 'mountPath': '/etc/metrics-utility/ca/trusted', 'readOnly': True},
        ]
    settings = kube_api.get_object('configmaps', NS, 'controller-settings')['data']
    assert settings['METRICS_UTILITY_CA_BUNDLE'] == '/etc/metrics-utility/ca/trusted/ca-bundle.crt'

    # OpenShift injects the bundle; a later reconcile (a spec change) must keep it.
    injected = {'ca-bundle.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'}
    await user.merge_patch(f'/api/v1/namespaces/{NS}/configmaps/controller-trusted-ca', {'data': injected})
    await user.merge_patch(mc_path('controller'), {'spec': {'suspend': True}})
    await eventually(
        lambda: kube_api.get_object('cronjobs', NS, 'controller-gather')['spec']['suspend'] is True, what='suspended'
    )
    assert kube_api.get_object('configmaps', NS, 'controller-trusted-ca')['data'] == injected


@pytest.mark.integration
async def test_a_cluster_proxy_with_a_password_is_refused_and_never_copied(kube_api, operator_config, caplog):
    with_password = {'HTTPS_PROXY': f'http://metrics:{PROXY_PASSWORD}@cluster-proxy.corp:3128'}
    config = dataclasses.replace(operator_config, proxy=OperatorConfig.from_env(with_password).proxy)
    run = OperatorRun(kube_api.url, config, namespaces=(NS,))
    await run.start()
    try:
        user = ApiUser(str(kube_api.url))
        await user.create('persistentvolumeclaims', claim())
        await user.create('secrets', db_secret())
        await user.create('metricscollections', collection(proxy={'fromOperator': True}))
        mc = await eventually(ready(kube_api, 'False', 'InvalidSpec'), what='InvalidSpec')
    finally:
        await run.stop()
    (condition,) = [c for c in mc['status']['conditions'] if c['type'] == 'Ready']
    assert network.problem(
        spec.validate('mc', raw_spec(proxy={'fromOperator': True})), {'HTTPS_PROXY': 'socks5://p:1'}
    ) == (
        'spec.proxy.fromOperator',
        f"the operator's HTTPS_PROXY: scheme 'socks5' is not supported (http or https); {EXPECTED_PROXY}",
    )
    assert network.problem(
        spec.validate('mc', raw_spec(proxy={'fromOperator': True}, env=[{'name': 'NO_PROXY', 'value': '.svc'}])),
        {'NO_PROXY': '.cluster'},
    ) == ('spec.env', 'NO_PROXY is set by spec.proxy; set it in one place')
    assert condition['message'] == (
        "spec.proxy.fromOperator: the operator's HTTPS_PROXY holds user:password@, which would reach the CronJobs in "
        'clear: set HTTPS_PROXY from a Secret with spec.env valueFrom.secretKeyRef instead'
    )
    assert kube_api.stored('cronjobs', NS) == []
    stored = [json.dumps(o.last.raw) for (r, _, _), o in kube_api.objects.items() if r.plural != 'secrets']
    assert_no_secret([*stored, caplog.text], PROXY_PASSWORD)


BYPASS_CASES = [  # id, url, noProxy, whether the operator's own calls (Candlepin) skip spec.proxy for it
    ('no-list', 'https://subscription.rhsm.redhat.com/subscription', None, False),
    ('empty-list', 'https://subscription.rhsm.redhat.com/subscription', '', False),
    ('everything', 'https://subscription.rhsm.redhat.com/subscription', '*', True),
    ('exact-name', 'https://candlepin.corp.example/candlepin', 'candlepin.corp.example', True),
    ('name-case', 'https://Candlepin.Corp.Example/candlepin', 'candlepin.corp.EXAMPLE', True),
    ('domain-with-dot', 'https://candlepin.corp.example/candlepin', '.corp.example', True),
    ('domain-without-dot', 'https://candlepin.corp.example/candlepin', 'corp.example', True),
    ('svc-suffix', 'https://candlepin.ns.svc:8443/candlepin', '.svc', True),
    ('name-with-port', 'https://candlepin.corp.example:8443/x', 'candlepin.corp.example:8443', True),
    ('other-port', 'https://candlepin.corp.example:8443/x', 'candlepin.corp.example:9443', False),
    ('suffix-not-at-a-dot', 'https://badcorp.example/x', 'corp.example', False),
    ('a-longer-name-only', 'https://corp.example/x', 'candlepin.corp.example', False),
    ('among-others-with-spaces', 'https://candlepin.corp.example/x', 'localhost, .svc ,candlepin.corp.example', True),
    ('empty-entries', 'https://candlepin.corp.example/x', ',,', False),
    ('address', 'https://10.1.2.3/candlepin', '10.1.2.3', True),
    ('cidr-holding-it', 'https://10.1.2.3/candlepin', '10.0.0.0/8', True),
    ('cidr-not-holding-it', 'https://10.1.2.3/candlepin', '192.168.0.0/16', False),
    ('ipv6-cidr', 'https://[fd00::5]:8443/candlepin', 'fd00::/8', True),
    ('bad-cidr-ignored', 'https://10.1.2.3/candlepin', '10.0.0.0/99,other', False),
    ('userinfo-not-the-host', 'https://corp.example@evil.example/x', 'corp.example', False),
    ('no-host', 'file:///etc/passwd', '*', False),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('url', 'no_proxy', 'bypass'), [c[1:] for c in BYPASS_CASES], ids=[c[0] for c in BYPASS_CASES])
def test_no_proxy_exempts_exactly_the_hosts_it_names(url, no_proxy, bypass):
    assert network.bypasses_proxy(url, no_proxy) is bypass
