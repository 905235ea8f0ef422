"""`table_metadata` on real PostgreSQL: upstream's columns, catalog truth, the SELECT-only role, hostile catalogs."""

from __future__ import annotations

import pytest

from metrics_utility.library.collectors.controller import table_metadata

from .conftest import header_of, read_csv, ts

# metrics-utility 0.8: metrics_utility/library/collectors/controller/table_metadata.py (SELECT list).
UPSTREAM_COLUMNS = [
    'schemaname',
    'tablename',
    'total_size_bytes',
    'table_size_bytes',
    'indexes_size_bytes',
    'estimated_row_count',
    'last_analyze',
    'last_vacuum',
]
TABLES = ['main_jobevent', 'main_jobhostsummary', 'main_unifiedjob']


def truth(conn, table: str) -> dict:
    """One table's figures by another route than the collector's: the leaves of `pg_partition_tree` for the
    partitioned event table, the table itself otherwise."""
    partitioned = conn.execute(
        'SELECT relkind = %s FROM pg_class WHERE oid = %s::regclass', ('p', f'public.{table}')
    ).fetchone()[0]
    leaves = (
        'SELECT relid FROM pg_partition_tree(%s::regclass) WHERE isleaf'
        if partitioned
        else 'SELECT %s::regclass AS relid'
    )
    total, size, indexes, rows = conn.execute(
        'SELECT sum(pg_total_relation_size(relid)), sum(pg_relation_size(relid)), sum(pg_indexes_size(relid)), '
        f'sum(greatest(c.reltuples, 0)) FROM ({leaves}) t JOIN pg_class c ON c.oid = t.relid',
        (f'public.{table}',),
    ).fetchone()
    stats = conn.execute(
        "SELECT last_analyze, last_vacuum FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = %s",
        (table,),
    ).fetchone()
    return {
        'schemaname': 'public',
        'tablename': table,
        'total_size_bytes': int(total or 0),
        'table_size_bytes': int(size or 0),
        'indexes_size_bytes': int(indexes or 0),
        'estimated_row_count': int(rows or 0),
        'last_analyze': stats[0],
        'last_vacuum': stats[1],
    }


def parsed(rows: list[dict[str, str]]) -> list[dict]:
    ints = ('total_size_bytes', 'table_size_bytes', 'indexes_size_bytes', 'estimated_row_count')
    return [
        {
            **r,
            **{k: int(r[k]) for k in ints},
            'last_analyze': ts(r['last_analyze']),
            'last_vacuum': ts(r['last_vacuum']),
        }
        for r in rows
    ]


def test_sizes_and_estimates_as_the_reader(reader_conn, gather):
    files = gather(table_metadata, db=reader_conn)
    assert header_of(files[0]) == UPSTREAM_COLUMNS
    got = parsed(read_csv(files))
    assert got == [truth(reader_conn, t) for t in TABLES]
    events = got[0]
    assert events['estimated_row_count'] > 0 and events['total_size_bytes'] > events['table_size_bytes'] > 0
    exact = reader_conn.execute('SELECT count(*) FROM main_unifiedjob').fetchone()[0]
    assert got[2]['estimated_row_count'] == exact  # analyzed after the load: the estimate is exact here


def decoy_schema(conn, db) -> None:
    conn.execute('CREATE SCHEMA decoy')
    conn.execute('CREATE TABLE decoy.main_jobevent (id int)')
    conn.execute('CREATE TABLE decoy.main_unifiedjob (id int)')
    conn.execute(f'GRANT USAGE ON SCHEMA decoy TO {db.reader}')
    conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA decoy TO {db.reader}')


def never_analyzed(conn, db) -> None:
    """An empty table PostgreSQL never analyzed: `reltuples` is -1 there."""
    conn.execute('DROP TABLE main_jobhostsummary CASCADE')
    conn.execute('CREATE TABLE main_jobhostsummary (id integer)')


def missing(conn, db) -> None:
    conn.execute('DROP TABLE main_jobhostsummary CASCADE')


def view_in_place(conn, db) -> None:
    conn.execute('ALTER TABLE main_unifiedjob RENAME TO main_unifiedjob_real')
    conn.execute('CREATE VIEW main_unifiedjob AS SELECT * FROM main_unifiedjob_real')


def no_partitions(conn, db) -> None:
    partitions = conn.execute(
        "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'main_jobevent'::regclass"
    ).fetchall()
    for (name,) in partitions:
        conn.execute(f'DROP TABLE {name}')


def no_grant(conn, db) -> None:
    """The reader may not read the tables themselves: the catalog and the size functions need no grant."""
    for table in TABLES:
        conn.execute(f'REVOKE SELECT ON {table} FROM {db.reader}')


HOSTILE = [
    # (id, change made as the owner, {table: (total_size_bytes, estimated_row_count, last_analyze) or None for no
    # row}; tables not named keep their catalog truth)
    ('decoy-schema-tables-ignored', decoy_schema, {}),
    ('never-analyzed-table-counts-zero', never_analyzed, {'main_jobhostsummary': ('0', '0', '')}),
    ('missing-table-has-no-row', missing, {'main_jobhostsummary': None}),
    ('view-of-the-same-name-is-not-a-table', view_in_place, {'main_unifiedjob': None}),
    ('event-table-without-partitions', no_partitions, {'main_jobevent': ('0', '0', None)}),
    ('reader-without-select-on-the-tables', no_grant, {}),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('change', 'changed'), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_catalogs(scratch_db, gather, change, changed):
    with scratch_db.connect_owner(autocommit=True) as conn:
        change(conn, scratch_db)
    with scratch_db.connect_reader() as conn:
        rows = read_csv(gather(table_metadata, db=conn))
    expected = [t for t in TABLES if changed.get(t, ()) is not None]
    assert [(r['schemaname'], r['tablename']) for r in rows] == [('public', t) for t in expected]
    with scratch_db.connect_owner() as owner:  # the truth as the owner: the reader may lack grants
        for row in rows:
            want = changed.get(row['tablename'])
            if want is None:
                assert parsed([row])[0] == truth(owner, row['tablename'])
                continue
            size, count, analyzed = want
            assert (row['total_size_bytes'], row['estimated_row_count']) == (size, count)
            if analyzed is not None:
                assert row['last_analyze'] == analyzed
