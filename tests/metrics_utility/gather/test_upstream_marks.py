"""Continue where metrics-utility stopped: its watermarks in the controller database and its packages in the target
decide where the first gather starts; every hostile value of the watermark row is ignored with a warning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from metrics_utility.demo.database import build
from metrics_utility.demo.generator import DatasetSpec
from metrics_utility.gather.upstream_marks import (
    SETTING,
    Coverage,
    Start,
    coverage,
    decide,
    package_windows,
    parse_last_entries,
    read_setting,
)
from testsupport import upstream_packages as up

from ..commands.conftest import s3_env, shipped_ids
from ..commands.test_gather import gather as _gather
from ..commands.test_gather_console import console, console_env, uploaded_ids  # noqa: F401 (console: fixture)

NOW = datetime(2024, 3, 1, 6, tzinfo=UTC)
HORIZON = NOW - timedelta(days=28)
UUID = '5f0b2a4c-9d1e-4c7b-8a6f-3e2d1c0b9a87'
WHERE = f'conf_setting {SETTING}'


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 2, day, hour, minute, second, tzinfo=UTC)


# -- pure: where each collector starts ---------------------------------------------------------------------------------

CTRL, PKGS = 'controller-watermark', 'target-packages'
DECISIONS = [
    (
        'state-decides',
        {'job_host_summary': at(20)},
        {'job_host_summary': at(25)},
        {'job_host_summary': at(27)},
        {'job_host_summary': Start('state', at(20)), 'main_jobevent': Start('default')},
        [],
    ),
    (
        'controller-only',
        {},
        {'job_host_summary': at(25)},
        {},
        {'job_host_summary': Start(CTRL, at(25)), 'main_jobevent': Start('default')},
        [],
    ),
    (
        'packages-only',
        {},
        {},
        {'main_jobevent': at(26)},
        {'job_host_summary': Start('default'), 'main_jobevent': Start(PKGS, at(26))},
        [],
    ),
    (
        'packages-later',
        {},
        {'job_host_summary': at(25)},
        {'job_host_summary': at(26, 18)},
        {'job_host_summary': Start(PKGS, at(26, 18)), 'main_jobevent': Start('default')},
        [
            'job_host_summary: the target holds packages up to 2024-02-26T18:00:00+00:00, later than the controller '
            'watermark 2024-02-25T00:00:00+00:00; continuing after them'
        ],
    ),
    (
        'controller-later',
        {},
        {'job_host_summary': at(27)},
        {'job_host_summary': at(26)},
        {'job_host_summary': Start(CTRL, at(27)), 'main_jobevent': Start('default')},
        [
            'job_host_summary: the target holds packages only up to 2024-02-26T00:00:00+00:00; metrics-utility sent '
            'data up to 2024-02-27T00:00:00+00:00 elsewhere; it is not gathered again'
        ],
    ),
    (
        'tie',
        {},
        {'job_host_summary': at(26)},
        {'job_host_summary': at(26)},
        {'job_host_summary': Start(CTRL, at(26)), 'main_jobevent': Start('default')},
        [],
    ),
    (
        'controller-before-horizon',
        {},
        {'job_host_summary': HORIZON - timedelta(seconds=1)},
        {},
        {'job_host_summary': Start('default'), 'main_jobevent': Start('default')},
        [
            'job_host_summary: the controller watermark 2024-02-02T05:59:59+00:00 is older than the look-back horizon '
            '2024-02-02T06:00:00+00:00; starting at the horizon'
        ],
    ),
    (
        'packages-before-horizon',
        {},
        {},
        {'job_host_summary': HORIZON - timedelta(days=1)},
        {'job_host_summary': Start('default'), 'main_jobevent': Start('default')},
        [],
    ),
]


@pytest.mark.unit
@pytest.mark.parametrize(
    ('own', 'controller', 'ends', 'starts', 'notes'), [c[1:] for c in DECISIONS], ids=[c[0] for c in DECISIONS]
)
def test_where_each_collector_starts(own, controller, ends, starts, notes):
    held = {key: Coverage(end) for key, end in ends.items()}
    assert decide(['job_host_summary', 'main_jobevent'], own, controller, held, HORIZON) == (starts, notes)


@pytest.mark.unit
def test_a_hole_in_the_targets_packages_is_named_and_not_filled():
    held = {'job_host_summary': coverage([(at(24), at(25)), (at(26), at(27)), (at(25), at(25, 12))])}
    assert held['job_host_summary'] == Coverage(at(27), ((at(25, 12), at(26)),))
    starts, notes = decide(['job_host_summary'], {}, {}, held, HORIZON)
    assert starts == {'job_host_summary': Start(PKGS, at(27))}
    assert notes == [
        'job_host_summary: the target holds no package between 2024-02-25T12:00:00+00:00 and '
        '2024-02-26T00:00:00+00:00; that gap is not gathered (gather it with --since/--until)'
    ]


@pytest.mark.unit
@pytest.mark.hostile
@pytest.mark.parametrize(
    ('name', 'counted'),
    [
        (up.name(UUID, at(27), at(28), 0, 'job_host_summary'), True),
        (up.name(UUID, at(27), at(27, 13, 37, 1), 1, 'job_host_summary'), True),
        (up.name('another-installation', at(27), at(28), 0, 'job_host_summary'), False),
        (up.name(UUID, at(27), at(28), 0, None), False),  # <= 0.6.0: the name does not say what is inside
        (up.name(UUID, at(27), at(28), 0, 'unknown'), False),
        (up.name(UUID, at(27), at(28), 0, 'main_jobevent'), False),  # another collector
        (up.name(UUID, at(27, 23, 59, 59), at(27, 23, 59, 59), 0, 'job_host_summary'), False),  # empty window
        (up.name(UUID, at(29), datetime(2024, 3, 2, tzinfo=UTC), 0, 'job_host_summary'), False),  # ends after now
        ('README.tar.gz', False),
    ],
    ids=[
        'daily',
        'partial-day',
        'other-installation',
        'no-key',
        'unknown-key',
        'other-collector',
        'snapshot-instant',
        'ends-after-now',
        'not-a-package',
    ],
)
def test_which_package_names_prove_a_window(name, counted):
    found = package_windows([f'data/2024/02/27/{name}'], UUID, {'job_host_summary'}, NOW)
    assert bool(found) is counted


# -- the controller's row, on a real database, read by the SELECT-only role -------------------------------------------


@pytest.fixture(scope='module')
def db(postgres):
    """A controller database of this module's own (the tests rewrite its conf_setting row)."""
    database, _ = build(postgres, DatasetSpec(scale='small', start=at(27), days=3, seed=7), dbname='upstream_marks')
    return database


def _setting(db, jsonb_text: str | None) -> None:
    with db.connect_owner() as conn:
        up.set_last_entries(conn, jsonb_text)


def _entries(**marks: str) -> str:
    return json.dumps(json.dumps(marks))


NESTED = '"' + '[' * 20_000 + ']' * 20_000 + '"'
BAD = {
    'job_host_summary': 'never',
    'main_jobevent': 'soon',
    'main_host_daily': 'later',
    'main_hostmetric': 'tomorrow',
    'main_indirectmanagednodeaudit': 'n/a',
    'unified_jobs': '-',
    'job_host_summary_service': '?',
    'main_jobevent_service': '??',
}
JHS = 'job_host_summary'
ROWS = [
    ('absent', None, {}, []),
    ('sql-null', 'null', {}, []),
    ('empty-string', '""', {}, []),
    (
        'double-encoded',
        up.last_entries({JHS: at(28, 13, 37, 1), 'main_jobevent': at(28)}),
        {JHS: at(28, 13, 37, 1), 'main_jobevent': at(28)},
        [],
    ),
    (
        'milliseconds-and-offset',
        _entries(job_host_summary='2024-02-28T14:37:01.250+01:00'),
        {JHS: at(28, 13, 37, 1) + timedelta(milliseconds=250)},
        [],
    ),
    (
        'not-json',
        '"{not json"',
        {},
        [
            f'{WHERE} is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); '
            'not imported'
        ],
    ),
    (
        'single-encoded',
        json.dumps({JHS: '2024-02-28T00:00:00Z'}),
        {},
        [f'{WHERE} holds a JSON object, not the JSON string metrics-utility writes (double-encoded); not imported'],
    ),
    (
        'array-inside',
        json.dumps('[1, 2]'),
        {},
        [f'{WHERE} holds an array inside its string, expected an object; not imported'],
    ),
    ('a-number', '42', {}, [f'{WHERE} holds a number, expected a JSON string holding an object; not imported']),
    (
        'without-time-zone',
        _entries(job_host_summary='2024-02-28T00:00:00', main_jobevent='2024-02-28T00:00:00Z'),
        {'main_jobevent': at(28)},
        [f"{WHERE}: job_host_summary: '2024-02-28T00:00:00' has no time zone (never read as local time); not imported"],
    ),
    (
        'in-the-future',
        _entries(job_host_summary='2024-03-01T06:00:01Z'),
        {},
        [
            f'{WHERE}: job_host_summary: 2024-03-01T06:00:01+00:00 is later than now (2024-03-01T06:00:00+00:00); '
            'not imported'
        ],
    ),
    (
        'not-a-string',
        json.dumps(json.dumps({JHS: 1709251200})),
        {},
        [f'{WHERE}: job_host_summary: a number is not a timestamp; not imported'],
    ),
    (
        'unknown-keys',
        _entries(
            events_table='2024-02-28T00:00:00Z',
            config='2024-02-28T00:00:00Z',
            main_host='2024-02-28T00:00:00Z',
            job_host_summary='2024-02-28T00:00:00Z',
        ),
        {JHS: at(28)},
        [
            f"{WHERE}: keys that are not windowed collectors here are not imported: 'events_table', 'config', "
            "'main_host'"
        ],
    ),
    ('huge', json.dumps('x' * 100_000), {}, [f'{WHERE} is 100000 characters long, more than 65536; not imported']),
    ('nested-deeply', NESTED, {}, [f'{WHERE} is not JSON (nested too deeply); not imported']),
    (
        'many-bad-entries',
        json.dumps(json.dumps({**BAD, **{f'x{i}': 'y' for i in range(30)}})),
        {},
        [
            f"{WHERE}: keys that are not windowed collectors here are not imported: 'x0', 'x1', 'x2', 'x3', 'x4', "
            "'x5', 'x6', 'x7', 'x8', 'x9' and 20 more"
        ]
        + [f'{WHERE}: {key}: {value!r} is not an ISO 8601 timestamp; not imported' for key, value in BAD.items()],
    ),
]


@pytest.mark.integration
@pytest.mark.hostile
@pytest.mark.parametrize(('jsonb', 'marks', 'notes'), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_every_value_of_the_controllers_row_has_an_exact_outcome(db, jsonb, marks, notes):
    _setting(db, jsonb)
    with db.connect_reader() as conn:
        value, install_uuid, read_notes = read_setting(conn)
    assert read_notes == [] and install_uuid.startswith('00000000-0000-4000-8000-')
    imported = parse_last_entries(value, NOW)
    assert (imported.marks, imported.notes) == (marks, notes)


@pytest.mark.integration
@pytest.mark.hostile
def test_a_row_the_role_cannot_read_costs_only_the_import(db):
    with db.connect_owner() as conn:
        conn.execute(f'REVOKE SELECT ON conf_setting FROM {db.reader}')
        conn.commit()
    try:
        with db.connect_reader() as conn:
            conn.execute('BEGIN')
            assert read_setting(conn) == (
                None,
                None,
                [f'cannot read conf_setting {SETTING} (permission denied for table conf_setting); not imported'],
            )
            assert conn.execute('SELECT 1').fetchone() == (1,)  # the session is still usable
    finally:
        with db.connect_owner() as conn:
            conn.execute(f'GRANT SELECT ON conf_setting TO {db.reader}')
            conn.commit()


# -- a first gather continues where metrics-utility stopped -----------------------------------------------------------


def _ids(db, since: datetime, until: datetime) -> set[int]:
    with db.connect_owner() as conn:
        rows = conn.execute(
            'SELECT id FROM main_jobhostsummary WHERE modified >= %s AND modified < %s', (since, until)
        ).fetchall()
    return {r[0] for r in rows}


def _install_uuid(db) -> str:
    with db.connect_owner() as conn:
        return conn.execute("SELECT value #>> '{}' FROM conf_setting WHERE key = 'INSTALL_UUID'").fetchone()[0]


@pytest.mark.integration
def test_the_first_gather_starts_at_the_controllers_watermark_then_at_its_own(db, tmp_path, monkeypatch, capsys):
    mark = at(28, 13, 37, 1)
    # main_hostmetric is not enabled now: its mark is kept for the day it is
    _setting(db, up.last_entries({'job_host_summary': mark, 'events_table': at(29), 'main_hostmetric': at(28)}))
    ship, summary_file = tmp_path / 'ship', tmp_path / 'summary.json'
    env = {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_jobevent',
    }
    assert _gather(monkeypatch, env, '--ship', '--until', '2024-03-01', '--summary-file', str(summary_file)) == 0
    summary = json.loads(summary_file.read_text())
    assert summary['started_from'] == {'job_host_summary': CTRL, 'main_jobevent': 'default'}
    files = sorted((ship / 'data').rglob('*-job_host_summary.tar.gz'))
    assert files[0].name.split('-')[5:9] == ['2024', '02', '28', '133701+0000']  # since of the first window
    counts = shipped_ids(files)
    assert set(counts) == _ids(db, mark, at(29) + timedelta(days=1)) and set(counts.values()) == {1}
    logged = capsys.readouterr()
    logged = logged.out + logged.err
    assert f"{WHERE}: keys that are not windowed collectors here are not imported: 'events_table'" in logged
    assert 'job_host_summary: starts at 2024-02-28T13:37:01+00:00 (controller-watermark)' in logged
    marks = json.loads((ship / 'state' / 'watermarks.json').read_text())['shipped_until']
    assert marks == {
        'job_host_summary': '2024-03-01T00:00:00+00:00',
        'main_jobevent': '2024-03-01T00:00:00+00:00',
        'main_hostmetric': '2024-02-28T00:00:00+00:00',
    }

    _setting(db, up.last_entries({'job_host_summary': at(29, 20)}))  # read no more: our state decides now
    assert _gather(monkeypatch, env, '--ship', '--until', '2024-03-01', '--summary-file', str(summary_file)) == 0
    assert json.loads(summary_file.read_text())['started_from'] == {
        'job_host_summary': 'state',
        'main_jobevent': 'state',
    }


@pytest.mark.integration
def test_packages_upstream_left_in_the_target_are_not_gathered_again(db, tmp_path, monkeypatch):
    """metrics-utility shipped up to 18:00 but crashed before saving its watermark (13:37:01): we continue at 18:00,
    and its packages plus ours hold every summary of the period exactly once."""
    install_uuid = _install_uuid(db)
    ship = tmp_path / 'ship'
    _setting(db, up.last_entries({'job_host_summary': at(28, 13, 37, 1)}))
    with db.connect_reader() as conn:
        theirs = up.gather(
            conn,
            ship,
            tmp_path / 'upstream',
            install_uuid=install_uuid,
            keys=['job_host_summary'],
            start=at(27),
            until=at(28, 18),
        )
    summary_file = tmp_path / 'summary.json'
    env = {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': '',
    }
    assert _gather(monkeypatch, env, '--ship', '--until', '2024-03-01', '--summary-file', str(summary_file)) == 0
    assert json.loads(summary_file.read_text())['started_from'] == {'job_host_summary': PKGS}
    ours = sorted(set((ship / 'data').rglob('*.tar.gz')) - set(theirs))
    assert ours[0].name.split('-')[5:9] == ['2024', '02', '28', '180000+0000']
    assert all(path.exists() for path in theirs)  # nothing of upstream's was replaced or removed
    counts = shipped_ids(theirs + ours)
    assert set(counts) == _ids(db, at(27), at(29) + timedelta(days=1)) and set(counts.values()) == {1}


@pytest.mark.integration
def test_upstream_packages_in_an_s3_bucket_are_not_gathered_again(db, tmp_path, monkeypatch, s3_server, bucket):
    """The same over S3 (moto): the day prefixes are listed, upstream's objects are left as they are."""
    install_uuid = _install_uuid(db)
    _setting(db, None)  # no watermark in the controller: the bucket alone says where upstream stopped
    with db.connect_reader() as conn:
        theirs = up.gather(
            conn,
            tmp_path / 'local',
            tmp_path / 'upstream',
            install_uuid=install_uuid,
            keys=['job_host_summary'],
            start=at(27),
            until=at(28, 18),
        )
    client = s3_server.client()
    keys = [f'billing/{p.relative_to(tmp_path / "local").as_posix()}' for p in theirs]
    for path, key in zip(theirs, keys, strict=True):
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    summary_file = tmp_path / 'summary.json'
    env = s3_env(db, s3_server.endpoint, bucket, METRICS_UTILITY_OPTIONAL_COLLECTORS='')
    assert _gather(monkeypatch, env, '--ship', '--until', '2024-03-01', '--summary-file', str(summary_file)) == 0
    assert json.loads(summary_file.read_text())['started_from'] == {'job_host_summary': PKGS}
    listed = client.list_objects_v2(Bucket=bucket, Prefix='billing/data/')['Contents']
    stored = {o['Key'] for o in listed}
    assert set(keys) <= stored
    ours = sorted(stored - set(keys))
    assert ours[0].split('/')[-1].split('-')[5:9] == ['2024', '02', '28', '180000+0000']
    local = tmp_path / 'ours'
    local.mkdir()
    for key in ours:
        (local / key.replace('/', '_')).write_bytes(client.get_object(Bucket=bucket, Key=key)['Body'].read())
    counts = shipped_ids(theirs + sorted(local.iterdir()))
    assert set(counts) == _ids(db, at(27), at(29) + timedelta(days=1)) and set(counts.values()) == {1}


@pytest.mark.integration
def test_windows_upstream_sent_to_console_are_not_uploaded_again(db, tmp_path, monkeypatch, console):  # noqa: F811
    """console.redhat.com cannot be listed nor overwritten: the controller's watermark alone keeps what metrics-utility
    uploaded from being uploaded a second time."""
    sso, upload, ingress, bundle = console
    mark = at(28, 13, 37, 1)
    _setting(db, up.last_entries({'job_host_summary': mark}))
    summary_file = tmp_path / 'summary.json'
    env = console_env(db, tmp_path, sso, upload, bundle)
    assert _gather(monkeypatch, env, '--ship', '--until', '2024-03-01', '--summary-file', str(summary_file)) == 0
    assert json.loads(summary_file.read_text())['started_from'] == {'job_host_summary': CTRL}
    counts = uploaded_ids(ingress.accepted)
    assert set(counts) == _ids(db, mark, at(29) + timedelta(days=1)) and set(counts.values()) == {1}
    marks = json.loads((tmp_path / 'state' / 'watermarks.json').read_text())['shipped_until']
    assert marks == {'job_host_summary': '2024-03-01T00:00:00+00:00'}


@pytest.mark.unit
def test_started_from_is_an_additive_summary_field():
    from metrics_utility.gather.summary import RunSummary

    assert 'started_from' not in RunSummary().to_json()  # summaries of runs that decided nothing stay as they were
    summary = RunSummary(started_from={'job_host_summary': CTRL})
    assert json.loads(summary.render())['started_from'] == {'job_host_summary': CTRL}
    summary.error = 'x' * 3000
    summary.started_from = {f'collector_{i}': 'default' for i in range(60)}
    rendered = json.loads(summary.render())
    assert 'started_from' not in rendered and rendered['error'] == 'x' * 3000  # dropped before the error is cut
