"""main_indirectmanagednodeaudit: rows by job end; an older controller without the table gives a warning and []."""

import json
import logging

from metrics_utility.demo.database import drop_optional_tables
from metrics_utility.library.collectors.controller import main_indirectmanagednodeaudit

from .conftest import FULL, read_csv, ts


def test_rows_and_values(reader_conn, gather):
    rows = read_csv(gather(main_indirectmanagednodeaudit, db=reader_conn, since=FULL[0], until=FULL[1]))
    want = {
        r[0]: r[1:]
        for r in reader_conn.execute(
            """SELECT a.id, a.name, a.count, a.events, u.created FROM main_indirectmanagednodeaudit a, main_unifiedjob u
               WHERE u.id = a.job_id AND u.finished >= %s AND u.finished < %s""",
            FULL,
        )
    }
    assert sorted(int(r['id']) for r in rows) == sorted(want) and rows
    for row in rows:
        name, count, events, job_created = want[int(row['id'])]
        assert (row['host_name'], int(row['task_runs']), json.loads(row['events'])) == (name, count, events)
        assert ts(row['job_created']) == job_created


def test_missing_table_warns_and_returns_nothing(scratch_db, gather, caplog):
    drop_optional_tables(scratch_db)
    with scratch_db.connect_reader() as conn, caplog.at_level(logging.WARNING):
        assert gather(main_indirectmanagednodeaudit, db=conn, since=FULL[0], until=FULL[1]) == []
        assert conn.execute('SELECT 1').fetchone() == (1,)  # the transaction was not aborted
    assert 'does not exist' in caplog.text
