"""The check Job (metrics_operator.preflight): rendered from the gather pod, created on create and on a spec change
that changes the pod, again after a failed scheduled run; its pod's summary becomes the `Checked` condition. The
operator runs against the strict API emulator; the check Job's pod runs the real worker in-process against a real
PostgreSQL (a role without SELECT on main_host), its environment built as the kubelet builds it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from metrics_operator import names, preflight, render, spec, worker_summary
from metrics_operator.status import Failure
from metrics_utility.cli import main
from testsupport.kube_client import ApiUser, mc_path
from testsupport.operator_runner import eventually
from testsupport.operator_samples import claim, collection, db_secret
from testsupport.pod_in_worker import pod_of

NS = 'default'
IMAGE = 'registry.example/worker:1'

# A deadline without a run summary: the pod may never have started (a Secret it mounts missing).
NEVER_STARTED = (
    'no run summary: if the pod never started, a Secret or ConfigMap it mounts (such as the console.redhat.com '
    'identity) is missing; kubectl describe pod shows FailedMount'
)


def full(**fields: Any) -> dict[str, Any]:
    return spec.validate('controller', collection(**fields)['spec'])


# -- rendering ------------------------------------------------------------------------------------------------------


def test_the_check_job_is_the_gather_pod_running_check():
    config = full()
    job = preflight.check_job('controller', NS, config, IMAGE)
    gather = render.cronjob('controller', NS, 'gather', config, IMAGE)['spec']['jobTemplate']['spec']['template']
    pod = job['spec']['template']
    (worker,) = pod['spec']['containers']
    (gather_worker,) = gather['spec']['containers']
    assert worker['command'] == ['metrics-utility', 'check', '--summary-file=/dev/termination-log']
    assert worker['env'] == gather_worker['env']  # a report is scheduled: its variables stay and are checked
    assert {k: v for k, v in worker.items() if k not in ('command',)} == {
        k: v for k, v in gather_worker.items() if k not in ('command',)
    }
    assert pod['spec']['volumes'] == gather['spec']['volumes']
    assert job['metadata']['labels'][names.LABEL_JOB_KIND] == 'check'
    assert job['spec']['backoffLimit'] == 0 and job['spec']['activeDeadlineSeconds'] == 300
    assert job['spec']['ttlSecondsAfterFinished'] == 86400
    assert job['metadata']['name'].startswith('controller-check-') and len(job['metadata']['name']) == 25


def test_without_a_scheduled_report_its_type_is_unset_for_the_check():
    (worker,) = preflight.check_job('controller', NS, full(report={'enabled': False}), IMAGE)['spec']['template'][
        'spec'
    ]['containers']
    assert worker['env'][-1] == {'name': 'METRICS_UTILITY_REPORT_TYPE', 'value': ''}


def test_with_vcpu_the_check_also_asks_prometheus(tmp_path):
    """The vCPU CronJob's Prometheus joins the check: the worker reading the check pod's environment (as the kubelet
    builds it) plans the Prometheus probe with the vCPU pod's URL, CA file and token, next to the gather's collectors;
    the vCPU pod's own lock and its switch-off of job_host_summary stay out."""
    from metrics_utility.commands.check import configuration
    from metrics_utility.settings.environment import Environment

    vcpu = {'enabled': True, 'clusterName': 'c1', 'prometheusUrl': 'https://prom:9091', 'caConfigMap': {'name': 'pca'}}
    config = full(vcpu=vcpu, collectors=['job_host_summary', 'main_host'])
    job = preflight.check_job('controller', NS, config, IMAGE)
    pod = pod_of(job, render.configmap('controller', NS, config), tmp_path)
    problems, gather, _report = configuration(Environment(pod.env))
    assert problems == []
    assert gather.collectors == ['job_host_summary', 'main_host', 'total_workers_vcpu']
    assert gather.vcpu.prometheus_url == 'https://prom:9091' and gather.vcpu.cluster_name == 'c1'
    assert gather.vcpu.ca_bundle == str(tmp_path / 'etc/metrics-utility/ca/prometheus/ca.crt')
    assert gather.lock_name == 'gather_automation_controller_billing_lock'  # the gather's lock, not the vCPU one
    template = job['spec']['template']['spec']
    assert template['automountServiceAccountToken'] is True
    assert {'name': 'ca-prometheus', 'configMap': {'name': 'pca'}} in template['volumes']
    without = preflight.check_job('controller', NS, full(collectors=['job_host_summary']), IMAGE)
    assert without['spec']['template']['spec']['automountServiceAccountToken'] is False
    assert 'total_workers_vcpu' not in json.dumps(without)


NAMES = {
    'same spec, same Job': (lambda: full(), 'spec', True),
    'schedule change keeps the pod': (lambda: full(gather={'schedule': '@daily'}), 'spec', True),
    'database change is a new check': (
        lambda: full(database={'host': 'elsewhere', 'credentialsSecret': {'name': 'db-reader'}}),
        'spec',
        False,
    ),
    'a failed run is a new check': (lambda: full(), 'controller-gather-123', False),
}


@pytest.mark.hostile
@pytest.mark.parametrize('changed, trigger, same', NAMES.values(), ids=list(NAMES))
def test_the_job_name_changes_only_with_the_pod_or_the_trigger(changed, trigger, same):
    first = preflight.check_job('controller', NS, full(), IMAGE)['metadata']['name']
    second = preflight.check_job('controller', NS, changed(), IMAGE, trigger)['metadata']['name']
    assert (first == second) is same


def _job(outcome: str, name: str = 'controller-check-abc') -> dict[str, Any]:
    conditions = {
        'active': [],
        'succeeded': [{'type': 'Complete', 'status': 'True'}],
        'failed': [
            {
                'type': 'Failed',
                'status': 'True',
                'reason': 'DeadlineExceeded',
                'message': 'Job was active longer than specified deadline',
            }
        ],
    }[outcome]
    labels = {names.LABEL_JOB_KIND: 'check'}
    return {'metadata': {'name': name, 'labels': labels}, 'status': {'conditions': conditions}}


def _summary(**data: Any) -> worker_summary.Summary | None:
    return worker_summary.parse(json.dumps({'command': 'check', **data}))


STATES = {
    'no check Job': (None, None, None),
    'running': (
        _job('active'),
        None,
        ('Unknown', 'Checking', 'Job controller-check-abc is checking the database, storage and report settings'),
    ),
    'passed': (
        _job('succeeded'),
        _summary(ok=True, reason='Ok'),
        ('True', 'ChecksPassed', 'Job controller-check-abc: every check passed'),
    ),
    'permission denied names the table': (
        _job('failed'),
        _summary(ok=False, reason='PermissionDenied', error="tables: role 'r' may not SELECT from main_host"),
        ('False', 'PermissionDenied', "tables: role 'r' may not SELECT from main_host"),
    ),
    'an unknown reason is not trusted': (
        _job('failed'),
        _summary(ok=False, reason='Bogus Reason', error='x'),
        ('False', 'CheckFailed', 'x'),
    ),
    'another command’s summary is ignored': (
        _job('failed'),
        worker_summary.parse(json.dumps({'command': 'gather', 'ok': False, 'error': 'x'})),
        (
            'False',
            'CheckFailed',
            'Job controller-check-abc failed without a summary (DeadlineExceeded: Job was '
            f'active longer than specified deadline ({NEVER_STARTED}))',
        ),
    ),
    'killed without a summary': (
        _job('failed'),
        None,
        (
            'False',
            'CheckFailed',
            'Job controller-check-abc failed without a summary (DeadlineExceeded: Job was '
            f'active longer than specified deadline ({NEVER_STARTED}))',
        ),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('job, found, expected', STATES.values(), ids=list(STATES))
def test_check_state(job, found, expected):
    assert preflight.check_state(job, found) == expected


def test_the_newest_check_job_counts_and_other_jobs_are_not_checks():
    older = {
        **_job('failed', 'controller-check-1'),
        'metadata': {
            **_job('failed')['metadata'],
            'name': 'controller-check-1',
            'creationTimestamp': '2024-01-01T00:00:00Z',
        },
    }
    newer = {
        **_job('active'),
        'metadata': {
            **_job('active')['metadata'],
            'name': 'controller-check-2',
            'creationTimestamp': '2024-01-02T00:00:00Z',
        },
    }
    gather = {
        'metadata': {
            'name': 'controller-gather-9',
            'labels': {names.LABEL_JOB_KIND: 'gather'},
            'creationTimestamp': '2024-01-03T00:00:00Z',
        }
    }
    assert preflight.latest_check([older, gather, newer])['metadata']['name'] == 'controller-check-2'
    assert preflight.latest_check([gather]) is None


def test_a_recheck_follows_the_first_gather_or_report_failure():
    assert preflight.recheck_trigger([Failure('vcpu', 'v-1', 'x'), Failure('report', 'r-1', 'y')]) == 'r-1'
    assert preflight.recheck_trigger([Failure('vcpu', 'v-1', 'x')]) is None


# -- the operator against the strict API emulator, the check pod run in-process ------------------------------------


def conditions(obj) -> dict[str, dict]:
    return {c['type']: c for c in ((obj or {}).get('status') or {}).get('conditions', [])}


def checked(kube_api, status: str, reason: str):
    def check():
        obj = kube_api.get_object('metricscollections', NS, 'controller')
        c = conditions(obj).get('Checked', {})
        return obj if (c.get('status'), c.get('reason')) == (status, reason) else None

    return check


def check_jobs(kube_api) -> list[dict]:
    return [j for j in kube_api.stored('jobs', NS) if j['metadata']['labels'].get(names.LABEL_JOB_KIND) == 'check']


def run_pod(kube_api, job: dict, tmp_path, objects) -> tuple[int, str]:
    """The check Job's pod as the kubelet would start it, run by the real worker; (exit code, termination message)."""
    configmap = kube_api.get_object('configmaps', NS, 'controller-settings')
    pod = pod_of(job, configmap, tmp_path, objects)
    out = tmp_path / 'termination-log'
    argv = [a if not a.startswith('--summary-file=') else f'--summary-file={out}' for a in pod.argv]
    code = main(argv, env=pod.env)
    return code, out.read_text()


@pytest.fixture
def partial_role(scratch_db):
    role, password = f'{scratch_db.dbname}_nohost', 'nohost-password-0013'
    with scratch_db.cluster.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    with scratch_db.cluster.connect(scratch_db.dbname, autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA public TO {role}')
        for table in (
            'conf_setting',
            'main_instance',
            'main_jobhostsummary',
            'main_job',
            'main_unifiedjobtemplate',
            'main_inventory',
            'main_unifiedjob',
            'main_organization',
            'main_jobevent',
        ):
            conn.execute(f'GRANT SELECT ON {table} TO {role}')
    yield scratch_db, role, password
    with scratch_db.cluster.connect(scratch_db.dbname, autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY {role}')
        conn.execute(f'DROP ROLE {role}')


@pytest.mark.integration
async def test_the_check_reports_the_missing_grant_then_passes_and_rechecks_after_a_failed_run(
    kube_api, operator, cronjobs, partial_role, tmp_path
):
    db, role, password = partial_role
    user = ApiUser(str(kube_api.url))
    secret = {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'metadata': {'name': 'db-partial'},
        'stringData': {'username': role, 'password': password},
    }
    objects = {('secret', 'db-partial'): {'username': role, 'password': password}}
    await user.create('secrets', secret)
    await user.create('persistentvolumeclaims', claim())
    database = {
        'host': '127.0.0.1',
        'port': db.cluster.port,
        'name': db.dbname,
        'sslMode': 'disable',
        'credentialsSecret': {'name': 'db-partial'},
    }
    await user.create('metricscollections', collection(database=database, report={'enabled': False}))
    await eventually(lambda: check_jobs(kube_api), what='the check Job')
    await eventually(checked(kube_api, 'Unknown', 'Checking'), what='Checked=Unknown while it runs')
    (job,) = check_jobs(kube_api)
    assert job['metadata']['annotations'][preflight.ANNOTATION_TRIGGER] == 'spec'

    code, message = run_pod(kube_api, job, tmp_path, objects)
    assert code == 1
    await cronjobs.finish(job, succeeded=False, message=message)
    mc = await eventually(checked(kube_api, 'False', 'PermissionDenied'), what='Checked=False PermissionDenied')
    assert conditions(mc)['Checked']['message'] == (
        f"tables: role '{role}' may not SELECT from main_host; as the database owner run: "
        f'GRANT SELECT ON main_host TO "{role}"'
    )
    assert conditions(mc)['Ready']['status'] == 'True'  # the children are in place; the check says what is wrong

    with db.cluster.connect(db.dbname, autocommit=True) as conn:
        conn.execute(f'GRANT SELECT ON main_host TO {role}')
    at = datetime(2024, 3, 1, 5, tzinfo=UTC)
    failed = await cronjobs.run(
        NS,
        'controller-gather',
        succeeded=False,
        at=at,
        message=json.dumps({'command': 'gather', 'ok': False, 'error': 'boom'}),
    )
    await eventually(lambda: len(check_jobs(kube_api)) == 2, what='a re-check after the failed run')
    (recheck,) = [j for j in check_jobs(kube_api) if j['metadata']['name'] != job['metadata']['name']]
    assert recheck['metadata']['annotations'][preflight.ANNOTATION_TRIGGER] == failed['metadata']['name']
    code, message = run_pod(kube_api, recheck, tmp_path, objects)
    assert code == 0, message
    await cronjobs.finish(recheck, succeeded=True, message=message)
    await eventually(checked(kube_api, 'True', 'ChecksPassed'), what='Checked=True')

    # A change of the pod is a new check; a restart or a schedule change is none.
    await operator.restart()
    await user.merge_patch(mc_path('controller'), {'spec': {'gather': {'schedule': '@daily'}}})
    await eventually(lambda: kube_api.get_object('cronjobs', NS, 'controller-gather')['spec']['schedule'] == '@daily')
    assert len(check_jobs(kube_api)) == 2
    await user.merge_patch(mc_path('controller'), {'spec': {'collectors': ['job_host_summary']}})
    await eventually(lambda: len(check_jobs(kube_api)) == 3, what='a check of the changed spec')


@pytest.mark.integration
async def test_a_suspended_collection_runs_no_check_until_it_is_resumed(kube_api, operator):
    user = ApiUser(str(kube_api.url))
    await user.create('secrets', db_secret())
    await user.create('persistentvolumeclaims', claim())
    await user.create('metricscollections', collection(suspend=True))
    await eventually(lambda: conditions(kube_api.get_object('metricscollections', NS, 'controller')).get('Ready'))
    assert check_jobs(kube_api) == []
    await user.merge_patch(mc_path('controller'), {'spec': {'suspend': False}})
    await eventually(lambda: check_jobs(kube_api), what='the check Job once resumed')
