"""`spec.controller`, `spec.envFrom`, `spec.env` (metrics_operator.dropin): an AAP install's own configuration reused.

Rendering is checked as exact pod specs; hostile specs as the exact CRD (schema + CEL) and operator outcomes; the
operator itself against the strict API emulator: the controller's Secret is referenced, never read or copied.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import yaml

from metrics_operator import dropin, names, render, spec
from metrics_utility import contract
from metrics_utility.cli import main
from testsupport.crd_rules import cel_failures, schema_errors
from testsupport.kube_client import ApiUser, mc_path
from testsupport.operator_runner import eventually
from testsupport.operator_samples import DB_PASSWORD, claim, collection, db_secret
from testsupport.pod_in_worker import ContainerConfigError, pod_of
from testsupport.secrets import assert_no_secret

NS = 'default'
IMAGE = 'registry.example/worker:1'
UPSTREAM_CLAIM = 'automationcontroller-metrics-utility'
UPSTREAM_CONFIGMAP = 'automationcontroller-metrics-utility-configmap'
UPSTREAM_SECRET = 'metrics-utility-secret'
STORAGE = {'type': 'directory', 'directory': {'claimName': UPSTREAM_CLAIM, 'path': '/metrics-utility'}}
# The AAP operator's Secret for AutomationController `aap`: distinctive values, so a scan finds any copy.
AAP_HOST = 'pg15-q7x2v9.internal'
AAP_USER = 'owner-k3v8z4w1'
AAP_PASSWORD = 'Aap-0wner-p4ss/+=&%-do-not-leak'


def dropin_spec(**fields: Any) -> dict[str, Any]:
    return {'controller': {'name': 'aap'}, 'storage': STORAGE, **fields}


def worker(kind: names.JobKind, raw: dict[str, Any]) -> dict[str, Any]:
    full = spec.validate('controller', raw)
    return render.cronjob('controller', NS, kind, full, IMAGE)['spec']['jobTemplate']['spec']['template']['spec'][
        'containers'
    ][0]


def secret_ref(var: str, key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {'name': 'aap-postgres-configuration', 'key': key} | ({'optional': True} if optional else {})
    return {'name': f'METRICS_UTILITY_{var}', 'valueFrom': {'secretKeyRef': ref}}


FROM_SECRET = [
    secret_ref('DB_HOST', 'host'),
    secret_ref('DB_PORT', 'port'),
    secret_ref('DB_NAME', 'database'),
    secret_ref('DB_SSLMODE', 'sslmode', optional=True),
    secret_ref('DB_USER', 'username'),
    secret_ref('DB_PASSWORD', 'password'),
]
POD_ENV = [{'name': 'HOME', 'value': '/tmp'}, {'name': 'TMPDIR', 'value': '/tmp'}]
MONTH_USAGE = {'name': 'METRICS_UTILITY_MONTH_USAGE', 'value': 'true'}


# -- rendering ------------------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_the_controller_reference_renders_secret_key_refs_and_nothing_in_the_configmap():
    raw = dropin_spec()
    assert worker('gather', raw)['env'] == [*POD_ENV, MONTH_USAGE, *FROM_SECRET]
    assert worker('report', raw)['env'] == [*POD_ENV, *FROM_SECRET]
    data = render.configmap('controller', NS, spec.validate('controller', raw))['data']
    assert not {key for key in data if key.startswith('METRICS_UTILITY_DB_')}
    assert spec.secret_refs(spec.validate('controller', raw)) == [
        ('spec.controller.name', 'aap-postgres-configuration')
    ]


OVERRIDES = {
    'host': ({'host': 'pg.example'}, 'DB_HOST', 'pg.example'),
    'port': ({'port': 6432}, 'DB_PORT', '6432'),
    'name': ({'name': 'tower'}, 'DB_NAME', 'tower'),
    'sslMode': ({'sslMode': 'verify-full'}, 'DB_SSLMODE', 'verify-full'),
}


@pytest.mark.unit
@pytest.mark.parametrize('field', OVERRIDES, ids=list(OVERRIDES))
def test_an_explicit_database_field_overrides_only_its_own_reference(field):
    given, var, value = OVERRIDES[field]
    full = spec.validate('controller', dropin_spec(database=given))
    db_vars = {k: v for k, v in render.settings(full).items() if k.startswith('METRICS_UTILITY_DB_')}
    assert db_vars == {f'METRICS_UTILITY_{var}': value}
    assert worker('gather', dropin_spec(database=given))['env'] == [
        *POD_ENV,
        MONTH_USAGE,
        *[e for e in FROM_SECRET if e['name'] != f'METRICS_UTILITY_{var}'],
    ]


@pytest.mark.unit
def test_a_select_only_role_replaces_the_owner_credentials_and_everything_given_drops_the_reference():
    reader = {'credentialsSecret': {'name': 'metrics-reader'}}
    env = worker('gather', dropin_spec(database=reader))['env']
    assert env == [
        *POD_ENV,
        MONTH_USAGE,
        *FROM_SECRET[:4],
        {
            'name': 'METRICS_UTILITY_DB_USER',
            'valueFrom': {'secretKeyRef': {'name': 'metrics-reader', 'key': 'username'}},
        },
        {
            'name': 'METRICS_UTILITY_DB_PASSWORD',
            'valueFrom': {'secretKeyRef': {'name': 'metrics-reader', 'key': 'password'}},
        },
    ]
    everything = {'host': 'h', 'port': 5432, 'name': 'awx', 'sslMode': 'require', **reader}
    full = spec.validate('controller', dropin_spec(database=everything))
    assert spec.secret_refs(full) == [('spec.database.credentialsSecret.name', 'metrics-reader')]
    assert all(
        'aap-postgres-configuration' not in json.dumps(e)
        for e in worker('gather', dropin_spec(database=everything))['env']
    )


@pytest.mark.unit
def test_without_a_controller_the_database_defaults_still_apply():
    full = spec.validate('controller', collection()['spec'])
    assert full['database'] == {
        'host': 'controller-postgres',
        'port': 5432,
        'name': 'awx',
        'sslMode': 'prefer',
        'credentialsSecret': {'name': 'db-reader', 'usernameKey': 'username', 'passwordKey': 'password'},
    }
    assert spec.validate('controller', dropin_spec())['database'] == {}


ENV_FROM = [{'configMapRef': {'name': UPSTREAM_CONFIGMAP}}, {'secretRef': {'name': UPSTREAM_SECRET, 'optional': True}}]
ENV = [
    {'name': 'HTTPS_PROXY', 'value': 'http://proxy.example:3128'},
    {'name': 'SITE_TOKEN', 'valueFrom': {'secretKeyRef': {'name': 'site', 'key': 'token', 'optional': True}}},
]


@pytest.mark.unit
def test_env_from_comes_first_so_the_operators_configmap_and_env_win():
    """Kubernetes: of several envFrom sources the last wins, and env wins over envFrom."""
    container = worker('gather', dropin_spec(envFrom=ENV_FROM, env=ENV))
    assert container['envFrom'] == [*ENV_FROM, {'configMapRef': {'name': 'controller-settings'}}]
    assert container['env'] == [*POD_ENV, MONTH_USAGE, *FROM_SECRET, *ENV]
    assert worker('report', dropin_spec(envFrom=ENV_FROM, env=ENV))['env'] == [*POD_ENV, *FROM_SECRET, *ENV]
    full = spec.validate('controller', dropin_spec(envFrom=ENV_FROM, env=ENV))
    job = render.backfill_job(
        'controller', NS, {**full, 'backfill': {'since': '2024-01-01', 'until': '2024-01-02'}}, IMAGE
    )
    assert job['spec']['template']['spec']['containers'][0]['envFrom'] == container['envFrom']


UNKNOWN_FIELDS = {
    'envFrom prefix': (
        {'envFrom': [{'configMapRef': {'name': 'cm'}, 'prefix': 'X_'}]},
        'envFrom',
        [{'configMapRef': {'name': 'cm'}}, {'configMapRef': {'name': 'controller-settings'}}],
    ),
    'envFrom reference extra field': (
        {'envFrom': [{'secretRef': {'name': 's', 'optional': False, 'namespace': 'kube-system'}}]},
        'envFrom',
        [{'secretRef': {'name': 's', 'optional': False}}, {'configMapRef': {'name': 'controller-settings'}}],
    ),
    'env extra field': (
        {'env': [{'name': 'A', 'value': 'v', 'valueFromFile': '/etc/shadow'}]},
        'env',
        [*POD_ENV, MONTH_USAGE, *FROM_SECRET, {'name': 'A', 'value': 'v'}],
    ),
    'env reference extra field': (
        {'env': [{'name': 'A', 'valueFrom': {'secretKeyRef': {'name': 's', 'key': 'k', 'namespace': 'other'}}}]},
        'env',
        [*POD_ENV, MONTH_USAGE, *FROM_SECRET, {'name': 'A', 'valueFrom': {'secretKeyRef': {'name': 's', 'key': 'k'}}}],
    ),
}


@pytest.mark.unit
@pytest.mark.hostile
@pytest.mark.parametrize('case', UNKNOWN_FIELDS, ids=list(UNKNOWN_FIELDS))
def test_fields_the_crd_does_not_know_never_reach_the_pod(case):
    """The API server prunes them; without it (an emulator, an older CRD) the operator renders known fields only."""
    given, part, expected = UNKNOWN_FIELDS[case]
    assert worker('gather', dropin_spec(**given))[part] == expected


@pytest.mark.unit
def test_spec_collectors_beat_an_upstream_configmap_that_turns_job_host_summary_off():
    with_source = spec.validate('controller', dropin_spec(envFrom=ENV_FROM))
    assert render.settings(with_source)['METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR'] == 'false'
    without = spec.validate('controller', dropin_spec())
    assert 'METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR' not in render.settings(without)
    off = spec.validate('controller', dropin_spec(envFrom=ENV_FROM, collectors=['main_jobevent']))
    assert render.settings(off)['METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR'] == 'true'


@pytest.mark.unit
def test_required_references_are_checked_and_optional_ones_are_not():
    env = [*ENV, {'name': 'TZ', 'valueFrom': {'configMapKeyRef': {'name': 'site-cm', 'key': 'tz'}}}]
    full = spec.validate('controller', dropin_spec(envFrom=ENV_FROM, env=env))
    assert spec.secret_refs(full) == [('spec.controller.name', 'aap-postgres-configuration')]
    assert spec.configmap_refs(full) == [
        ('spec.envFrom[0].configMapRef.name', UPSTREAM_CONFIGMAP),
        ('spec.env[2].valueFrom.configMapKeyRef.name', 'site-cm'),
    ]


@pytest.mark.unit
def test_the_crd_refuses_every_name_the_operator_renders():
    """scripts/render-deploy.py writes the list; this fails when it was not run after the contract changed."""
    crd = yaml.safe_load(spec_crd_path().read_text())
    env = crd['spec']['versions'][0]['schema']['openAPIV3Schema']['properties']['spec']['properties']['env']
    (rule,) = [r['rule'] for r in env['items']['x-kubernetes-validations'] if 'self.name in' in r['rule']]
    listed = rule.split('[', 1)[1].rsplit(']', 1)[0]
    assert [name.strip().strip("'") for name in listed.split(',')] == list(dropin.RESERVED_ENV)
    assert {contract.PREFIX + v for v in contract.RENDERED_VARIABLES} < set(dropin.RESERVED_ENV)


def spec_crd_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / 'deploy' / 'crds' / 'metricscollections.metrics.aap.dev.yaml'


# -- the rendered pods in the worker, on real PostgreSQL -----------------------------------------------------------

# The built-in CronJobs' ConfigMap as the AAP docs have admins write it.
UPSTREAM_CONFIGMAP_DATA = {
    'METRICS_UTILITY_SHIP_TARGET': 'directory',
    'METRICS_UTILITY_SHIP_PATH': '/metrics-utility',
    'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_host,main_jobevent',
    'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
    'METRICS_UTILITY_PRICE_PER_NODE': '11.55',
    'METRICS_UTILITY_REPORT_SKU': 'MCT3752MO',
    'METRICS_UTILITY_REPORT_SKU_DESCRIPTION': 'EX: Red Hat Ansible Automation Platform, Full Support (1 Managed Node)',
    'METRICS_UTILITY_REPORT_H1_HEADING': 'CCSP Reporting <Company>: ANSIBLE Consumption',
    'METRICS_UTILITY_REPORT_COMPANY_NAME': 'Partner A',
    'METRICS_UTILITY_REPORT_EMAIL': 'email@email.com',
    'METRICS_UTILITY_REPORT_RHN_LOGIN': 'test_login',
    'METRICS_UTILITY_REPORT_COMPANY_BUSINESS_LEADER': 'BUSINESS LEADER',
    'METRICS_UTILITY_REPORT_COMPANY_PROCUREMENT_LEADER': 'PROCUREMENT LEADER',
}


def aap_secret_data(db) -> dict[str, str]:
    """The AAP operator's Secret for `db`, with the owner's login and without the optional sslmode key."""
    return {
        'host': '127.0.0.1',
        'port': str(db.cluster.port),
        'database': db.dbname,
        'username': db.owner,
        'password': db.owner_password,
        'type': 'unmanaged',
    }


def run_in_worker(monkeypatch, pod, tmp_path, *args: str) -> int:
    """`metrics-utility` with the pod's environment and arguments (an explicit window; the summary under tmp)."""
    for key in [k for k in os.environ if k.startswith('METRICS_UTILITY_')]:
        monkeypatch.delenv(key)
    for key, value in pod.env.items():
        monkeypatch.setenv(key, value)
    argv = [a for a in pod.argv if not a.startswith(('--until=', '--summary-file='))]
    return main([*argv, *args, f'--summary-file={tmp_path / "summary.json"}'])


@pytest.mark.integration
def test_the_drop_in_pods_gather_and_report_with_the_controllers_secret_and_the_admins_configmap(
    controller_db, tmp_path, monkeypatch
):
    """The gather and report pods of a drop-in collection, their environment built as the kubelet builds it from
    the AAP operator's Secret (owner login, no sslmode key) and the hand-written ConfigMap, run the worker."""
    full = spec.validate('controller', dropin_spec(envFrom=ENV_FROM, collectors=['job_host_summary', 'main_host']))
    configmap, gather, report = render.desired('controller', NS, full, IMAGE)
    objects = {
        ('secret', 'aap-postgres-configuration'): aap_secret_data(controller_db),
        ('configmap', UPSTREAM_CONFIGMAP): UPSTREAM_CONFIGMAP_DATA,
    }  # the optional metrics-utility-secret does not exist
    pod = pod_of(gather, configmap, tmp_path, objects)
    assert 'METRICS_UTILITY_DB_SSLMODE' not in pod.env  # the worker's default (prefer) applies
    assert pod.env['METRICS_UTILITY_DB_USER'] == controller_db.owner
    assert pod.env['METRICS_UTILITY_OPTIONAL_COLLECTORS'] == 'main_host'  # spec.collectors beat the ConfigMap
    assert pod.env['METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR'] == 'false'
    assert pod.env['METRICS_UTILITY_REPORT_COMPANY_NAME'] == 'Partner A'  # unset in the spec: the ConfigMap's
    assert run_in_worker(monkeypatch, pod, tmp_path, '--since=2024-02-27', '--until=2024-03-02') == 0
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['ok'] is True and summary['packages'] > 0
    data = tmp_path / 'metrics-utility' / 'data'
    assert {p.name.rsplit('-', 1)[1] for p in data.rglob('*.tar.gz')} == {'job_host_summary.tar.gz', 'main_host.tar.gz'}

    report_pod = pod_of(report, configmap, tmp_path, objects)
    assert run_in_worker(monkeypatch, report_pod, tmp_path, '--month=2024-02') == 0
    assert (tmp_path / 'metrics-utility' / 'reports' / '2024' / '02' / 'CCSPv2-2024-02.xlsx').is_file()


@pytest.mark.unit
@pytest.mark.hostile
def test_a_controller_secret_without_a_required_key_is_the_kubelets_config_error(tmp_path):
    full = spec.validate('controller', dropin_spec())
    configmap, gather, _ = render.desired('controller', NS, full, IMAGE)
    data = {'host': 'h', 'port': '5432', 'database': 'awx', 'username': 'u'}  # no password
    with pytest.raises(ContainerConfigError) as exc:
        pod_of(gather, configmap, tmp_path, {('secret', 'aap-postgres-configuration'): data})
    assert str(exc.value) == "couldn't find key password in secret 'aap-postgres-configuration'"


# -- hostile specs: exact CRD and operator outcomes -----------------------------------------------------------------

DNS_LABEL = "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\\\Z'"
DNS_SUBDOMAIN = "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\\\Z'"
CONTROLLER_NAME = (
    'spec.controller.name: must name an AutomationController in this namespace '
    '(a lowercase DNS label of at most 63 characters)'
)
ENV_NAME = 'spec.env[0].name: must be a variable name (letters, digits and _, not starting with a digit)'
REQUIRED_UNLESS = 'is required unless controller names the AutomationController whose database Secret to use'
MANY_FROM = [{'configMapRef': {'name': f'cm{i}'}} for i in range(17)]
MANY_ENV = [{'name': f'V{i}', 'value': 'x'} for i in range(65)]
HUGE = 'x' * 32769
HOSTILE: dict[str, tuple[dict[str, Any], list[str], str | None]] = {
    'neither database nor controller': (
        {'storage': STORAGE},
        [f'.spec: database.host {REQUIRED_UNLESS}', f'.spec: database.credentialsSecret {REQUIRED_UNLESS}'],
        'spec.database.host: is required',
    ),
    'controller name uppercase': (
        dropin_spec(controller={'name': 'AAP'}),
        [f"spec.controller.name: 'AAP' does not match {DNS_LABEL}"],
        CONTROLLER_NAME,
    ),
    'controller name with a dot': (
        dropin_spec(controller={'name': 'aap.prod'}),
        [f"spec.controller.name: 'aap.prod' does not match {DNS_LABEL}"],
        CONTROLLER_NAME,
    ),
    'controller name 64 characters': (
        dropin_spec(controller={'name': 'a' * 64}),
        [f"spec.controller.name: '{'a' * 64}' is too long"],
        CONTROLLER_NAME,
    ),
    'controller name empty': (
        dropin_spec(controller={'name': ''}),
        ["spec.controller.name: '' should be non-empty", f"spec.controller.name: '' does not match {DNS_LABEL}"],
        CONTROLLER_NAME,
    ),
    'controller name trailing newline': (
        dropin_spec(controller={'name': 'aap\n'}),
        [f"spec.controller.name: 'aap\\n' does not match {DNS_LABEL}"],
        CONTROLLER_NAME,
    ),
    'controller without name': (
        dropin_spec(controller={}),
        ["spec.controller: 'name' is a required property"],
        CONTROLLER_NAME,
    ),
    'override host empty': (
        dropin_spec(database={'host': ''}),
        [
            "spec.database.host: '' should be non-empty",
            "spec.database.host: '' does not match '^(/\\\\S*|[^\\\\s./]{1,63}(\\\\.[^\\\\s./]{1,63})*\\\\.?)\\\\Z'",
        ],
        'spec.database.host: must not be empty',
    ),
    'override port 0': (
        dropin_spec(database={'port': 0}),
        ['spec.database.port: 0 is less than the minimum of 1'],
        'spec.database.port: must be an integer 1..65535',
    ),
    'override sslMode unknown': (
        dropin_spec(database={'sslMode': 'on'}),
        [
            "spec.database.sslMode: 'on' is not one of "
            "['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']"
        ],
        "spec.database.sslMode: must be one of ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')",
    ),
    'override credentials without a name': (
        dropin_spec(database={'credentialsSecret': {'name': ''}}),
        ['.spec.database.credentialsSecret: credentialsSecret.name must not be empty'],
        'spec.database.credentialsSecret.name: is required (name of a Secret in the same namespace)',
    ),
    'envFrom both kinds': (
        dropin_spec(envFrom=[{'configMapRef': {'name': 'a'}, 'secretRef': {'name': 'b'}}]),
        ['.spec.envFrom[0]: set exactly one of configMapRef and secretRef'],
        'spec.envFrom[0]: set exactly one of configMapRef and secretRef',
    ),
    'envFrom neither kind': (
        dropin_spec(envFrom=[{}]),
        ['.spec.envFrom[0]: set exactly one of configMapRef and secretRef'],
        'spec.envFrom[0]: set exactly one of configMapRef and secretRef',
    ),
    'envFrom the AAP field name instead of the Secret name': (
        dropin_spec(envFrom=[{'secretRef': {'name': 'metrics_utility_secret'}}]),
        [f"spec.envFrom.0.secretRef.name: 'metrics_utility_secret' does not match {DNS_SUBDOMAIN}"],
        'spec.envFrom[0].secretRef.name: must name an object in this namespace (a lowercase DNS subdomain)',
    ),
    'envFrom name with a control character': (
        dropin_spec(envFrom=[{'configMapRef': {'name': 'cm\x07'}}]),
        [f"spec.envFrom.0.configMapRef.name: 'cm\\x07' does not match {DNS_SUBDOMAIN}"],
        'spec.envFrom[0].configMapRef.name: must name an object in this namespace (a lowercase DNS subdomain)',
    ),
    'envFrom 17 sources': (
        dropin_spec(envFrom=MANY_FROM),
        [f'spec.envFrom: {MANY_FROM!r} is too long'],
        'spec.envFrom: must be a list of at most 16 configMapRef/secretRef sources',
    ),
    'envFrom optional as text': (
        dropin_spec(envFrom=[{'configMapRef': {'name': 'cm', 'optional': 'yes'}}]),
        ["spec.envFrom.0.configMapRef.optional: 'yes' is not of type 'boolean'"],
        'spec.envFrom[0].configMapRef.optional: must be true or false',
    ),
    'env 65 variables': (
        dropin_spec(env=MANY_ENV),
        [f'spec.env: {MANY_ENV!r} is too long'],
        'spec.env: must be a list of at most 64 variables (name with value or valueFrom)',
    ),
    'env name starts with a digit': (
        dropin_spec(env=[{'name': '1ABC', 'value': 'x'}]),
        ["spec.env.0.name: '1ABC' does not match '^[A-Za-z_][A-Za-z0-9_]*\\\\Z'"],
        ENV_NAME,
    ),
    'env name with =': (
        dropin_spec(env=[{'name': 'A=B', 'value': 'x'}]),
        ["spec.env.0.name: 'A=B' does not match '^[A-Za-z_][A-Za-z0-9_]*\\\\Z'"],
        ENV_NAME,
    ),
    'env name with a newline': (
        dropin_spec(env=[{'name': 'A\nB', 'value': 'x'}]),
        ["spec.env.0.name: 'A\\nB' does not match '^[A-Za-z_][A-Za-z0-9_]*\\\\Z'"],
        ENV_NAME,
    ),
    'env sets the database password': (
        dropin_spec(env=[{'name': 'METRICS_UTILITY_DB_PASSWORD', 'value': 'x'}]),
        ['.spec.env[0]: is set by the operator; set the matching spec field instead'],
        'spec.env[0].name: METRICS_UTILITY_DB_PASSWORD is set by the operator: set the matching spec field instead',
    ),
    'env sets the ship target': (
        dropin_spec(env=[{'name': 'METRICS_UTILITY_SHIP_TARGET', 'value': 's3'}]),
        ['.spec.env[0]: is set by the operator; set the matching spec field instead'],
        'spec.env[0].name: METRICS_UTILITY_SHIP_TARGET is set by the operator: set the matching spec field instead',
    ),
    'env sets HOME': (
        dropin_spec(env=[{'name': 'HOME', 'value': '/'}]),
        ['.spec.env[0]: is set by the operator; set the matching spec field instead'],
        'spec.env[0].name: HOME is set by the operator: set the matching spec field instead',
    ),
    'env name twice': (
        dropin_spec(env=[{'name': 'A', 'value': '1'}, {'name': 'A', 'value': '2'}]),
        ['.spec.env: each env name must be listed once'],
        'spec.env[1].name: A is listed twice; list each variable once',
    ),
    'env value and valueFrom': (
        dropin_spec(env=[{'name': 'A', 'value': '1', 'valueFrom': {'secretKeyRef': {'name': 's', 'key': 'k'}}}]),
        ['.spec.env[0]: set value or valueFrom, not both'],
        'spec.env[0]: set value or valueFrom, not both',
    ),
    'env value with NUL': (
        dropin_spec(env=[{'name': 'A', 'value': 'a\x00b'}]),
        ["spec.env.0.value: 'a\\x00b' does not match '^[^\\\\x00]*\\\\Z'"],
        'spec.env[0].value: must be text of at most 32768 characters without NUL',
    ),
    'env value over 32 KiB': (
        dropin_spec(env=[{'name': 'A', 'value': HUGE}]),
        [f"spec.env.0.value: '{HUGE}' is too long"],
        'spec.env[0].value: must be text of at most 32768 characters without NUL',
    ),
    'env valueFrom both kinds': (
        dropin_spec(
            env=[
                {
                    'name': 'A',
                    'valueFrom': {
                        'secretKeyRef': {'name': 's', 'key': 'k'},
                        'configMapKeyRef': {'name': 's', 'key': 'k'},
                    },
                }
            ]
        ),
        ['.spec.env[0].valueFrom: set exactly one of configMapKeyRef and secretKeyRef'],
        'spec.env[0].valueFrom: set exactly one of configMapKeyRef and secretKeyRef',
    ),
    'env valueFrom key with a slash': (
        dropin_spec(env=[{'name': 'A', 'valueFrom': {'secretKeyRef': {'name': 's', 'key': '../k'}}}]),
        ["spec.env.0.valueFrom.secretKeyRef.key: '../k' does not match '^[-._a-zA-Z0-9]+\\\\Z'"],
        "spec.env[0].valueFrom.secretKeyRef.key: must be a key of the object (letters, digits, '-', '_', '.')",
    ),
    'env valueFrom without key': (
        dropin_spec(env=[{'name': 'A', 'valueFrom': {'configMapKeyRef': {'name': 's'}}}]),
        ["spec.env.0.valueFrom.configMapKeyRef: 'key' is a required property"],
        "spec.env[0].valueFrom.configMapKeyRef.key: must be a key of the object (letters, digits, '-', '_', '.')",
    ),
    # Accepted: passed to the pods unchanged.
    'env value with newlines (a PEM)': (dropin_spec(env=[{'name': 'PEM', 'value': 'a\nb'}]), [], None),
    'env lowercase proxy name': (dropin_spec(env=[{'name': 'http_proxy', 'value': 'http://p:3128'}]), [], None),
    'env an upstream variable the operator does not render': (
        dropin_spec(env=[{'name': 'METRICS_UTILITY_GATHER_INTERVAL_HOURS', 'value': '2'}]),
        [],
        None,
    ),
    'env turns the Candlepin identity on (storage.crc.identity chooses it)': (
        dropin_spec(env=[{'name': 'METRICS_UTILITY_CANDLEPIN_ENABLED', 'value': 'true'}]),
        ['.spec.env[0]: is set by the operator; set the matching spec field instead'],
        'spec.env[0].name: METRICS_UTILITY_CANDLEPIN_ENABLED is set by the operator: '
        'set the matching spec field instead',
    ),
    'env 64 variables': (dropin_spec(env=MANY_ENV[:64]), [], None),
}


def crd_outcome(raw: dict[str, Any]) -> list[str]:
    crd = yaml.safe_load(spec_crd_path().read_text())
    root = crd['spec']['versions'][0]['schema']['openAPIV3Schema']
    obj = {'apiVersion': names.API_VERSION, 'kind': names.KIND, 'metadata': {'name': 'controller'}}
    obj['spec'] = spec.with_defaults(raw)
    return schema_errors(root, obj) + cel_failures(root, obj)


@pytest.mark.unit
@pytest.mark.hostile
@pytest.mark.parametrize('case', HOSTILE, ids=list(HOSTILE))
def test_hostile_drop_in_specs_have_exact_crd_and_operator_outcomes(case):
    raw, crd_expected, operator_expected = HOSTILE[case]
    assert crd_outcome(raw) == crd_expected
    try:
        spec.validate('controller', raw)
    except spec.SpecError as exc:
        assert str(exc) == operator_expected
    else:
        assert operator_expected is None
        env = worker('gather', raw)['env']
        assert env[len(env) - len(raw['env']) :] == raw['env']  # passed unchanged, after the operator's


# -- the operator against the strict API emulator --------------------------------------------------------------------


def aap_secret() -> dict[str, Any]:
    """What the AAP operator writes for AutomationController `aap` (no sslmode key: it is optional)."""
    return {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'metadata': {'name': 'aap-postgres-configuration'},
        'stringData': {
            'host': AAP_HOST,
            'port': '5432',
            'database': 'awx',
            'username': AAP_USER,
            'password': AAP_PASSWORD,
            'type': 'managed',
        },
    }


def conditions(obj: dict[str, Any] | None) -> dict[str, dict]:
    return {c['type']: c for c in ((obj or {}).get('status') or {}).get('conditions', [])}


def ready(kube_api, status: str, reason: str):
    def check():
        obj = kube_api.get_object('metricscollections', NS, 'controller')
        c = conditions(obj).get('Ready', {})
        return obj if (c.get('status'), c.get('reason')) == (status, reason) else None

    return check


@pytest.fixture
def user(kube_api) -> ApiUser:
    return ApiUser(str(kube_api.url))


def everything_but_secrets(kube_api) -> list[str]:
    return [
        json.dumps(obj.last.raw) for (resource, _, _), obj in kube_api.objects.items() if resource.plural != 'secrets'
    ]


@pytest.mark.integration
async def test_the_controllers_secret_is_referenced_never_read_or_copied(kube_api, operator, user, caplog):
    await user.create('persistentvolumeclaims', claim(UPSTREAM_CLAIM))
    await user.create('secrets', aap_secret())
    await user.create('metricscollections', {**collection(), 'spec': dropin_spec()})
    await eventually(ready(kube_api, 'True', 'Reconciled'), what='Ready=True')

    gather = kube_api.get_object('cronjobs', NS, 'controller-gather')
    (container,) = gather['spec']['jobTemplate']['spec']['template']['spec']['containers']
    assert container['env'] == [*POD_ENV, MONTH_USAGE, *FROM_SECRET]
    assert container['envFrom'] == [{'configMapRef': {'name': 'controller-settings'}}]
    stored = everything_but_secrets(kube_api)
    assert_no_secret([*stored, caplog.text], AAP_PASSWORD, AAP_HOST, AAP_USER)
    reads = [r for r in kube_api.requests_by('metrics-operator') if r.resource == 'secrets']
    assert {(r.verb, r.name) for r in reads} == {('get', 'aap-postgres-configuration')}


@pytest.mark.integration
async def test_a_missing_controller_secret_waits_with_a_condition_naming_it(kube_api, operator, user):
    await user.create('persistentvolumeclaims', claim(UPSTREAM_CLAIM))
    await user.create('metricscollections', {**collection(), 'spec': dropin_spec()})
    mc = await eventually(ready(kube_api, 'False', 'SecretNotFound'), what='SecretNotFound')
    assert conditions(mc)['Ready']['message'] == (
        "spec.controller.name: Secret 'aap-postgres-configuration' not found in default"
    )
    assert kube_api.stored('cronjobs', NS) == []
    await user.create('secrets', aap_secret())
    await eventually(ready(kube_api, 'True', 'Reconciled'), what='Ready once the Secret exists')


@pytest.mark.integration
async def test_the_admins_configmap_and_secret_reach_the_pods_before_the_operators(kube_api, operator, user):
    await user.create('persistentvolumeclaims', claim(UPSTREAM_CLAIM))
    await user.create('secrets', aap_secret())
    await user.create('secrets', db_secret())
    raw = dropin_spec(database={'credentialsSecret': {'name': 'db-reader'}}, envFrom=ENV_FROM, env=ENV)
    await user.create('metricscollections', {**collection(), 'spec': raw})
    mc = await eventually(ready(kube_api, 'False', 'ConfigMapNotFound'), what='ConfigMapNotFound')
    assert conditions(mc)['Ready']['message'] == (
        f"spec.envFrom[0].configMapRef.name: ConfigMap '{UPSTREAM_CONFIGMAP}' not found in default"
    )
    upstream = {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_REPORT_COMPANY_NAME': 'ACME'}
    configmap = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': UPSTREAM_CONFIGMAP}, 'data': upstream}
    await user.create('configmaps', configmap)
    await eventually(ready(kube_api, 'True', 'Reconciled'), what='Ready once the ConfigMap exists')

    template = kube_api.get_object('cronjobs', NS, 'controller-report')['spec']['jobTemplate']['spec']['template']
    (container,) = template['spec']['containers']
    assert container['envFrom'] == [*ENV_FROM, {'configMapRef': {'name': 'controller-settings'}}]
    assert container['env'] == [
        *POD_ENV,
        *FROM_SECRET[:4],
        {'name': 'METRICS_UTILITY_DB_USER', 'valueFrom': {'secretKeyRef': {'name': 'db-reader', 'key': 'username'}}},
        {
            'name': 'METRICS_UTILITY_DB_PASSWORD',
            'valueFrom': {'secretKeyRef': {'name': 'db-reader', 'key': 'password'}},
        },
        *ENV,
    ]
    # The admin's ConfigMap is read by the pods only: the operator never rewrote or copied it.
    assert kube_api.get_object('configmaps', NS, UPSTREAM_CONFIGMAP)['data'] == upstream
    assert 'ACME' not in json.dumps(kube_api.get_object('configmaps', NS, 'controller-settings'))
    assert_no_secret(everything_but_secrets(kube_api), DB_PASSWORD, AAP_PASSWORD)


@pytest.mark.integration
@pytest.mark.hostile
async def test_a_colliding_env_name_is_refused_as_a_condition_and_nothing_is_written(kube_api, operator, user):
    await user.create('persistentvolumeclaims', claim(UPSTREAM_CLAIM))
    await user.create('secrets', aap_secret())
    raw = dropin_spec(env=[{'name': 'METRICS_UTILITY_DB_HOST', 'value': 'elsewhere'}])
    await user.create('metricscollections', {**collection(), 'spec': raw})
    mc = await eventually(ready(kube_api, 'False', 'InvalidSpec'), what='InvalidSpec')
    assert conditions(mc)['Ready']['message'] == (
        'spec.env[0].name: METRICS_UTILITY_DB_HOST is set by the operator: set the matching spec field instead'
    )
    assert kube_api.stored('cronjobs', NS) == []
    await user.merge_patch(mc_path('controller'), {'spec': {'env': None, 'database': {'host': 'elsewhere'}}})
    await eventually(ready(kube_api, 'True', 'Reconciled'), what='Ready with the spec field')
    assert (
        kube_api.get_object('configmaps', NS, 'controller-settings')['data']['METRICS_UTILITY_DB_HOST'] == 'elsewhere'
    )
