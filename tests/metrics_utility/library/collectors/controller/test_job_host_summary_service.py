"""job_host_summary_service: summaries of jobs that finished in the window."""

from metrics_utility.library.collectors.controller import job_host_summary_service

from .conftest import LEAP_DAY, header_of, read_csv, ts


def test_rows_and_values(reader_conn, gather):
    files = gather(job_host_summary_service, db=reader_conn, since=LEAP_DAY[0], until=LEAP_DAY[1])
    assert header_of(files[0])[-3:] == ['project_remote_id', 'project_name', 'model']
    rows = read_csv(files)
    want = dict(
        reader_conn.execute(
            """SELECT s.id, u.finished FROM main_jobhostsummary s, main_unifiedjob u
               WHERE u.id = s.job_id AND u.finished >= %s AND u.finished < %s""",
            LEAP_DAY,
        ).fetchall()
    )
    assert sorted(int(r['id']) for r in rows) == sorted(want)
    finished = [want[int(r['id'])] for r in rows]
    assert finished == sorted(finished)
    assert {r['model'] for r in rows} == {'job'}
    assert all(ts(r['job_created']) <= want[int(r['id'])] for r in rows)
