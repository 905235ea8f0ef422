"""The real Kopf operator against the strict Kubernetes API emulator, with a fake CronJob controller."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from metrics_operator import names
from testsupport.kube_client import ApiUser, mc_path
from testsupport.operator_runner import eventually
from testsupport.operator_samples import (
    DB_PASSWORD,
    ES_API_KEY,
    GATHER_SUMMARY,
    claim,
    collection,
    crc_secret,
    crc_storage,
    db_secret,
    es_secret,
)

pytestmark = pytest.mark.integration
NS = 'default'
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def conditions(obj) -> dict[str, dict]:
    return {c['type']: c for c in ((obj or {}).get('status') or {}).get('conditions', [])}


def cond_is(kube_api, name, type_, status, reason=None):
    def check():
        obj = kube_api.get_object('metricscollections', NS, name)
        c = conditions(obj).get(type_, {})
        return obj if c.get('status') == status and (reason is None or c.get('reason') == reason) else None

    return check


def writes(kube_api, resource, verbs=('create', 'patch', 'delete')):
    return [r for r in kube_api.requests_by('metrics-operator') if r.resource == resource and r.verb in verbs]


@pytest.fixture
def user(kube_api) -> ApiUser:
    return ApiUser(str(kube_api.url))


@pytest.fixture
async def prerequisites(user):
    await user.create('secrets', db_secret())
    await user.create('persistentvolumeclaims', claim())


async def test_create_renders_children_once_and_reports_ready(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection())
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'True', 'Reconciled'), what='Ready=True')

    cronjobs = {c['metadata']['name']: c for c in kube_api.stored('cronjobs', NS)}
    assert set(cronjobs) == {'controller-gather', 'controller-report'}
    for cj in cronjobs.values():
        ref = cj['metadata']['ownerReferences'][0]
        assert (ref['kind'], ref['uid'], ref['controller']) == ('MetricsCollection', mc['metadata']['uid'], True)
        assert cj['spec']['concurrencyPolicy'] == 'Forbid'
    cm = kube_api.get_object('configmaps', NS, 'controller-settings')
    assert cm['data']['METRICS_UTILITY_DB_HOST'] == 'controller-postgres'
    assert mc['status']['observedGeneration'] == 1
    # `Checked` comes from the check Job's own handler and may land before or after this read (docs/check.md).
    assert set(conditions(mc)) - {'Checked'} == {'Ready', 'GatherSucceeded', 'ReportSucceeded', 'Degraded'}
    # Kopf bookkeeping stays out of status: only our keys are there.
    assert set(mc['status']) <= {'observedGeneration', 'conditions', 'gather', 'report', 'vcpu'}
    assert len(writes(kube_api, 'cronjobs', ('create',))) == 2
    assert not writes(kube_api, 'cronjobs', ('patch', 'delete'))
    assert operator.runtime.metrics.reconciles.labels(NS, 'controller', 'ok')._value.get() == 1


async def test_spec_update_patches_and_removes_unwanted_cronjobs(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection(vcpu={'enabled': True, 'clusterName': 'prod'}))
    first = await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    assert len(kube_api.stored('cronjobs', NS)) == 3
    ready_since = conditions(first)['Ready']['lastTransitionTime']

    await user.merge_patch(
        mc_path('controller'), {'spec': {'gather': {'schedule': '*/30 * * * *'}, 'vcpu': {'enabled': False}}}
    )

    reconciled = operator.runtime.metrics.reconciles.labels(NS, 'controller', 'ok')

    def updated():
        cj = kube_api.get_object('cronjobs', NS, 'controller-gather')
        mc = kube_api.get_object('metricscollections', NS, 'controller')
        gone = kube_api.get_object('cronjobs', NS, 'controller-vcpu') is None
        # the status timer may show generation 2 while the update's reconcile is still between its writes
        finished = reconciled._value.get() >= 2
        return (
            cj['spec']['schedule'] == '*/30 * * * *'
            and gone
            and mc['status']['observedGeneration'] == 2
            and finished
            and mc
        )

    mc = await eventually(updated, what='update applied')
    assert mc['metadata']['generation'] == 2
    assert conditions(mc)['Ready']['lastTransitionTime'] == ready_since  # no flip, no new transition time
    assert conditions(mc)['Ready']['observedGeneration'] == 2
    assert len(writes(kube_api, 'cronjobs', ('patch',))) == 1  # only gather changed; report is untouched
    assert len(writes(kube_api, 'cronjobs', ('delete',))) == 1
    # One reconcile for the creation, one for the update: no repeats.
    assert reconciled._value.get() == 2


async def test_suspend_reaches_every_cronjob(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    await user.merge_patch(mc_path('controller'), {'spec': {'suspend': True}})

    def suspended():
        cjs = kube_api.stored('cronjobs', NS)
        return len(cjs) == 2 and all(c['spec']['suspend'] is True for c in cjs)

    await eventually(suspended, what='suspended CronJobs')
    await eventually(
        lambda: (
            'suspended' in conditions(kube_api.get_object('metricscollections', NS, 'controller'))['Ready']['message']
        ),
        what='Ready message mentions the suspension',
    )


async def test_delete_cleans_up_but_keeps_the_users_claim(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    await user.delete(mc_path('controller'))

    await eventually(lambda: kube_api.get_object('metricscollections', NS, 'controller') is None, what='CR gone')
    assert kube_api.stored('cronjobs', NS) == []
    assert kube_api.get_object('configmaps', NS, 'controller-settings') is None
    assert kube_api.get_object('persistentvolumeclaims', NS, 'metrics-data') is not None
    assert not [r for r in kube_api.requests_log if r.verb == 'delete' and r.resource == 'persistentvolumeclaims']


async def test_operator_created_claim_is_retained_by_default(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection(storage={'type': 'directory', 'directory': {'size': '2Gi'}}))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    pvc = kube_api.get_object('persistentvolumeclaims', NS, 'controller-data')
    assert pvc['spec']['resources']['requests']['storage'] == '2Gi'
    assert 'ownerReferences' not in pvc['metadata']  # garbage collection must never take the data
    await user.delete(mc_path('controller'))
    await eventually(lambda: kube_api.get_object('metricscollections', NS, 'controller') is None, what='CR gone')
    assert kube_api.get_object('persistentvolumeclaims', NS, 'controller-data') is not None


def pod_spec(kube_api, cronjob: str) -> dict:
    return kube_api.get_object('cronjobs', NS, cronjob)['spec']['jobTemplate']['spec']['template']['spec']


@pytest.mark.parametrize('policy', ['Retain', 'Delete'])
async def test_crc_state_claim_is_created_mounted_and_reclaimed_by_policy(kube_api, operator, user, policy):
    """console.redhat.com cannot be read back: the operator creates the watermark claim, every CronJob mounts it, and
    deleting the collection removes the claim only with `reclaimPolicy: Delete`."""
    await user.create('secrets', db_secret())
    await user.create('secrets', crc_secret())
    state = {'size': '1Gi'} | ({'reclaimPolicy': policy} if policy == 'Delete' else {})
    mc = collection(
        report={'enabled': False}, vcpu={'enabled': True, 'clusterName': 'prod'}, storage=crc_storage(state)
    )
    await user.create('metricscollections', mc)
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True', 'Reconciled'), what='Ready')
    pvc = kube_api.get_object('persistentvolumeclaims', NS, 'controller-data')
    assert pvc['spec']['resources']['requests']['storage'] == '1Gi'
    assert 'ownerReferences' not in pvc['metadata']  # garbage collection must never take the watermarks
    for cronjob in ('controller-gather', 'controller-vcpu'):
        pod = pod_spec(kube_api, cronjob)
        assert {'name': 'state', 'persistentVolumeClaim': {'claimName': 'controller-data'}} in pod['volumes']
        assert {'name': 'state', 'mountPath': '/var/lib/metrics-utility'} in pod['containers'][0]['volumeMounts']
    settings = kube_api.get_object('configmaps', NS, 'controller-settings')['data']
    assert settings['METRICS_UTILITY_STATE_PATH'] == '/var/lib/metrics-utility/watermarks.json'

    # Resuming writes nothing: the claim exists, every rendered hash is unchanged.
    before = len(kube_api.requests_log)
    await operator.restart()
    await eventually(lambda: operator.runtime.metrics.reconciles.labels(NS, 'controller', 'ok')._value.get() == 1)
    after = [r for r in kube_api.requests_log[before:] if r.user_agent.startswith('metrics-operator')]
    assert [r for r in after if r.verb in ('create', 'patch', 'delete')] == []

    await user.delete(mc_path('controller'))
    await eventually(lambda: kube_api.get_object('metricscollections', NS, 'controller') is None, what='CR gone')
    kept = kube_api.get_object('persistentvolumeclaims', NS, 'controller-data') is not None
    assert kept == (policy == 'Retain')
    assert len(writes(kube_api, 'persistentvolumeclaims', ('delete',))) == (1 if policy == 'Delete' else 0)


async def test_missing_crc_state_claim_names_the_field(kube_api, operator, user):
    await user.create('secrets', db_secret())
    await user.create('secrets', crc_secret())
    storage = crc_storage({'claimName': 'crc-state'})
    await user.create('metricscollections', collection(report={'enabled': False}, storage=storage))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'ClaimNotFound'), what='ClaimNotFound')
    message = conditions(mc)['Ready']['message']
    assert message.startswith("spec.storage.crc.state.claimName: PersistentVolumeClaim 'crc-state' not found")
    assert kube_api.stored('cronjobs', NS) == [] and kube_api.stored('persistentvolumeclaims', NS) == []
    await user.create('persistentvolumeclaims', claim('crc-state'))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready after the claim appears')
    volumes = pod_spec(kube_api, 'controller-gather')['volumes']
    assert {'name': 'state', 'persistentVolumeClaim': {'claimName': 'crc-state'}} in volumes
    assert not writes(kube_api, 'persistentvolumeclaims')  # the user's claim: never created nor deleted


GATHER_OK = GATHER_SUMMARY | {'error': None}


async def test_job_outcomes_become_conditions_status_and_events(kube_api, operator, user, prerequisites, cronjobs):
    await user.create('metricscollections', collection())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')

    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(GATHER_OK), at=T0)
    mc = await eventually(cond_is(kube_api, 'controller', 'GatherSucceeded', 'True'), what='GatherSucceeded')
    gather = mc['status']['gather']
    assert gather['rows'] == 123 and gather['bytes'] == 4567 and gather['packages'] == 2
    assert gather['lastWindow'] == GATHER_OK['window']
    assert gather['lastSuccessTime'] == '2026-03-02T04:01:00Z'
    assert gather['lastScheduleTime'] == '2026-03-02T04:00:00Z'
    assert conditions(mc)['Degraded']['status'] == 'False'

    failed = {'command': 'gather', 'ok': False, 'error': 'cannot connect to controller-postgres:5432'}
    await cronjobs.run(NS, 'controller-gather', succeeded=False, message=json.dumps(failed), at=T0 + timedelta(hours=1))
    mc = await eventually(cond_is(kube_api, 'controller', 'Degraded', 'True', 'GatherFailed'), what='Degraded')
    assert conditions(mc)['GatherSucceeded']['status'] == 'False'
    assert 'cannot connect' in conditions(mc)['GatherSucceeded']['message']
    assert mc['status']['gather']['rows'] == 123  # figures of the last success are kept
    assert mc['status']['gather']['lastError'] == failed['error']
    event = await eventually(
        lambda: [e for e in kube_api.stored('events', NS) if e.get('reason') == 'GatherFailed'], what='Event'
    )
    assert len(event) == 1 and event[0]['type'] == 'Warning' and 'cannot connect' in event[0]['message']

    # A garbled termination message: Job conditions alone decide.
    await cronjobs.run(NS, 'controller-report', succeeded=False, message='Traceback (most…', at=T0 + timedelta(hours=2))
    mc = await eventually(cond_is(kube_api, 'controller', 'ReportSucceeded', 'False'), what='ReportSucceeded=False')
    assert 'BackoffLimitExceeded' in mc['status']['report']['lastError']


async def test_invalid_spec_is_reported_without_children(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection(gather={'schedule': 'every hour'}))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'InvalidSpec'), what='InvalidSpec')
    assert 'spec.gather.schedule' in conditions(mc)['Ready']['message']
    assert kube_api.stored('cronjobs', NS) == []
    assert kube_api.stored('configmaps', NS) == []
    await eventually(lambda: [e for e in kube_api.stored('events', NS) if e.get('reason') == 'InvalidSpec'])


WORKER_WOULD_REFUSE = {
    'minute 61, hour 25': (
        {'gather': {'schedule': '61 25 * * *'}},
        'spec.gather.schedule: minute 61 is out of range 0-59',
    ),
    'February 30 never comes': (
        {'report': {'schedule': '0 4 30 2 *'}},
        'spec.report.schedule: never runs: no chosen month has day 30',
    ),
    'no collector': ({'collectors': []}, 'spec.collectors: must list at least one collector'),
    'storage on the pod scratch': (
        {'storage': {'type': 'directory', 'directory': {'claimName': 'metrics-data', 'path': '/tmp'}}},
        'spec.storage.directory.path: /tmp collides with /tmp, which the worker pod needs; choose another directory '
        'such as /metrics-utility',
    ),
    'a backfill from February 30': (
        {'backfill': {'since': '2023-02-30', 'until': '2023-03-02'}},
        'spec.backfill.since: must be a real UTC date (2024-01-31) or an RFC 3339 time',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', WORKER_WOULD_REFUSE, ids=list(WORKER_WOULD_REFUSE))
async def test_a_spec_the_worker_would_refuse_is_invalid_without_children(
    kube_api, operator, user, prerequisites, case
):
    """Without the CRD's checks (the emulator runs no CEL) the operator is the last gate."""
    fields, message = WORKER_WOULD_REFUSE[case]
    await user.create('metricscollections', collection(**fields))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'InvalidSpec'), what='InvalidSpec')
    assert conditions(mc)['Ready']['message'] == message
    assert kube_api.stored('cronjobs', NS) == [] and kube_api.stored('configmaps', NS) == []


async def test_a_renewal_report_runs_with_the_start_it_needs(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection(report={'type': 'RENEWAL_GUIDANCE', 'since': '24months'}))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    report = kube_api.get_object('cronjobs', NS, 'controller-report')
    command = report['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['command']
    assert command == ['metrics-utility', 'build-report', '--since=24months', '--summary-file=/dev/termination-log']


ALLOWED_IMAGES = 'registry.example/metrics-utility:test, registry.example/metrics-utility:approved'
NOT_ALLOWED = {
    'foreign image': (
        {'image': 'evil.example/miner:1'},
        'ImageNotAllowed',
        f"spec.image: 'evil.example/miner:1' is not an allowed worker image ({ALLOWED_IMAGES}); an administrator may "
        "add it to the operator's allowed images",
    ),
    'foreign service account': (
        {'serviceAccountName': 'admin'},
        'ServiceAccountNotAllowed',
        "spec.serviceAccountName: 'admin' is not an allowed worker service account (allowed: metrics-worker); an "
        "administrator may add it to the operator's allowed service accounts",
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', NOT_ALLOWED, ids=list(NOT_ALLOWED))
async def test_a_foreign_image_or_account_is_refused_before_anything_is_written(
    kube_api, operator, user, prerequisites, case
):
    fields, reason, message = NOT_ALLOWED[case]
    await user.create('metricscollections', collection(**fields))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', reason), what=reason)
    assert conditions(mc)['Ready']['message'] == message
    assert kube_api.stored('cronjobs', NS) == [] and kube_api.stored('configmaps', NS) == []
    await eventually(lambda: [e for e in kube_api.stored('events', NS) if e.get('reason') == reason], what='Event')


@pytest.mark.hostile
@pytest.mark.parametrize('case', NOT_ALLOWED, ids=list(NOT_ALLOWED))
async def test_switching_to_a_foreign_image_or_account_leaves_the_cronjobs_as_they_were(
    kube_api, operator, user, prerequisites, case
):
    approved = {'image': 'registry.example/metrics-utility:approved', 'serviceAccountName': 'metrics-worker'}
    await user.create('metricscollections', collection(**approved))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready with allowed choices')
    before = {c['metadata']['name']: c['spec'] for c in kube_api.stored('cronjobs', NS)}
    pods = [spec['jobTemplate']['spec']['template']['spec'] for spec in before.values()]
    assert {(p['containers'][0]['image'], p['serviceAccountName']) for p in pods} == {tuple(approved.values())}
    written = len(writes(kube_api, 'cronjobs'))

    fields, reason, message = NOT_ALLOWED[case]
    await user.merge_patch(mc_path('controller'), {'spec': fields})
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', reason), what=reason)
    assert conditions(mc)['Ready']['message'] == message
    assert {c['metadata']['name']: c['spec'] for c in kube_api.stored('cronjobs', NS)} == before
    assert len(writes(kube_api, 'cronjobs')) == written


async def test_missing_secret_then_created(kube_api, operator, user):
    await user.create('persistentvolumeclaims', claim())
    await user.create('metricscollections', collection())
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'SecretNotFound'), what='SecretNotFound')
    assert 'spec.database.credentialsSecret.name' in conditions(mc)['Ready']['message']
    assert kube_api.stored('cronjobs', NS) == []

    await user.create('secrets', db_secret())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready after the Secret appears')
    assert len(kube_api.stored('cronjobs', NS)) == 2


async def test_missing_claim(kube_api, operator, user):
    await user.create('secrets', db_secret())
    await user.create('metricscollections', collection())
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'ClaimNotFound'), what='ClaimNotFound')
    assert 'spec.storage.directory.claimName' in conditions(mc)['Ready']['message']


async def test_restart_creates_no_duplicates(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    before = len(kube_api.requests_log)
    await operator.restart()
    await eventually(lambda: operator.runtime.metrics.reconciles.labels(NS, 'controller', 'ok')._value.get() == 1)
    after = [r for r in kube_api.requests_log[before:] if r.user_agent.startswith('metrics-operator')]
    assert [r for r in after if r.verb in ('create', 'patch', 'delete')] == []
    assert len(kube_api.stored('cronjobs', NS)) == 2


async def test_two_collections_in_one_namespace(kube_api, operator, user, prerequisites, cronjobs):
    await user.create('metricscollections', collection('alpha'))
    await user.create('metricscollections', collection('beta', report={'enabled': False}))
    await eventually(cond_is(kube_api, 'alpha', 'Ready', 'True'), what='alpha Ready')
    await eventually(cond_is(kube_api, 'beta', 'Ready', 'True'), what='beta Ready')
    assert {c['metadata']['name'] for c in kube_api.stored('cronjobs', NS)} == {
        'alpha-gather',
        'alpha-report',
        'beta-gather',
    }
    await cronjobs.run(NS, 'beta-gather', succeeded=False, message=None, at=T0)
    await eventually(cond_is(kube_api, 'beta', 'Degraded', 'True'), what='beta Degraded')
    alpha = kube_api.get_object('metricscollections', NS, 'alpha')
    assert conditions(alpha)['Degraded']['status'] == 'False'
    assert 'gather' not in alpha['status']


async def test_secrets_never_leave_their_secret(kube_api, operator, user, prerequisites, cronjobs, caplog):
    await user.create('metricscollections', collection())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(GATHER_OK), at=T0)
    await eventually(cond_is(kube_api, 'controller', 'GatherSucceeded', 'True'))
    for (resource, _, _), obj in kube_api.objects.items():
        if resource.plural != 'secrets' and not obj.deleted:
            assert DB_PASSWORD not in json.dumps(obj.last.raw), resource
    assert DB_PASSWORD not in caplog.text
    # The operator only ever asked for the Secret's metadata.
    reads = [r for r in kube_api.requests_by('metrics-operator') if r.resource == 'secrets']
    assert reads and {r.verb for r in reads} == {'get'}


async def test_every_request_is_recorded_for_rbac(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    used = {
        (r.group, r.resource, r.subresource, r.verb)
        for r in kube_api.requests_log
        if r.user_agent.startswith(('kopf', 'metrics-operator'))
    }
    assert (names.GROUP, names.PLURAL, 'status', 'patch') in used
    assert ('batch', 'cronjobs', None, 'create') in used
    assert ('batch', 'jobs', None, 'watch') in used
    assert all(r.namespace == NS for r in kube_api.requests_log if r.user_agent.startswith('metrics-operator'))


KPI = {'url': 'https://es.example:9200', 'index': 'aap-kpi', 'apiKeySecret': {'name': 'es-kpi'}}


def pod_env(kube_api, cronjob: str) -> dict[str, dict]:
    cj = kube_api.get_object('cronjobs', NS, cronjob)
    return {e['name']: e for e in cj['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['env']}


async def test_kpi_and_report_sources_wait_for_their_references(kube_api, operator, user, prerequisites, cronjobs):
    sources = [{'claimName': 'controller-b'}, {'claimName': 'controller-b', 'path': 'east'}]
    await user.create('metricscollections', collection(kpi=KPI, report={'additionalSources': sources}))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'SecretNotFound'), what='SecretNotFound')
    assert "spec.kpi.apiKeySecret.name: Secret 'es-kpi' not found" in conditions(mc)['Ready']['message']
    await user.create('secrets', es_secret())
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'ClaimNotFound'), what='ClaimNotFound')
    message = conditions(mc)['Ready']['message']
    assert "spec.report.additionalSources[0].claimName: PersistentVolumeClaim 'controller-b' not found" in message
    assert kube_api.stored('cronjobs', NS) == []  # nothing half-configured is written

    await user.create('persistentvolumeclaims', claim('controller-b'))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready after the claim appears')
    gather = pod_env(kube_api, 'controller-gather')
    assert gather['METRICS_UTILITY_ELASTICSEARCH_URL']['value'] == KPI['url']
    key_ref = gather['METRICS_UTILITY_ELASTICSEARCH_API_KEY']['valueFrom']['secretKeyRef']
    assert key_ref == {'name': 'es-kpi', 'key': 'api-key'}
    report = kube_api.get_object('cronjobs', NS, 'controller-report')['spec']['jobTemplate']['spec']['template']['spec']
    source = {'name': 'source-0', 'persistentVolumeClaim': {'claimName': 'controller-b', 'readOnly': True}}
    assert source in report['volumes']
    paths = pod_env(kube_api, 'controller-report')['METRICS_UTILITY_ADDITIONAL_SHIP_PATHS']['value']
    assert paths == '/sources/0;/sources/0/east'
    assert not any('ELASTICSEARCH' in k for k in pod_env(kube_api, 'controller-report'))

    # A gather whose KPI sink failed still succeeded; the key never shows up anywhere but in its Secret.
    ok = GATHER_OK | {'kpi': {'documents': 0, 'error': 'POST https://es.example:9200/_bulk: 401 (ApiKey ***)'}}
    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(ok), at=T0)
    await eventually(cond_is(kube_api, 'controller', 'GatherSucceeded', 'True'), what='GatherSucceeded')
    await cronjobs.run(NS, 'controller-report', succeeded=False, message=None, at=T0 + timedelta(hours=1))
    await eventually(lambda: [e for e in kube_api.stored('events', NS) if e.get('reason') == 'ReportFailed'])
    # Every stored object but Secrets: ConfigMap, CronJobs, Jobs, pods, the collection with its status, and the
    # Events (SecretNotFound, ClaimNotFound, ReportFailed) posted on the way.
    assert {'SecretNotFound', 'ClaimNotFound', 'ReportFailed'} <= {
        e.get('reason') for e in kube_api.stored('events', NS)
    }
    for (resource, _, _), obj in kube_api.objects.items():
        if resource.plural != 'secrets' and not obj.deleted:
            assert ES_API_KEY not in json.dumps(obj.last.raw), resource
    reads = [r for r in kube_api.requests_by('metrics-operator') if r.resource == 'secrets']
    assert {r.verb for r in reads} == {'get'}


async def test_source_on_the_operators_own_claim_does_not_wait_for_it(kube_api, operator, user, prerequisites):
    sized = {'type': 'directory', 'directory': {'size': '2Gi'}}
    sources = [{'claimName': 'controller-data', 'path': 'imported'}]
    await user.create('metricscollections', collection(storage=sized, report={'additionalSources': sources}))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    paths = pod_env(kube_api, 'controller-report')['METRICS_UTILITY_ADDITIONAL_SHIP_PATHS']['value']
    assert paths == '/metrics-utility/imported'  # read through the data mount, not mounted twice


async def test_adding_kpi_patches_only_the_gather(kube_api, operator, user, prerequisites):
    await user.create('secrets', es_secret())
    await user.create('metricscollections', collection())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    report_before = kube_api.get_object('cronjobs', NS, 'controller-report')['metadata']['resourceVersion']

    await user.merge_patch(mc_path('controller'), {'spec': {'kpi': KPI}})
    await eventually(lambda: 'METRICS_UTILITY_ELASTICSEARCH_URL' in pod_env(kube_api, 'controller-gather'))
    await eventually(
        lambda: kube_api.get_object('metricscollections', NS, 'controller')['status']['observedGeneration'] == 2
    )
    assert [r.name for r in writes(kube_api, 'cronjobs', ('patch',))] == ['controller-gather']
    assert not writes(kube_api, 'configmaps', ('patch',))
    assert kube_api.get_object('cronjobs', NS, 'controller-report')['metadata']['resourceVersion'] == report_before


async def test_tolerations_patch_every_cronjob_and_a_bad_selector_is_invalid(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection(vcpu={'enabled': True, 'clusterName': 'prod'}))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    tolerations = [{'key': 'dedicated', 'operator': 'Equal', 'value': 'aap', 'effect': 'NoSchedule'}]

    await user.merge_patch(mc_path('controller'), {'spec': {'tolerations': tolerations}})
    wanted = [names.cronjob_name('controller', kind) for kind in names.JOB_KINDS]
    await eventually(
        lambda: all(pod_spec(kube_api, cj).get('tolerations') == tolerations for cj in wanted), what='tolerations'
    )
    assert sorted(r.name for r in writes(kube_api, 'cronjobs', ('patch',))) == sorted(wanted)
    assert not writes(kube_api, 'configmaps', ('patch',))

    # An older CRD without the schema lets a wrong type through: the operator names the field.
    await user.merge_patch(mc_path('controller'), {'spec': {'nodeSelector': {'disk': 1}}})
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'InvalidSpec'), what='InvalidSpec')
    assert conditions(mc)['Ready']['message'].startswith('spec.nodeSelector: ')


async def test_invalid_source_names_the_field(kube_api, operator, user, prerequisites):
    await user.create('metricscollections', collection(report={'additionalSources': [{'s3': 's3://other/a'}]}))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'InvalidSpec'), what='InvalidSpec')
    assert conditions(mc)['Ready']['message'].startswith('spec.report.additionalSources[0].s3: needs storage.type s3')
    assert kube_api.stored('cronjobs', NS) == []


def backfill_status(kube_api, name='controller', **wanted):
    def check():
        block = ((kube_api.get_object('metricscollections', NS, name) or {}).get('status') or {}).get('backfill') or {}
        return block if all(block.get(k) == v for k, v in wanted.items()) else None

    return check


async def test_backfill_runs_as_one_indexed_job_and_reports_progress(kube_api, operator, user, prerequisites, cronjobs):
    request = {'since': '2024-01-01', 'until': '2024-02-01', 'parallelism': 2, 'shards': 3}
    await user.create('metricscollections', collection(backfill=request))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    jobs = [j for j in kube_api.stored('jobs', NS) if j['metadata']['labels'].get(names.LABEL_JOB_KIND) == 'backfill']
    assert len(jobs) == 1
    job = jobs[0]
    assert job['spec']['completionMode'] == 'Indexed' and (job['spec']['completions'], job['spec']['parallelism']) == (
        3,
        2,
    )
    assert job['metadata']['ownerReferences'][0]['uid'] == mc['metadata']['uid']
    name = job['metadata']['name']

    await cronjobs.index_progress(NS, name, completed='0', active=2)
    block = await eventually(backfill_status(kube_api, completed=1), what='progress')
    assert block['phase'] == 'Running' and block['shards'] == 3 and block['since'] == '2024-01-01T00:00:00Z'
    mc = await eventually(cond_is(kube_api, 'controller', 'BackfillSucceeded', 'Unknown', 'BackfillRunning'))
    assert '1 of 3' in conditions(mc)['BackfillSucceeded']['message']

    await cronjobs.index_progress(NS, name, completed='0,2', failed='1', finished='Failed')
    mc = await eventually(cond_is(kube_api, 'controller', 'BackfillSucceeded', 'False', 'BackfillFailed'))
    assert mc['status']['backfill']['failedIndexes'] == '1' and mc['status']['backfill']['completedIndexes'] == '0,2'

    # Restarts never start the same backfill again; a new request is a new Job.
    await operator.restart()
    await eventually(lambda: operator.runtime.metrics.reconciles.labels(NS, 'controller', 'ok')._value.get() == 1)
    # Two creates: the backfill Job and the check Job of the spec (docs/check.md), neither repeated by the restart.
    assert len(writes(kube_api, 'jobs', ('create',))) == 2
    await user.merge_patch(mc_path('controller'), {'spec': {'backfill': {'since': '2024-01-15'}}})
    await eventually(lambda: len(writes(kube_api, 'jobs', ('create',))) == 3, what='second Job')
    newest = [
        j
        for j in kube_api.stored('jobs', NS)
        if j['metadata']['name'] != name and j['metadata']['labels'].get(names.LABEL_JOB_KIND) == 'backfill'
    ]
    await cronjobs.index_progress(NS, newest[0]['metadata']['name'], completed='0-2', finished='Complete')
    await eventually(cond_is(kube_api, 'controller', 'BackfillSucceeded', 'True', 'BackfillComplete'))


async def test_stored_bytes_and_storage_nearly_full(kube_api, operator, user, prerequisites, cronjobs):
    await user.create('metricscollections', collection(retention={'maxBytes': 1000, 'maxAgeDays': 400}))
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
    cj = kube_api.get_object('cronjobs', NS, 'controller-gather')
    env = {
        e['name']: e.get('value') for e in cj['spec']['jobTemplate']['spec']['template']['spec']['containers'][0]['env']
    }
    assert env['METRICS_UTILITY_RETENTION_MAX_BYTES'] == '1000'
    ok = GATHER_OK | {
        'stored_bytes': 500,
        'stored_objects': 7,
        'volume': {'bytes': 10**9, 'free_bytes': 9 * 10**8},
        'retention': {
            'max_bytes': 1000,
            'max_age_days': 400,
            'deleted_objects': 0,
            'deleted_bytes': 0,
            'blocked_objects': 0,
            'blocked_bytes': 0,
        },
    }
    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(ok), at=T0)
    mc = await eventually(cond_is(kube_api, 'controller', 'StorageNearlyFull', 'False', 'WithinLimits'))
    assert mc['status']['storage']['storedBytes'] == 500 and mc['status']['storage']['storedObjects'] == 7
    fuller = ok | {'stored_bytes': 960}
    await cronjobs.run(NS, 'controller-gather', succeeded=True, message=json.dumps(fuller), at=T0 + timedelta(hours=1))
    mc = await eventually(cond_is(kube_api, 'controller', 'StorageNearlyFull', 'True', 'LimitNearlyReached'))
    assert mc['status']['storage']['storedBytes'] == 960


@pytest.mark.hostile
async def test_an_s3_endpoint_holding_credentials_is_refused_and_never_written(kube_api, operator, user, prerequisites):
    s3 = {'bucket': 'bkt', 'endpoint': 'https://minio:Pw-0009-do-not-leak@s3.local:9000'}
    await user.create('metricscollections', collection(storage={'type': 's3', 's3': s3}))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'InvalidSpec'), what='InvalidSpec')
    assert conditions(mc)['Ready']['message'] == (
        'spec.storage.s3.endpoint: must not hold user:password@ (it would reach the ConfigMap and logs): '
        'use credentialsSecret'
    )
    assert kube_api.stored('configmaps', NS) == [] and kube_api.stored('cronjobs', NS) == []
    events = await eventually(lambda: [e for e in kube_api.stored('events', NS) if e.get('reason') == 'InvalidSpec'])
    shown = json.dumps({'status': mc['status'], 'events': [e.get('message') for e in events]})
    assert 'Pw-0009' not in shown and 'minio:' not in shown


CONSOLE = {'billingAccountId': '123456789012', 'serviceAccountSecret': {'name': 'sa'}}


async def test_console_beside_the_claim_waits_for_its_secret_and_shows_its_outcome(
    kube_api, operator, user, prerequisites, cronjobs
):
    """`storage.console` (upstream's metrics_utility_console_enabled): the gather CronJob sends to
    console.redhat.com too; its failure is shown in status.gather.secondary and never fails the gather."""
    storage = {'type': 'directory', 'directory': {'claimName': 'metrics-data'}, 'console': CONSOLE}
    await user.create('metricscollections', collection(storage=storage))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'SecretNotFound'), what='SecretNotFound')
    assert "spec.storage.console.serviceAccountSecret.name: Secret 'sa' not found" in conditions(mc)['Ready']['message']
    assert kube_api.stored('cronjobs', NS) == []
    await user.create('secrets', crc_secret())
    await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready after the Secret appears')
    gather = pod_env(kube_api, 'controller-gather')
    assert gather['METRICS_UTILITY_SECONDARY_TARGET'] == {'name': 'METRICS_UTILITY_SECONDARY_TARGET', 'value': 'crc'}
    ref = gather['METRICS_UTILITY_SERVICE_ACCOUNT_SECRET']['valueFrom']['secretKeyRef']
    assert ref == {'name': 'sa', 'key': 'client-secret'}
    for other in ('controller-report',):
        assert not any('SECONDARY' in k or 'SERVICE_ACCOUNT' in k for k in pod_env(kube_api, other))

    window = {'since': '2026-03-01T00:00:00+00:00', 'until': '2026-03-02T00:00:00+00:00'}
    failing = {
        'target': 'crc',
        'ok': False,
        'windows': 0,
        'packages': 0,
        'bytes': 0,
        'pending': 2,
        'last_window': None,
        'shipped_until': {},
        'error': 'ingress: HTTP 503',
    }
    await cronjobs.run(
        NS, 'controller-gather', succeeded=True, message=json.dumps(GATHER_OK | {'secondary': failing}), at=T0
    )
    mc = await eventually(cond_is(kube_api, 'controller', 'GatherSucceeded', 'True'), what='GatherSucceeded')
    assert mc['status']['gather']['secondary'] == {
        'target': 'crc',
        'ok': False,
        'pending': 2,
        'error': 'ingress: HTTP 503',
    }
    caught_up = failing | {'ok': True, 'windows': 2, 'pending': 0, 'last_window': window, 'error': None}
    await cronjobs.run(
        NS,
        'controller-gather',
        succeeded=True,
        message=json.dumps(GATHER_OK | {'secondary': caught_up}),
        at=T0 + timedelta(hours=1),
    )
    mc = await eventually(
        lambda: (
            (o := kube_api.get_object('metricscollections', NS, 'controller'))
            and o['status']['gather'].get('secondary', {}).get('ok')
            and o
        ),
        what='the secondary caught up',
    )
    assert mc['status']['gather']['secondary'] == {'target': 'crc', 'ok': True, 'pending': 0, 'lastWindow': window}


DASHBOARD_PATH = '/apis/apps/v1/namespaces/default/deployments/controller-dashboard'
AUTH_ROLE = 'metrics-utility-dashboard-auth'
BINDING = 'metrics-utility-dashboard:default:controller'


def owned_by(obj, mc) -> bool:
    return any(ref['uid'] == mc['metadata']['uid'] for ref in obj['metadata'].get('ownerReferences') or [])


async def test_the_dashboard_is_a_deployment_and_service_whose_availability_reaches_status(
    kube_api, operator, user, prerequisites
):
    await user.create('metricscollections', collection(dashboard={'enabled': True}))
    # A new Deployment without status: no pod is available yet.
    mc = await eventually(cond_is(kube_api, 'controller', 'DashboardAvailable', 'False'), what='dashboard pending')
    assert conditions(mc)['DashboardAvailable']['message'] == 'Deployment controller-dashboard has no available pod'
    deployment = kube_api.get_object('deployments', NS, 'controller-dashboard')
    service = kube_api.get_object('services', NS, 'controller-dashboard')
    assert owned_by(deployment, mc) and owned_by(service, mc)
    assert deployment['spec']['template']['spec']['containers'][0]['command'] == ['metrics-utility', 'serve']
    assert mc['status']['dashboard'] == {
        'service': 'controller-dashboard',
        'port': 8080,
        'access': f'kubectl port-forward -n {NS} svc/controller-dashboard 8080:8080',
        'availableReplicas': 0,
    }
    gather = kube_api.get_object('cronjobs', NS, 'controller-gather')['spec']['jobTemplate']['spec']['template']
    assert (
        gather['spec']['affinity']['podAffinity']['requiredDuringSchedulingIgnoredDuringExecution'][0]['labelSelector'][
            'matchLabels'
        ].items()
        <= deployment['spec']['template']['metadata']['labels'].items()
    )

    # The Deployment controller reports a pod that never became ready, then one that did.
    unavailable = {'type': 'Available', 'status': 'False', 'reason': 'MinimumReplicasUnavailable', 'message': 'no pod'}
    await user.merge_patch(f'{DASHBOARD_PATH}/status', {'status': {'replicas': 1, 'conditions': [unavailable]}})
    why = 'Deployment controller-dashboard has no available pod (MinimumReplicasUnavailable: no pod)'
    await eventually(
        lambda: (
            conditions(kube_api.get_object('metricscollections', NS, 'controller'))['DashboardAvailable'].get('message')
            == why
        ),
        what='the reason the pod is unavailable',
    )
    await user.merge_patch(f'{DASHBOARD_PATH}/status', {'status': {'availableReplicas': 1}})
    mc = await eventually(cond_is(kube_api, 'controller', 'DashboardAvailable', 'True'), what='available')
    assert mc['status']['dashboard']['availableReplicas'] == 1

    # Off again: its objects, status block and condition go; no account or binding was ever touched.
    await user.merge_patch(mc_path('controller'), {'spec': {'dashboard': {'enabled': False}}})
    await eventually(lambda: kube_api.get_object('deployments', NS, 'controller-dashboard') is None, what='removed')
    await eventually(lambda: kube_api.get_object('services', NS, 'controller-dashboard') is None, what='no Service')
    mc = await eventually(
        lambda: (lambda o: o if 'dashboard' not in o['status'] else None)(
            kube_api.get_object('metricscollections', NS, 'controller')
        ),
        what='status.dashboard removed',
    )
    assert 'DashboardAvailable' not in conditions(mc)
    gather = kube_api.get_object('cronjobs', NS, 'controller-gather')['spec']['jobTemplate']['spec']['template']
    assert 'affinity' not in gather['spec']
    assert not writes(kube_api, 'serviceaccounts', ('get', 'create', 'patch', 'delete'))
    assert not writes(kube_api, 'clusterrolebindings', ('get', 'create', 'patch', 'delete'))


async def test_network_mode_without_the_charts_rights_is_refused_before_anything_is_written(
    kube_api, operator, user, prerequisites
):
    await user.create('metricscollections', collection(dashboard={'enabled': True, 'network': {'enabled': True}}))
    mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'False', 'DashboardNetworkModeOff'), what='refused')
    assert conditions(mc)['Ready']['message'] == (
        'spec.dashboard.network.enabled: the operator was installed without the rights network mode needs '
        '(set the chart value dashboard.networkMode to true), or use the default port-forward access'
    )
    assert kube_api.stored('deployments', NS) == [] and kube_api.stored('cronjobs', NS) == []


async def test_network_mode_binds_its_own_account_for_reviews_and_unbinds_it(kube_api, operator_config, user):
    from dataclasses import replace

    from testsupport.operator_runner import OperatorRun

    await user.create('secrets', db_secret())
    await user.create('persistentvolumeclaims', claim())
    run = OperatorRun(kube_api.url, replace(operator_config, dashboard_auth_role=AUTH_ROLE), namespaces=(NS,))
    await run.start()
    try:
        route = {'enabled': True, 'host': 'metrics.apps.example.com'}
        await user.create(
            'metricscollections', collection(dashboard={'enabled': True, 'network': {'enabled': True, 'route': route}})
        )
        mc = await eventually(cond_is(kube_api, 'controller', 'Ready', 'True'), what='Ready')
        account = kube_api.get_object('serviceaccounts', NS, 'controller-dashboard')
        assert owned_by(account, mc)
        (binding,) = [b for b in kube_api.stored('clusterrolebindings') if b['metadata']['name'] == BINDING]
        assert binding['roleRef'] == {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': AUTH_ROLE}
        assert binding['subjects'] == [{'kind': 'ServiceAccount', 'name': 'controller-dashboard', 'namespace': NS}]
        assert kube_api.get_object('routes', NS, 'controller-dashboard')['spec']['tls']['termination'] == 'reencrypt'
        service = kube_api.get_object('services', NS, 'controller-dashboard')
        assert service['metadata']['annotations']['service.beta.openshift.io/serving-cert-secret-name'] == (
            'controller-dashboard-tls'
        )
        mc = await eventually(
            lambda: (lambda o: o if (o.get('status') or {}).get('dashboard') else None)(
                kube_api.get_object('metricscollections', NS, 'controller')
            ),
            what='status.dashboard',
        )
        assert mc['status']['dashboard']['url'] == 'https://metrics.apps.example.com'

        # Back to port-forward only: the Route, the binding and the account go.
        await user.merge_patch(
            mc_path('controller'), {'spec': {'dashboard': {'network': {'enabled': False, 'route': {'enabled': False}}}}}
        )
        await eventually(lambda: kube_api.get_object('routes', NS, 'controller-dashboard') is None, what='no Route')
        await eventually(
            lambda: not [b for b in kube_api.stored('clusterrolebindings') if b['metadata']['name'] == BINDING],
            what='binding removed',
        )
        await eventually(
            lambda: kube_api.get_object('serviceaccounts', NS, 'controller-dashboard') is None, what='no account'
        )
        assert kube_api.get_object('deployments', NS, 'controller-dashboard') is not None

        # Network mode again, then the collection is deleted: the cluster-scoped binding goes with it.
        await user.merge_patch(
            mc_path('controller'), {'spec': {'dashboard': {'network': {'enabled': True, 'route': route}}}}
        )
        await eventually(
            lambda: [b for b in kube_api.stored('clusterrolebindings') if b['metadata']['name'] == BINDING],
            what='bound again',
        )
        await user.delete(mc_path('controller'))
        await eventually(lambda: kube_api.get_object('metricscollections', NS, 'controller') is None, what='deleted')
        assert not [b for b in kube_api.stored('clusterrolebindings') if b['metadata']['name'] == BINDING]
    finally:
        await run.stop()
