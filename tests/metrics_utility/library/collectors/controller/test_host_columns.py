"""Host variables spliced into COPY rows: byte-identical to the server joining the parsed values itself."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from psycopg import sql

from metrics_utility.library.collectors.controller import host_columns, job_host_summary, main_hostmetric, window
from metrics_utility.library.collectors.controller.host_columns import (
    ALL_HOSTS,
    HostVariables,
    Splice,
    _csv,
    hosts_in_scope,
    join_clause,
)
from metrics_utility.library.collectors.controller.hostvars import HostVars
from metrics_utility.library.collectors.controller.streaming import copy_to_csv, session

from .conftest import FULL

TWO = Splice('k', (('ansible_host_variable', 'ansible_host'), ('ansible_connection_variable', 'ansible_connection')))
HEADER = b'id,name,ansible_host_variable,ansible_connection_variable,tail\n'


class Parsed:
    """Stands in for `HostVariables` in the row-level tests."""

    def __init__(self, found: dict[int, HostVars]) -> None:
        self.found = found

    def parsed(self) -> dict[int, HostVars]:
        return self.found


def splice(rows: list[bytes], found: dict[int, HostVars], spec: Splice = TWO, header: bytes = HEADER):
    """(batch result, row-by-row result) of the rewrite."""
    rewrite = spec.rows(Parsed(found), 'utf-8')  # type: ignore[arg-type]
    rewrite.start(header)
    return rewrite.join([memoryview(r) for r in rows]), rewrite.each(rows)


FOUND = {5: HostVars('10.0.0.5', 'ssh', 22), 7: HostVars('a,b', 'say "hi"\nthere')}


@pytest.mark.unit
@pytest.mark.parametrize(
    ('row', 'expected'),
    [
        (b'1,web,\x1e5,\x1e,x\n', b'1,web,10.0.0.5,ssh,x\n'),
        (b'1,"a,""b""",\x1e5,\x1e,x\n', b'1,"a,""b""",10.0.0.5,ssh,x\n'),
        (b'1,web,\x1e6,\x1e,x\n', b'1,web,,,x\n'),  # a host without values
        (b'1,web,\x1e,\x1e,x\n', b'1,web,,,x\n'),  # no host at all
        (b'1,we\x1eb,\x1e5,\x1e,x\n', b'1,we\x1eb,10.0.0.5,ssh,x\n'),  # PostgreSQL does not quote \x1e
        (b'1,"w\x1e,\n\x1e",\x1e5,\x1e,\x1e\n', b'1,"w\x1e,\n\x1e",10.0.0.5,ssh,\x1e\n'),
        (b'1,"\x1e5,\x1e",\x1e7,\x1e,x\n', b'1,"\x1e5,\x1e","a,b","say ""hi""\nthere",x\n'),  # looks like a marker
        (b'1,\x1e\x1e,\x1e,\x1e,\x1e\n', b'1,\x1e\x1e,,,\x1e\n'),
        (b'1,web,\x1e7,\x1e,x\n', b'1,web,"a,b","say ""hi""\nthere",x\n'),  # values quoted as PostgreSQL would
    ],
)
def test_rows(row, expected):
    assert splice([row], FOUND) == (expected, [expected])
    plain = b'2,web,\x1e5,\x1e,x\n'
    assert splice([plain, row, plain], FOUND)[0] == b'2,web,10.0.0.5,ssh,x\n' + expected + b'2,web,10.0.0.5,ssh,x\n'


@pytest.mark.unit
def test_one_and_three_columns():
    one = Splice('k', (('ansible_host_variable', 'ansible_host'),))
    header = b'id,ansible_host_variable\n'
    assert splice([b'1,\x1e5\x1e\n', b'2,\x1e\x1e\n'], {5: HostVars('h')}, one, header)[0] == b'1,h\n2,\n'
    three = Splice('k', (('h', 'ansible_host'), ('c', 'ansible_connection'), ('p', 'ansible_port')))
    header = b'h,c,p\n'
    assert splice([b'\x1e5,,\x1e\n', b'\x1e6,,\x1e\n'], {5: HostVars('h', None, 22)}, three, header)[0] == (
        b'h,,22\n,,\n'
    )


@pytest.mark.unit
def test_a_failed_parse_fails_the_export():
    class Broken:
        def parsed(self):
            raise MemoryError('no room')

    rewrite = TWO.rows(Broken(), 'utf-8')  # type: ignore[arg-type]
    with pytest.raises(MemoryError, match='no room'):
        rewrite.start(HEADER)


@pytest.mark.unit
def test_csv_fields_as_postgresql_writes_them():
    assert [_csv(v, 'utf-8') for v in (None, '', 'a', 'a b', 22, 'a,b', 'a"b', 'a\rb', 'café')] == [
        b'',
        b'""',
        b'a',
        b'a b',
        b'22',
        b'"a,b"',
        b'"a""b"',
        b'"a\rb"',
        'café'.encode(),
    ]


class Estimate:
    """A connection whose planner estimate for `main_host` is `rows` (None: no such table)."""

    def __init__(self, rows: float | None) -> None:
        self.rows = rows

    def execute(self, query: str):
        assert 'reltuples' in query
        return self

    def fetchone(self):
        return None if self.rows is None else (self.rows,)


@pytest.mark.unit
@pytest.mark.parametrize(
    ('rows', 'every_host'),
    [(0, True), (11_373, True), (99_999, True), (100_000, False), (2e6, False), (-1, False), (None, False)],
)
def test_small_main_host_is_read_whole(rows, every_host):
    scoped = sql.SQL('SELECT id, variables FROM main_host WHERE id < 10')
    chosen = hosts_in_scope(Estimate(rows), scoped)  # type: ignore[arg-type]
    assert chosen == (sql.SQL(ALL_HOSTS) if every_host else scoped)


# -- against the database: the spliced export equals the server joining the parsed values ---------------------------

NASTY_NAMES = ['rs\x1ename', 'comma,name', 'quote"name', 'line\nbreak', '\x1e', '']
NASTY_VARIABLES = [
    'ansible_host: "a,b"\nansible_connection: \'say "hi"\'',
    '{"ansible_host": "x\\u001ey"}',
    'ansible_host: |\n  two\n  lines\n',
    '{"ansible_host": ""}',
    'ansible_host: \x1e',
]


def joined(db, query: str, hosts_query: sql.Composable, key: str, params: dict, out: Path, columns: str) -> bytes:
    """The reference: the same COPY with the values joined by the server (`join_clause`)."""
    with session(db):
        hv, hv_params = join_clause(HostVariables(db, hosts_query, params).parsed())
    join = f'\nLEFT JOIN {{hv}} ON hv.host_id = {key}\nWHERE'
    query = query.replace('{host_columns}', columns).replace('\nWHERE', join, 1)
    metric_window = sql.SQL('({} OR {})').format(
        window.condition('m.last_automation'), window.condition('m.last_deleted')
    )
    statement = sql.SQL(query).format(hv=hv, window=window.condition('s.modified'), where=metric_window)
    with session(db):
        (file,) = copy_to_csv(db, statement, out, 'reference', {**params, **hv_params})
    return file.read_bytes()


@pytest.fixture
def nasty_db(scratch_db):
    """The tiny dataset with host names and variables that stress the CSV splicing."""
    with scratch_db.connect_owner() as conn:
        ids = [r[0] for r in conn.execute('SELECT id FROM main_host ORDER BY id LIMIT %s', (len(NASTY_NAMES),))]
        for host_id, name, variables in zip(ids, NASTY_NAMES, [*NASTY_VARIABLES, ''], strict=True):
            conn.execute('UPDATE main_jobhostsummary SET host_name = %s WHERE host_id = %s', (name, host_id))
            conn.execute(
                'UPDATE main_hostmetric SET hostname = %s WHERE hostname = (SELECT name FROM main_host WHERE id = %s)',
                (name + '-metric', host_id),
            )
            conn.execute(
                'UPDATE main_host SET name = %s, variables = %s WHERE id = %s', (name + '-metric', variables, host_id)
            )
        conn.commit()
    return scratch_db


@pytest.fixture(params=['window hosts', 'all hosts'])
def scope(request, monkeypatch):
    """Both look-ups: the hosts the window refers to, and every host of a small `main_host`."""
    monkeypatch.setattr(host_columns, 'ALL_HOSTS_BELOW', 0 if request.param == 'window hosts' else 10**9)
    return request.param


@pytest.mark.integration
def test_job_host_summary_equals_server_join(nasty_db, tmp_path, scope):
    module = importlib.import_module('metrics_utility.library.collectors.controller.job_host_summary')
    hosts_query = sql.SQL(module.HOSTS).format(window=window.condition('s.modified'))
    params = window.params(*FULL)
    columns = 'hv.ansible_host AS ansible_host_variable, hv.ansible_connection AS ansible_connection_variable'
    with nasty_db.connect_reader() as conn:
        assert (module.statements(conn, *FULL)[0] == hosts_query) == (scope == 'window hosts')
        (ours,) = job_host_summary(db=conn, since=FULL[0], until=FULL[1], output_dir=tmp_path).gather()
        reference = joined(conn, module.QUERY, hosts_query, 'COALESCE(s.host_id, fb.id)', params, tmp_path, columns)
    data = ours.read_bytes()
    assert data == reference
    assert b'\x1e' in data and b'"a,b","say ""hi"""' in data and b'"two\nlines\n"' in data


@pytest.mark.integration
def test_main_hostmetric_equals_server_join(nasty_db, tmp_path, scope):
    module = importlib.import_module('metrics_utility.library.collectors.controller.main_hostmetric')
    where = sql.SQL('({} OR {})').format(window.condition('m.last_automation'), window.condition('m.last_deleted'))
    hosts_query = sql.SQL(module.HOSTS).format(where=where)
    columns = 'hv.ansible_host AS ansible_host_variable, hv.ansible_connection AS ansible_connection_variable'
    params = window.params(*FULL)
    with nasty_db.connect_reader() as conn:
        (ours,) = main_hostmetric(db=conn, since=FULL[0], until=FULL[1], output_dir=tmp_path).gather()
        reference = joined(conn, module.QUERY, hosts_query, 'h.id', params, tmp_path, columns)
    assert ours.read_bytes() == reference
    assert b'rs\x1ename-metric' in reference


@pytest.mark.integration
def test_a_small_budget_parses_while_reading(controller_db, tmp_path):
    module = importlib.import_module('metrics_utility.library.collectors.controller.job_host_summary')
    outputs = []
    with controller_db.connect_reader() as conn:
        hosts_query, query, params = module.statements(conn, *FULL)
        for budget in (0, 10**9):
            with session(conn):
                hosts = HostVariables(conn, hosts_query, params, raw_budget=budget)
                assert bool(hosts._raw) == bool(budget)
                rewrite = module.HOST_COLUMNS.rows(hosts, conn.info.encoding)
                (file,) = copy_to_csv(conn, query, tmp_path, f'budget{budget}', params, rewrite=rewrite)
            outputs.append(file.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.unit
def test_rows_of_unreadable_hosts_are_counted_once_per_batch_written():
    """`tally` counts the rows referring to an unreadable host, also where another field holds \\x1e."""
    found = {5: HostVars('10.0.0.5'), 9: HostVars(unreadable=True)}
    rewrite = TWO.rows(Parsed(found), 'utf-8')  # type: ignore[arg-type]
    rewrite.start(HEADER)
    rewrite.tally([b'1,web,\x1e9,\x1e,x\n', b'2,web,\x1e5,\x1e,x\n', b'3,web,\x1e9,\x1e,x\n'])
    assert rewrite.unreadable == 2
    rewrite.tally([b'4,"w\x1e",\x1e9,\x1e,\x1e\n', b'5,web,\x1e,\x1e,x\n'])  # a field holds \x1e: row by row
    assert rewrite.unreadable == 3
    assert rewrite.join([b'1,web,\x1e9,\x1e,x\n']) == b'1,web,,,x\n'  # rewriting does not count again
    assert rewrite.unreadable == 3


# -- hostile host variables: one host's stored document, through a real `metrics-utility gather` ----------------------

DEEP = 50_000
LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + ''.join(
    f'{chr(98 + i)}: &{chr(98 + i)} [{", ".join([f"*{chr(97 + i)}"] * 9)}]\n' for i in range(8)
)
TEN_MB = 10 * 1024 * 1024

# (id, variables of host 1 `web01.example.com`, ansible_host, ansible_connection, ansible_port, unreadable)
HOSTILE_VARIABLES = [
    ('json-nested-50k-deep', '{"ansible_host": ' + '[' * DEEP + ']' * DEEP + '}', None, None, None, True),
    ('json-object-30k-deep-then-key', '{"a": ' * 30_000 + '1' + '}' * 30_000 + ' ansible_', None, None, None, True),
    ('yaml-port-5000-digits', 'ansible_host: 10.0.0.1\nansible_port: ' + '9' * 5000, '10.0.0.1', None, None, True),
    ('json-port-5000-digits', '{"ansible_host": "h1", "ansible_port": ' + '9' * 5000 + '}', 'h1', None, None, True),
    ('json-host-5000-digits', '{"ansible_host": ' + '7' * 5000 + '}', '7' * 5000, None, None, False),
    ('indented-yaml-port-5000-digits', ' ansible_host: x\n ansible_port: ' + '9' * 5000, None, None, None, True),
    ('json-port-1e999', '{"ansible_host": "h2", "ansible_port": 1e999}', 'h2', None, None, True),
    ('billion-laughs-beside-host', LAUGHS + 'ansible_host: laughs\n', 'laughs', None, None, False),
    ('billion-laughs-as-host', LAUGHS + 'ansible_host: *i\n', None, None, None, True),
    ('recursive-alias-as-host', 'ansible_host: &r [*r]\nansible_connection: ssh', None, 'ssh', None, True),
    ('python-object-tag', 'ansible_host: !!python/object/apply:os.system ["true"]', None, None, None, True),
    ('binary-tag', 'ansible_host: !!binary aGVsbG8=\nansible_connection: local', None, 'local', None, True),
    ('set-tag', 'ansible_host: !!set {a, b}', None, None, None, True),
    ('top-level-json-array', '["ansible_host", "10.0.0.1"]', None, None, None, True),
    ('top-level-json-string', '"ansible_host: 10.0.0.1"', None, None, None, True),
    ('top-level-yaml-scalar', 'ansible_host', None, None, None, True),
    ('json-null-document', 'null  # ansible_host', None, None, None, False),
    ('comments-only', '---\n# ansible_host: old\n', None, None, None, False),
    ('host-null', 'ansible_host: null\nansible_connection: ssh', None, 'ssh', None, False),
    ('host-list', '{"ansible_host": ["10.0.0.1", "10.0.0.2"]}', None, None, None, True),
    ('host-dict', '{"ansible_host": {"ip": "10.0.0.1"}, "ansible_port": 22}', None, None, 22, True),
    ('host-number', '{"ansible_host": 42, "ansible_port": "2222"}', '42', None, 2222, False),
    ('host-float', 'ansible_host: 1.5', '1.5', None, None, False),
    ('host-bool-yes', 'ansible_host: yes', 'true', None, None, False),
    ('connection-dict', 'ansible_host: h3\nansible_connection: {a: 1}', 'h3', None, None, True),
    ('port-negative', 'ansible_host: h4\nansible_port: -1', 'h4', None, None, True),
    ('port-bool', '{"ansible_host": "h5", "ansible_port": true}', 'h5', None, None, True),
    ('port-text', 'ansible_host: h6\nansible_port: ssh', 'h6', None, None, True),
    ('escaped-control-characters', '{"ansible_host": "a\\u0007b\\u001bc"}', 'a\x07b\x1bc', None, None, False),
    ('raw-control-character-in-yaml', 'ansible_host: a\x07b', None, None, None, True),
    ('escaped-nul', '{"ansible_host": "x\\u0000y"}', 'xy', None, None, False),
    ('escaped-lone-surrogate', '{"ansible_host": "a\\ud800b", "ansible_connection": "\\udfff"}', 'a?b', '?', None,
     False),
    ('bad-escape', '{"ansible_host": "caf\\u00"}', None, None, None, True),
    ('byte-order-mark', '\ufeffansible_host: bom', 'bom', None, None, False),
    ('duplicate-keys', '{"ansible_host": "first", "ansible_host": "second"}', 'second', None, None, False),
    ('impossible-date', 'ansible_host: 2024-02-30', None, None, None, True),
    ('merge-key', '<<: {ansible_host: merged}\nansible_port: 22', 'merged', None, 22, False),
    ('ten-mb-of-other-variables', 'ansible_host: big\nfiller: ' + 'a' * TEN_MB, 'big', None, None, False),
    ('ten-mb-broken', 'ansible_host: [' + 'a, ' * (TEN_MB // 3), None, None, None, True),
    ('not-a-mapping-but-cannot-hold-the-keys', '[1, 2, {broken', None, None, None, False),  # never parsed
]  # fmt: skip

WATERMARK = '2024-02-29T00:00:00+00:00'


@pytest.fixture
def host_one(hostile_db):
    """Sets the variables of host 1 for one case and puts the original back."""
    with hostile_db.connect_owner() as conn:
        original = conn.execute('SELECT variables FROM main_host WHERE id = 1').fetchone()[0]

    def set_variables(text: str) -> None:
        with hostile_db.connect_owner() as conn:
            conn.execute('UPDATE main_host SET variables = %s WHERE id = 1', (text,))

    yield set_variables
    set_variables(original)


@pytest.mark.hostile
@pytest.mark.integration
@pytest.mark.parametrize(
    ('text', 'host', 'connection', 'port', 'unreadable'),
    [c[1:] for c in HOSTILE_VARIABLES],
    ids=[c[0] for c in HOSTILE_VARIABLES],
)
def test_hostile_variables_never_stop_a_collector(
    hostile_db, host_one, gather_window, capsys, text, host, connection, port, unreadable
):
    """Every collector that parses host variables exports all its rows; the host's values are exactly these (NULL when
    unreadable), its rows are counted in data_collection_status.csv and the run summary, and watermarks advance."""
    host_one(text)
    with hostile_db.connect_owner() as conn:
        summaries = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM main_jobhostsummary WHERE modified >= '2024-02-28' AND modified < '2024-02-29'"
            )
        }
        enabled = {r[0] for r in conn.execute('SELECT id FROM main_host WHERE enabled')}
    shipped = gather_window(hostile_db)
    assert shipped.exit_code == 0 and shipped.summary['ok'] is True, shipped.summary

    jhs = shipped.rows('job_host_summary')
    assert sorted(int(r['id']) for r in jhs) == sorted(summaries)
    mine = [r for r in jhs if r['host_remote_id'] == '1']
    assert mine and {(r['ansible_host_variable'], r['ansible_connection_variable']) for r in mine} == {
        (host or '', connection or '')
    }
    metrics = [r for r in shipped.rows('main_hostmetric') if r['host_id'] == '1']
    assert len(metrics) == 1 and (metrics[0]['ansible_host_variable'], metrics[0]['ansible_connection_variable']) == (
        host or '',
        connection or '',
    )
    hosts = shipped.rows('main_host')
    assert sorted(int(r['host_id']) for r in hosts) == sorted(enabled)
    (one,) = [r for r in hosts if r['host_id'] == '1']
    facts = json.loads(one['canonical_facts'])
    assert (one['ansible_host_variable'] or None, facts['ansible_host'], facts['ansible_port']) == (host, host, port)
    assert json.loads(one['facts'])['ansible_connection_variable'] == connection

    counts = {
        'job_host_summary': len(mine) if unreadable else 0,
        'main_hostmetric': int(unreadable),
        'main_host': int(unreadable),
        'main_jobevent': 0,
        'main_jobevent_service': 0,
    }
    assert {key: shipped.unreadable(key) for key in counts} == counts
    assert {key: shipped.summary['collectors'][key]['unreadable'] for key in counts} == counts
    assert shipped.summary['unreadable_rows'] == sum(counts.values())
    warning = (
        'job_host_summary 2024-02-28T00:00:00+00:00..2024-02-29T00:00:00+00:00: '
        f'{len(mine)} row(s) with unreadable documents exported with NULLs'
    )
    assert (warning in capsys.readouterr().err) is unreadable
    assert shipped.watermarks == dict.fromkeys(
        ('job_host_summary', 'main_hostmetric', 'main_jobevent', 'main_jobevent_service'), WATERMARK
    )
