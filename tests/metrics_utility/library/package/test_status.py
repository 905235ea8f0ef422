"""data_collection_status.csv keeps metrics-utility's header and cell formats, then adds `unreadable_rows`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from metrics_utility.library.package.status import StatusRow, parse_status_csv, status_csv


def test_cells_are_formatted_like_metrics_utility() -> None:
    started = datetime(2024, 4, 17, 13, 59, 12, 576144, tzinfo=UTC)
    data = status_csv(
        [
            StatusRow(
                started, datetime(2024, 4, 16, tzinfo=UTC), datetime(2024, 4, 17, tzinfo=UTC), 'a.csv', True, 1.9
            ),
            StatusRow(started, None, None, 'b.json', False, 0.2),
            StatusRow(started, None, None, 'c.csv', True, 0, unreadable_rows=3),
        ]
    )
    assert data == (
        b'collection_start_timestamp,since,until,file_name,status,elapsed,unreadable_rows\r\n'
        b'2024-04-17 13:59:12.576144+00:00,2024-04-16 00:00:00+00:00,2024-04-17 00:00:00+00:00,a.csv,ok,1,0\r\n'
        b'2024-04-17 13:59:12.576144+00:00,,,b.json,failed,0,0\r\n'
        b'2024-04-17 13:59:12.576144+00:00,,,c.csv,ok,0,3\r\n'
    )
    assert parse_status_csv(data)[1]['status'] == 'failed'
    assert parse_status_csv(data)[2]['unreadable_rows'] == '3'


def test_upstream_six_column_files_are_still_read() -> None:
    """Packages written by metrics-utility (or before `unreadable_rows`) have upstream's six columns."""
    rows = parse_status_csv(
        b'collection_start_timestamp,since,until,file_name,status,elapsed\r\n'
        b'2024-04-17 13:59:12.576144+00:00,,,a.csv,ok,1\r\n'
    )
    assert rows == [
        {
            'collection_start_timestamp': '2024-04-17 13:59:12.576144+00:00',
            'since': '',
            'until': '',
            'file_name': 'a.csv',
            'status': 'ok',
            'elapsed': '1',
            'unreadable_rows': '',
        }
    ]


def test_a_foreign_header_is_refused() -> None:
    with pytest.raises(ValueError, match='expected'):
        parse_status_csv(b'since,until\r\n')
