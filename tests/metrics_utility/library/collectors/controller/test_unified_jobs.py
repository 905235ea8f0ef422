"""unified_jobs: every job type finished in the window, with names from the joined tables."""

from metrics_utility.library.collectors.controller import unified_jobs

from .conftest import LEAP_DAY, header_of, read_csv, ts


def test_rows_and_values(reader_conn, gather):
    files = gather(unified_jobs, db=reader_conn, since=LEAP_DAY[0], until=LEAP_DAY[1])
    header = header_of(files[0])
    assert header[:3] == ['id', 'polymorphic_ctype_id', 'model'] and header[-2:] == ['job_template_name', 'scm_type']
    assert len(header) == 29
    rows = read_csv(files)
    want = {
        r[0]: r[1:]
        for r in reader_conn.execute(
            """SELECT u.id, ct.model, u.finished, u.launch_type,
                      (SELECT t.name FROM main_unifiedjobtemplate t WHERE t.id = u.unified_job_template_id)
               FROM main_unifiedjob u JOIN django_content_type ct ON ct.id = u.polymorphic_ctype_id
               WHERE u.finished >= %s AND u.finished < %s""",
            LEAP_DAY,
        )
    }
    assert [int(r['id']) for r in rows] == sorted(want)
    for row in rows:
        model, finished, launch_type, template = want[int(row['id'])]
        assert (row['model'], ts(row['finished']), row['launch_type']) == (model, finished, launch_type)
        assert row['job_template_name'] == (template or '')
    assert {'job', 'projectupdate'} <= {r['model'] for r in rows}
