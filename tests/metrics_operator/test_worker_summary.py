"""The worker's termination-message summary: strict about shape, tolerant of garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics_operator import worker_summary

pytestmark = pytest.mark.unit


def test_full_summary():
    s = worker_summary.parse(
        json.dumps(
            {
                'command': 'gather',
                'ok': True,
                'window': {'since': '2026-01-01T00:00:00Z', 'until': '2026-01-01T01:00:00Z'},
                'rows': 123,
                'bytes': 4567,
                'packages': 2,
                'target': 'directory',
                'error': None,
            }
        )
    )
    assert s == worker_summary.Summary(
        ok=True,
        command='gather',
        window=worker_summary.Window('2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z'),
        rows=123,
        bytes=4567,
        packages=2,
        target='directory',
    )


@pytest.mark.parametrize(
    'message',
    [
        None,
        '',
        'Traceback (most recent call last)',
        '[1, 2]',
        '{"rows": 1}',
        '{"ok": "yes"}',
        '{"ok": true',
        '{"ok": true, "pad": "' + 'x' * 5000 + '"}',
    ],
)
def test_garbage_is_none(message):
    assert worker_summary.parse(message) is None


def test_bad_fields_are_dropped_and_errors_flattened():
    s = worker_summary.parse(
        json.dumps({'ok': False, 'rows': -1, 'bytes': True, 'window': {'since': 1}, 'error': 'line one\n  line two'})
    )
    assert s.rows is None and s.bytes is None and s.window is None
    assert s.error == 'line one line two'


@given(st.text(max_size=300))
def test_never_raises(text):
    worker_summary.parse(text)


def test_storage_figures_are_parsed_additively():
    s = worker_summary.parse(
        json.dumps(
            {
                'ok': True,
                'stored_bytes': 10,
                'stored_objects': 2,
                'volume': {'bytes': 100, 'free_bytes': 5},
                'retention': {'max_bytes': 20, 'deleted_objects': 1, 'blocked_bytes': -3},
            }
        )
    )
    assert (s.stored_bytes, s.stored_objects, s.volume) == (10, 2, {'bytes': 100, 'free_bytes': 5})
    assert (
        s.retention['max_bytes'] == 20 and s.retention['deleted_objects'] == 1 and s.retention['blocked_bytes'] is None
    )
    bad = worker_summary.parse(
        json.dumps({'ok': True, 'stored_bytes': 'many', 'volume': {'bytes': 1}, 'retention': [1]})
    )
    assert bad.stored_bytes is None and bad.volume is None and bad.retention is None


def test_report_quantity_period_and_month_usage_are_read():
    parsed = worker_summary.parse(
        json.dumps(
            {
                'ok': True,
                'command': 'build-report',
                'quantity': 42,
                'period': '2026-02',
                'usage': {'month': '2026-03', 'unique_managed_nodes': 17, 'job_runs': 5},
            }
        )
    )
    assert parsed is not None and parsed.quantity == 42 and parsed.period == '2026-02'
    assert parsed.usage == worker_summary.MonthUsage('2026-03', 17, 5)
    broken = worker_summary.parse(
        json.dumps({'ok': True, 'quantity': -1, 'usage': {'month': '2026-03', 'job_runs': 'x'}})
    )
    assert broken is not None and broken.quantity is None and broken.usage is None


def test_kpi_block_is_read():
    parsed = worker_summary.parse(json.dumps({'ok': True, 'kpi': {'documents': 3, 'error': 'HTTP 503\n from es'}}))
    assert parsed is not None and parsed.kpi == worker_summary.Kpi(3, 'HTTP 503 from es')
    assert worker_summary.parse(json.dumps({'ok': True, 'kpi': {'documents': 'x'}})).kpi is None
    assert worker_summary.parse(
        json.dumps({'ok': True, 'kpi': {'documents': 2, 'error': ''}})
    ).kpi == worker_summary.Kpi(2)


PROBLEM = '2024-02-02 u-0-job_host_summary.tar.gz: job_host_summary.csv: sha256 does not match package_info.json'
SUMMARY_PROBLEMS = [
    ('listed', {'problem_count': 3, 'problems': [PROBLEM, 'second']}, (3, PROBLEM)),
    ('clean', {'problem_count': 0, 'problems': []}, (0, None)),
    ('absent', {}, (None, None)),
    ('count-negative', {'problem_count': -1, 'problems': [PROBLEM]}, (None, PROBLEM)),
    ('count-bool', {'problem_count': True}, (None, None)),
    ('count-text', {'problem_count': '3'}, (None, None)),
    ('problems-not-list', {'problem_count': 1, 'problems': PROBLEM}, (1, None)),
    ('first-not-text', {'problem_count': 1, 'problems': [{'day': 1}]}, (1, None)),
    ('first-blank', {'problem_count': 1, 'problems': ['  \n ']}, (1, None)),
    ('first-multiline', {'problem_count': 1, 'problems': ['a\n  b\tc']}, (1, 'a b c')),
    ('first-long', {'problem_count': 1, 'problems': ['x' * 2000]}, (1, 'x' * 300)),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('fields', 'expected'), [c[1:] for c in SUMMARY_PROBLEMS], ids=[c[0] for c in SUMMARY_PROBLEMS]
)
def test_report_problems_are_a_count_and_one_short_line(fields, expected):
    s = worker_summary.parse(json.dumps({'ok': True, 'command': 'build-report', **fields}))
    assert (s.problems, s.first_problem) == expected


@pytest.mark.parametrize(
    ('value', 'expected'), [(7, 7), (0, 0), (-1, None), (True, None), ('7', None), (1.5, None)], ids=repr
)
def test_unreadable_rows(value, expected):
    assert worker_summary.parse(json.dumps({'ok': True, 'unreadable_rows': value})).unreadable_rows == expected


def test_unreadable_rows_absent_in_older_summaries():
    assert worker_summary.parse('{"ok": true, "rows": 1}').unreadable_rows is None


def test_every_contract_key_is_read_into_its_attribute():
    """A summary holding every key of `contract.SUMMARY_FIELDS` fills every attribute the contract names; a key the
    worker writes but the operator would not read (or an attribute no key fills) fails here."""
    from metrics_utility import contract

    full = {
        'command': 'gather',
        'ok': False,
        'window': dict(
            zip(contract.SUMMARY_WINDOW_FIELDS, ('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'), strict=True)
        ),
        'rows': 1,
        'bytes': 2,
        'packages': 3,
        'unreadable_rows': 4,
        'target': 'directory',
        'vcpu': 2.5,
        'error': 'boom',
        'collectors': {'main_host': dict.fromkeys(contract.SUMMARY_COLLECTOR_FIELDS, 0)},
        'stored_bytes': 5,
        'stored_objects': 6,
        'retention': dict.fromkeys(contract.SUMMARY_RETENTION_FIELDS, 7),
        'volume': dict.fromkeys(contract.SUMMARY_VOLUME_FIELDS, 8),
        'backfill': {'run': 'r', 'shard': 0, 'shards': 1, 'slices': 1, 'merged': {}},
        'kpi': dict(zip(contract.SUMMARY_KPI_FIELDS, (9, 'HTTP 503'), strict=True)),
        'usage': dict(zip(contract.SUMMARY_USAGE_FIELDS, ('2026-03', 10, 11), strict=True)),
        'started_from': {'main_host_daily': 'controller-watermark'},
        'secondary': {
            'target': 'crc',
            'ok': False,
            'windows': 1,
            'packages': 2,
            'bytes': 3,
            'pending': 4,
            'last_window': {'since': '2026-01-01T00:00:00+00:00', 'until': '2026-01-02T00:00:00+00:00'},
            'shipped_until': {'main_host': '2026-01-02T00:00:00+00:00'},
            'error': 'HTTP 503',
        },
        'crc': dict(
            zip(contract.SUMMARY_CRC_FIELDS, ('service-account', 'certificate refused', None, None), strict=True)
        ),
        'report': 'reports/2026/02/CCSPv2-2026-02.xlsx',
        'quantity': 12,
        'period': '2026-02',
        'problem_count': 13,
        'problems': ['2026-02-01 x.tar.gz: unreadable'],
        'reason': 'PermissionDenied',
        'checks': [{'name': 'tables', 'ok': False, 'reason': 'PermissionDenied', 'message': 'm', 'tables': ['t']}],
    }
    assert tuple(full) == tuple(f.key for f in contract.SUMMARY_FIELDS)
    parsed = worker_summary.parse(json.dumps(full))
    read = {f.read_as for f in contract.SUMMARY_FIELDS if f.read_as is not None}
    assert read == set(worker_summary.Summary.__dataclass_fields__)
    assert [f.key for f in contract.SUMMARY_FIELDS if f.read_as and getattr(parsed, f.read_as) is None] == []
    assert parsed.retention == dict.fromkeys(contract.SUMMARY_RETENTION_FIELDS, 7)
    assert parsed.volume == dict.fromkeys(contract.SUMMARY_VOLUME_FIELDS, 8)
    assert parsed.secondary == worker_summary.Secondary(
        target='crc',
        ok=False,
        pending=4,
        last_window=worker_summary.Window('2026-01-01T00:00:00+00:00', '2026-01-02T00:00:00+00:00'),
        error='HTTP 503',
    )
    assert parsed.crc == worker_summary.Crc('service-account', 'certificate refused')
    assert (parsed.kpi, parsed.usage) == (
        worker_summary.Kpi(9, 'HTTP 503'),
        worker_summary.MonthUsage('2026-03', 10, 11),
    )


CRC_BLOCKS = [  # (id, the summary's crc value, what the operator reads)
    ('controller', {'identity': 'controller', 'fallback': None}, worker_summary.Crc('controller')),
    (
        'fallback',
        {'identity': 'service-account', 'fallback': 'refused'},
        worker_summary.Crc('service-account', 'refused'),
    ),
    ('neither-accepted', {'identity': None, 'fallback': 'refused'}, worker_summary.Crc(None, 'refused')),
    ('unknown-identity', {'identity': 'root', 'fallback': None}, None),
    ('unknown-identity-with-reason', {'identity': 'root', 'fallback': 'x'}, worker_summary.Crc(None, 'x')),
    ('identity-not-a-string', {'identity': 7, 'fallback': None}, None),
    ('reason-not-a-string', {'identity': 'managed', 'fallback': ['a']}, worker_summary.Crc('managed')),
    ('blank-reason', {'identity': 'certificate', 'fallback': '  '}, worker_summary.Crc('certificate')),
    (
        'multi-line-reason',
        {'identity': 'service-account', 'fallback': 'a\n  b'},
        worker_summary.Crc('service-account', 'a b'),
    ),
    (
        'long-reason',
        {'identity': 'service-account', 'fallback': 'r' * 2000},
        worker_summary.Crc('service-account', 'r' * 1024),
    ),
    ('not-an-object', 'controller', None),
    ('empty', {}, None),
    (
        'certificate-subject-and-expiry',
        {
            'identity': 'controller',
            'fallback': None,
            'subject': 'CN=7d0c4a52,O=12345',
            'not_after': '2027-01-01T00:00:00Z',
        },
        worker_summary.Crc('controller', None, 'CN=7d0c4a52,O=12345', '2027-01-01T00:00:00Z'),
    ),
    (
        'expiry-with-an-offset',
        {'identity': 'certificate', 'not_after': '2027-01-01T01:00:00+01:00'},
        worker_summary.Crc('certificate', None, None, '2027-01-01T01:00:00+01:00'),
    ),
    (
        'expiry-without-a-zone',
        {'identity': 'certificate', 'not_after': '2027-01-01T00:00:00'},
        worker_summary.Crc('certificate'),
    ),
    ('expiry-not-a-time', {'identity': 'certificate', 'not_after': 'soon'}, worker_summary.Crc('certificate')),
    ('expiry-a-number', {'identity': 'certificate', 'not_after': 1798761600}, worker_summary.Crc('certificate')),
    (
        'expiry-too-long',
        {'identity': 'certificate', 'not_after': '2027-01-01T00:00:00Z' + ' ' * 60},
        worker_summary.Crc('certificate'),
    ),
    ('subject-not-a-string', {'identity': 'certificate', 'subject': ['CN=x']}, worker_summary.Crc('certificate')),
    ('blank-subject', {'identity': 'certificate', 'subject': ' \n '}, worker_summary.Crc('certificate')),
    (
        'long-subject',
        {'identity': 'certificate', 'subject': 'CN=' + 's' * 600},
        worker_summary.Crc('certificate', None, 'CN=' + 's' * 253),
    ),
    (
        'a private key where the subject goes',
        {
            'identity': 'certificate',
            'subject': '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----',
        },
        worker_summary.Crc('certificate', None, 'PEM ***'),
    ),
    (
        'a certificate in the fallback reason',
        {'identity': None, 'fallback': 'refused: -----BEGIN CERTIFICATE-----\nMIIBkTCB\n-----END CERTIFICATE-----'},
        worker_summary.Crc(None, 'refused: PEM ***'),
    ),
    ('subject-without-an-identity', {'identity': None, 'subject': 'CN=x'}, None),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('value', 'expected'), [c[1:] for c in CRC_BLOCKS], ids=[c[0] for c in CRC_BLOCKS])
def test_crc_block(value, expected):
    assert worker_summary.parse(json.dumps({'ok': True, 'crc': value})).crc == expected
