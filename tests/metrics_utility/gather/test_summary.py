"""The run summary carries the unreadable-row counts, also when the per-collector block must be dropped."""

from __future__ import annotations

import json

import pytest

from metrics_utility.gather.summary import CollectorOutcome, RunSummary

pytestmark = pytest.mark.unit


def test_unreadable_rows_per_collector_and_in_total():
    summary = RunSummary(collectors={'job_host_summary': CollectorOutcome(rows=10, unreadable=4),
                                     'main_jobevent': CollectorOutcome(rows=90, unreadable=1),
                                     'main_host': CollectorOutcome(rows=5)})  # fmt: skip
    data = json.loads(summary.render())
    assert data['unreadable_rows'] == 5
    assert {k: v['unreadable'] for k, v in data['collectors'].items()} == {
        'job_host_summary': 4, 'main_host': 0, 'main_jobevent': 1,
    }  # fmt: skip


def test_the_total_survives_when_collectors_are_dropped_for_size():
    summary = RunSummary(collectors={f'c{i:03d}': CollectorOutcome(unreadable=1) for i in range(100)})
    data = json.loads(summary.render())
    assert 'collectors' not in data and data['unreadable_rows'] == 100
