"""Conditions and status figures from Job outcomes (pure)."""

from __future__ import annotations

import json

import pytest

from metrics_operator import names, status, summary

pytestmark = pytest.mark.unit
READY = status.ReadyState('True', 'Reconciled', 'ok')
NOW = '2026-03-02T10:00:00Z'


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
    return status.job_record(body, summary.parse(message) if message else None)


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
    assert st['report']['lastError'] == 'DeadlineExceeded: too slow'
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


def test_not_our_job():
    assert status.job_record({'metadata': {'name': 'x', 'labels': {}}}) is None


def test_pod_summary_reads_terminated_message():
    pod = {'status': {'containerStatuses': [{'state': {'terminated': {'message': '{"ok": true, "rows": 3}'}}}]}}
    assert status.pod_summary(pod).rows == 3
    assert status.pod_summary({'status': {}}) is None
