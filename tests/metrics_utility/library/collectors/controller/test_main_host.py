"""main_host / main_host_daily: enabled hosts, identity from real YAML/JSON parsing, facts as JSON."""

import json

from metrics_utility.library.collectors.controller import main_host, main_host_daily

from .conftest import FULL, header_of, read_csv, ts

COLUMNS = [
    'host_name', 'host_id', 'inventory_remote_id', 'inventory_name', 'organization_remote_id', 'organization_name',
    'last_automation', 'first_automation', 'ansible_host_variable', 'canonical_facts', 'facts',
]  # fmt: skip


def test_snapshot_rows_and_identity(reader_conn, gather, truth_hosts):
    files = gather(main_host, db=reader_conn)
    assert header_of(files[0]) == COLUMNS
    rows = read_csv(files)
    enabled = dict(reader_conn.execute('SELECT id, name FROM main_host WHERE enabled').fetchall())
    assert [int(r['host_id']) for r in rows] == sorted(enabled)
    last = dict(
        reader_conn.execute(
            """SELECT DISTINCT ON (s.host_id) s.host_id, u.created FROM main_jobhostsummary s
               JOIN main_unifiedjob u ON u.id = s.job_id WHERE s.host_id IS NOT NULL ORDER BY s.host_id, s.id DESC"""
        ).fetchall()
    )
    for row in rows:
        host = truth_hosts[int(row['host_id'])]
        assert row['host_name'] == host.name and row['inventory_name'] == host.inventory.name
        assert row['organization_name'] == host.inventory.org.name
        assert row['ansible_host_variable'] == (host.ansible_host or '')
        canonical, facts = json.loads(row['canonical_facts']), json.loads(row['facts'])
        assert canonical['ansible_host'] == host.ansible_host and canonical['host_name'] == host.name
        assert canonical['ansible_product_serial'] == host.facts.get('ansible_product_serial')
        assert facts['ansible_system_vendor'] == host.facts.get('ansible_system_vendor')
        assert ts(row['last_automation']) == last.get(host.id)
    by_name = {(r['inventory_name'], r['host_name']): r for r in rows}
    assert 'disabled01.example.com' not in {r['host_name'] for r in rows}
    db01 = json.loads(by_name['Production', 'db01.example.com']['canonical_facts'])
    assert db01['ansible_port'] == 5432  # an integer
    web02 = json.loads(by_name['Production', 'web02.example.com']['canonical_facts'])
    assert web02['ansible_port'] is None  # 'ssh' is not a port
    assert json.loads(by_name['Production', 'db02.example.com']['facts'])['ansible_connection_variable'] == 'local'
    assert by_name['Production', 'web01.example.com']['first_automation']


def test_daily_has_nothing_when_no_host_changed(reader_conn, gather):
    assert gather(main_host_daily, db=reader_conn, since=FULL[0], until=FULL[1]) == []
