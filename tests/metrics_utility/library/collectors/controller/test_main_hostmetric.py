"""main_hostmetric: metrics automated or deleted in the window, one row per matching host."""

from metrics_utility.library.collectors.controller import main_hostmetric

from .conftest import FULL, LEAP_DAY, header_of, read_csv


def test_rows_and_values(reader_conn, gather, truth_hosts):
    files = gather(main_hostmetric, db=reader_conn, since=LEAP_DAY[0], until=LEAP_DAY[1])
    assert header_of(files[0])[:4] == ['hostname', 'host_id', 'first_automation', 'last_automation']
    rows = read_csv(files)
    want = reader_conn.execute(
        """SELECT m.hostname, h.id FROM main_hostmetric m LEFT JOIN main_host h ON h.name = m.hostname
           WHERE m.last_automation >= %(s)s AND m.last_automation < %(u)s
              OR m.last_deleted >= %(s)s AND m.last_deleted < %(u)s""",
        {'s': LEAP_DAY[0], 'u': LEAP_DAY[1]},
    ).fetchall()
    assert sorted((r['hostname'], int(r['host_id'])) for r in rows) == sorted((n, i or 0) for n, i in want)
    for row in rows:
        host = truth_hosts.get(int(row['host_id']))
        assert row['ansible_host_variable'] == ((host.ansible_host if host else None) or '')
    assert [(r['hostname'], int(r['host_id'])) for r in rows] == sorted(
        (r['hostname'], int(r['host_id'])) for r in rows
    )
    assert len(read_csv(gather(main_hostmetric, db=reader_conn, since=FULL[0], until=FULL[1]))) >= len(rows)
