"""events: a document the server cannot read never aborts the event export; the rows are shipped exactly once, the
unreadable ones with NULLs and counted, every other row byte-identical to the one-COPY fast path."""

from __future__ import annotations

import importlib
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from psycopg import sql

from metrics_utility.library.collectors.controller import main_jobevent, main_jobevent_service, partitions, streaming
from metrics_utility.library.collectors.controller.events import ParsedEvents
from metrics_utility.library.collectors.controller.streaming import CsvOutput, session
from testsupport.event_statements import PREVIOUS_EXTRACTION, PREVIOUS_TEMPLATE

from .conftest import FULL, HOSTILE_WINDOW, WINDOW_BOUNDS

RECORD = re.compile(rb'(?:"(?:[^"]|"")*"|[^"\n])*\n')  # one CSV record of PostgreSQL's output (quoted newlines kept)
COLLECTORS = {'main_jobevent': main_jobevent, 'main_jobevent_service': main_jobevent_service}
MODULES = {key: importlib.import_module(f'metrics_utility.library.collectors.controller.{key}') for key in COLLECTORS}
EXTRACTED = {
    'main_jobevent': ('task_action', 'resolved_action', 'resolved_role', 'duration'),
    'main_jobevent_service': (
        'task_action',
        'resolved_action',
        'resolved_role',
        'duration',
        'start',
        'end',
        'task_uuid',
        'ignore_errors',
        'warnings',
        'deprecations',
    ),
}


def records(paths: list[Path]) -> tuple[bytes, Counter]:
    """(header, multiset of data records) of CSV parts (event exports are unordered)."""
    header, found = b'', Counter()
    for path in paths:
        rows = RECORD.findall(path.read_bytes())
        assert not header or rows[0] == header, f'{path} has another header'
        header = rows[0]
        found.update(rows[1:])
    return header, found


def by_id(paths: list[Path]) -> dict[int, bytes]:
    header, found = records(paths)
    index = header.rstrip(b'\n').split(b',').index(b'id')
    out: dict[int, bytes] = {}
    for record in found.elements():
        event_id = int(ParsedEvents._fields(record)[index][0])
        assert event_id not in out, f'event {event_id} exported twice'
        out[event_id] = record
    return out


@pytest.mark.integration
@pytest.mark.parametrize('key', sorted(COLLECTORS))
def test_parsing_in_python_gives_the_servers_bytes(controller_db, tmp_path, key):
    """The fallback's rows (raw event_data parsed in Python, rendered as jsonb_to_record renders it) are the fast
    path's rows, byte for byte, over the standard dataset (escapes, \\u0000, lone surrogates, non-ASCII, numbers)."""
    with controller_db.connect_reader() as conn, session(conn):
        export = MODULES[key].build_export(conn, *FULL)
        fast, slow = CsvOutput(tmp_path / 'fast', key), CsvOutput(tmp_path / 'slow', key)
        (tmp_path / 'fast').mkdir(), (tmp_path / 'slow').mkdir()
        fast.copy(conn, export.fast(), export.params)
        parsed = ParsedEvents(export.derive, conn.info.encoding)
        slow.copy(conn, export.safe(export.ranges), export.params, rewrite=parsed)
        fast_records, slow_records = records(fast.finish()), records(slow.finish())
    assert parsed.unreadable == 0
    assert sum(fast_records[1].values()) > 5000
    assert slow_records == fast_records


# -- hostile event data -------------------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def chosen(hostile_db) -> dict[str, int]:
    """Events in both collectors' scope for HOSTILE_WINDOW: `a` the last one (the server sends it after the others of
    its hour and, from the last hour partition, after every earlier hour: a failed COPY has written rows by then) and
    `b` of the same job (same hour partition), `c` of a job created in another hour."""
    with hostile_db.connect_owner() as conn:
        rows = conn.execute(
            "SELECT e.id, e.job_id, date_trunc('hour', e.job_created) FROM main_jobevent e "
            'JOIN main_unifiedjob u ON u.id = e.job_id '
            'JOIN main_jobhostsummary s ON s.job_id = e.job_id AND s.host_name = e.host_name '
            'WHERE u.finished >= %s AND u.finished < %s AND s.modified >= %s AND s.modified < %s '
            "AND e.event = 'runner_on_ok' "
            'ORDER BY e.id',
            (*WINDOW_BOUNDS, *WINDOW_BOUNDS),
        ).fetchall()
    a = rows[-1]
    b = next(r for r in rows if r[1] == a[1] and r[0] != a[0])
    c = next(r for r in rows if r[2] != a[2])
    return {'a': a[0], 'b': b[0], 'c': c[0]}


@pytest.fixture
def set_event(hostile_db):
    """Sets an event's event_data for one case; puts every original back afterwards."""
    originals: dict[int, str] = {}

    def set_data(event_id: int, text: str) -> None:
        with hostile_db.connect_owner() as conn:
            if event_id not in originals:
                originals[event_id] = conn.execute(
                    'SELECT event_data FROM main_jobevent WHERE id = %s', (event_id,)
                ).fetchone()[0]
            conn.execute('UPDATE main_jobevent SET event_data = %s WHERE id = %s', (text, event_id))

    yield set_data
    with hostile_db.connect_owner() as conn:
        for event_id, text in originals.items():
            conn.execute('UPDATE main_jobevent SET event_data = %s WHERE id = %s', (text, event_id))


def export(db, tmp_path: Path, key: str, name: str, **params) -> tuple[list[Path], int]:
    with db.connect_reader() as conn:
        files = COLLECTORS[key](
            db=conn, since=WINDOW_BOUNDS[0], until=WINDOW_BOUNDS[1], output_dir=tmp_path / f'{key}-{name}', **params
        ).gather()
    return files, files.unreadable


def fields(record: bytes, header: bytes) -> dict[str, bytes]:
    names = header.rstrip(b'\n').decode().split(',')
    return dict(zip(names, [f for f, _ in ParsedEvents._fields(record)], strict=True))


DEEP = 200_000
# (id, event_data: looks like {...} but the server cannot read it)
UNREADABLE_EVENT_DATA = [
    ('broken-member', '{"task_action": "x", broken}'),
    ('trailing-comma', '{"task_action": "x",}'),
    ('single-quotes', "{'task_action': 'x'}"),
    ('unterminated-string', '{"task_action": "x}'),
    ('nan', '{"task_action": "x", "duration": NaN}'),
    ('minus-infinity', '{"duration": -Infinity}'),
    ('raw-tab-in-string', '{"task_action": "a\tb"}'),
    ('raw-newline-in-string', '{"task_action": "a\nb"}'),
    ('invalid-escape', '{"task_action": "\\x41"}'),
    ('nested-200k-deep', '{"res": ' + '[' * DEEP + ']' * DEEP + '}'),
    ('number-beyond-numeric', '{"duration": 1' + '0' * 140_000 + '}'),
    ('exponent-beyond-numeric', '{"duration": 1e1000000}'),
    ('two-objects', '{"task_action": "a"} {"task_action": "b"}'),
    ('unquoted-key', '{task_action: "x"}'),
    ('leading-zero-number', '{"duration": 01}'),
]


@pytest.mark.hostile
@pytest.mark.integration
@pytest.mark.parametrize('text', [c[1] for c in UNREADABLE_EVENT_DATA], ids=[c[0] for c in UNREADABLE_EVENT_DATA])
def test_unreadable_event_data_never_stops_the_export(hostile_db, chosen, set_event, gather_window, tmp_path, text):
    """Both event collectors ship every event exactly once; the bad event's extracted columns are NULL (service:
    ignore_errors false), every other row is byte-identical to the export without the bad event; the event is counted
    in data_collection_status.csv and the run summary; the watermarks advance."""
    before = {key: by_id(export(hostile_db, tmp_path, key, 'before')[0]) for key in COLLECTORS}
    set_event(chosen['a'], text)
    shipped = gather_window(hostile_db)
    assert shipped.exit_code == 0 and shipped.summary['ok'] is True, shipped.summary
    for key in COLLECTORS:
        parts = [tmp_path / f'{key}-{i}.csv' for i in range(len(shipped.data[key]))]
        for path, data in zip(parts, shipped.data[key], strict=True):
            path.write_bytes(data)
        after = by_id(parts)
        assert sorted(after) == sorted(before[key])
        header = records(parts)[0]
        bad = fields(after.pop(chosen['a']), header)
        expected_null = {name: b'f' if name == 'ignore_errors' else b'' for name in EXTRACTED[key]}
        assert {name: bad[name] for name in EXTRACTED[key]} == expected_null
        if key == 'main_jobevent_service':
            assert bad['event_data_length'] == str(len(text.encode())).encode()
        assert after == {i: r for i, r in before[key].items() if i != chosen['a']}
    counts = {
        'job_host_summary': 0,
        'main_jobevent': 1,
        'main_jobevent_service': 1,
        'main_hostmetric': 0,
        'main_host': 0,
    }
    assert {key: shipped.unreadable(key) for key in counts} == counts
    assert {key: shipped.summary['collectors'][key]['unreadable'] for key in counts} == counts
    assert shipped.summary['unreadable_rows'] == 2
    assert shipped.watermarks == dict.fromkeys(
        ('job_host_summary', 'main_hostmetric', 'main_jobevent', 'main_jobevent_service'), WATERMARK
    )


WATERMARK = f'{HOSTILE_WINDOW[1]}T00:00:00+00:00'

# (id, event_data the server reads, not counted): through the fast path alone, and through the fallback (another
# event of the same hour is unreadable), the row is the same bytes.
READABLE_EVENT_DATA = [
    ('not-an-object-array', '[{"task_action": "x"}]'),
    ('not-an-object-empty', ''),
    ('not-an-object-null', 'null'),
    ('duplicate-keys', '{"task_action": "first", "task_action": "second"}'),
    ('escaped-nul-and-lone-surrogate', '{"task_action": "a\\u0000b", "resolved_action": "\\ud800x\\udfff"}'),
    ('escaped-control-characters', '{"task_action": "\\u0007\\u001b\\t\\n\\"\\\\/"}'),
    ('non-ascii-and-bom', '{"task_action": "café ☃ \ufeff𝄞"}'),
    ('numbers-as-written', '{"duration": 1.50, "task_action": 1e2, "resolved_action": -0, "resolved_role": 1E-7}'),
    ('nested-values-as-jsonb-text', '{"task_action": {"zz": 1, "a": [true, null, "s"], "bb": {}}, "start": []}'),
    ('booleans-and-null', '{"task_action": true, "resolved_action": false, "resolved_role": null}'),
    ('ignore-errors-in-res', '{"ignore_errors": null, "res": {"_ansible_ignore_errors": true, "warnings": ["w1"], '
                             '"deprecations": [{"msg": "old", "version": "2.0"}]}}'),
    ('ignore-errors-string', '{"ignore_errors": "yes", "res": {"_ansible_ignore_errors": false, "warnings": null}}'),
    ('res-not-an-object', '{"ignore_errors": false, "res": ["warnings"]}'),
    ('deep-but-readable', '{"res": {"warnings": ' + '[' * 500 + ']' * 500 + '}}'),
    ('whitespace-everywhere', '{ \t\r\n"task_action" : "x" ,\n"duration":\t2 }'),
    ('big-but-in-range-number', '{"duration": 1' + '0' * 1000 + '.5}'),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.integration
@pytest.mark.parametrize('text', [c[1] for c in READABLE_EVENT_DATA], ids=[c[0] for c in READABLE_EVENT_DATA])
def test_the_fallback_renders_readable_event_data_as_the_server(hostile_db, chosen, set_event, tmp_path, text):
    set_event(chosen['a'], text)
    fast = {key: export(hostile_db, tmp_path, key, 'fast') for key in COLLECTORS}
    set_event(chosen['b'], '{"task_action": broken}')  # same job, same hour partition: that hour is parsed in Python
    slow = {key: export(hostile_db, tmp_path, key, 'slow') for key in COLLECTORS}
    for key in COLLECTORS:
        assert fast[key][1] == 0 and slow[key][1] == 1
        fast_rows, slow_rows = by_id(fast[key][0]), by_id(slow[key][0])
        assert slow_rows[chosen['a']] == fast_rows[chosen['a']]
        assert sorted(slow_rows) == sorted(fast_rows)


@pytest.mark.hostile
@pytest.mark.integration
@pytest.mark.parametrize('batch_rows', [1, 3], ids=['row-by-row', 'batches-of-3'])
@pytest.mark.parametrize('key', sorted(COLLECTORS))
def test_unreadable_events_in_two_hours_across_many_parts_are_shipped_once(
    hostile_db, chosen, set_event, tmp_path, monkeypatch, key, batch_rows
):
    """With 2 KB parts and small write batches (the tiny dataset has fewer rows than one real batch) the failed first
    attempt, and the failed COPY of `a`'s hour, have written rows and parts before the server refused the document;
    they are rewound, and every event is in exactly one part; both hours fall back, each bad event counted once."""
    monkeypatch.setattr(streaming, 'BATCH_ROWS', batch_rows)
    before = by_id(export(hostile_db, tmp_path, key, 'before')[0])
    set_event(chosen['a'], '{"task_action": oops}')
    set_event(chosen['c'], '{"duration": NaN}')
    files, unreadable = export(hostile_db, tmp_path, key, 'parts', max_file_bytes=2048)
    assert unreadable == 2 and len(files) > 3
    assert all(path.stat().st_size <= 2048 for path in files)
    after = by_id(files)
    assert sorted(after) == sorted(before)
    assert {i: r for i, r in after.items() if i not in (chosen['a'], chosen['c'])} == {
        i: r for i, r in before.items() if i not in (chosen['a'], chosen['c'])
    }


@pytest.mark.hostile
@pytest.mark.integration
def test_in_a_fallback_hour_nesting_beyond_pythons_limit_is_counted(hostile_db, chosen, set_event, tmp_path):
    """The documented limit: the server reads 1,500 levels, Python's json does not; only in an hour that falls back
    is such a document exported with NULLs (and counted). Python's limit is its recursion limit, which libraries
    loaded by other tests may raise: pinned to the interpreter's default here."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        _nesting_beyond_pythons_limit(hostile_db, chosen, set_event, tmp_path)
    finally:
        sys.setrecursionlimit(limit)


def _nesting_beyond_pythons_limit(hostile_db, chosen, set_event, tmp_path) -> None:
    deep = '{"task_action": "deep", "res": ' + '[' * 1500 + ']' * 1500 + '}'
    set_event(chosen['a'], deep)
    files, unreadable = export(hostile_db, tmp_path, 'main_jobevent', 'fast')
    header = records(files)[0]
    assert unreadable == 0 and fields(by_id(files)[chosen['a']], header)['task_action'] == b'deep'
    set_event(chosen['b'], '{"task_action": broken}')
    files, unreadable = export(hostile_db, tmp_path, 'main_jobevent', 'slow')
    assert unreadable == 2 and fields(by_id(files)[chosen['a']], header)['task_action'] == b''


# (id, event_data): what the previous statement read, the current one reads the same (values and NULLs).
EXTRACTION_CASES = [
    *READABLE_EVENT_DATA,
    ('unicode-escapes-kept-literal', '{"task_action": "caf\\u00e9 \\u0041", "resolved_action": "\\\\u0041"}'),
    ('duplicate-keys-last-wins', '{"duration": 1, "resolved_role": "a", "duration": 2.50, "resolved_role": null}'),
    ('nested-key-of-the-same-name', '{"res": {"task_action": "inner"}, "task_action": "outer"}'),
    ('huge-string-value', '{"task_action": "' + 'x' * 1_000_000 + '"}'),
    ('empty-object', '{}'),
    ('lone-brace', '{'),
    ('trailing-space-not-an-object', '{"task_action": "x"} '),
    ('leading-space-not-an-object', ' {"task_action": "x"}'),
    ('multibyte-last-character', '{"task_action": "ü"}\u00e9'),
    ('quotes-commas-newlines', '{"task_action": "a,\\"b\\"\\nc", "resolved_action": "\\r\\n"}'),
    (
        'numbers-as-jsonb-prints-them',
        '{"duration": 1.50E+2, "task_action": -0, "resolved_role": 1e-7, "resolved_action": 12345678901234567890123}',
    ),
    (
        'nested-values',
        '{"task_action": {"bb": [1, {"a": null}], "a": "x"}, "resolved_action": [true, false, null, "s"]}',
    ),
    ('booleans-and-null', '{"task_action": true, "resolved_action": false, "resolved_role": null}'),
    ('empty-strings-not-null', '{"task_action": "", "resolved_action": " ", "duration": ""}'),
    ('json-null-document', 'null'),
    ('trailing-newline-not-an-object', '{"task_action": "x"}\n'),
    ('multibyte-first-character', '\u00fc{"task_action": "x"}'),
    ('three-byte-last-character', '{"task_action": "x"}\u20ac'),
    ('two-characters', '{}'),
    ('key-with-escapes', '{"task\\u005faction": "escaped key", "task_action": "plain"}'),
]


@pytest.mark.hostile
@pytest.mark.integration
@pytest.mark.parametrize('text', [c[1] for c in EXTRACTION_CASES], ids=[c[0] for c in EXTRACTION_CASES])
def test_the_cheaper_event_statement_gives_the_previous_statements_bytes(hostile_db, chosen, set_event, tmp_path, text):
    """main_jobevent's statement (the cast once in a subquery, keys read with `->>`, `LIKE '{%}'`) exports every row
    as the previous statement did (a LATERAL jsonb_to_record, `left`/`right`): same rows, same bytes, for the event
    with `text` too."""
    set_event(chosen['a'], text)
    with hostile_db.connect_reader() as conn, session(conn):
        export = MODULES['main_jobevent'].build_export(conn, *WINDOW_BOUNDS)
        previous = sql.SQL(PREVIOUS_TEMPLATE).format(
            **export.fixed,
            partitions=partitions.job_created_condition('e.job_created', export.ranges),
            extract=sql.SQL(PREVIOUS_EXTRACTION),
        )
        outputs = {}
        for name, query in (('previous', previous), ('current', export.fast())):
            (tmp_path / name).mkdir()
            out = CsvOutput(tmp_path / name, 'main_jobevent')
            out.copy(conn, query, export.params)
            outputs[name] = by_id(out.finish())
    assert chosen['a'] in outputs['current']
    assert outputs['current'] == outputs['previous']
