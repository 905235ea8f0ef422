"""main_jobevent: scope = summaries in the window; JSON parsed once per row; only the needed partitions scanned."""

import json

from psycopg import ClientCursor, sql

from metrics_utility.library.collectors.controller import main_jobevent
from metrics_utility.library.collectors.controller.events import RESULT_EVENTS
from metrics_utility.library.collectors.controller.main_jobevent import build_query

from .conftest import EDGE_WINDOW, FULL, LEAP_DAY, header_of, read_csv, ts

COLUMNS = [
    'main_jobhostsummary_id', 'main_jobhostsummary_created', 'id', 'created', 'modified', 'job_created', 'event',
    'task_action', 'resolved_action', 'resolved_role', 'duration', 'failed', 'changed', 'playbook', 'play', 'task',
    'role', 'job_remote_id', 'host_remote_id', 'host_name',
]  # fmt: skip


def expected(conn, since, until) -> dict[int, dict]:
    """Events computed in Python: summaries in the window, then every event of those jobs, parsed with json.loads."""
    scope = {
        (job_id, host): sid
        for sid, job_id, host in conn.execute(
            'SELECT id, job_id, host_name FROM main_jobhostsummary WHERE modified >= %s AND modified < %s',
            (since, until),
        )
    }
    jobs = sorted({job for job, _ in scope})
    out = {}
    for eid, job_id, host, event, data in conn.execute(
        'SELECT id, job_id, host_name, event, event_data FROM main_jobevent WHERE job_id = ANY(%s)', (jobs,)
    ):
        if event in RESULT_EVENTS and (job_id, host) in scope:
            out[eid] = {'summary': scope[job_id, host], 'data': json.loads(data), 'event': event}
    return out


def test_rows_and_values(reader_conn, gather):
    files = gather(main_jobevent, db=reader_conn, since=FULL[0], until=FULL[1])
    assert header_of(files[0]) == COLUMNS
    rows = read_csv(files)
    want = expected(reader_conn, *FULL)
    assert len(rows) == len(want) > 5000
    for row in rows:
        w = want[int(row['id'])]
        assert int(row['main_jobhostsummary_id']) == w['summary'] and row['event'] == w['event']
        for key in ('task_action', 'resolved_action', 'resolved_role'):
            assert row[key] == w['data'].get(key, ''), key
        assert float(row['duration']) == w['data']['duration']


def test_nasty_event_data_is_extracted(reader_conn, gather):
    """Jobs whose event_data holds \\u0000, lone surrogates and non-ASCII text still export every event."""
    nasty = {
        r[0]
        for r in reader_conn.execute(
            "SELECT DISTINCT job_id FROM main_jobevent WHERE event_data LIKE '%\\u0000%' OR event_data LIKE '%\\ud83d%'"
        )
    }
    assert nasty
    rows = read_csv(gather(main_jobevent, db=reader_conn, since=FULL[0], until=FULL[1]))
    nasty_rows = [r for r in rows if int(r['job_remote_id']) in nasty]
    assert nasty_rows and all(r['resolved_action'] for r in nasty_rows)


def test_null_escapes_in_extracted_keys_and_non_json_text(edges_conn, edges_db, gather):
    first, second = edges_db.edge_events
    rows = {
        int(r['id']): r
        for r in read_csv(gather(main_jobevent, db=edges_conn, since=EDGE_WINDOW[0], until=EDGE_WINDOW[1]))
    }
    assert rows[first]['task_action'] == 'nul\\u0000here'  # kept as literal text, not a NUL
    assert rows[first]['resolved_action'] == 'lone \\ud83d surrogate'
    assert rows[first]['duration'] == '1.5'
    assert (rows[second]['task_action'], rows[second]['duration']) == ('', '')  # not JSON: NULLs, no failure


def scanned_partitions(conn, query, params) -> set[str]:
    explained = ClientCursor(conn).execute(sql.SQL('EXPLAIN (FORMAT JSON) {}').format(query), params).fetchone()[0]
    found: set[str] = set()

    def walk(node):
        if node.get('Relation Name', '').startswith('main_jobevent_'):
            found.add(node['Relation Name'])
        for child in node.get('Plans', []):
            walk(child)

    walk(explained[0]['Plan'])
    return found


def test_only_partitions_of_jobs_in_scope_are_scanned(reader_conn):
    since, until = LEAP_DAY
    query, params = build_query(reader_conn, since, until)
    hours = reader_conn.execute(
        """SELECT DISTINCT to_char(u.created AT TIME ZONE 'UTC', '"main_jobevent_"YYYYMMDD_HH24')
           FROM main_jobhostsummary s JOIN main_unifiedjob u ON u.id = s.job_id
           WHERE s.modified >= %s AND s.modified < %s""",
        (since, until),
    ).fetchall()
    every = reader_conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'main_jobevent'::regclass")
    assert scanned_partitions(reader_conn, query, params) == {h[0] for h in hours}
    assert len(hours) < every.fetchone()[0] / 2


def test_events_follow_their_summary_across_midnight(reader_conn, gather):
    """A job created 23:50 on 28 Feb finishes after midnight: its events come with the leap day's summaries."""
    rows = read_csv(gather(main_jobevent, db=reader_conn, since=LEAP_DAY[0], until=LEAP_DAY[1]))
    assert any(ts(r['job_created']) < LEAP_DAY[0] for r in rows)
    assert all(LEAP_DAY[0] <= ts(r['main_jobhostsummary_created']) < LEAP_DAY[1] for r in rows)
