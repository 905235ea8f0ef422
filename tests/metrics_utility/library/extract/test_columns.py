"""Required columns: a CSV's header is checked against `columns.REQUIRED`, the one place that names them."""

from __future__ import annotations

import pytest

from metrics_utility.library.extract.columns import REQUIRED, SCHEMAS, missing_columns

pytestmark = pytest.mark.unit

JHS = ','.join(SCHEMAS['job_host_summary']).encode()
ROW = b'\n1,2024-02-01 10:00:00+00,,web01\n'

HEADERS = [
    ('all-columns', JHS + ROW, []),
    ('required-only', b'id,created,host_name,job_remote_id,ok,dark,failures,skipped' + ROW, []),
    ('utf8-bom', b'\xef\xbb\xbf' + JHS + ROW, []),
    ('crlf', JHS + b'\r\n1,,,web01\r\n', []),
    ('quoted-names', b'"id","created","host_name","job_remote_id","ok","dark","failures","skipped"' + ROW, []),
    ('no-line-break', JHS, []),
    ('empty-file', b'', []),
    ('blank-file', b'\n\n', []),
    ('host_name-renamed', JHS.replace(b'host_name', b'hostname', 1) + ROW, ['host_name']),
    ('host_name-padded', JHS.replace(b',host_name,', b', host_name,', 1) + ROW, ['host_name']),
    ('host_name-upper', JHS.replace(b'host_name', b'HOST_NAME', 1) + ROW, ['host_name']),
    ('counts-missing', b'id,created,host_name,job_remote_id,failures' + ROW, ['ok', 'dark', 'skipped']),
    ('header-is-data', b'1,2024-02-01,web01,9' + ROW, list(REQUIRED['job_host_summary'])),
    ('latin1-header', 'id,created,hóst_name,job_remote_id,ok,dark,failures,skipped'.encode('latin-1') + ROW,
     ['host_name']),
    ('unclosed-quote', b'"id,created,host_name,job_remote_id,ok,dark,failures,skipped' + ROW,
     list(REQUIRED['job_host_summary'])),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('data', 'missing'), [c[1:] for c in HEADERS], ids=[c[0] for c in HEADERS])
def test_missing_required_columns_are_named_in_declared_order(data, missing):
    assert missing_columns(data, 'job_host_summary') == missing


def test_every_key_has_required_columns_it_declares():
    assert set(REQUIRED) == set(SCHEMAS)
    assert all(REQUIRED[key] and set(REQUIRED[key]) <= set(SCHEMAS[key]) for key in SCHEMAS)
