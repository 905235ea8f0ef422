"""Reading collector CSVs: required columns, and NULL exactly as PostgreSQL's COPY CSV writes it.

A CSV's header is checked against `columns.REQUIRED`, the one place that names required columns. NULL is an unquoted
empty field, nothing else; the null tokens come from the libraries' own defaults (pyarrow's
`ConvertOptions().null_values` and pandas' `STR_NA_VALUES`), so a token either library adds later is tested too.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from pandas._libs.parsers import STR_NA_VALUES

from metrics_utility.library.extract import read_csv
from metrics_utility.library.extract.columns import REQUIRED, SCHEMAS, missing_columns, missing_columns_in, stream_csv
from testsupport.report_data import JOB_HOST_SUMMARY, csv_bytes

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


NULL_TOKENS = sorted(set(pacsv.ConvertOptions().null_values) | set(STR_NA_VALUES))


def test_the_token_list_is_the_libraries_and_holds_the_usual_suspects():
    assert {'', 'NA', 'null', 'NULL', 'nan', 'NaN', 'N/A', '#N/A', 'None', '<NA>', 'n/a'} <= set(NULL_TOKENS)


@pytest.mark.hostile
@pytest.mark.parametrize('token', NULL_TOKENS, ids=repr)
def test_null_tokens_are_text_in_every_text_column(token):
    row = {
        'id': 1,
        'host_name': token,
        'ansible_host_variable': token,
        'organization_name': token,
        'job_template_name': token,
        'inventory_name': token,
        'project_name': token,
        'ok': 1,
    }
    null = {'id': 2, 'host_name': 'web01', 'ok': 1}  # every other text column NULL (unquoted empty field)
    table = read_csv(csv_bytes(JOB_HOST_SUMMARY, [row, null]), 'job_host_summary')
    for column in (
        'host_name',
        'ansible_host_variable',
        'organization_name',
        'job_template_name',
        'inventory_name',
        'project_name',
    ):
        assert table.column(column).to_pylist() == [token, None if column != 'host_name' else 'web01'], column
    assert table.column('id').to_pylist() == [1, 2]


def test_postgresql_null_and_empty_string_differ():
    data = b'id,host_name,ansible_host_variable,host_remote_id\n1,a,,\n2,b,"",7\n3,"",x,\n'
    table = read_csv(data, 'job_host_summary')
    assert table.column('ansible_host_variable').to_pylist() == [None, '', 'x']
    assert table.column('host_name').to_pylist() == ['a', 'b', '']
    assert table.column('host_remote_id').to_pylist() == [None, 7, None]


# -- streamed files: chunk by chunk, the same values and messages as one read ----------------------------------------

EVENT_HEADER = ','.join(SCHEMAS['main_jobevent']).encode()


def event_line(i: int, host: bytes = b'web01', duration: bytes = b'1.5', job: bytes = b'7') -> bytes:
    fields = [b'', b'', str(i).encode(), b'2024-02-01 10:00:00+00', b'', b'', b'runner_on_ok', b'ping', b'', b'',
              duration, b'f', b't', b'', b'', b'', b'', job, b'', host]  # fmt: skip
    return b','.join(fields) + b'\n'


STREAMED = [
    # id, file content, chunk size, rows, messages (exact)
    ('plain', EVENT_HEADER + b'\n' + b''.join(event_line(i) for i in range(50)), 64, 50, []),
    ('quoted-line-breaks-across-chunks',
     EVENT_HEADER + b'\n' + b''.join(event_line(i, b'"web\n0%d\n"' % i) for i in range(30)), 48, 30, []),
    ('doubled-quotes-and-commas',
     EVENT_HEADER + b'\n' + b''.join(event_line(i, b'"a ""b"", c\nd"') for i in range(20)), 40, 20, []),
    ('record-longer-than-a-chunk', EVENT_HEADER + b'\n' + event_line(1, b'"' + b'x\n' * 500 + b'"') + event_line(2),
     16, 2, []),
    ('bad-values-summed-over-chunks',
     EVENT_HEADER + b'\n' + b''.join(event_line(i, duration=b'slow' if i % 10 == 0 else b'2') for i in range(40)),
     100, 40, ["main_jobevent.csv: 4 value(s) in column 'duration' are not valid double; counted as empty"]),
    ('two-columns-bad-in-different-chunks',
     EVENT_HEADER + b'\n' + event_line(1, job=b'x') + b''.join(event_line(i) for i in range(2, 30))
     + event_line(30, duration=b'?'), 64, 30,
     ["main_jobevent.csv: 1 value(s) in column 'duration' are not valid double; counted as empty",
      "main_jobevent.csv: 1 value(s) in column 'job_remote_id' are not valid int64; counted as empty"]),
    ('no-final-line-break', EVENT_HEADER + b'\n' + event_line(1) + event_line(2).rstrip(b'\n'), 32, 2, []),
    ('header-only', EVENT_HEADER + b'\n', 8, 0, []),
    ('blank-file', b'\n \n\t\n', 8, 0, []),
    ('crlf', EVENT_HEADER + b'\r\n' + b''.join(event_line(i).replace(b'\n', b'\r\n') for i in range(9)), 50, 9, []),
    ('trailing-blank-lines', EVENT_HEADER + b'\n' + event_line(1) + b'\n\n\n', 16, 1, []),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('data', 'chunk', 'rows', 'messages'), [c[1:] for c in STREAMED], ids=[c[0] for c in STREAMED])
def test_a_streamed_file_reads_as_one_read_of_it(tmp_path, data, chunk, rows, messages):
    path = tmp_path / 'main_jobevent.csv'
    path.write_bytes(data)
    streamed: list[str] = []
    tables = list(stream_csv(path, 'main_jobevent', streamed, chunk=chunk))
    whole: list[str] = []
    expected = read_csv(data, 'main_jobevent', whole)
    assert sum(t.num_rows for t in tables) == rows == expected.num_rows
    assert pa.concat_tables(tables).to_pylist() == expected.to_pylist()
    assert streamed == whole == messages


def bad_created(i: int) -> bytes:
    return event_line(i).replace(b'2024-02-01 10:00:00+00', b'yesterday')


READ_COLUMNS = ['id', 'host_name', 'duration', 'job_remote_id']
SOME_COLUMNS = [
    # id, file content, rows, messages (exact) when only READ_COLUMNS are read
    ('bad-value-in-an-unread-column', EVENT_HEADER + b'\n' + bad_created(1) + event_line(2), 2, []),
    ('bad-value-in-a-read-column', EVENT_HEADER + b'\n' + bad_created(1) + event_line(2, duration=b'slow'), 2,
     ["main_jobevent.csv: 1 value(s) in column 'duration' are not valid double; counted as empty"]),
    ('header-only', EVENT_HEADER + b'\n', 0, []),
    ('columns-missing-from-an-older-file', b'id,host_name\n1,web01\n', 1, []),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('data', 'rows', 'messages'), [c[1:] for c in SOME_COLUMNS], ids=[c[0] for c in SOME_COLUMNS])
def test_a_stream_of_some_columns_reads_them_as_a_whole_read_does(tmp_path, data, rows, messages):
    path = tmp_path / 'main_jobevent.csv'
    path.write_bytes(data)
    problems: list[str] = []
    tables = list(stream_csv(path, 'main_jobevent', problems, chunk=40, columns=READ_COLUMNS))
    assert all(t.column_names == READ_COLUMNS for t in tables)
    got = pa.concat_tables(tables)
    assert got.num_rows == rows
    assert got.to_pylist() == read_csv(data, 'main_jobevent').select(READ_COLUMNS).to_pylist()
    assert problems == messages


MALFORMED = [
    ('too-few-fields', EVENT_HEADER + b'\n' + event_line(1) + b'1,2,3\n'),
    ('too-many-fields', EVENT_HEADER + b'\n' + event_line(1).rstrip(b'\n') + b',extra\n'),
    ('unclosed-quote-at-end', EVENT_HEADER + b'\n' + event_line(1) + b'"never closed,\n'),
    ('header-without-line-break', EVENT_HEADER),  # pyarrow: "Empty CSV file or block"
]


@pytest.mark.hostile
@pytest.mark.parametrize('data', [c[1] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_a_malformed_streamed_file_raises_as_one_read_does(tmp_path, data):
    path = tmp_path / 'main_jobevent.csv'
    path.write_bytes(data)
    with pytest.raises(pa.ArrowInvalid):
        read_csv(data, 'main_jobevent')
    with pytest.raises(pa.ArrowInvalid):
        list(stream_csv(path, 'main_jobevent', chunk=32))


@pytest.mark.hostile
@pytest.mark.parametrize(('data', 'missing'), [c[1:] for c in HEADERS], ids=[c[0] for c in HEADERS])
def test_a_file_names_the_same_missing_columns_as_its_bytes(tmp_path, data, missing):
    path = tmp_path / 'job_host_summary.csv'
    path.write_bytes(data)
    assert missing_columns_in(path, 'job_host_summary') == missing == missing_columns(data, 'job_host_summary')
