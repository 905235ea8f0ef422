"""Host variables spliced into COPY rows: byte-identical to the server joining the parsed values itself."""

from __future__ import annotations

import importlib
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
        b'', b'""', b'a', b'a b', b'22', b'"a,b"', b'"a""b"', b'"a\rb"', 'café'.encode(),
    ]  # fmt: skip


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
@pytest.mark.parametrize(('rows', 'every_host'), [(0, True), (11_373, True), (99_999, True), (100_000, False),
                                                  (2e6, False), (-1, False), (None, False)])  # fmt: skip
def test_small_main_host_is_read_whole(rows, every_host):
    scoped = sql.SQL('SELECT id, variables FROM main_host WHERE id < 10')
    chosen = hosts_in_scope(Estimate(rows), scoped)  # type: ignore[arg-type]
    assert chosen == (sql.SQL(ALL_HOSTS) if every_host else scoped)


# -- against the database: the spliced export equals the server joining the parsed values ---------------------------

NASTY_NAMES = ['rs\x1ename', 'comma,name', 'quote"name', 'line\nbreak', '\x1e', '']
NASTY_VARIABLES = ['ansible_host: "a,b"\nansible_connection: \'say "hi"\'', '{"ansible_host": "x\\u001ey"}',
                   'ansible_host: |\n  two\n  lines\n', '{"ansible_host": ""}', 'ansible_host: \x1e']  # fmt: skip


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
            conn.execute('UPDATE main_hostmetric SET hostname = %s WHERE hostname = (SELECT name FROM main_host '
                         'WHERE id = %s)', (name + '-metric', host_id))  # fmt: skip
            conn.execute('UPDATE main_host SET name = %s, variables = %s WHERE id = %s',
                         (name + '-metric', variables, host_id))  # fmt: skip
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
