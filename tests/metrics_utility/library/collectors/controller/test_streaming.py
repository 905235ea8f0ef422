"""COPY → size-limited CSV parts: headers repeated, rows split only at row boundaries, nothing lost or duplicated."""

import re
from pathlib import Path

import pytest

from metrics_utility.library.collectors.controller import job_host_summary
from metrics_utility.library.collectors.controller.streaming import copy_to_csv, session

from .conftest import FULL, read_csv

MULTILINE = """
SELECT i AS id, 'line one' || E'\\n' || 'line "two", ' || repeat('x', i % 50) AS text
FROM generate_series(1, 500) AS i ORDER BY i
"""


def test_small_limit_gives_parts_each_with_header_and_every_row_once(reader_conn, gather):
    whole = gather(job_host_summary, db=reader_conn, since=FULL[0], until=FULL[1])
    parts = gather(job_host_summary, db=reader_conn, since=FULL[0], until=FULL[1], max_file_bytes=64 * 1024)
    assert len(whole) == 1 and re.fullmatch(r'job_host_summary\.[0-9a-f]{12}\.csv', whole[0].name)
    assert len(parts) > 3
    run = parts[0].name.removesuffix('.part0000.csv')  # every run names its files on its own (repeated calls)
    assert re.fullmatch(r'job_host_summary\.[0-9a-f]{12}', run)
    assert [p.name for p in parts[:2]] == [f'{run}.part0000.csv', f'{run}.part0001.csv']
    header = whole[0].read_bytes().split(b'\n', 1)[0]
    for part in parts:
        assert part.read_bytes().startswith(header + b'\n')
        assert part.stat().st_size <= 64 * 1024
    assert read_csv(parts) == read_csv(whole)
    assert b''.join(p.read_bytes().split(b'\n', 1)[1] for p in parts) == whole[0].read_bytes().split(b'\n', 1)[1]


@pytest.mark.parametrize('limit', [1, 97, 1000, 4096])
def test_fields_with_newlines_are_never_cut(reader_conn, tmp_path: Path, limit: int):
    with session(reader_conn):
        parts = copy_to_csv(reader_conn, MULTILINE, tmp_path, 'multi', max_file_bytes=limit)
    rows = read_csv(parts)
    assert [int(r['id']) for r in rows] == list(range(1, 501))
    assert all(r['text'].startswith('line one\nline "two", ') for r in rows)
    if limit == 1:
        assert len(parts) == 500  # a row larger than the limit gets a part of its own, never an empty part


def test_no_rows_gives_no_file(reader_conn, tmp_path: Path):
    with session(reader_conn):
        assert copy_to_csv(reader_conn, 'SELECT 1 AS one WHERE false', tmp_path, 'empty') == []
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_never_overwritten(reader_conn, tmp_path: Path):
    """A second run into the same directory writes files of its own (before: "already exists"); nothing is replaced."""
    (tmp_path / 'taken.csv').write_text('keep me')
    with session(reader_conn):
        first = copy_to_csv(reader_conn, 'SELECT 1 AS one', tmp_path, 'taken')
        second = copy_to_csv(reader_conn, 'SELECT 2 AS one', tmp_path, 'taken')
    assert (tmp_path / 'taken.csv').read_text() == 'keep me'
    assert len({*first, *second}) == 2
    assert [p.read_text() for p in (*first, *second)] == ['one\n1\n', 'one\n2\n']


def test_failed_query_removes_partial_parts_and_leaves_connection_usable(reader_conn, tmp_path: Path):
    failing = 'SELECT i, CASE WHEN i < 400 THEN i ELSE 1 / (i - i) END AS boom FROM generate_series(1, 500) i'
    with pytest.raises(Exception, match='division by zero'), session(reader_conn):
        copy_to_csv(reader_conn, failing, tmp_path, 'boom', max_file_bytes=100)
    assert list(tmp_path.iterdir()) == []
    assert reader_conn.execute('SELECT 42').fetchone() == (42,)


def test_timestamps_are_utc_whatever_the_session_timezone(reader_conn, gather):
    reader_conn.execute("SET TimeZone = 'America/New_York'")
    rows = read_csv(gather(job_host_summary, db=reader_conn, since=FULL[0], until=FULL[1]))
    assert all(r['modified'].endswith('+00') for r in rows)
    assert reader_conn.execute('SHOW TimeZone').fetchone()[0] == 'America/New_York'
