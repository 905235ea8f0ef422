"""job_host_summary against an independent query (plain joins) and the generator's own answer for ansible_host."""

from datetime import datetime

from metrics_utility.library.collectors.controller import job_host_summary

from .conftest import FULL, LEAP_DAY, header_of, read_csv, ts

COLUMNS = [
    'id', 'created', 'modified', 'host_name', 'host_remote_id', 'ansible_host_variable', 'ansible_connection_variable',
    'changed', 'dark', 'failures', 'ok', 'processed', 'skipped', 'failed', 'ignored', 'rescued', 'job_created',
    'job_remote_id', 'job_template_remote_id', 'job_template_name', 'inventory_remote_id', 'inventory_name',
    'organization_remote_id', 'organization_name', 'project_remote_id', 'project_name',
]  # fmt: skip


def expected(conn, since: datetime, until: datetime) -> dict[int, dict]:
    rows = conn.execute(
        """
        SELECT s.id, s.modified, s.host_name, s.host_id, s.ok, s.dark, s.failed, u.created, s.job_id,
               u.unified_job_template_id, u.name, i.name, o.name,
               (SELECT p.name FROM main_unifiedjobtemplate p WHERE p.id = j.project_id)
        FROM main_jobhostsummary s, main_job j, main_unifiedjob u, main_inventory i, main_organization o
        WHERE j.unifiedjob_ptr_id = s.job_id AND u.id = s.job_id AND i.id = j.inventory_id
          AND o.id = u.organization_id
          AND s.modified BETWEEN %s AND %s AND s.modified <> %s
        """,
        (since, until, until),
    ).fetchall()
    keys = (
        'modified',
        'host_name',
        'host_id',
        'ok',
        'dark',
        'failed',
        'job_created',
        'job_id',
        'template_id',
        'job_name',
        'inventory',
        'organization',
        'project',
    )
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def test_rows_and_values(reader_conn, gather, truth_hosts):
    files = gather(job_host_summary, db=reader_conn, since=FULL[0], until=FULL[1])
    assert header_of(files[0]) == COLUMNS
    rows = read_csv(files)
    want = expected(reader_conn, *FULL)
    assert len(rows) == len(want) > 1000
    assert sorted(int(r['id']) for r in rows) == sorted(want)
    for row in rows:
        w = want[int(row['id'])]
        assert ts(row['modified']) == w['modified']
        assert row['host_name'] == w['host_name']
        assert row['host_remote_id'] == ('' if w['host_id'] is None else str(w['host_id']))
        assert (int(row['ok']), int(row['dark']), row['failed']) == (w['ok'], w['dark'], 't' if w['failed'] else 'f')
        assert ts(row['job_created']) == w['job_created'] and int(row['job_remote_id']) == w['job_id']
        assert row['job_template_remote_id'] == ('' if w['template_id'] is None else str(w['template_id']))
        assert (row['job_template_name'], row['inventory_name'], row['organization_name'], row['project_name']) == (
            w['job_name'],
            w['inventory'],
            w['organization'],
            w['project'] or '',
        )
        truth = truth_hosts[w['host_id']].ansible_host if w['host_id'] else None
        assert row['ansible_host_variable'] == (truth or ''), row
    assert [ts(r['modified']) for r in rows] == sorted(ts(r['modified']) for r in rows)


def test_scenario_hosts_identity(reader_conn, gather):
    rows = read_csv(gather(job_host_summary, db=reader_conn, since=LEAP_DAY[0], until=LEAP_DAY[1]))
    by_name = {}
    for r in rows:
        if r['inventory_name'] in ('Production', 'Lab'):
            by_name.setdefault((r['inventory_name'], r['host_name']), set()).add(
                (r['ansible_host_variable'], r['ansible_connection_variable'])
            )
    assert by_name[('Production', 'web01.example.com')] == {('10.0.0.11', 'ssh')}
    assert by_name[('Production', 'web02.example.com')] == {('10.0.0.12', '')}  # quoted, trailing comment, ---
    assert by_name[('Production', 'db01.example.com')] == {('10.0.0.21', '')}  # JSON
    assert by_name[('Production', 'db02.example.com')] == {('', 'local')}  # nested ansible_host does not count
    for name in ('app01', 'app02', 'app03'):  # empty, malformed JSON, malformed YAML: no value, no failure
        assert by_name[('Production', f'{name}.example.com')] == {('', '')}
    assert by_name[('Production', 'old01.example.com')] == {('', '')}  # deleted: NULL host_id, no host row left
    assert by_name[('Production', 'localhost')] == {('', '')}  # not in the inventory
    assert by_name[('Lab', 'WEB02.example.com')] == {('10.0.0.12', '')}


def test_every_summary_appears_once_per_day_slice(reader_conn, gather):
    """Daily slices at UTC midnight partition the rows of the whole window exactly."""
    from metrics_utility.library.slicing import daily_slices

    whole = [r['id'] for r in read_csv(gather(job_host_summary, db=reader_conn, since=FULL[0], until=FULL[1]))]
    sliced = []
    for since, until in daily_slices(FULL[0], FULL[1]):
        rows = read_csv(gather(job_host_summary, db=reader_conn, since=since, until=until))
        assert all(since <= ts(r['modified']) < until for r in rows)
        sliced.extend(r['id'] for r in rows)
    assert len(daily_slices(*FULL)) == 4
    assert sorted(sliced) == sorted(whole)
