"""Job records: what one Job of ours did, read from the Job and its pod (pure)."""

from __future__ import annotations

import pytest

from metrics_operator import job_records

pytestmark = pytest.mark.unit


def test_not_our_job():
    assert job_records.job_record({'metadata': {'name': 'x', 'labels': {}}}) is None


def test_pod_summary_reads_terminated_message():
    pod = {'status': {'containerStatuses': [{'state': {'terminated': {'message': '{"ok": true, "rows": 3}'}}}]}}
    assert job_records.pod_summary(pod).rows == 3
    assert job_records.pod_summary({'status': {}}) is None
