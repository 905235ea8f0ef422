"""The report catalog: names and ids, sidecars of every shape, listings of a directory and of S3."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from metrics_utility.library.reports import catalog
from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.storage.multi import MultiStorage

pytestmark = pytest.mark.unit
NOV = 'reports/2026/11/CCSPv2-2026-11.xlsx'


def _entry(name: str) -> catalog.ReportEntry:
    entry = catalog.parse_name(name)
    assert entry is not None
    return entry


NAMES = {
    'month': (NOV, ('CCSPv2-2026-11', 'CCSPv2', date(2026, 11, 1), date(2026, 12, 1), '2026-11')),
    'december': (
        'reports/2026/12/CCSP-2026-12.xlsx',
        ('CCSP-2026-12', 'CCSP', date(2026, 12, 1), date(2027, 1, 1), '2026-12'),
    ),
    'range-filed-by-last-day': (
        'reports/2026/03/RENEWAL_GUIDANCE-2025-03-02--2026-03-01.xlsx',
        ('RENEWAL_GUIDANCE-2025-03-02--2026-03-01', 'RENEWAL_GUIDANCE', date(2025, 3, 2), date(2026, 3, 2), None),
    ),
    'one-day': (
        'reports/2024/02/CCSPv2-2024-02-29--2024-02-29.xlsx',
        ('CCSPv2-2024-02-29--2024-02-29', 'CCSPv2', date(2024, 2, 29), date(2024, 3, 1), None),
    ),
}


@pytest.mark.parametrize(('name', 'expected'), NAMES.values(), ids=list(NAMES))
def test_report_names_parse_into_type_and_period(name, expected):
    entry = _entry(name)
    assert (entry.id, entry.type, entry.since, entry.until, entry.month) == expected
    assert catalog.parse_id(entry.id) == entry
    assert catalog.report_id(entry.type, entry.month, entry.since, entry.until) == entry.id


NOT_REPORTS = {
    'wrong-folder': 'reports/2026/10/CCSPv2-2026-11.xlsx',
    'range-in-first-days-folder': 'reports/2025/03/RENEWAL_GUIDANCE-2025-03-02--2026-03-01.xlsx',
    'unknown-type': 'reports/2026/11/CCSPv3-2026-11.xlsx',
    'lowercase-type': 'reports/2026/11/ccspv2-2026-11.xlsx',
    'month-13': 'reports/2026/13/CCSPv2-2026-13.xlsx',
    'february-30': 'reports/2026/02/CCSP-2026-02-01--2026-02-30.xlsx',
    'reversed-range': 'reports/2026/02/CCSP-2026-02-10--2026-02-01.xlsx',
    'sidecar': 'reports/2026/11/CCSPv2-2026-11.json',
    'ods': 'reports/2026/11/CCSPv2-2026-11.ods',
    'copy-suffix': 'reports/2026/11/CCSPv2-2026-11 (1).xlsx',
    'nested': 'reports/2026/11/old/CCSPv2-2026-11.xlsx',
    'outside-reports': 'data/2026/11/CCSPv2-2026-11.xlsx',
    'figures-cache': 'rollups/figures/abc-def.zip',
    'newline': 'reports/2026/11/CCSPv2-2026-11\n.xlsx',
    'unicode-digits': 'reports/2026/11/CCSPv2-２０２６-11.xlsx',
}


@pytest.mark.hostile
@pytest.mark.parametrize('name', NOT_REPORTS.values(), ids=list(NOT_REPORTS))
def test_names_that_are_not_what_build_report_writes_are_not_reports(name):
    assert catalog.parse_name(name) is None


GOOD = {'type': 'CCSPv2', 'since': '2026-11-01', 'until': '2026-12-01', 'quantity': 42, 'jobRuns': 7}
SIDECARS = {
    'good': (json.dumps(GOOD).encode(), (42, 7)),
    'zero': (json.dumps({**GOOD, 'quantity': 0, 'jobRuns': 0}).encode(), (0, 0)),
    'not-json': (b'{"quantity": 42', (None, None)),
    'binary': (b'\x89PNG\r\n\x1a\n\x00\x00', (None, None)),
    'empty': (b'', (None, None)),
    'a-list': (b'[42]', (None, None)),
    'null': (b'null', (None, None)),
    'another-report': (json.dumps({**GOOD, 'type': 'CCSP'}).encode(), (None, None)),
    'another-period': (json.dumps({**GOOD, 'since': '2026-10-01'}).encode(), (None, None)),
    'quantity-text': (json.dumps({**GOOD, 'quantity': '42'}).encode(), (None, 7)),
    'quantity-float': (json.dumps({**GOOD, 'quantity': 42.0}).encode(), (None, 7)),
    'quantity-bool': (json.dumps({**GOOD, 'quantity': True}).encode(), (None, 7)),
    'quantity-negative': (json.dumps({**GOOD, 'quantity': -1}).encode(), (None, 7)),
    'quantity-huge': (json.dumps({**GOOD, 'quantity': 10**30}).encode(), (None, 7)),
    'job-runs-null': (json.dumps({**GOOD, 'jobRuns': None}).encode(), (42, None)),
    'deeply-nested': (b'[' * 100_000 + b']' * 100_000, (None, None)),
    'huge': (json.dumps({**GOOD, 'pad': 'x' * 20_000}).encode(), (None, None)),
    'nan': (json.dumps(GOOD).replace('42', 'NaN').encode(), (None, 7)),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('text', 'expected'), SIDECARS.values(), ids=list(SIDECARS))
def test_a_sidecar_gives_counts_only_when_it_is_this_reports_and_well_formed(text, expected):
    assert catalog.read_sidecar(text, _entry(NOV)) == expected


def _store(base: Path, name: str, data: bytes) -> None:
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.mark.hostile
@pytest.mark.parametrize(('text', 'expected'), SIDECARS.values(), ids=list(SIDECARS))
def test_a_listing_reads_sidecars_of_any_shape_without_failing(tmp_path, text, expected):
    _store(tmp_path, NOV, b'PK workbook')
    _store(tmp_path, catalog.sidecar_name(NOV), text)
    (entry,) = catalog.list_reports(StorageDirectory(tmp_path))
    assert (entry.billed_quantity, entry.job_runs) == expected
    assert entry.size == len(b'PK workbook')


def test_a_listing_skips_what_is_not_a_report_and_sorts_newest_first(tmp_path):
    names = [NOV, 'reports/2026/10/CCSP-2026-10.xlsx', 'reports/2026/11/CCSP-2026-11.xlsx', *NOT_REPORTS.values()]
    for name in names:
        _store(tmp_path, name, b'x')
    _store(tmp_path, 'reports/2026/11/.CCSPv2-2026-11.xlsx.part', b'half')
    entries = catalog.list_reports(StorageDirectory(tmp_path))
    assert [e.id for e in entries] == ['CCSP-2026-11', 'CCSPv2-2026-11', 'CCSP-2026-10']
    assert [e.billed_quantity for e in entries] == [None, None, None]  # older reports: no sidecar


def test_the_sidecar_build_report_writes_is_read_back(tmp_path):
    entry = _entry(NOV)
    document = catalog.sidecar(entry, 42, 7, datetime(2026, 12, 2, 4, tzinfo=UTC))
    storage = StorageDirectory(tmp_path)
    storage.put(NOV, dict={'not': 'a workbook'})
    storage.put(catalog.sidecar_name(NOV), dict=document)
    assert document == {**GOOD, 'month': '2026-11', 'generated': '2026-12-02T04:00:00+00:00'}
    (listed,) = catalog.list_reports(storage)
    assert (listed.billed_quantity, listed.job_runs) == (42, 7)
    assert listed.to_json()['billedQuantity'] == 42


def test_find_names_no_storage_path_and_reads_the_main_storage_only(tmp_path):
    main, other = tmp_path / 'main', tmp_path / 'other'
    main.mkdir()
    _store(other, NOV, b'x')  # a report in an additional source is not ours to serve
    storage = MultiStorage(StorageDirectory(main), [StorageDirectory(other)])
    assert catalog.list_reports(storage) == []
    with pytest.raises(catalog.ReportNotFound) as raised:
        catalog.find(storage, 'CCSPv2-2026-11')
    assert raised.value.message == "no report 'CCSPv2-2026-11'"
    _store(main, NOV, b'y')
    assert catalog.find(storage, 'CCSPv2-2026-11').size == 1


@pytest.mark.integration
def test_s3_listings_carry_sizes_times_and_sidecars(s3_server, bucket):
    from metrics_utility.library.storage import StorageS3

    storage = StorageS3(
        bucket, endpoint=s3_server.endpoint, region='us-east-1', prefix='p', access_key='test', secret_key='test'
    )
    storage.put(NOV, fileobj=io.BytesIO(b'workbook'))
    storage.put(catalog.sidecar_name(NOV), dict=GOOD)
    (entry,) = catalog.list_reports(storage)
    assert (entry.id, entry.size, entry.billed_quantity) == ('CCSPv2-2026-11', 8, 42)
    assert entry.modified is not None and entry.modified.tzinfo is not None
