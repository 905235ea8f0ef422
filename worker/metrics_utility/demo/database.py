"""A synthetic controller database: roles, schema and a generated dataset loaded with COPY.

Two roles are created: the owner (as AWX's own user) and a SELECT-only reader, the role our collectors are meant to
run as. The reader may read every table but cannot write, create objects or temporary tables, which proves that
collectors never write to the controller database.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources

import psycopg
from psycopg import sql

from .generator import DatasetSpec, partition_name, plan
from .pgcluster import SUPERUSER, PostgresCluster

OPTIONAL_TABLES = ('main_indirectmanagednodeaudit', 'main_eventquery')
COPY_LANES = {'main_jobevent': 2}


def _sql_file(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding='utf-8')


@dataclass
class LoadStats:
    """What a load did: rows per table, seconds, and COPY bytes sent."""

    rows: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0
    partitions: int = 0


@dataclass
class ControllerDatabase:
    """Connection facts for one synthetic controller database inside a PostgresCluster."""

    cluster: PostgresCluster
    dbname: str = 'awx'
    owner: str = ''  # default: the database name, as AWX's own user
    owner_password: str = field(default_factory=lambda: 'own-' + secrets.token_urlsafe(12))
    reader: str = ''  # default: <dbname>_reader
    reader_password: str = field(default_factory=lambda: 'read-' + secrets.token_urlsafe(12))
    install_uuid: str | None = None
    spec: DatasetSpec | None = None

    def __post_init__(self) -> None:
        self.owner = self.owner or self.dbname
        self.reader = self.reader or f'{self.dbname}_reader'

    def owner_conninfo(self) -> str:
        return self.cluster.conninfo(self.dbname, self.owner, self.owner_password)

    def reader_conninfo(self) -> str:
        return self.cluster.conninfo(self.dbname, self.reader, self.reader_password)

    def connect_owner(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.owner_conninfo(), **kwargs)

    def connect_reader(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.reader_conninfo(), **kwargs)

    def reader_env(self) -> dict[str, str]:
        """The `METRICS_UTILITY_DB_*` variables of the SELECT-only role, for running the worker's commands."""
        return {
            'METRICS_UTILITY_DB_HOST': '127.0.0.1',
            'METRICS_UTILITY_DB_PORT': str(self.cluster.port),
            'METRICS_UTILITY_DB_NAME': self.dbname,
            'METRICS_UTILITY_DB_USER': self.reader,
            'METRICS_UTILITY_DB_PASSWORD': self.reader_password,
            'METRICS_UTILITY_DB_SSLMODE': 'disable',
        }


def create_database(cluster: PostgresCluster, dbname: str = 'awx', **kwargs) -> ControllerDatabase:
    """Create the roles and an empty database holding the controller schema (no data, no keys yet)."""
    db = ControllerDatabase(cluster, dbname, **kwargs)
    with cluster.connect(autocommit=True) as admin:
        for role, password in ((db.owner, db.owner_password), (db.reader, db.reader_password)):
            exists = admin.execute('SELECT 1 FROM pg_roles WHERE rolname = %s', (role,)).fetchone()
            verb = 'ALTER' if exists else 'CREATE'
            admin.execute(
                sql.SQL('{} ROLE {} LOGIN PASSWORD {}').format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
                )
            )
        admin.execute(sql.SQL('CREATE DATABASE {} OWNER {}').format(sql.Identifier(dbname), sql.Identifier(db.owner)))
        # No temporary tables for anyone but the owner: collectors must not need them.
        admin.execute(sql.SQL('REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC').format(sql.Identifier(dbname)))
        admin.execute(
            sql.SQL('GRANT TEMPORARY, CONNECT ON DATABASE {} TO {}').format(
                sql.Identifier(dbname), sql.Identifier(db.owner)
            )
        )
        admin.execute(
            sql.SQL('GRANT CONNECT ON DATABASE {} TO {}').format(sql.Identifier(dbname), sql.Identifier(db.reader))
        )
    with cluster.connect(dbname, SUPERUSER, autocommit=True) as conn:
        # PostgreSQL >= 15 already denies CREATE on schema public to PUBLIC; make it explicit for older servers.
        conn.execute('REVOKE CREATE ON SCHEMA public FROM PUBLIC')
        conn.execute(sql.SQL('GRANT ALL ON SCHEMA public TO {}').format(sql.Identifier(db.owner)))
    with db.connect_owner() as conn:
        conn.execute(_sql_file('schema.sql'))
        conn.execute(sql.SQL('GRANT USAGE ON SCHEMA public TO {}').format(sql.Identifier(db.reader)))
        conn.execute(
            sql.SQL('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {}').format(
                sql.Identifier(db.reader)
            )
        )
        conn.execute(sql.SQL('GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}').format(sql.Identifier(db.reader)))
    return db


def load_dataset(db: ControllerDatabase, spec: DatasetSpec, progress=None) -> LoadStats:
    """Generate `spec` and stream it into `db`, then add keys and indexes and analyze.

    Each table gets its own connection and COPY, so PostgreSQL ingests on one core while Python generates on the
    other. `progress(table, rows)` is called after each chunk when given.
    """
    started = time.monotonic()
    generated = plan(spec)
    stats = LoadStats(partitions=len(generated.hours))
    with db.connect_owner(autocommit=True) as conn:
        for hour in generated.hours:
            until = hour + timedelta(hours=1)
            conn.execute(
                sql.SQL('CREATE TABLE IF NOT EXISTS {} PARTITION OF main_jobevent FOR VALUES FROM ({}) TO ({})').format(
                    sql.Identifier(partition_name(hour)), sql.Literal(hour.isoformat()), sql.Literal(until.isoformat())
                )
            )
    with ExitStack() as stack:
        copies: dict[tuple[str, int], psycopg.Copy] = {}
        chunks: dict[str, int] = {}
        for table, chunk in generated.rows():
            # The event table is the bulk of the data: alternate its chunks over two backends so ingest is not
            # bound to one server process.
            lane = chunks.get(table, 0) % COPY_LANES.get(table, 1)
            chunks[table] = chunks.get(table, 0) + 1
            copy = copies.get((table, lane))
            if copy is None:
                conn = stack.enter_context(db.connect_owner())
                cur = stack.enter_context(conn.cursor())
                copy = copies[table, lane] = stack.enter_context(
                    cur.copy(sql.SQL('COPY {} FROM STDIN').format(sql.Identifier(table)))
                )
            data = chunk.encode('utf-8')
            copy.write(data)
            stats.bytes += len(data)
            n = chunk.count('\n')
            stats.rows[table] = stats.rows.get(table, 0) + n
            if progress:
                progress(table, stats.rows[table])
        # Leaving the stack ends every COPY and commits every connection.
    finalize(db)
    db.install_uuid = generated.install_uuid
    db.spec = spec
    stats.seconds = time.monotonic() - started
    return stats


def finalize(db: ControllerDatabase) -> None:
    """Keys, foreign keys and indexes; identity sequences past the loaded ids; fresh planner statistics.

    The event table's keys and indexes are built on a second connection while the rest are built on the first; the
    event table has no foreign keys, so the two never wait on each other's locks in a cycle.
    """
    statements = [s.strip() for s in _sql_file('constraints.sql').split(';\n') if s.strip()]
    statements = [s for s in statements if not all(line.startswith('--') for line in s.splitlines())]
    events = [s for s in statements if ' ON main_jobevent ' in s or 'TABLE main_jobevent ' in s]
    others = [s for s in statements if s not in events]

    def run(batch: list[str]) -> None:
        with db.connect_owner(autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '256MB'")
            for statement in batch:
                conn.execute(statement)

    # Primary key first (it locks the table exclusively), then the six indexes split over both connections.
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(run, events[:1] + events[1::2])
        second = pool.submit(lambda: (run(others), run(events[2::2])))
        first.result()
        second.result()
    with db.connect_owner(autocommit=True) as conn:
        identity = conn.execute(
            'SELECT table_name, column_name FROM information_schema.columns '
            "WHERE table_schema = 'public' AND is_identity = 'YES'"
        ).fetchall()
        for table, column in identity:
            if table.startswith('main_jobevent_'):
                continue  # partitions share the parent's identity
            conn.execute(
                sql.SQL('SELECT setval(pg_get_serial_sequence({}, {}), GREATEST(1, (SELECT max({}) FROM {})))').format(
                    sql.Literal(table), sql.Literal(column), sql.Identifier(column), sql.Identifier(table)
                )
            )
        conn.execute('ANALYZE')


def drop_optional_tables(db: ControllerDatabase) -> None:
    """Make the database look like an older controller (AAP 2.4) that lacks the indirect-node tables."""
    with db.connect_owner(autocommit=True) as conn:
        for table in OPTIONAL_TABLES:
            conn.execute(sql.SQL('DROP TABLE IF EXISTS {} CASCADE').format(sql.Identifier(table)))


def build(
    cluster: PostgresCluster, spec: DatasetSpec, dbname: str = 'awx', progress=None
) -> tuple[ControllerDatabase, LoadStats]:
    """Create a controller database in `cluster` and load `spec` into it."""
    db = create_database(cluster, dbname)
    return db, load_dataset(db, spec, progress)
