"""Spec → manifests: every rendered object passes kubernetes-validate (strict) and carries the safety settings."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from metrics_operator import names, render, spec
from testsupport.operator_samples import DB_PASSWORD, collection, crc_storage

pytestmark = pytest.mark.unit
K8S_VERSION = '1.33.0'
IMAGE = 'registry.example/metrics-utility:1'

SPECS = {
    'directory-claim': collection()['spec'],
    'directory-size': collection(storage={'type': 'directory', 'directory': {'size': '5Gi', 'storageClassName': 'x'}})[
        'spec'
    ],
    's3': collection(
        storage={
            'type': 's3',
            's3': {'bucket': 'b', 'endpoint': 'https://s3', 'prefix': 'p', 'credentialsSecret': {'name': 's3'}},
        },
        timeZone='Europe/Berlin',
        suspend=True,
    )['spec'],
    'crc-vcpu': collection(
        report={'enabled': False},
        vcpu={'enabled': True, 'clusterName': 'c', 'caConfigMap': {'name': 'ca'}},
        storage=crc_storage({'claimName': 'crc-state'}, caConfigMap={'name': 'ca2'}),
    )['spec'],
}


SPECS['retention-backfill'] = collection(
    retention={'maxAgeDays': 90, 'maxBytes': '2Gi'},
    backfill={'since': '2024-01-01', 'until': '2024-03-01', 'parallelism': 3, 'shards': 6},
)['spec']
SPECS['kpi-sources'] = collection(
    kpi={
        'url': 'https://es.example:9200',
        'index': 'aap-kpi',
        'apiKeySecret': {'name': 'es-key'},
        'caConfigMap': {'name': 'es-ca', 'key': 'tls.crt'},
    },
    report={
        'additionalSources': [
            {'claimName': 'controller-b'},
            {'claimName': 'shared', 'path': 'east/c'},
            {'claimName': 'shared', 'path': 'west'},
            {'claimName': 'metrics-data', 'path': 'old'},
        ]
    },
    vcpu={'enabled': True, 'clusterName': 'c'},
    backfill={'since': '2024-01-01', 'until': '2024-02-01'},
)['spec']
SPECS['crc-state-size'] = collection(
    report={'enabled': False},
    vcpu={'enabled': True, 'clusterName': 'c'},
    backfill={'since': '2024-01-01', 'until': '2024-02-01'},
    storage=crc_storage({'size': '1Gi', 'storageClassName': 'fast', 'accessMode': 'ReadWriteMany'}),
)['spec']
SPECS['kpi-basic-s3-sources'] = collection(
    kpi={'url': 'https://es.example:9200', 'credentialsSecret': {'name': 'es-basic'}},
    report={'additionalSources': [{'s3': 's3://aap-east/controller-c'}, {'s3': 's3://aap-west'}]},
    storage={'type': 's3', 's3': {'bucket': 'b', 'endpoint': 'https://s3', 'credentialsSecret': {'name': 's3'}}},
)['spec']

# Pod placement (every pod kind: gather, report, vCPU and the backfill Job).
PLACEMENT = {
    'nodeSelector': {'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/worker': ''},
    'tolerations': [
        {'key': 'dedicated', 'operator': 'Equal', 'value': 'aap', 'effect': 'NoSchedule'},
        {'key': 'node.kubernetes.io/unreachable', 'operator': 'Exists', 'effect': 'NoExecute', 'tolerationSeconds': 60},
    ],
    'affinity': {
        'nodeAffinity': {
            'requiredDuringSchedulingIgnoredDuringExecution': {
                'nodeSelectorTerms': [
                    {'matchExpressions': [{'key': 'kubernetes.io/hostname', 'operator': 'In', 'values': ['w1']}]}
                ]
            }
        }
    },
    'priorityClassName': 'aap-batch',
}
SPECS['placement'] = collection(
    vcpu={'enabled': True, 'clusterName': 'c'}, backfill={'since': '2024-01-01', 'until': '2024-02-01'}, **PLACEMENT
)['spec']


SPECS['console'] = collection(
    storage={
        'type': 'directory',
        'directory': {'claimName': 'metrics-data'},
        'console': {
            'billingAccountId': '123456789012',
            'orgId': '4242',
            'caConfigMap': {'name': 'console-ca'},
            'serviceAccountSecret': {'name': 'sa'},
        },
    },
    vcpu={'enabled': True, 'clusterName': 'c1'},
)['spec']


def pod_spec(obj: dict) -> dict:
    template = obj['spec']['jobTemplate']['spec']['template'] if obj['kind'] == 'CronJob' else obj['spec']['template']
    return template['spec']


def env_values(obj: dict) -> dict[str, str | None]:
    return {e['name']: e.get('value') for e in pod_spec(obj)['containers'][0]['env']}


def secret_refs(obj: dict) -> dict[str, dict]:
    return {
        e['name']: e['valueFrom']['secretKeyRef'] for e in pod_spec(obj)['containers'][0]['env'] if 'valueFrom' in e
    }


SECRET_VALUES = {
    ('db-reader', 'username'): 'u',
    ('db-reader', 'password'): DB_PASSWORD,
    ('es-key', 'api-key'): 'k3y',
    ('sa', 'client-id'): 'id',
    ('sa', 'client-secret'): 's3cret',
}


def pod_environment(key: str, obj: dict) -> dict[str, str]:
    """A pod's environment as the kubelet builds it: the settings ConfigMap, then values, then Secret keys."""
    env = render.settings(spec.validate('mc', SPECS[key])) | {k: v for k, v in env_values(obj).items() if v is not None}
    return env | {name: SECRET_VALUES[ref['name'], ref['key']] for name, ref in secret_refs(obj).items()}


def by_kind(key: str) -> dict[str, dict]:
    """Rendered CronJobs by job kind, the backfill Job under 'backfill'."""
    return {o['metadata']['labels'][names.LABEL_JOB_KIND]: o for o in rendered(key) if o['kind'] in ('CronJob', 'Job')}


def rendered(key: str) -> list[dict]:
    full = spec.validate('mc', SPECS[key])
    objs = render.desired('mc', 'ns', full, IMAGE)
    claim = render.claim('mc', 'ns', full)
    backfill = render.backfill_job('mc', 'ns', full, IMAGE)
    return objs + ([claim] if claim else []) + ([backfill] if backfill else [])


@pytest.mark.parametrize('key', SPECS)
def test_every_object_validates_against_kubernetes_schema(key):
    for obj in rendered(key):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize('key', SPECS)
def test_cronjob_safety_settings(key):
    cronjobs = [o for o in rendered(key) if o['kind'] == 'CronJob']
    assert cronjobs
    for cj in cronjobs:
        s = cj['spec']
        assert len(cj['metadata']['name']) <= names.CRONJOB_NAME_LIMIT
        assert s['concurrencyPolicy'] == 'Forbid' and s['startingDeadlineSeconds'] > 0
        assert s['successfulJobsHistoryLimit'] >= 1 and s['failedJobsHistoryLimit'] >= 1
        job = s['jobTemplate']
        assert job['metadata']['labels'][names.LABEL_COLLECTION] == 'mc'
        assert job['metadata']['labels'][names.LABEL_JOB_KIND] in names.JOB_KINDS
        assert job['spec']['backoffLimit'] >= 0 and job['spec']['activeDeadlineSeconds'] > 0
        pod = job['spec']['template']['spec']
        assert pod['restartPolicy'] == 'Never'
        assert pod['securityContext'] == {'runAsNonRoot': True, 'seccompProfile': {'type': 'RuntimeDefault'}}
        text = json.dumps(cj)
        for fixed_id in ('runAsUser', 'runAsGroup', 'fsGroup', 'privileged', 'hostPath'):
            assert fixed_id not in text
        (container,) = pod['containers']
        assert container['securityContext'] == {
            'allowPrivilegeEscalation': False,
            'capabilities': {'drop': ['ALL']},
            'readOnlyRootFilesystem': True,
            'runAsNonRoot': True,
        }
        assert container['terminationMessagePath'] == '/dev/termination-log'
        assert container['terminationMessagePolicy'] == 'File'
        assert {'name': 'tmp', 'mountPath': '/tmp'} in container['volumeMounts']
        assert {'name': 'tmp', 'emptyDir': {}} in pod['volumes']
        assert container['resources']['limits']['memory']


def test_secrets_only_as_references():
    objs = rendered('s3')
    cm = next(o for o in objs if o['kind'] == 'ConfigMap')
    assert not any('PASSWORD' in k or 'SECRET' in k or 'ACCESS_KEY' in k for k in cm['data'])
    gather = next(o for o in objs if o['metadata']['name'] == 'mc-gather')
    env = gather['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['env']
    refs = {e['name']: e['valueFrom']['secretKeyRef'] for e in env if 'valueFrom' in e}
    assert refs['METRICS_UTILITY_DB_PASSWORD'] == {'name': 'db-reader', 'key': 'password'}
    assert refs['METRICS_UTILITY_BUCKET_SECRET_KEY'] == {'name': 's3', 'key': 'secret-key'}
    assert all('value' not in e for e in env if e['name'] in refs)
    assert DB_PASSWORD not in json.dumps(objs)


def test_settings_map_to_worker_variables():
    full = spec.validate('mc', SPECS['s3'])
    data = render.settings(full)
    assert data['METRICS_UTILITY_SHIP_TARGET'] == 's3'
    assert data['METRICS_UTILITY_SHIP_PATH'] == 'p'
    assert data['METRICS_UTILITY_BUCKET_NAME'] == 'b'
    assert data['METRICS_UTILITY_OPTIONAL_COLLECTORS'] == 'main_jobevent'
    assert data['METRICS_UTILITY_REPORT_TYPE'] == 'CCSPv2'
    assert data['METRICS_UTILITY_DB_PORT'] == '5432'
    assert all(isinstance(v, str) for v in data.values())


def test_commands_schedules_and_options():
    by_name = {o['metadata']['name']: o for o in rendered('s3')}
    gather, report = by_name['mc-gather'], by_name['mc-report']
    cmd = gather['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['command']
    assert cmd == ['metrics-utility', 'gather', '--ship', '--until=10m', '--summary-file=/dev/termination-log']
    assert report['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['command'][1] == 'build-report'
    assert gather['spec']['schedule'] == '@hourly' and report['spec']['schedule'] == '0 4 2 * *'
    assert gather['spec']['suspend'] is True and gather['spec']['timeZone'] == 'Europe/Berlin'
    assert 'timeZone' not in {o['metadata']['name']: o for o in rendered('directory-claim')}['mc-gather']['spec']


def test_vcpu_cronjob_and_ca_mounts():
    by_name = {o['metadata']['name']: o for o in rendered('crc-vcpu')}
    assert set(by_name) == {'mc-settings', 'mc-gather', 'mc-vcpu'}
    pod = by_name['mc-vcpu']['spec']['jobTemplate']['spec']['template']['spec']
    env = {e['name']: e.get('value') for e in pod['containers'][0]['env']}
    assert env['METRICS_UTILITY_OPTIONAL_COLLECTORS'] == 'total_workers_vcpu'
    assert env['METRICS_UTILITY_CLUSTER_NAME'] == 'c'
    assert {v['configMap']['name'] for v in pod['volumes'] if 'configMap' in v} == {'ca', 'ca2'}
    assert pod['automountServiceAccountToken'] is True  # reads Prometheus with its own token
    gather_pod = by_name['mc-gather']['spec']['jobTemplate']['spec']['template']['spec']
    assert gather_pod['automountServiceAccountToken'] is False


def test_claims_user_supplied_or_created():
    assert not [o for o in rendered('directory-claim') if o['kind'] == 'PersistentVolumeClaim']
    (pvc,) = [o for o in rendered('directory-size') if o['kind'] == 'PersistentVolumeClaim']
    assert pvc['metadata']['name'] == 'mc-data' and pvc['spec']['storageClassName'] == 'x'
    gather = next(o for o in rendered('directory-size') if o['metadata']['name'] == 'mc-gather')
    vols = gather['spec']['jobTemplate']['spec']['template']['spec']['volumes']
    assert {'name': 'data', 'persistentVolumeClaim': {'claimName': 'mc-data'}} in vols


def test_rendering_is_deterministic_and_hash_tracks_content():
    a, b = rendered('s3'), rendered('s3')
    assert a == b
    changed = collection(gather={'schedule': '@daily'})['spec']
    h1 = render.cronjob('mc', 'ns', 'gather', spec.validate('mc', SPECS['directory-claim']), IMAGE)
    h2 = render.cronjob('mc', 'ns', 'gather', spec.validate('mc', changed), IMAGE)
    key = names.ANNOTATION_HASH
    assert h1['metadata']['annotations'][key] != h2['metadata']['annotations'][key]


def test_backfill_is_an_indexed_job_running_one_shard_per_index():
    full = spec.validate('x' * 45, SPECS['retention-backfill'])
    job = render.backfill_job('x' * 45, 'ns', full, IMAGE)
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    assert len(job['metadata']['name']) <= 63 and job['metadata']['name'].startswith('x' * 45 + '-backfill-')
    assert render.backfill_job_name('x' * 45, full) == job['metadata']['name']
    assert job['spec']['completionMode'] == 'Indexed'
    assert (job['spec']['completions'], job['spec']['parallelism']) == (6, 3)
    assert job['spec']['backoffLimitPerIndex'] == full['gather']['backoffLimit'] and 'backoffLimit' not in job['spec']
    worker = job['spec']['template']['spec']['containers'][0]
    assert worker['command'][3:6] == ['--since=2024-01-01T00:00:00Z', '--until=2024-03-01T00:00:00Z', '--shard=6']
    assert worker['command'][:3] == ['metrics-utility', 'gather', '--ship']
    env = {e['name']: e.get('value') for e in worker['env']}
    assert env['METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS'] == '60'  # the horizon covers the whole window
    assert not any(k.startswith('METRICS_UTILITY_RETENTION') for k in env)  # shards never prune
    labels = job['spec']['template']['metadata']['labels']
    assert labels[names.LABEL_JOB_KIND] == 'backfill' and labels[names.LABEL_COLLECTION] == 'x' * 45
    assert json.loads(job['metadata']['annotations'][names.ANNOTATION_BACKFILL])['shards'] == 6
    # The same request always renders the same Job name; another request another one.
    again = render.backfill_job('x' * 45, 'ns', spec.validate('x' * 45, SPECS['retention-backfill']), 'other:2')
    assert again['metadata']['name'] == job['metadata']['name']
    other = dict(SPECS['retention-backfill'], backfill={'since': '2024-01-01', 'until': '2024-02-01'})
    assert (
        render.backfill_job('x' * 45, 'ns', spec.validate('x' * 45, other), IMAGE)['metadata']['name']
        != (job['metadata']['name'])
    )
    assert render.backfill_job('mc', 'ns', spec.validate('mc', SPECS['s3']), IMAGE) is None


def test_retention_limits_reach_the_gather_only():
    full = spec.validate('mc', SPECS['retention-backfill'])
    by_kind = {o['metadata']['labels'].get(names.LABEL_JOB_KIND): o for o in render.desired('mc', 'ns', full, IMAGE)}
    gather_env = {
        e['name']: e.get('value')
        for e in by_kind['gather']['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['env']
    }
    assert gather_env['METRICS_UTILITY_RETENTION_MAX_AGE_DAYS'] == '90'
    assert gather_env['METRICS_UTILITY_RETENTION_MAX_BYTES'] == str(2 * 1024**3)
    report_env = by_kind['report']['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['env']
    assert not any(e['name'].startswith('METRICS_UTILITY_RETENTION') for e in report_env)
    assert not any(k.startswith('METRICS_UTILITY_RETENTION') for k in render.settings(full))


def test_gather_computes_month_usage_only_where_storage_is_readable():
    def gather_env(sample: str) -> dict:
        by_name = {o['metadata']['name']: o for o in rendered(sample)}
        pod = by_name['mc-gather']['spec']['jobTemplate']['spec']['template']['spec']
        return {e['name']: e.get('value') for e in pod['containers'][0]['env']}

    assert gather_env('s3')['METRICS_UTILITY_MONTH_USAGE'] == 'true'
    assert 'METRICS_UTILITY_MONTH_USAGE' not in gather_env('crc-vcpu')


def test_kpi_reaches_gather_and_backfill_pods_only():
    kinds = by_kind('kpi-sources')
    assert set(kinds) == {'gather', 'report', 'vcpu', 'backfill'}
    for kind in ('gather', 'backfill'):
        env = env_values(kinds[kind])
        assert env['METRICS_UTILITY_ELASTICSEARCH_URL'] == 'https://es.example:9200'
        assert env['METRICS_UTILITY_ELASTICSEARCH_INDEX'] == 'aap-kpi'
        assert env['METRICS_UTILITY_ELASTICSEARCH_CA_BUNDLE'] == '/etc/metrics-utility/ca/kpi/tls.crt'
        assert secret_refs(kinds[kind])['METRICS_UTILITY_ELASTICSEARCH_API_KEY'] == {'name': 'es-key', 'key': 'api-key'}
        pod = pod_spec(kinds[kind])
        assert {'name': 'ca-kpi', 'configMap': {'name': 'es-ca'}} in pod['volumes']
        mount = {'name': 'ca-kpi', 'mountPath': '/etc/metrics-utility/ca/kpi', 'readOnly': True}
        assert mount in pod['containers'][0]['volumeMounts']
    for kind in ('report', 'vcpu'):
        text = json.dumps(pod_spec(kinds[kind]))
        assert 'ELASTICSEARCH' not in text and 'es-key' not in text and 'es-ca' not in text, kind
    # The shared ConfigMap never carries it: a vCPU gather reading it would send KPI documents too.
    assert not any('ELASTICSEARCH' in key for key in render.settings(spec.validate('mc', SPECS['kpi-sources'])))


def test_kpi_basic_auth_as_secret_references():
    refs = secret_refs(by_kind('kpi-basic-s3-sources')['gather'])
    assert refs['METRICS_UTILITY_ELASTICSEARCH_USERNAME'] == {'name': 'es-basic', 'key': 'username'}
    assert refs['METRICS_UTILITY_ELASTICSEARCH_PASSWORD'] == {'name': 'es-basic', 'key': 'password'}
    env = env_values(by_kind('kpi-basic-s3-sources')['gather'])
    assert 'METRICS_UTILITY_ELASTICSEARCH_API_KEY' not in refs and 'METRICS_UTILITY_ELASTICSEARCH_INDEX' not in env
    assert 'METRICS_UTILITY_ELASTICSEARCH_CA_BUNDLE' not in env  # the system trust store


def test_additional_source_claims_are_mounted_read_only_in_the_report_pod():
    kinds = by_kind('kpi-sources')
    pod = pod_spec(kinds['report'])
    assert [v for v in pod['volumes'] if v['name'].startswith('source-')] == [
        {'name': 'source-0', 'persistentVolumeClaim': {'claimName': 'controller-b', 'readOnly': True}},
        {'name': 'source-1', 'persistentVolumeClaim': {'claimName': 'shared', 'readOnly': True}},
    ]  # one volume per claim, the main claim is not mounted twice
    mounts = [m for m in pod['containers'][0]['volumeMounts'] if m['name'].startswith('source-')]
    assert mounts == [
        {'name': 'source-0', 'mountPath': '/sources/0', 'readOnly': True},
        {'name': 'source-1', 'mountPath': '/sources/1', 'readOnly': True},
    ]
    paths = env_values(kinds['report'])['METRICS_UTILITY_ADDITIONAL_SHIP_PATHS']
    assert paths == '/sources/0;/sources/1/east/c;/sources/1/west;/metrics-utility/old'
    for kind in ('gather', 'vcpu', 'backfill'):
        assert 'ADDITIONAL_SHIP_PATHS' not in json.dumps(pod_spec(kinds[kind]))
        assert not any(v['name'].startswith('source-') for v in pod_spec(kinds[kind])['volumes'])


def test_s3_sources_pass_as_given_and_the_worker_reads_them():
    from metrics_utility.settings.common import ship_settings
    from metrics_utility.settings.sources import additional_sources

    full = spec.validate('mc', SPECS['kpi-basic-s3-sources'])
    report = by_kind('kpi-basic-s3-sources')['report']
    assert not [v for v in pod_spec(report)['volumes'] if v['name'].startswith('source-')]
    env = render.settings(full) | {k: v for k, v in env_values(report).items() if v is not None}
    env |= {'METRICS_UTILITY_BUCKET_ACCESS_KEY': 'a', 'METRICS_UTILITY_BUCKET_SECRET_KEY': 'b'}  # the secretKeyRefs
    problems: list[str] = []
    sources = additional_sources(env, None, problems, ship_settings(env, ('s3',), problems))
    assert problems == []
    assert [(s.spec, s.ship.s3.bucket, s.ship.path) for s in sources] == [
        ('s3://aap-east/controller-c', 'aap-east', 'controller-c'),
        ('s3://aap-west', 'aap-west', ''),
    ]


def test_the_worker_accepts_the_rendered_kpi_settings():
    """The gather pod's environment as the kubelet builds it (ConfigMap, values, Secret keys) parses cleanly."""
    from metrics_utility.settings import gather as gather_settings

    es = gather_settings.load(pod_environment('kpi-sources', by_kind('kpi-sources')['gather']), ship=True).elasticsearch
    assert (es.url, es.index) == ('https://es.example:9200', 'aap-kpi')
    assert es.ca_bundle == '/etc/metrics-utility/ca/kpi/tls.crt'  # the file in the mounted ConfigMap
    assert es.api_key.reveal() == 'k3y' and es.username is None


def test_the_worker_trusts_the_mounted_crc_ca():
    """The CA ConfigMap of `storage.crc` is mounted and the worker is told where: the ingress is verified with it."""
    from metrics_utility.settings import gather as gather_settings

    gather = by_kind('crc-vcpu')['gather']
    ca_bundle = gather_settings.load(pod_environment('crc-vcpu', gather), ship=True).crc.ca_bundle
    mounts = gather['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['volumeMounts']
    assert ca_bundle == '/etc/metrics-utility/ca/crc/ca.crt'
    assert any(ca_bundle.startswith(m['mountPath'] + '/') for m in mounts)


@pytest.mark.parametrize('key', ['crc-vcpu', 'crc-state-size'])
def test_every_crc_pod_keeps_its_watermarks_on_the_state_claim(key):
    """console.redhat.com cannot be read back: each pod that gathers against it (the ConfigMap's STATE_PATH reaches
    them all) finds the watermark file on the mounted state claim, and the worker accepts its settings."""
    from metrics_utility.settings import gather as gather_settings

    claim = 'crc-state' if key == 'crc-vcpu' else 'mc-data'
    kinds = by_kind(key)
    assert set(kinds) == ({'gather', 'vcpu'} if key == 'crc-vcpu' else {'gather', 'vcpu', 'backfill'})
    for kind, obj in kinds.items():
        pod = pod_spec(obj)
        assert {'name': 'state', 'persistentVolumeClaim': {'claimName': claim}} in pod['volumes'], kind
        assert {'name': 'state', 'mountPath': '/var/lib/metrics-utility'} in pod['containers'][0]['volumeMounts']
        state_path = gather_settings.load(pod_environment(key, obj), ship=True).state_path
        assert str(state_path) == '/var/lib/metrics-utility/watermarks.json', kind


def test_crc_state_claim_created_for_a_size_only():
    assert not [o for o in rendered('crc-vcpu') if o['kind'] == 'PersistentVolumeClaim']
    (pvc,) = [o for o in rendered('crc-state-size') if o['kind'] == 'PersistentVolumeClaim']
    assert pvc['metadata']['name'] == 'mc-data' and pvc['metadata']['labels'][names.LABEL_COLLECTION] == 'mc'
    assert pvc['spec'] == {
        'accessModes': ['ReadWriteMany'],
        'resources': {'requests': {'storage': '1Gi'}},
        'storageClassName': 'fast',
    }
    # Directory and S3 collections never get a state path: their watermarks live with the data.
    for key in ('directory-claim', 's3'):
        assert 'METRICS_UTILITY_STATE_PATH' not in render.settings(spec.validate('mc', SPECS[key]))
        assert not any(v['name'] == 'state' for v in pod_spec(by_kind(key)['gather'])['volumes'])


def test_kpi_and_sources_change_the_rendered_hash():
    base = spec.validate('mc', SPECS['directory-claim'])
    with_kpi = spec.validate('mc', {**SPECS['directory-claim'], 'kpi': {'url': 'https://es:9200'}})
    with_sources = spec.validate(
        'mc', {**SPECS['directory-claim'], 'report': {'additionalSources': [{'claimName': 'b'}]}}
    )
    key = names.ANNOTATION_HASH

    def digest(full: dict, kind: str) -> str:
        return render.cronjob('mc', 'ns', kind, full, IMAGE)['metadata']['annotations'][key]

    assert digest(with_kpi, 'gather') != digest(base, 'gather') and digest(with_kpi, 'report') == digest(base, 'report')
    assert digest(with_sources, 'report') != digest(base, 'report')
    assert digest(with_sources, 'gather') == digest(base, 'gather')


def test_placement_reaches_every_pod_kind_including_the_backfill():
    pods = by_kind('placement')
    assert set(pods) == {'gather', 'report', 'vcpu', 'backfill'}
    for kind, obj in pods.items():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        pod = pod_spec(obj)
        assert {key: pod.get(key) for key in PLACEMENT} == PLACEMENT, kind


@pytest.mark.parametrize('key', sorted(set(SPECS) - {'placement'}))
def test_specs_without_placement_render_no_placement(key):
    for obj in by_kind(key).values():
        assert not set(spec.PLACEMENT_FIELDS) & set(pod_spec(obj))
    # Empty values are left out too, and so keep the hash.
    empty = {**SPECS[key], 'nodeSelector': {}, 'tolerations': [], 'affinity': {}}
    full = spec.validate('mc', empty)
    assert render.desired('mc', 'ns', full, IMAGE) == render.desired('mc', 'ns', spec.validate('mc', SPECS[key]), IMAGE)


def test_placement_changes_the_hash_of_every_cronjob():
    base = spec.validate('mc', SPECS['crc-vcpu'])
    tolerated = spec.validate('mc', {**SPECS['crc-vcpu'], 'tolerations': PLACEMENT['tolerations']})
    before = {o['metadata']['name']: o['metadata']['annotations'] for o in render.desired('mc', 'ns', base, IMAGE)}
    after = {o['metadata']['name']: o['metadata']['annotations'] for o in render.desired('mc', 'ns', tolerated, IMAGE)}
    assert [n for n in after if after[n] != before[n]] == ['mc-gather', 'mc-vcpu']  # the ConfigMap is unchanged


def test_a_misspelt_affinity_fails_kubernetes_validation():
    """The CRD keeps `affinity` open; the pod schema (the API server, here kubernetes-validate) refuses a typo."""
    full = spec.validate('mc', {**SPECS['directory-claim'], 'affinity': {'nodeAfinity': {}}})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(render.cronjob('mc', 'ns', 'gather', full, IMAGE), K8S_VERSION, strict=True)


def test_console_reaches_the_main_gather_pod_only():
    """`storage.console` (upstream's metrics_utility_console_enabled): the gather pod sends to console.redhat.com;
    the vCPU gather and the report pod never do, and the shared ConfigMap carries none of it."""
    from metrics_utility.settings import gather as gather_settings

    kinds = by_kind('console')
    assert set(kinds) == {'gather', 'report', 'vcpu'}
    gather = kinds['gather']
    env = env_values(gather)
    skip = ('METRICS_UTILITY_MONTH_USAGE', 'METRICS_UTILITY_DB_USER', 'METRICS_UTILITY_DB_PASSWORD')
    assert {k: env[k] for k in env if k.startswith('METRICS_UTILITY_') and k not in skip} == {
        'METRICS_UTILITY_SECONDARY_TARGET': 'crc',
        'METRICS_UTILITY_BILLING_PROVIDER': 'aws',
        'METRICS_UTILITY_BILLING_ACCOUNT_ID': '123456789012',
        'METRICS_UTILITY_RED_HAT_ORG_ID': '4242',
        'METRICS_UTILITY_CRC_CA_BUNDLE': '/etc/metrics-utility/ca/console/ca.crt',
        'METRICS_UTILITY_SERVICE_ACCOUNT_ID': None,
        'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': None,
    }
    assert secret_refs(gather)['METRICS_UTILITY_SERVICE_ACCOUNT_SECRET'] == {'name': 'sa', 'key': 'client-secret'}
    assert {'name': 'ca-console', 'configMap': {'name': 'console-ca'}} in pod_spec(gather)['volumes']
    for kind in ('report', 'vcpu'):
        text = json.dumps(pod_spec(kinds[kind]))
        assert 'SECONDARY_TARGET' not in text and 'SERVICE_ACCOUNT' not in text and 'console-ca' not in text, kind
    assert not any('SECONDARY' in k or 'BILLING' in k for k in render.settings(spec.validate('mc', SPECS['console'])))
    config = gather_settings.load(pod_environment('console', gather), ship=True)
    assert (config.ship_target, config.secondary_target) == ('directory', 'crc')
    assert config.crc.client_secret.reveal() == 's3cret' and config.crc.ca_bundle.endswith('/console/ca.crt')


def test_each_pod_kind_gets_its_measured_resources_by_default():
    pods = by_kind('placement')
    limits = {kind: pod_spec(obj)['containers'][0]['resources'] for kind, obj in pods.items()}
    gather = {'requests': {'cpu': '100m', 'memory': '128Mi'}, 'limits': {'memory': '512Mi'}}
    assert limits == {
        'gather': gather,
        'vcpu': gather,
        'backfill': gather,  # the backfill runs gathers
        'report': {'requests': {'cpu': '100m', 'memory': '256Mi'}, 'limits': {'memory': '1Gi'}},
    }


def test_given_resources_apply_to_every_worker_pod_as_written():
    given = {'requests': {'memory': '1Gi'}, 'limits': {'memory': '3Gi', 'cpu': '2'}}
    SPECS['given-resources'] = {**SPECS['placement'], 'resources': given}
    try:
        pods = by_kind('given-resources')
    finally:
        del SPECS['given-resources']
    assert set(pods) == {'gather', 'report', 'vcpu', 'backfill'}
    assert all(pod_spec(obj)['containers'][0]['resources'] == given for obj in pods.values())
