"""The run summary: redacted before anything in it is shortened; it carries the unreadable-row counts, also when
the per-collector block must be dropped."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from metrics_utility.gather import summary
from metrics_utility.gather.summary import CollectorOutcome, RunSummary
from metrics_utility.library import secret, summary_file
from testsupport.secrets import assert_no_secret

SECRET = 'db/pass+word=dø-not~leak 0003'


def rendered_error(error: str) -> str:
    result = summary.RunSummary(ok=False, error=error)
    text = result.render()
    assert len(text.encode()) <= summary.MAX_BYTES
    return json.loads(text)['error']


# id: (error, the error as rendered); the secret is registered (as settings do) before rendering
ERRORS = {
    'plain': (f'connection failed: password {SECRET} rejected', 'connection failed: password *** rejected'),
    'form-encoded': (f'server said password={quote_plus(SECRET)}&x=1', 'server said password=***&x=1'),
    'JSON-escaped': (f'server said {json.dumps({"pw": SECRET})}', 'server said {"pw": "***"}'),
    # about 6000 characters are halved to fit 4 KiB: unredacted, the cut at 3008 would fall 18 characters into it
    'straddles the halving cut': ('e' * 2990 + SECRET + 'f' * 3000, 'e' * 2990 + '***ff…'),
    'credential shape without a known secret': (
        'GET http://admin:hunter2@db.example/ failed',
        'GET http://admin:***@db.example/ failed',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('error, expected', ERRORS.values(), ids=list(ERRORS))
def test_the_rendered_summary_is_redacted_before_it_is_shortened(error, expected):
    secret.register(SECRET)
    shown = rendered_error(error)
    assert shown == expected
    assert_no_secret(shown, SECRET, 'hunter2')


@pytest.mark.hostile
def test_collector_and_kpi_errors_are_redacted_too():
    secret.register(SECRET, user='elastic')
    result = summary.RunSummary(ok=True, kpi={'documents': 0, 'error': f'echo {quote_plus(SECRET)}'})
    result.outcome('job_host_summary').error = f'{SECRET[:20]}'  # a prefix cut off by somebody else
    data = json.loads(result.render())
    assert data['kpi'] == {'documents': 0, 'error': 'echo ***'}
    assert data['collectors']['job_host_summary']['error'] == '***'


@pytest.mark.hostile
def test_another_commands_summary_is_redacted_before_its_cut(tmp_path):
    secret.register(SECRET)
    path = tmp_path / 'summary.json'
    # about 6000 characters are halved to fit 4 KiB: unredacted, the cut at 3008 would fall 15 characters into it
    summary_file.write_json({'command': 'build-report', 'ok': False, 'error': 'r' * 2993 + SECRET + 't' * 3000}, path)
    assert json.loads(path.read_text())['error'] == 'r' * 2993 + '***t…'


# Another command's summary is cut by bytes, as the operator measures it: a non-ASCII error is six bytes a character
# in JSON, and a list of problems is dropped (its count stays) before the error is shortened.
OVERSIZED = {
    'non-ASCII error': ({'error': 'é' * 3000}, 'é' * 374 + '…', None),
    'control characters': ({'error': '\x01' * 3000}, '\x01' * 374 + '…', None),
    'problems dropped first': (
        {'error': 'short', 'problem_count': 40, 'problems': ['ü' * 300] * 40},
        'short',
        None,
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('fields, error, problems', OVERSIZED.values(), ids=list(OVERSIZED))
def test_another_commands_summary_fits_the_termination_message(tmp_path, fields, error, problems):
    from metrics_operator import worker_summary as operator_summary

    path = tmp_path / 'summary.json'
    summary_file.write_json({'command': 'build-report', 'ok': False, **fields}, path)
    text = path.read_text()
    assert len(text.encode()) <= summary.MAX_BYTES
    written = json.loads(text)
    assert written['error'] == error
    assert written.get('problems') == problems and written.get('problem_count') == fields.get('problem_count')
    assert operator_summary.parse(text) is not None


def test_unreadable_rows_per_collector_and_in_total():
    summary = RunSummary(
        collectors={
            'job_host_summary': CollectorOutcome(rows=10, unreadable=4),
            'main_jobevent': CollectorOutcome(rows=90, unreadable=1),
            'main_host': CollectorOutcome(rows=5),
        }
    )
    data = json.loads(summary.render())
    assert data['unreadable_rows'] == 5
    assert {k: v['unreadable'] for k, v in data['collectors'].items()} == {
        'job_host_summary': 4,
        'main_host': 0,
        'main_jobevent': 1,
    }


def test_the_total_survives_when_collectors_are_dropped_for_size():
    summary = RunSummary(collectors={f'c{i:03d}': CollectorOutcome(unreadable=1) for i in range(100)})
    data = json.loads(summary.render())
    assert 'collectors' not in data and data['unreadable_rows'] == 100


@pytest.mark.hostile
def test_the_largest_crc_block_fits_beside_a_long_error_and_keeps_its_fields():
    """The identity block is never dropped for size: its subject (256) and reason (600) are bounded where they are
    made (library/storage/crc_identity.py), so with a maximal error beside them the summary still fits 4 KiB."""
    from datetime import UTC, datetime

    from metrics_utility.library.storage.crc_identity import IdentityUsed, NoIdentity

    used = IdentityUsed('controller', 'r' * 5000, 'CN=' + 's' * 5000, datetime(2027, 1, 1, tzinfo=UTC)).to_json()
    assert used['subject'] == 'CN=' + 's' * 253 + '…' and used['not_after'] == '2027-01-01T00:00:00Z'
    reason = NoIdentity('why ' * 2000).reason
    assert len(reason) == 601 and reason.endswith('…')
    result = RunSummary(ok=False, error='e' * 9000, crc={**used, 'fallback': reason})
    for key in ('job_host_summary', 'main_jobevent', 'main_host'):
        result.outcome(key).error = 'x' * 900
    text = result.render()
    assert len(text.encode()) <= summary.MAX_BYTES
    assert json.loads(text)['crc'] == {**used, 'fallback': reason}
