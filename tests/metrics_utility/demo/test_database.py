"""The synthetic controller database's roles: the SELECT-only role reads everything and can write nothing."""

import psycopg
import pytest

pytestmark = pytest.mark.integration

WRITES = [
    'INSERT INTO main_organization (created, modified, description, name, max_hosts) '
    "VALUES (now(), now(), '', 'intruder', 0)",
    'UPDATE main_host SET enabled = false',
    'DELETE FROM main_jobhostsummary',
    'TRUNCATE main_jobevent',
    'CREATE TABLE scratch (id int)',
    'CREATE TEMPORARY TABLE scratch (id int)',
    "CREATE FUNCTION metrics_utility_is_valid_json(text) RETURNS boolean LANGUAGE sql AS 'SELECT true'",
    'CREATE INDEX ON main_jobhostsummary (modified)',
    'ALTER TABLE main_host ADD COLUMN x int',
    "UPDATE main_jobevent_20240228_09 SET stdout = ''",
]


@pytest.mark.parametrize('statement', WRITES)
def test_reader_cannot_write(controller_db, statement):
    with controller_db.connect_reader() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_reader_can_read_every_table_and_partition(controller_db):
    with controller_db.connect_reader() as conn:
        tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        assert 'main_jobevent_20240228_09' in tables
        for table in tables:
            conn.execute(f'SELECT * FROM "{table}" LIMIT 1')
        assert conn.execute('SELECT count(*) FROM main_jobhostsummary').fetchone()[0] > 0


def test_roles_connect_with_passwords_over_tcp(controller_db):
    assert 'host=127.0.0.1' in controller_db.reader_conninfo()
    bad = controller_db.reader_conninfo().replace(controller_db.reader_password, 'wrong')
    with pytest.raises(psycopg.OperationalError, match='password authentication failed'):
        psycopg.connect(bad)


def test_a_second_database_in_the_same_cluster_keeps_its_own_roles(controller_db, tiny_db):
    assert controller_db.reader != tiny_db.reader
    with controller_db.connect_reader() as a, tiny_db.connect_reader() as b:
        assert a.execute('SELECT current_database()').fetchone()[0] == 'awx'
        assert b.execute('SELECT current_database()').fetchone()[0] == 'awx_tiny'
