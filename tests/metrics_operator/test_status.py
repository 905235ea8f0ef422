"""Conditions and status figures from Job outcomes (pure)."""

from __future__ import annotations

import json

import pytest

from metrics_operator import job_records, names, status, worker_summary

pytestmark = pytest.mark.unit
READY = status.ReadyState('True', 'Reconciled', 'ok')
NOW = '2026-03-02T10:00:00Z'

# A deadline without a run summary: the pod may never have started (a Secret it mounts missing).
NEVER_STARTED = (
    'no run summary: if the pod never started, a Secret or ConfigMap it mounts (such as the console.redhat.com '
    'identity) is missing; kubectl describe pod shows FailedMount'
)


def job(
    name,
    kind='gather',
    outcome='succeeded',
    scheduled='2026-03-02T04:00:00Z',
    finished='2026-03-02T04:01:00Z',
    message=None,
):
    conds = []
    if outcome == 'succeeded':
        conds = [{'type': 'Complete', 'status': 'True', 'lastTransitionTime': finished}]
    elif outcome == 'failed':
        conds = [
            {
                'type': 'Failed',
                'status': 'True',
                'reason': 'DeadlineExceeded',
                'message': 'too slow',
                'lastTransitionTime': finished,
            }
        ]
    body = {
        'metadata': {
            'name': name,
            'labels': {names.LABEL_JOB_KIND: kind},
            'annotations': {names.SCHEDULED_ANNOTATION: scheduled},
        },
        'status': {'conditions': conds, **({'completionTime': finished} if outcome == 'succeeded' else {})},
    }
    return job_records.job_record(body, worker_summary.parse(message) if message else None)


def compose(previous, jobs, enabled=('gather', 'report'), generation=1, now=NOW):
    return status.compose(previous, READY, jobs, generation=generation, enabled=enabled, now=now)


def conds(st):
    return {c['type']: c for c in st['conditions']}


def test_no_jobs_yet():
    st, failures = compose({}, [])
    assert failures == []
    c = conds(st)
    assert c['Ready']['status'] == 'True' and c['GatherSucceeded']['reason'] == 'NoRunYet'
    assert c['Degraded']['status'] == 'False'
    assert all(x['observedGeneration'] == 1 and x['lastTransitionTime'] == NOW for x in st['conditions'])


def test_success_then_failure_keeps_figures_and_flips_conditions():
    ok = json.dumps(
        {
            'ok': True,
            'rows': 5,
            'bytes': 10,
            'packages': 1,
            'window': {'since': '2026-03-02T03:00:00Z', 'until': '2026-03-02T03:50:00Z'},
        }
    )
    st, _ = compose({}, [job('g-1', message=ok)])
    assert st['gather']['rows'] == 5 and st['gather']['lastResult'] == 'Succeeded'
    bad = json.dumps({'ok': False, 'error': 'db down'})
    st2, failures = compose(
        st,
        [job('g-2', outcome='failed', scheduled='2026-03-02T05:00:00Z', finished='2026-03-02T05:02:00Z', message=bad)],
        now='2026-03-02T11:00:00Z',
    )
    assert [f.job for f in failures] == ['g-2']
    assert st2['gather']['rows'] == 5 and st2['gather']['lastError'] == 'db down'
    c = conds(st2)
    assert (
        c['GatherSucceeded']['status'] == 'False'
        and c['GatherSucceeded']['lastTransitionTime'] == '2026-03-02T11:00:00Z'
    )
    assert c['Degraded']['status'] == 'True' and c['Degraded']['reason'] == 'GatherFailed'
    assert c['Ready']['lastTransitionTime'] == NOW  # unchanged status keeps its transition time
    # The same failure seen again is not a new failure (no second Event).
    _, again = compose(
        st2, [job('g-2', outcome='failed', scheduled='2026-03-02T05:00:00Z', finished='2026-03-02T05:02:00Z')]
    )
    assert again == []


def test_jobs_vanishing_change_nothing():
    st, _ = compose({}, [job('g-1')])
    st2, _ = compose(st, [])
    assert st2['gather'] == st['gather']


def test_older_job_does_not_override_newer_result():
    st, _ = compose({}, [job('g-2', finished='2026-03-02T06:00:00Z')])
    st2, _ = compose(st, [job('g-1', outcome='failed', finished='2026-03-02T05:00:00Z')])
    assert st2['gather']['lastResult'] == 'Succeeded' and st2['gather']['lastJob'] == 'g-2'


def test_failure_without_summary_uses_job_condition():
    st, _ = compose({}, [job('r-1', kind='report', outcome='failed')])
    assert st['report']['lastError'] == f'DeadlineExceeded: too slow ({NEVER_STARTED})'
    assert conds(st)['ReportSucceeded']['status'] == 'False'


def test_active_jobs_listed_then_cleared():
    st, _ = compose({}, [job('g-1', outcome='active')])
    assert st['gather']['activeJobs'] == ['g-1'] and 'lastResult' not in st['gather']
    st2, _ = compose(st, [job('g-1')])
    assert 'activeJobs' not in st2['gather']


def test_disabled_report_and_vcpu_failure_degrades():
    st, _ = compose({}, [job('v-1', kind='vcpu', outcome='failed')], enabled=('gather', 'vcpu'))
    c = conds(st)
    assert c['ReportSucceeded']['reason'] == 'Disabled'
    assert c['Degraded']['reason'] == 'VcpuFailed'


def test_foreign_conditions_are_kept():
    previous = {'conditions': [{'type': 'example.com/Audited', 'status': 'True'}]}
    st, _ = compose(previous, [])
    assert st['conditions'][-1]['type'] == 'example.com/Audited'


def gather_with_storage(name, finished, **figures):
    message = json.dumps({'command': 'gather', 'ok': True, **figures})
    return job(name, finished=finished, message=message)


def test_storage_block_and_nearly_full_condition():
    st, _ = compose({}, [])
    assert 'storage' not in st and 'StorageNearlyFull' not in conds(st)  # nothing measured yet
    fine = gather_with_storage(
        'g1', '2026-03-02T04:01:00Z', stored_bytes=100, stored_objects=3, volume={'bytes': 1000, 'free_bytes': 800}
    )
    st, _ = compose({}, [fine])
    assert st['storage'] == {
        'lastUpdateTime': '2026-03-02T04:01:00Z',
        'storedBytes': 100,
        'storedObjects': 3,
        'volumeBytes': 1000,
        'volumeFreeBytes': 800,
    }
    assert (
        conds(st)['StorageNearlyFull']['status'] == 'False'
        and conds(st)['StorageNearlyFull']['reason'] == 'WithinLimits'
    )
    full = gather_with_storage(
        'g2', '2026-03-02T05:01:00Z', stored_bytes=950, stored_objects=30, volume={'bytes': 1000, 'free_bytes': 50}
    )
    st, _ = compose(st, [fine, full])
    assert (
        conds(st)['StorageNearlyFull']['reason'] == 'VolumeNearlyFull'
        and '95% full' in conds(st)['StorageNearlyFull']['message']
    )
    # The figures are carried forward when the Jobs are gone.
    st2, _ = compose(st, [])
    assert st2['storage'] == st['storage']


@pytest.mark.parametrize(
    ('stored', 'blocked', 'reason'),
    [(50, 0, 'WithinLimits'), (95, 0, 'LimitNearlyReached'), (130, 40, 'LimitExceeded')],
)
def test_retention_limit_conditions(stored, blocked, reason):
    run = gather_with_storage(
        'g',
        '2026-03-02T04:01:00Z',
        stored_bytes=stored,
        stored_objects=1,
        retention={'max_bytes': 100, 'deleted_objects': 0, 'blocked_bytes': blocked},
    )
    st, _ = compose({}, [run])
    assert conds(st)['StorageNearlyFull']['reason'] == reason and st['storage']['maxBytes'] == 100
    assert conds(st)['StorageNearlyFull']['status'] == ('False' if reason == 'WithinLimits' else 'True')


def backfill_job(completed='', failed='', phase=None, active=0):
    conditions = [{'type': phase, 'status': 'True'}] if phase else []
    request = {'since': '2024-01-01T00:00:00Z', 'until': '2024-03-01T00:00:00Z', 'shards': 4}
    return {
        'metadata': {
            'name': 'mc-backfill-abcd1234',
            'creationTimestamp': '2026-03-02T04:00:00Z',
            'labels': {names.LABEL_JOB_KIND: 'backfill'},
            'annotations': {names.ANNOTATION_BACKFILL: json.dumps(request)},
        },
        'status': {'completedIndexes': completed, 'failedIndexes': failed, 'active': active, 'conditions': conditions},
    }


def with_backfill(previous: dict, backfill: dict) -> dict:
    """The status after one look at a backfill Job (no other Jobs)."""
    st, _ = status.compose(previous, READY, [], generation=1, enabled=['gather'], now=NOW, backfill_jobs=[backfill])
    return st


def test_backfill_progress_from_indexes():
    st = with_backfill({}, backfill_job(completed='0,2', active=2))
    assert st['backfill']['completed'] == 2 and st['backfill']['phase'] == 'Running' and st['backfill']['shards'] == 4
    assert (
        conds(st)['BackfillSucceeded']['status'] == 'Unknown' and '2 of 4' in conds(st)['BackfillSucceeded']['message']
    )
    st = with_backfill(st, backfill_job(completed='0-2', failed='3', phase='Failed'))
    assert (st['backfill']['completed'], st['backfill']['failed']) == (3, 1)
    assert (
        conds(st)['BackfillSucceeded']['reason'] == 'BackfillFailed'
        and 'shard(s) 3' in conds(st)['BackfillSucceeded']['message']
    )
    st = with_backfill(st, backfill_job(completed='0-3', phase='Complete'))
    assert conds(st)['BackfillSucceeded']['status'] == 'True'
    assert job_records.job_record(backfill_job(), None) is None  # never folded into status.gather


def test_kpi_failure_is_shown_until_a_clean_run():
    failing = json.dumps({'ok': True, 'kpi': {'documents': 0, 'error': 'es.example:9200: HTTP 401\n  unauthorized'}})
    st, _ = compose({}, [job('g-1', message=failing)])
    assert st['gather']['kpi'] == {'documents': 0, 'error': 'es.example:9200: HTTP 401 unauthorized'}
    assert conds(st)['GatherSucceeded']['status'] == 'True'  # the sink never fails the gather
    clean = json.dumps({'ok': True, 'kpi': {'documents': 12, 'error': None}})
    st, _ = compose(st, [job('g-2', scheduled='2026-03-02T05:00:00Z', finished='2026-03-02T05:01:00Z', message=clean)])
    assert st['gather']['kpi'] == {'documents': 12}


# Credentials a worker (an older one, or a server's echo it could not know) left in its summary, or that a Job's
# condition carries: status.lastError, the Degraded condition and the Event all show them scrubbed.
LEAKY = {
    'basic auth header in the summary error': (
        {'error': 'upload failed: server echoed Authorization: Basic dXNlcjpodW50ZXIy'},
        'upload failed: server echoed Authorization: Basic ***',
    ),
    'bearer token in the summary error': (
        {'error': "proxy said {'Authorization': 'Bearer eyJhbGciOi.eyJzdWIi.c2ln'}"},
        "proxy said {'Authorization': 'Bearer ***'}",
    ),
    'form-encoded client secret': (
        {'error': 'SSO said grant_type=client_credentials&client_secret=hunter2hunter2'},
        'SSO said grant_type=client_credentials&client_secret=***',
    ),
    'URL with user and password': (
        {'error': 'cannot reach http://minio:hunter2hunter2@s3.local:9000'},
        'cannot reach http://minio:***@s3.local:9000',
    ),
    'secret shape straddles the 1024-character cut': (
        {'error': 'x' * 1010 + ' password=hunter2hunter2'},
        'x' * 1010 + ' password=***',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('data, expected', LEAKY.values(), ids=list(LEAKY))
def test_errors_copied_into_status_and_events_are_scrubbed(data, expected):
    parsed = worker_summary.parse(json.dumps({'ok': False, 'command': 'gather', **data}))
    record = job_records.JobRecord('c-gather-9', 'gather', 'failed', finished=NOW, summary=parsed)
    st, failures = status.compose({}, READY, [record], generation=1, enabled=['gather'], now=NOW)
    assert st['gather']['lastError'] == expected
    degraded = next(c for c in st['conditions'] if c['type'] == 'Degraded')
    assert degraded['message'] == f'gather: {expected}'
    assert [f.message for f in failures] == [expected]
    assert 'hunter2' not in json.dumps(st) and 'aHVudGVyMg' not in json.dumps(st)


@pytest.mark.hostile
def test_a_job_condition_message_is_scrubbed_too():
    record = job_records.JobRecord(
        'c-gather-9',
        'gather',
        'failed',
        finished=NOW,
        reason='BackoffLimitExceeded',
        message='pulling http://robot:hunter2hunter2@registry.local/worker failed',
    )
    st, failures = status.compose({}, READY, [record], generation=1, enabled=['gather'], now=NOW)
    expected = 'BackoffLimitExceeded: pulling http://robot:***@registry.local/worker failed'
    assert st['gather']['lastError'] == expected and [f.message for f in failures] == [expected]


def test_report_problems_are_shown_until_a_clean_report():
    line = '2024-02-02 u-0-job_host_summary.tar.gz: job_host_summary.csv: sha256 does not match package_info.json'
    tampered = json.dumps({'ok': True, 'quantity': 3, 'problem_count': 2, 'problems': [line, 'another']})
    st, _ = compose({}, [job('r-1', kind='report', message=tampered)])
    assert (st['report']['problems'], st['report']['firstProblem'], st['report']['billedQuantity']) == (2, line, 3)
    clean = json.dumps({'ok': True, 'quantity': 6, 'problem_count': 0, 'problems': []})
    st, _ = compose(
        st,
        [job('r-2', kind='report', scheduled='2026-03-02T05:00:00Z', finished='2026-03-02T05:01:00Z', message=clean)],
    )
    assert st['report']['problems'] == 0 and 'firstProblem' not in st['report']


def test_unreadable_rows_of_the_last_gather_and_older_workers_without_them():
    counted = json.dumps({'ok': True, 'rows': 9, 'unreadable_rows': 3})
    st, _ = compose({}, [job('g-1', message=counted)])
    assert st['gather']['unreadableRows'] == 3 and conds(st)['GatherSucceeded']['status'] == 'True'
    clean = json.dumps({'ok': True, 'rows': 9, 'unreadable_rows': 0})
    st, _ = compose(st, [job('g-2', scheduled='2026-03-02T05:00:00Z', finished='2026-03-02T05:01:00Z', message=clean)])
    assert st['gather']['unreadableRows'] == 0
    older = json.dumps({'ok': True, 'rows': 9})  # a worker from before the field: unknown, the figure stays
    st, _ = compose(st, [job('g-3', scheduled='2026-03-02T06:00:00Z', finished='2026-03-02T06:01:00Z', message=older)])
    assert st['gather']['unreadableRows'] == 0 and st['gather']['lastJob'] == 'g-3'


def test_secondary_shows_its_last_confirmed_window_and_error_without_failing_the_gather():
    """`status.gather.secondary` (spec.storage.console): a failing console.redhat.com is shown, the gather stays
    succeeded, and the last window it confirmed stays until a later run confirms another."""
    window = {'since': '2026-03-01T00:00:00+00:00', 'until': '2026-03-02T00:00:00+00:00'}
    sent = {
        'target': 'crc',
        'ok': True,
        'windows': 1,
        'packages': 1,
        'bytes': 9,
        'pending': 0,
        'last_window': window,
        'shipped_until': {},
        'error': None,
    }
    st, _ = compose({}, [job('g-1', message=json.dumps({'ok': True, 'secondary': sent}))])
    assert st['gather']['secondary'] == {'target': 'crc', 'ok': True, 'pending': 0, 'lastWindow': window}
    failing = sent | {'ok': False, 'windows': 0, 'pending': 3, 'last_window': None, 'error': 'HTTP 503\n  down'}
    later = job(
        'g-2',
        scheduled='2026-03-02T05:00:00Z',
        finished='2026-03-02T05:01:00Z',
        message=json.dumps({'ok': True, 'secondary': failing}),
    )
    st, _ = compose(st, [later])
    assert st['gather']['secondary'] == {
        'target': 'crc',
        'ok': False,
        'pending': 3,
        'lastWindow': window,
        'error': 'HTTP 503 down',
    }
    assert conds(st)['GatherSucceeded']['status'] == 'True'


def test_crc_shows_the_identity_uploads_used_and_a_clean_run_clears_the_fallback():
    """`status.gather.crc`: which identity console.redhat.com took and why the certificate was given up."""
    fell_back = {'ok': True, 'crc': {'identity': 'service-account', 'fallback': 'the certificate was refused'}}
    st, _ = compose({}, [job('g-1', message=json.dumps(fell_back))])
    assert st['gather']['crc'] == {'identity': 'service-account', 'fallback': 'the certificate was refused'}
    clean = job(
        'g-2',
        scheduled='2026-03-02T05:00:00Z',
        finished='2026-03-02T05:01:00Z',
        message=json.dumps({'ok': True, 'crc': {'identity': 'controller', 'fallback': None}}),
    )
    st, _ = compose(st, [clean])
    assert st['gather']['crc'] == {'identity': 'controller'}


# The certificate a gather uploaded with: status.gather.crc's subject and notAfter, CertificateExpiring before it
# expires (docs/operator.md, "console.redhat.com identity").
SUBJECT = 'CN=7d0c4a52-9e61-4b7a-8c3f-2a1b0c9d8e7f,O=12345'


def uploaded_with(name: str, not_after: str | None, identity: str = 'controller', finished=None):
    crc = {'identity': identity, 'fallback': None, 'subject': SUBJECT if not_after else None, 'not_after': not_after}
    at = finished or '2026-03-02T04:01:00Z'
    return job(name, scheduled=at.replace(':01:', ':00:'), finished=at, message=json.dumps({'ok': True, 'crc': crc}))


def test_crc_shows_the_certificate_subject_and_expiry():
    st, _ = compose({}, [uploaded_with('g-1', '2026-06-01T00:00:00Z')])
    assert st['gather']['crc'] == {'identity': 'controller', 'subject': SUBJECT, 'notAfter': '2026-06-01T00:00:00Z'}
    assert 'CertificateExpiring' not in conds(st), 'not asked for: no renew_before_days'


EXPIRY = {  # notAfter in status.gather.crc, renew_before_days → the condition at NOW (2026-03-02T10:00:00Z)
    'valid beyond the window': (
        '2026-06-01T00:00:00Z',
        30,
        ('False', 'AsExpected', f'the client certificate uploads use ({SUBJECT}) is valid until 2026-06-01T00:00:00Z'),
    ),
    'one second outside the window': (
        '2026-04-01T10:00:01Z',
        30,
        ('False', 'AsExpected', f'the client certificate uploads use ({SUBJECT}) is valid until 2026-04-01T10:00:01Z'),
    ),
    'exactly at the window': (
        '2026-04-01T10:00:00Z',
        30,
        (
            'True',
            'ExpiresSoon',
            f'the client certificate uploads use ({SUBJECT}) expires on 2026-04-01T10:00:00Z (in 30 days)',
        ),
    ),
    'within the window': (
        '2026-03-03T12:00:00Z',
        30,
        (
            'True',
            'ExpiresSoon',
            f'the client certificate uploads use ({SUBJECT}) expires on 2026-03-03T12:00:00Z (in 1 day)',
        ),
    ),
    'a one-day window': (
        '2026-03-03T12:00:00Z',
        1,
        ('False', 'AsExpected', f'the client certificate uploads use ({SUBJECT}) is valid until 2026-03-03T12:00:00Z'),
    ),
    'expired': (
        '2026-03-02T09:59:59Z',
        30,
        (
            'True',
            'Expired',
            f'the client certificate uploads use ({SUBJECT}) expired on 2026-03-02T09:59:59Z: '
            'renew it or choose another identity',
        ),
    ),
    'an offset is read as UTC': (
        '2026-03-02T11:30:00+02:00',
        30,
        (
            'True',
            'Expired',
            f'the client certificate uploads use ({SUBJECT}) expired on 2026-03-02T09:30:00Z: '
            'renew it or choose another identity',
        ),
    ),
    'not asked for': ('2026-03-03T12:00:00Z', None, None),
    'no certificate (service account)': (None, 30, None),
    'a notAfter that is not a time': ('soon', 30, None),
}


DASHBOARD = {
    'service': 'mc-dashboard',
    'port': 8080,
    'access': 'kubectl port-forward -n aap svc/mc-dashboard 8080:8080',
}
UNAVAILABLE = {
    'type': 'Available',
    'status': 'False',
    'reason': 'MinimumReplicasUnavailable',
    'message': 'Deployment does not have minimum availability.',
}
DEPLOYMENTS = {
    'not seen yet': (
        None,
        0,
        ('Unknown', 'DeploymentPending', 'Deployment mc-dashboard has not been seen yet'),
    ),
    'available': (
        {'status': {'availableReplicas': 1, 'conditions': [{'type': 'Available', 'status': 'True'}]}},
        1,
        (
            'True',
            'DeploymentAvailable',
            'Deployment mc-dashboard is available: kubectl port-forward -n aap svc/mc-dashboard 8080:8080',
        ),
    ),
    'pod not ready': (
        {'status': {'replicas': 1, 'unavailableReplicas': 1, 'conditions': [UNAVAILABLE]}},
        0,
        (
            'False',
            'DeploymentUnavailable',
            'Deployment mc-dashboard has no available pod '
            '(MinimumReplicasUnavailable: Deployment does not have minimum availability.)',
        ),
    ),
    'no status at all': ({}, 0, ('False', 'DeploymentUnavailable', 'Deployment mc-dashboard has no available pod')),
    'credential in the condition': (
        {'status': {'conditions': [{**UNAVAILABLE, 'message': 'pull https://user:hunter2@registry.example failed'}]}},
        0,
        (
            'False',
            'DeploymentUnavailable',
            'Deployment mc-dashboard has no available pod '
            '(MinimumReplicasUnavailable: pull https://user:***@registry.example failed)',
        ),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('not_after', 'days', 'expected'), EXPIRY.values(), ids=list(EXPIRY))
def test_certificate_expiry_condition(not_after, days, expected):
    crc = {'identity': 'controller', 'subject': SUBJECT, **({'notAfter': not_after} if not_after else {})}
    assert status.certificate_expiry(crc, days, status.parse_time(NOW)) == expected


def test_the_expiry_condition_follows_the_last_upload_and_warns_once_per_transition():
    def step(previous, jobs):
        st, _ = status.compose(previous, READY, jobs, generation=1, enabled=['gather'], now=NOW, renew_before_days=30)
        return st, status.expiry_warnings(previous, st)

    first, warned = step({}, [uploaded_with('g-1', '2026-06-01T00:00:00Z')])
    assert conds(first)['CertificateExpiring']['status'] == 'False' and warned == []
    soon, warned = step(first, [uploaded_with('g-2', '2026-03-20T00:00:00Z', finished='2026-03-02T05:01:00Z')])
    message = f'the client certificate uploads use ({SUBJECT}) expires on 2026-03-20T00:00:00Z (in 17 days)'
    assert warned == [('ExpiresSoon', message)]
    again, warned = step(soon, [uploaded_with('g-3', '2026-03-20T00:00:00Z', finished='2026-03-02T06:01:00Z')])
    assert warned == [] and conds(again)['CertificateExpiring']['reason'] == 'ExpiresSoon'
    gone, warned = step(again, [uploaded_with('g-4', '2026-03-01T00:00:00Z', finished='2026-03-02T07:01:00Z')])
    assert [reason for reason, _ in warned] == ['Expired']
    # A later run with the service account: no certificate, no condition (it is ours: not kept as another party's).
    account, warned = step(gone, [uploaded_with('g-5', None, 'service-account', finished='2026-03-02T08:01:00Z')])
    assert 'CertificateExpiring' not in conds(account) and warned == []
    assert account['gather']['crc'] == {'identity': 'service-account'}


@pytest.mark.parametrize(('deployment', 'available', 'expected'), DEPLOYMENTS.values(), ids=list(DEPLOYMENTS))
def test_the_dashboard_condition_follows_its_deployment(deployment, available, expected):
    st, _ = status.compose(
        {}, READY, [], generation=1, enabled=['gather'], now=NOW, dashboard=DASHBOARD, dashboard_deployment=deployment
    )
    assert st['dashboard'] == {**DASHBOARD, 'availableReplicas': available}
    found = conds(st)['DashboardAvailable']
    assert (found['status'], found['reason'], found['message']) == expected


def test_turning_the_dashboard_off_removes_its_status_and_condition():
    st, _ = status.compose({}, READY, [], generation=1, enabled=['gather'], now=NOW, dashboard=DASHBOARD)
    assert 'DashboardAvailable' in conds(st)
    off, _ = status.compose(st, READY, [], generation=2, enabled=['gather'], now=NOW)
    assert off['dashboard'] is None  # a merge patch with null removes status.dashboard
    assert 'DashboardAvailable' not in conds(off)
    never, _ = status.compose({}, READY, [], generation=1, enabled=['gather'], now=NOW)
    assert 'dashboard' not in never
