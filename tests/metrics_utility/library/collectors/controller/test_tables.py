"""`tables.TABLES_READ` against the collectors: every table named is in the collector's SQL, every table its SQL
reads is named, and each collector runs as a role granted SELECT on its declared tables alone (so `metrics-utility
check` verifies exactly what a gather needs)."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from metrics_utility import contract
from metrics_utility.library.collectors import controller
from metrics_utility.library.collectors.controller.tables import OPTIONAL_TABLES, TABLES_READ, tables_read

_READ = re.compile(r'\b(?:FROM|JOIN)\s+((?:main|conf|django)_[a-z_]+)\b', re.IGNORECASE)
_LOCAL_IMPORT = re.compile(r'^from \.([a-z_]+) import', re.MULTILINE)
SQL_COLLECTORS = sorted(key for key in TABLES_READ if key != contract.VCPU_COLLECTOR)


def sql_tables(key: str) -> set[str]:
    """Tables in FROM/JOIN clauses of the collector's module and the local helper modules it imports."""
    seen, todo, found = set(), [key], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = inspect.getsource(importlib.import_module(f'metrics_utility.library.collectors.controller.{name}'))
        found |= set(_READ.findall(source))
        todo += _LOCAL_IMPORT.findall(source)
    return found


def test_every_collector_is_declared():
    assert set(TABLES_READ) == {*contract.COLLECTOR_KEYS, 'config'}
    assert set(controller.__all__) <= set(TABLES_READ)


@pytest.mark.parametrize('key', SQL_COLLECTORS)
def test_declared_tables_are_the_tables_in_the_sql(key):
    assert set(TABLES_READ[key]) == sql_tables(key)


def test_tables_read_adds_config_and_sorts():
    assert tables_read(['execution_environments']) == ('conf_setting', 'main_executionenvironment', 'main_instance')
    assert tables_read([contract.VCPU_COLLECTOR]) == ('conf_setting', 'main_instance')


@pytest.fixture
def narrow_role(scratch_db) -> Iterator[tuple[object, str, str]]:
    role, password = f'{scratch_db.dbname}_narrow', 'narrow-password-0013'
    with scratch_db.cluster.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    with scratch_db.cluster.connect(scratch_db.dbname, autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA public TO {role}')
    yield scratch_db, role, password
    with scratch_db.cluster.connect(scratch_db.dbname, autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY {role}')
        conn.execute(f'DROP ROLE {role}')


def test_each_collector_runs_with_select_on_its_declared_tables_only(narrow_role, tmp_path):
    db, role, password = narrow_role
    window = {'since': datetime(2024, 2, 28, tzinfo=UTC), 'until': datetime(2024, 3, 1, tzinfo=UTC)}
    ran = {}
    for key in SQL_COLLECTORS:
        with db.cluster.connect(db.dbname, autocommit=True) as owner:
            owner.execute(f'REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM {role}')
            for table in TABLES_READ[key]:
                if table in OPTIONAL_TABLES and not owner.execute('SELECT to_regclass(%s)', (table,)).fetchone()[0]:
                    continue
                owner.execute(f'GRANT SELECT ON {table} TO {role}')
        factory = getattr(controller, key)
        windowed = 'since' in inspect.signature(factory.__wrapped__).parameters
        with psycopg.connect(db.cluster.conninfo(db.dbname, role, password)) as conn:
            params = {'db': conn, **(window if windowed else {})}
            if key != 'config':
                params['output_dir'] = tmp_path / key
            ran[key] = factory(**params).gather() is not None
    assert ran == dict.fromkeys(SQL_COLLECTORS, True)


def test_a_missing_grant_makes_a_collector_fail(narrow_role):
    """The check above can fail: without main_host, job_host_summary is refused."""
    db, role, password = narrow_role
    with db.cluster.connect(db.dbname, autocommit=True) as owner:
        for table in TABLES_READ['job_host_summary']:
            if table != 'main_host':
                owner.execute(f'GRANT SELECT ON {table} TO {role}')
    window = {'since': datetime(2024, 2, 28, tzinfo=UTC), 'until': datetime(2024, 3, 1, tzinfo=UTC)}
    with (
        psycopg.connect(db.cluster.conninfo(db.dbname, role, password)) as conn,
        pytest.raises(Exception, match='permission denied for table main_host'),
    ):
        controller.job_host_summary(db=conn, **window).gather()
