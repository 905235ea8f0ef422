"""Each collector's CSV columns (as metrics-utility writes them) and their Arrow types, and a tolerant CSV reader.

Reading with explicit types keeps values exact (ids stay integers, `+00` offsets become UTC timestamps, `t`/`f`
become booleans) and independent of what a file happens to contain. An optional column missing from an older
collector version reads as nulls; a value that does not parse becomes null and is reported, instead of failing the
file. A file lacking one of its key's `REQUIRED` columns (identity and billing facts: reading them as nulls would
silently bill nothing) is not read at all; the caller lists it as a problem.

NULL is read exactly as PostgreSQL's `COPY … CSV` writes it (`NULL_FORMAT`): an unquoted empty field is NULL, a
quoted empty field (`""`) is the empty string, and every other text — `NA`, `null`, `nan`, `#N/A`, `None`… — is
itself. The readers' default null tokens (pyarrow's and pandas') would turn such host names into missing values,
and a host named `NA` would silently not be billed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

TS = pa.timestamp('us', tz='UTC')
STR, INT, BOOL, FLOAT = pa.string(), pa.int64(), pa.bool_(), pa.float64()

SCHEMAS: dict[str, dict[str, pa.DataType]] = {
    'job_host_summary': {
        'id': INT, 'created': TS, 'modified': TS, 'host_name': STR, 'host_remote_id': INT,
        'ansible_host_variable': STR, 'ansible_connection_variable': STR, 'changed': INT, 'dark': INT,
        'failures': INT, 'ok': INT, 'processed': INT, 'skipped': INT, 'failed': BOOL, 'ignored': INT, 'rescued': INT,
        'job_created': TS, 'job_remote_id': INT, 'job_template_remote_id': INT, 'job_template_name': STR,
        'inventory_remote_id': INT, 'inventory_name': STR, 'organization_remote_id': INT, 'organization_name': STR,
        'project_remote_id': INT, 'project_name': STR,
    },
    'main_jobevent': {
        'main_jobhostsummary_id': INT, 'main_jobhostsummary_created': TS, 'id': INT, 'created': TS, 'modified': TS,
        'job_created': TS, 'event': STR, 'task_action': STR, 'resolved_action': STR, 'resolved_role': STR,
        'duration': FLOAT, 'failed': BOOL, 'changed': BOOL, 'playbook': STR, 'play': STR, 'task': STR, 'role': STR,
        'job_remote_id': INT, 'host_remote_id': INT, 'host_name': STR,
    },
    'main_host': {
        'host_name': STR, 'host_id': INT, 'inventory_remote_id': INT, 'inventory_name': STR,
        'organization_remote_id': INT, 'organization_name': STR, 'last_automation': TS, 'first_automation': TS,
        'ansible_host_variable': STR, 'canonical_facts': STR, 'facts': STR,
    },
    'main_indirectmanagednodeaudit': {
        'id': INT, 'created': TS, 'host_name': STR, 'host_remote_id': INT, 'canonical_facts': STR, 'facts': STR,
        'events': STR, 'task_runs': INT, 'job_created': TS, 'job_remote_id': INT, 'job_template_remote_id': INT,
        'job_template_name': STR, 'inventory_remote_id': INT, 'inventory_name': STR, 'organization_remote_id': INT,
        'organization_name': STR, 'project_remote_id': INT, 'project_name': STR,
    },
    'main_hostmetric': {
        'hostname': STR, 'host_id': INT, 'first_automation': TS, 'last_automation': TS, 'automated_counter': INT,
        'deleted_counter': INT, 'last_deleted': TS, 'deleted': BOOL, 'id': INT, 'used_in_inventories': INT,
        'ansible_product_serial': STR, 'ansible_machine_id': STR, 'ansible_host_variable': STR,
        'ansible_connection_variable': STR,
    },
    'data_collection_status': {
        'collection_start_timestamp': TS, 'since': TS, 'until': TS, 'file_name': STR, 'status': STR, 'elapsed': FLOAT,
        'unreadable_rows': INT,  # ours only (docs/collectors.md "Unreadable documents"); upstream's files lack it
    },
}  # fmt: skip
# main_host_daily has the same columns as the main_host snapshot.
SCHEMAS['main_host_daily'] = SCHEMAS['main_host']
# Columns every version of each collector wrote and the rollups cannot do without: who was automated (host names),
# by which job, when, and whether the host was reached. The one place that says so (docs/reports.md).
REQUIRED: dict[str, tuple[str, ...]] = {
    'job_host_summary': ('id', 'created', 'host_name', 'job_remote_id', 'ok', 'dark', 'failures', 'skipped'),
    'main_jobevent': ('job_remote_id', 'host_name', 'event', 'task_action'),
    'main_host': ('host_name',),
    'main_host_daily': ('host_name',),
    'main_indirectmanagednodeaudit': ('created', 'host_name', 'job_remote_id'),
    'main_hostmetric': ('hostname',),
    'data_collection_status': ('since', 'until', 'file_name', 'status'),
}


# PostgreSQL COPY CSV: NULL is an unquoted empty field; '' is written quoted ("") and stays a string.
NULL_FORMAT = {'null_values': [''], 'strings_can_be_null': True, 'quoted_strings_can_be_null': False}


def schema(key: str) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ in SCHEMAS[key].items()])


def empty(key: str) -> pa.Table:
    """A table with the key's columns and no rows (empty inputs keep their fields)."""
    return schema(key).empty_table()


def missing_columns(data: bytes, key: str) -> list[str]:
    """The key's required columns absent from the CSV header (the file's first record); none for an empty file."""
    if not data.strip():
        return []
    end = data.find(b'\n')
    return _missing_from_header(data if end < 0 else data[:end], key)


def _missing_from_header(first: bytes, key: str) -> list[str]:
    try:
        header = next(csv.reader(io.StringIO(first.decode('utf-8-sig', errors='replace'))), [])
    except csv.Error:
        header = []
    present = set(header)
    return [name for name in REQUIRED[key] if name not in present]


BLOCK_SIZE = 16 << 20
CHUNK = 8 << 20  # bytes of records `stream_csv` parses at a time


def _convert_kwargs(key: str, columns: list[str] | None = None) -> dict[str, object]:
    return {
        'include_columns': list(SCHEMAS[key]) if columns is None else columns,
        'include_missing_columns': True,
        **NULL_FORMAT,
        'true_values': ['t', 'true', 'True'],
        'false_values': ['f', 'false', 'False'],
    }


def read_csv(data: bytes, key: str, problems: list[str] | None = None) -> pa.Table:
    """Parse one collector CSV into the key's schema.

    Strict parsing first (fast path); if a value does not parse, read everything as text and cast column by column,
    turning bad values into nulls and appending one message per affected column to `problems`.
    """
    if not data.strip():
        return empty(key)
    bad: dict[str, int] = {}
    table = _parse(data, key, bad)
    _report(key, bad, problems)
    return table


def _parse(data: bytes, key: str, bad: dict[str, int], columns: list[str] | None = None) -> pa.Table:
    """`data` (a header and records) in the key's schema, or only its `columns`; values that do not parse become
    nulls, counted in `bad`."""
    types = SCHEMAS[key] if columns is None else {name: SCHEMAS[key][name] for name in columns}
    read = pacsv.ReadOptions(block_size=BLOCK_SIZE)
    kwargs = _convert_kwargs(key, columns)
    wanted = pa.schema([pa.field(name, typ) for name, typ in types.items()])
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data), read, convert_options=pacsv.ConvertOptions(column_types=types, **kwargs)
        )
        return table.select(list(types)).cast(wanted)
    except pa.ArrowInvalid:
        pass
    text = pacsv.read_csv(
        pa.py_buffer(data), read, convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(types, STR), **kwargs)
    )
    converted = []
    for name, typ in types.items():
        column = text.column(name)
        if typ != STR:
            column, count = _lenient_cast(column, typ)
            if count:
                bad[name] = bad.get(name, 0) + count
        converted.append(column)
    return pa.table(converted, schema=wanted)


def _report(key: str, bad: dict[str, int], problems: list[str] | None) -> None:
    """One message per column with values that did not parse, in the key's column order."""
    if problems is None:
        return
    for name, typ in SCHEMAS[key].items():
        if bad.get(name):
            problems.append(f'{key}.csv: {bad[name]} value(s) in column {name!r} are not valid {typ}; counted as empty')


def missing_columns_in(path: Path, key: str) -> list[str]:
    """`missing_columns` of a CSV file, reading only its first record (none for a blank file)."""
    with open(path, 'rb') as source:
        if _blank(source):
            return []
        source.seek(0)
        first = source.readline()
    return _missing_from_header(first[:-1] if first.endswith(b'\n') else first, key)


def _blank(source: io.BufferedReader) -> bool:
    """True when the whole file is whitespace (what `data.strip()` finds empty)."""
    while chunk := source.read(1 << 16):
        if chunk.strip():
            return False
    return True


def stream_csv(
    path: Path, key: str, problems: list[str] | None = None, chunk: int = CHUNK, columns: list[str] | None = None
) -> Iterator[pa.Table]:
    """The CSV file `path` in the key's schema, about `chunk` bytes of records at a time: memory holds one chunk.
    With `columns`, only those are parsed (and only their values that do not parse are reported): a reader that
    uses a few columns does not pay for the others' text.

    The same values and messages as `read_csv` of the whole file: chunks end where a record ends (a line break
    after an even number of `"`, as quotes are doubled inside quoted values), each is parsed with the file's header
    (strictly, else leniently: a value that parses has the same value either way), and the counts of values that do
    not parse are summed over the file before its messages are appended to `problems`. A structural error (e.g. a
    wrong number of fields) raises pa.ArrowInvalid as `read_csv` does.
    """
    bad: dict[str, int] = {}
    with open(path, 'rb') as source:
        if _blank(source):
            yield empty(key)
            return
        source.seek(0)
        header = source.readline()
        yielded = False
        carry = b''
        while header.endswith(b'\n'):
            block = source.read(chunk)
            data = carry + block if carry else block
            if not block:
                if data.strip():
                    yielded = True
                    yield _parse(header + data, key, bad, columns)
                break
            cut = _record_end(data)
            if cut < 0:  # one record longer than a chunk: read on
                carry = data
                continue
            yielded = True
            yield _parse(header + data[:cut], key, bad, columns)
            carry = data[cut:]
        if not yielded:  # a header alone: what a read of it gives (no rows; an error without its line break)
            yield _parse(header, key, bad, columns)
    _report(key, bad, problems)


def _record_end(data: bytes) -> int:
    """The offset just after the last line break of `data` that ends a record (`data` starts a record), or -1."""
    quotes = data.count(b'"')
    end = len(data)
    while (at := data.rfind(b'\n', 0, end)) >= 0:
        quotes -= data.count(b'"', at, end)
        if quotes % 2 == 0:
            return at + 1
        end = at
    return -1


def _lenient_cast(column: pa.ChunkedArray, typ: pa.DataType) -> tuple[pa.Array, int]:
    values = column.to_pylist()
    out: list[object] = []
    bad = 0
    for value in values:
        if value is None or value == '':
            out.append(None)
            continue
        try:
            out.append(pc.cast(pa.array([value]), typ)[0].as_py() if typ != BOOL else _bool(value))
        except (pa.ArrowInvalid, ValueError):
            out.append(None)
            bad += 1
    return pa.array(out, type=typ), bad


def _bool(value: str) -> bool:
    if value in ('t', 'true', 'True'):
        return True
    if value in ('f', 'false', 'False'):
        return False
    raise ValueError(value)
