"""main_jobevent_service: events of jobs finished in the window, pruned by partition."""

import json

from metrics_utility.library.collectors.controller import main_jobevent_service
from metrics_utility.library.collectors.controller.main_jobevent_service import SERVICE_EVENTS, build_query

from .conftest import FULL, LEAP_DAY, read_csv
from .test_main_jobevent import scanned_partitions


def test_rows_and_values(reader_conn, gather):
    rows = read_csv(gather(main_jobevent_service, db=reader_conn, since=FULL[0], until=FULL[1]))
    want = {}
    for eid, event, data in reader_conn.execute(
        """SELECT e.id, e.event, e.event_data FROM main_jobevent e, main_unifiedjob u
           WHERE u.id = e.job_id AND u.finished >= %s AND u.finished < %s""",
        FULL,
    ):
        if event in SERVICE_EVENTS:
            want[eid] = json.loads(data)
    assert len(rows) == len(want) > 5000
    for row in rows:
        data = want[int(row['id'])]
        assert (row['task_action'], row['resolved_action']) == (
            data.get('task_action', ''),
            data.get('resolved_action', ''),
        )
        assert (row['start'], row['end'], row['task_uuid']) == (data['start'], data['end'], data['task_uuid'])
        assert row['ignore_errors'] == 'f'
        assert int(row['event_data_length']) > 0
    assert {'warnings', 'deprecations', 'ansible_version', 'job_failed', 'job_started'} <= set(rows[0])


def test_only_partitions_of_finished_jobs_are_scanned(reader_conn):
    query, params = build_query(reader_conn, *LEAP_DAY)
    hours = reader_conn.execute(
        """SELECT DISTINCT to_char(created AT TIME ZONE 'UTC', '"main_jobevent_"YYYYMMDD_HH24') FROM main_unifiedjob
           WHERE finished >= %s AND finished < %s""",
        LEAP_DAY,
    ).fetchall()
    existing = {
        r[0] for r in reader_conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'main_jobevent_%'")
    }
    assert scanned_partitions(reader_conn, query, params) == {h[0] for h in hours} & existing
