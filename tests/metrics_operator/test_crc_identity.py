"""The console.redhat.com upload identity in the rendered pods (`metrics_operator.crc_identity`, docs/operator.md)."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from metrics_operator import names, preflight, render, spec
from testsupport.kube_client import ApiUser
from testsupport.operator_runner import eventually
from testsupport.operator_samples import claim, collection, crc_storage, db_secret
from testsupport.secrets import assert_no_secret

pytestmark = pytest.mark.unit
K8S_VERSION = '1.33.0'
IMAGE = 'registry.example/metrics-utility:1'
SECRET_KEY_FILE = '/etc/metrics-utility/controller/secret_key'
CERT, KEY = '/etc/metrics-utility/crc-identity/tls.crt', '/etc/metrics-utility/crc-identity/tls.key'
IDENTITY_VARIABLES = (
    'METRICS_UTILITY_CANDLEPIN_ENABLED',
    'METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE',
    'METRICS_UTILITY_CRC_CLIENT_CERT',
    'METRICS_UTILITY_CRC_CLIENT_KEY',
    'METRICS_UTILITY_SERVICE_ACCOUNT_ID',
    'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET',
)
VCPU = {'enabled': True, 'clusterName': 'c1'}
BACKFILL = {'since': '2024-01-01', 'until': '2024-02-01'}


def _crc(identity: dict | None = None, service_account: bool = False, controller: bool = False) -> dict:
    storage = crc_storage({'claimName': 'crc-state'})
    if not service_account:
        del storage['crc']['serviceAccountSecret']
    if identity is not None:
        storage['crc']['identity'] = identity
    extra = {'controller': {'name': 'aap'}, 'database': {}} if controller else {}
    return collection(report={'enabled': False}, vcpu=VCPU, backfill=BACKFILL, storage=storage, **extra)['spec']


def _console(identity: dict, service_account: bool = False) -> dict:
    console = {'billingAccountId': '123456789012', 'identity': identity}
    if service_account:
        console['serviceAccountSecret'] = {'name': 'sa'}
    storage = {'type': 'directory', 'directory': {'claimName': 'metrics-data'}, 'console': console}
    return collection(vcpu=VCPU, backfill=BACKFILL, storage=storage)['spec']


MANAGED = {'source': 'managed', 'managed': {'credentialsSecret': {'name': 'rh-account'}}}
CERTIFICATE = {'source': 'certificateSecret', 'certificateSecret': {'name': 'crc-tls'}}
SPECS = {
    'controller default': _crc(controller=True),
    'controller with fallback': _crc({'source': 'controller'}, service_account=True, controller=True),
    'certificate secret': _crc(CERTIFICATE),
    'managed': _crc(MANAGED, service_account=True),
    'service account': _crc(service_account=True),
    'console certificate': _console(CERTIFICATE, service_account=True),
    'console managed': _console(MANAGED),
}
# spec → (identity variables of an uploading pod, the Secret mounted and its items, pods that upload)
SECRET_KEY_MOUNT = ('aap-secret-key', ['secret_key'], '/etc/metrics-utility/controller')
TLS = ['tls.crt', 'tls.key']
EXPECTED = {
    'controller default': (
        {'METRICS_UTILITY_CANDLEPIN_ENABLED': 'true', 'METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE': SECRET_KEY_FILE},
        SECRET_KEY_MOUNT,
        {'gather', 'vcpu', 'backfill', 'check'},
    ),
    'controller with fallback': (
        {
            'METRICS_UTILITY_CANDLEPIN_ENABLED': 'true',
            'METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE': SECRET_KEY_FILE,
            'METRICS_UTILITY_SERVICE_ACCOUNT_ID': 'sa/client-id',
            'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': 'sa/client-secret',
        },
        SECRET_KEY_MOUNT,
        {'gather', 'vcpu', 'backfill', 'check'},
    ),
    'certificate secret': (
        {'METRICS_UTILITY_CRC_CLIENT_CERT': CERT, 'METRICS_UTILITY_CRC_CLIENT_KEY': KEY},
        ('crc-tls', TLS, '/etc/metrics-utility/crc-identity'),
        {'gather', 'vcpu', 'backfill', 'check'},
    ),
    'managed': (
        {
            'METRICS_UTILITY_CRC_CLIENT_CERT': CERT,
            'METRICS_UTILITY_CRC_CLIENT_KEY': KEY,
            'METRICS_UTILITY_SERVICE_ACCOUNT_ID': 'sa/client-id',
            'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': 'sa/client-secret',
        },
        ('mc-candlepin-identity', TLS, '/etc/metrics-utility/crc-identity'),
        {'gather', 'vcpu', 'backfill', 'check'},
    ),
    'service account': (
        {
            'METRICS_UTILITY_SERVICE_ACCOUNT_ID': 'sa/client-id',
            'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': 'sa/client-secret',
        },
        None,
        {'gather', 'vcpu', 'backfill', 'check'},
    ),
    'console certificate': (
        {
            'METRICS_UTILITY_CRC_CLIENT_CERT': CERT,
            'METRICS_UTILITY_CRC_CLIENT_KEY': KEY,
            'METRICS_UTILITY_SERVICE_ACCOUNT_ID': 'sa/client-id',
            'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': 'sa/client-secret',
        },
        ('crc-tls', TLS, '/etc/metrics-utility/crc-identity'),
        {'gather', 'backfill', 'check'},  # the second target: the main gather only, never vCPU or report
    ),
    'console managed': (
        {'METRICS_UTILITY_CRC_CLIENT_CERT': CERT, 'METRICS_UTILITY_CRC_CLIENT_KEY': KEY},
        ('mc-candlepin-identity', TLS, '/etc/metrics-utility/crc-identity'),
        {'gather', 'backfill', 'check'},
    ),
}


def pods(key: str) -> dict[str, dict]:
    """Every workload the spec renders, by job kind (backfill and check Jobs included)."""
    full = spec.validate('mc', SPECS[key])
    workloads = [o for o in render.desired('mc', 'ns', full, IMAGE) if o['kind'] == 'CronJob']
    workloads += [render.backfill_job('mc', 'ns', full, IMAGE), preflight.check_job('mc', 'ns', full, IMAGE)]
    return {o['metadata']['labels'][names.LABEL_JOB_KIND]: o for o in workloads}


def pod_spec(obj: dict) -> dict:
    return obj['spec'].get('jobTemplate', {}).get('spec', obj['spec'])['template']['spec']


def identity_env(obj: dict) -> dict[str, str]:
    """The identity's variables: values as given, Secret references as `secret/key`."""
    found = {}
    for item in pod_spec(obj)['containers'][0]['env']:
        if item['name'] in IDENTITY_VARIABLES:
            ref = (item.get('valueFrom') or {}).get('secretKeyRef')
            found[item['name']] = f'{ref["name"]}/{ref["key"]}' if ref else item['value']
    return found


def identity_mount(obj: dict) -> tuple[str, list[str], str] | None:
    """(Secret, its items, mount path) of the identity volume; None without one. Read-only, never optional."""
    pod = pod_spec(obj)
    volumes = [v for v in pod['volumes'] if v['name'] in ('controller-secret-key', 'crc-identity')]
    if not volumes:
        return None
    (volume,) = volumes
    (mount,) = [m for m in pod['containers'][0]['volumeMounts'] if m['name'] == volume['name']]
    assert mount['readOnly'] is True and volume['secret']['optional'] is False
    assert [item['key'] for item in volume['secret']['items']] == [i['path'] for i in volume['secret']['items']]
    return volume['secret']['secretName'], [i['key'] for i in volume['secret']['items']], mount['mountPath']


@pytest.mark.parametrize('key', SPECS)
def test_each_identity_reaches_exactly_the_pods_that_upload(key):
    variables, mount, uploading = EXPECTED[key]
    found = pods(key)
    for kind, obj in found.items():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        if kind in uploading:
            assert (identity_env(obj), identity_mount(obj)) == (variables, mount), kind
        else:
            assert (identity_env(obj), identity_mount(obj)) == ({}, None), kind
    assert uploading <= set(found)


@pytest.mark.parametrize(
    'key, enabled',
    [('controller default', 'true'), ('certificate secret', 'false'), ('service account', 'false')],
    ids=['controller', 'certificate', 'service account'],
)
def test_the_chosen_identity_wins_over_an_upstream_configmap(key, enabled):
    """An AAP install's ConfigMap (spec.envFrom) may set CANDLEPIN_ENABLED: the pod's own env wins over envFrom."""
    raw = {**SPECS[key], 'envFrom': [{'configMapRef': {'name': 'automationcontroller-metrics-utility-configmap'}}]}
    full = spec.validate('mc', raw)
    gather = render.cronjob('mc', 'ns', 'gather', full, IMAGE)
    assert identity_env(gather)['METRICS_UTILITY_CANDLEPIN_ENABLED'] == enabled
    report_or_none = [o for o in render.desired('mc', 'ns', full, IMAGE) if o['metadata']['name'] == 'mc-report']
    assert all('METRICS_UTILITY_CANDLEPIN_ENABLED' not in identity_env(o) for o in report_or_none)


def test_the_shared_configmap_carries_no_identity():
    """Every identity setting is pod env: the report pod beside a console target must not get it via the ConfigMap."""
    for key in SPECS:
        data = render.settings(spec.validate('mc', SPECS[key]))
        assert not set(data) & set(IDENTITY_VARIABLES), key


def test_the_identity_changes_the_rendered_hash():
    """A changed identity rewrites the CronJobs (and so the next pods mount the new Secret)."""

    def digest(key: str) -> str:
        full = spec.validate('mc', SPECS[key])
        return render.cronjob('mc', 'ns', 'gather', full, IMAGE)['metadata']['annotations'][names.ANNOTATION_HASH]

    hashes = {digest(key) for key in ('controller with fallback', 'managed', 'service account')}
    assert len(hashes) == 3


def test_rendered_objects_name_secrets_and_never_hold_their_content():
    """Only Secret names and keys reach the manifests: no PEM block, no SECRET_KEY value."""
    for key in SPECS:
        full = spec.validate('mc', SPECS[key])
        text = json.dumps([*render.desired('mc', 'ns', full, IMAGE), *pods(key).values()])
        assert 'BEGIN' not in text and 'PRIVATE' not in text, key


# The integration: the operator checks the identity's Secrets exist before it writes a CronJob, never reads them.
NS = 'default'
SECRET_KEY_VALUE = 'Zq8vK3y-V4lu3-n0t-f0r-l0gs-7731'
TLS_KEY_LINE = 'TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3-do-not-leak'
TLS_KEY_VALUE = f'-----BEGIN PRIVATE KEY-----\n{TLS_KEY_LINE}\n-----END PRIVATE KEY-----\n'


def _secret(name: str, data: dict[str, str], kind: str = 'Opaque') -> dict:
    return {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': name}, 'type': kind, 'stringData': data}


# Every database field given: the controller's Secret is needed for its identity only.
OWN_DATABASE = {
    'host': 'pg',
    'port': 5432,
    'name': 'awx',
    'sslMode': 'prefer',
    'credentialsSecret': {'name': 'db-reader'},
}


@pytest.fixture
def user(kube_api) -> ApiUser:
    return ApiUser(str(kube_api.url))


def _ready(kube_api, status: str, reason: str):
    def check():
        obj = kube_api.get_object('metricscollections', NS, 'controller') or {}
        found = {c['type']: c for c in (obj.get('status') or {}).get('conditions', [])}.get('Ready', {})
        return obj if (found.get('status'), found.get('reason')) == (status, reason) else None

    return check


@pytest.mark.integration
@pytest.mark.parametrize(
    'raw, secret, field',
    [
        (
            {**_crc(controller=True), 'database': OWN_DATABASE},
            _secret('aap-secret-key', {'secret_key': SECRET_KEY_VALUE}),
            'spec.storage.crc.identity.source',
        ),
        (
            _crc(CERTIFICATE),
            _secret('crc-tls', {'tls.crt': 'cert', 'tls.key': TLS_KEY_VALUE}, 'kubernetes.io/tls'),
            'spec.storage.crc.identity.certificateSecret.name',
        ),
    ],
    ids=['controller secret key', 'certificate secret'],
)
async def test_a_missing_identity_secret_waits_with_a_condition_naming_it(
    kube_api, operator, user: ApiUser, raw, secret, field
):
    raw = {key: value for key, value in raw.items() if key != 'backfill'}
    await user.create('secrets', db_secret())
    await user.create('persistentvolumeclaims', claim('crc-state'))
    await user.create('metricscollections', {**collection(), 'spec': raw})
    mc = await eventually(_ready(kube_api, 'False', 'SecretNotFound'), what='SecretNotFound')
    name = secret['metadata']['name']
    ready = next(c for c in mc['status']['conditions'] if c['type'] == 'Ready')
    assert ready['message'] == f"{field}: Secret '{name}' not found in {NS}"
    assert kube_api.stored('cronjobs', NS) == []
    await user.create('secrets', secret)
    await eventually(_ready(kube_api, 'True', 'Reconciled'), what='Ready once the Secret exists')
    stored = [json.dumps(o.last.raw) for (r, _, _), o in kube_api.objects.items() if r.plural != 'secrets']
    assert_no_secret(stored, SECRET_KEY_VALUE, TLS_KEY_LINE)
    reads = {(r.verb, r.name) for r in kube_api.requests_by('metrics-operator') if r.resource == 'secrets'}
    assert (('get', name) in reads) and all(verb == 'get' for verb, _ in reads)


@pytest.mark.integration
async def test_an_expiring_upload_certificate_warns_once_with_a_condition_and_an_event(
    kube_api, operator, user, cronjobs
):
    """The run summary's crc block (subject, not_after) → status.gather.crc and CertificateExpiring; one Warning
    Event per transition however often the status is written; no key or certificate content anywhere."""
    from datetime import UTC, datetime, timedelta

    await user.create('secrets', db_secret())
    await user.create('secrets', _secret('crc-tls', {'tls.crt': 'cert', 'tls.key': TLS_KEY_VALUE}, 'kubernetes.io/tls'))
    await user.create('persistentvolumeclaims', claim('crc-state'))
    raw = {key: value for key, value in _crc(CERTIFICATE).items() if key not in ('backfill', 'vcpu')}
    await user.create('metricscollections', {**collection(), 'spec': raw})
    await eventually(_ready(kube_api, 'True', 'Reconciled'), what='Ready')

    soon = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    not_after = soon.strftime('%Y-%m-%dT%H:%M:%SZ')
    crc = {'identity': 'certificate', 'fallback': None, 'subject': 'CN=consumer-9', 'not_after': not_after}
    summary = {'command': 'gather', 'ok': True, 'rows': 1, 'bytes': 2, 'packages': 1, 'target': 'crc', 'crc': crc}
    start = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(summary), at=start)

    def expiring():
        obj = kube_api.get_object('metricscollections', NS, 'controller') or {}
        found = {c['type']: c for c in (obj.get('status') or {}).get('conditions', [])}
        return obj if found.get('CertificateExpiring', {}).get('status') == 'True' else None

    mc = await eventually(expiring, what='CertificateExpiring')
    assert mc['status']['gather']['crc'] == {
        'identity': 'certificate',
        'subject': 'CN=consumer-9',
        'notAfter': not_after,
    }
    cond = next(c for c in mc['status']['conditions'] if c['type'] == 'CertificateExpiring')
    assert cond['reason'] == 'ExpiresSoon' and cond['message'].startswith(
        f'the client certificate uploads use (CN=consumer-9) expires on {not_after} (in '
    )
    await cronjobs.run(
        NS, 'controller-gather', succeeded=True, message=json.dumps(summary), at=start + timedelta(hours=1)
    )
    await eventually(
        lambda: (
            (kube_api.get_object('metricscollections', NS, 'controller')['status']['gather'] or {})
            .get('totals', {})
            .get('succeeded')
            == 2
        ),
        what='the second run folded',
    )
    events = [e for e in kube_api.stored('events', NS) if e.get('reason') == 'CertificateExpiresSoon']
    assert len(events) == 1 and events[0]['type'] == 'Warning' and events[0]['message'] == cond['message']
    stored = [json.dumps(o.last.raw) for (r, _, _), o in kube_api.objects.items() if r.plural != 'secrets']
    assert_no_secret(stored, TLS_KEY_LINE)
