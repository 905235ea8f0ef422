"""Window edges for every windowed collector: a row exactly at `since` is in, a row exactly at `until` is out."""

import pytest

from metrics_utility.library.collectors import controller

from .conftest import EDGE_WINDOW, read_csv

# collector -> (column naming the job, or a function picking the edge rows' identity from a CSV row)
BY_JOB = {
    'job_host_summary': 'job_remote_id',
    'job_host_summary_service': 'job_remote_id',
    'main_jobevent': 'job_remote_id',
    'main_jobevent_service': 'job_id',
    'main_indirectmanagednodeaudit': 'job_remote_id',
    'unified_jobs': 'id',
}


@pytest.mark.parametrize('name', sorted(BY_JOB))
def test_job_edges(name, edges_conn, edges_db, gather):
    at_since, at_until = edges_db.edge_jobs
    rows = read_csv(gather(getattr(controller, name), db=edges_conn, since=EDGE_WINDOW[0], until=EDGE_WINDOW[1]))
    jobs = {int(r[BY_JOB[name]]) for r in rows}
    assert at_since in jobs
    assert at_until not in jobs


def test_host_daily_edges(edges_conn, gather):
    rows = read_csv(gather(controller.main_host_daily, db=edges_conn, since=EDGE_WINDOW[0], until=EDGE_WINDOW[1]))
    assert [r['host_id'] for r in rows] == ['1']  # host 1 created at since; host 2 modified at until


def test_hostmetric_edges(edges_conn, gather):
    rows = read_csv(gather(controller.main_hostmetric, db=edges_conn, since=EDGE_WINDOW[0], until=EDGE_WINDOW[1]))
    names = {r['hostname'] for r in rows}
    assert 'web01.example.com' in names
    assert 'sw01' not in names
