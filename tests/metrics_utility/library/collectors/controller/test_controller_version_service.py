"""`controller_version_service` on real PostgreSQL: upstream columns, SQL truth, the SELECT-only role, hostile rows."""

from __future__ import annotations

import re

import pytest

from metrics_utility.library.collectors.controller import controller_version_service

from .conftest import header_of, read_csv

# metrics-utility 0.8: metrics_utility/library/collectors/controller/controller_version_service.py (SELECT list).
UPSTREAM_COLUMNS = ['controller_version']


def test_versions_of_enabled_instances_as_the_reader(reader_conn, gather):
    files = gather(controller_version_service, db=reader_conn)
    assert len(files) == 1 and re.fullmatch(r'controller_version_service\.[0-9a-f]{12}\.csv', files[0].name)
    assert header_of(files[0]) == UPSTREAM_COLUMNS
    truth = [
        r[0]
        for r in reader_conn.execute(
            'SELECT version FROM main_instance WHERE enabled GROUP BY version ORDER BY version'
        ).fetchall()
    ]
    assert [r['controller_version'] for r in read_csv(files)] == truth == ['4.6.8']  # 4.5.12 is on a disabled node


def _instance(conn, hostname: str, version: str, enabled: bool = True) -> None:
    conn.execute(
        'INSERT INTO main_instance (uuid, hostname, created, modified, capacity, version, capacity_adjustment, cpu, '
        'memory, cpu_capacity, mem_capacity, enabled, managed_by_policy, ip_address, node_type, errors, node_state, '
        "managed) VALUES (gen_random_uuid()::text, %s, now(), now(), 0, %s, 1, 1, 1, 1, 1, %s, true, '', 'hybrid', "
        "'', 'ready', false)",
        (hostname, version, enabled),
    )


HOSTILE = [
    # (id, versions of the instances that replace the dataset's: (version, enabled)), exact CSV body after the header
    ('only-empty-versions', [('', True), ('', True)], None),
    ('only-disabled-nodes', [('4.7.0', False)], None),
    ('duplicates-collapse', [('4.7.0', True), ('4.7.0', True), ('4.6.1', True)], b'4.6.1\n4.7.0\n'),
    ('quote-comma-newline', [('4.7 "rc",\nbuild', True)], b'"4.7 ""rc"",\nbuild"\n'),
    ('control-chars', [('4.7\x01\x1b[31m\t', True)], b'4.7\x01\x1b[31m\t\n'),
    ('longest-version', [('9' * 120, True)], b'9' * 120 + b'\n'),
    ('whitespace-only-is-kept', [(' ', True)], b' \n'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('versions', 'body'), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_instances(scratch_db, gather, versions, body):
    with scratch_db.connect_owner() as conn:
        conn.execute('DELETE FROM main_instance')
        for n, (version, enabled) in enumerate(versions):
            _instance(conn, f'node-{n}', version, enabled)
    with scratch_db.connect_reader() as conn:
        files = gather(controller_version_service, db=conn)
    if body is None:
        assert files == []
    else:
        assert files[0].read_bytes() == b'controller_version\n' + body
