"""Spec → manifests: every rendered object passes kubernetes-validate (strict) and carries the safety settings."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from metrics_operator import names, render, spec
from testsupport.operator_samples import DB_PASSWORD, collection

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
        storage={
            'type': 'crc',
            'crc': {
                'billingAccountId': '123456789012',
                'serviceAccountSecret': {'name': 'sa'},
                'caConfigMap': {'name': 'ca2'},
            },
        },
    )['spec'],
}


SPECS['retention-backfill'] = collection(
    retention={'maxAgeDays': 90, 'maxBytes': '2Gi'},
    backfill={'since': '2024-01-01', 'until': '2024-03-01', 'parallelism': 3, 'shards': 6},
)['spec']


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
