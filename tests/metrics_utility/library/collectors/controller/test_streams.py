"""streams: a window's export as concurrent streams on one snapshot; the rows never depend on the number of streams,
and one failing stream fails the collector as a whole (no file left, every session closed)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from metrics_utility.library.collectors.base import CollectorParameterError
from metrics_utility.library.collectors.controller import (
    job_host_summary,
    main_jobevent,
    main_jobevent_service,
    partitions,
)
from metrics_utility.library.collectors.controller import streams as streams_module
from metrics_utility.library.collectors.controller.events import EventExport
from metrics_utility.library.collectors.controller.streams import Streams

from .conftest import FULL, WINDOW_BOUNDS
from .test_events import chosen, set_event  # noqa: F401 - fixtures of the hostile event cases

COLLECTORS = {
    'job_host_summary': job_host_summary,
    'main_jobevent': main_jobevent,
    'main_jobevent_service': main_jobevent_service,
}


class Sessions:
    """A connect function for Streams that remembers every session it opened; `setup` runs on the n-th one."""

    def __init__(self, db, setup: dict[int, str] | None = None) -> None:
        self.db, self.setup, self.opened = db, setup or {}, []

    def __call__(self) -> psycopg.Connection:
        conn = self.db.connect_reader()
        if len(self.opened) in self.setup:
            conn.execute(self.setup[len(self.opened)])
            conn.commit()
        self.opened.append(conn)
        return conn


def gathered(db, key: str, out: Path, streams: Streams | None, window=FULL) -> tuple[list[Path], list[bytes]]:
    with db.connect_reader() as conn:
        files = COLLECTORS[key](db=conn, since=window[0], until=window[1], output_dir=out, streams=streams).gather()
    lines = []
    for path in files:
        lines.extend(path.read_bytes().splitlines(keepends=True)[1:])  # no field of the standard dataset holds \n
    return files, lines


@pytest.mark.integration
@pytest.mark.parametrize('key', sorted(COLLECTORS))
def test_one_and_four_streams_export_the_same_rows(controller_db, tmp_path, key):
    """The same rows with 4 streams as with one (job_host_summary: in the same order), from 4 pieces on 4
    sessions, all closed afterwards, in one file as with one stream (the pieces' files are combined)."""
    one_files, one = gathered(controller_db, key, tmp_path / 'one', None)
    sessions = Sessions(controller_db)
    four_files, four = gathered(controller_db, key, tmp_path / 'four', Streams(sessions, 4))
    assert len(one) > 1000 and len(one_files) == 1
    assert len(four_files) == 1 and len(sessions.opened) == 4
    assert all(conn.closed for conn in sessions.opened)
    if key == 'job_host_summary':
        assert four == one
    assert Counter(four) == Counter(one)


@pytest.mark.integration
def test_a_failing_stream_fails_the_collector_and_leaves_nothing(controller_db, tmp_path):
    """The third session's statements time out on the server: the collector raises that error, the other streams
    are stopped, every session is closed and no file of any piece is left."""
    sessions = Sessions(controller_db, {2: "SET statement_timeout = '1ms'"})
    out = tmp_path / 'out'
    with pytest.raises(psycopg.errors.QueryCanceled, match='canceling statement due to statement timeout'):
        gathered(controller_db, 'main_jobevent', out, Streams(sessions, 4))
    assert len(sessions.opened) == 4 and all(conn.closed for conn in sessions.opened)
    assert list(out.iterdir()) == []


def rows_of(parts: list[bytes]) -> list[tuple[str, ...]]:
    return sorted(tuple(row.values()) for part in parts for row in csv.DictReader(io.StringIO(part.decode())))


@pytest.mark.integration
def test_packages_gathered_with_one_and_four_streams_hold_the_same_rows(
    hostile_db,
    gather_window,
    set_event,  # noqa: F811 - the fixtures imported above
    chosen,  # noqa: F811
):
    """`gather --ship` with METRICS_UTILITY_GATHER_PARALLELISM 1 and 4: the packages hold the same rows (sorted CSV
    rows, as many packages), also when an hour falls back to parsing event_data in Python."""
    set_event(chosen['a'], '{"task_action": unreadable}')
    collectors = 'main_jobevent,main_jobevent_service'
    one = gather_window(hostile_db, collectors, env={'METRICS_UTILITY_GATHER_PARALLELISM': '1'})
    four = gather_window(hostile_db, collectors, env={'METRICS_UTILITY_GATHER_PARALLELISM': '4'})
    for shipped in (one, four):
        assert shipped.exit_code == 0 and shipped.summary['ok'] is True, shipped.summary
        assert shipped.summary['unreadable_rows'] == 2
    for key in ('job_host_summary', 'main_jobevent', 'main_jobevent_service'):
        assert len(one.data[key]) == len(four.data[key]) == 1
        assert rows_of(four.data[key]) == rows_of(one.data[key])
        assert len(rows_of(one.data[key])) > 10
    assert four.watermarks == one.watermarks


@pytest.mark.integration
def test_streams_that_cannot_connect_ship_nothing_and_keep_the_watermarks(hostile_db, gather_window):
    """The reader role may open 2 sessions (the gather lock's and the working one): the streams' sessions are
    refused, the run fails with the server's words, nothing is shipped and no watermark moves."""
    reader = hostile_db.reader
    with hostile_db.cluster.connect(hostile_db.dbname, autocommit=True) as admin:
        admin.execute(f'ALTER ROLE {reader} CONNECTION LIMIT 2')
        try:
            shipped = gather_window(hostile_db, 'main_jobevent', env={'METRICS_UTILITY_GATHER_PARALLELISM': '2'})
        finally:
            admin.execute(f'ALTER ROLE {reader} CONNECTION LIMIT -1')
    assert shipped.exit_code == 1
    assert shipped.data == {} and shipped.watermarks == {}
    errors = {key: outcome['error'] for key, outcome in shipped.summary['collectors'].items() if outcome['error']}
    assert sorted(errors) == ['job_host_summary', 'main_jobevent']
    assert all(f'too many connections for role "{reader}"' in error for error in errors.values())


# -- pure parts ----------------------------------------------------------------------------------------------------


def test_hours_are_split_into_consecutive_pieces_of_about_equal_weight():
    start = datetime(2024, 3, 4, tzinfo=UTC)
    hour = timedelta(hours=1)
    ranges = [(start, start + 3 * hour), (start + 5 * hour, start + 6 * hour)]
    weights = {start: 10, start + hour: 1, start + 2 * hour: 1, start + 5 * hour: 10}
    assert partitions.split(ranges, weights, 2) == [  # weights 11 and 11
        [(start, start + 2 * hour)],
        [(start + 2 * hour, start + 3 * hour), (start + 5 * hour, start + 6 * hour)],
    ]
    assert partitions.split(ranges, weights, 1) == [ranges]
    pieces = partitions.split(ranges, {}, 16)
    assert pieces == [[(start + h * hour, start + (h + 1) * hour)] for h in (0, 1, 2, 5)]


def test_pieces_follow_the_shares_heavy_first_and_every_hour_once():
    """Shares 3:1 over hours of weight 1 each: the first piece holds three quarters of the weight; rounds of lighter
    shares give lighter pieces as far as whole hours allow; with more shares than hours, one hour per piece and no
    empty piece."""
    start = datetime(2024, 3, 4, tzinfo=UTC)
    hour = timedelta(hours=1)
    ranges = [(start, start + 8 * hour)]
    assert partitions.split(ranges, {}, [3, 1]) == [[(start, start + 6 * hour)], [(start + 6 * hour, start + 8 * hour)]]
    assert partitions.split(ranges, {}, [3.0, 3.0, 2.0, 2.0, 1.0, 1.0]) == [  # two streams' rounds, whole hours
        [(start, start + 2 * hour)],
        [(start + 2 * hour, start + 4 * hour)],
        [(start + 4 * hour, start + 5 * hour)],  # the hours left must still give each share its piece
        [(start + 5 * hour, start + 6 * hour)],
        [(start + 6 * hour, start + 7 * hour)],
        [(start + 7 * hour, start + 8 * hour)],
    ]
    short = [(start, start + 2 * hour)]
    assert partitions.split(short, {}, [3, 2, 1]) == [[(start, start + hour)], [(start + hour, start + 2 * hour)]]


def test_streams_take_three_rounds_of_lighter_pieces():
    assert streams_module.shares(None) == [1.0]
    assert streams_module.shares(Streams(lambda: None, 1)) == [1.0]
    assert streams_module.shares(Streams(lambda: None, 2)) == [3.0, 3.0, 2.0, 2.0, 1.0, 1.0]


def test_a_piece_carries_only_the_jobs_of_its_hours():
    """The jobs' `created` hours decide which piece's ANY list holds them; the window's list stays whole."""
    start = datetime(2024, 3, 4, tzinfo=UTC)
    hour = timedelta(hours=1)
    jobs = [
        (7, start + 5 * timedelta(minutes=1), 3),
        (3, start + hour, 1),
        (9, start + 2 * hour + timedelta(seconds=59), 2),
    ]
    export = EventExport.of_jobs(jobs, 'SELECT 1', {}, 'task_action text', {'since': start}, lambda data: {})
    assert export.params == {'since': start, 'job_ids': [3, 7, 9]}
    assert export.params_for([(start, start + 2 * hour)]) == {'since': start, 'job_ids': [3, 7]}
    assert export.params_for([(start + 2 * hour, start + 3 * hour)]) == {'since': start, 'job_ids': [9]}
    assert export.params_for([(start + 4 * hour, start + 5 * hour)]) == {'since': start, 'job_ids': []}


@pytest.mark.integration
def test_stream_sessions_run_without_server_parallel_workers(controller_db):
    """Each stream is one backend: the server adds no parallel workers to its statements."""
    sessions = Sessions(controller_db)
    shown = streams_module.run(
        None,
        Streams(sessions, 2),
        [lambda conn: conn.execute('SHOW max_parallel_workers_per_gather').fetchone()[0]] * 3,
    )
    assert shown == ['0', '0', '0'] and len(sessions.opened) == 2


BAD_COUNTS = [
    ('zero', 0),
    ('negative', -1),
    ('seventeen', 17),
    ('text', 'two'),
    ('boolean', True),
    ('float', 2.0),
]


@pytest.mark.hostile
@pytest.mark.parametrize('count', [c[1] for c in BAD_COUNTS], ids=[c[0] for c in BAD_COUNTS])
def test_a_stream_count_outside_1_to_16_is_refused(count):
    with pytest.raises(CollectorParameterError) as caught:
        Streams(lambda: None, count)
    assert str(caught.value) == f'streams: the count must be a whole number from 1 to 16, got {count!r}'


@pytest.mark.hostile
@pytest.mark.integration
@pytest.mark.parametrize('given', ['4', 4.0, object()], ids=['text', 'float', 'object'])
def test_a_collector_refuses_streams_that_are_not_streams(controller_db, tmp_path, given):
    with controller_db.connect_reader() as conn, pytest.raises(CollectorParameterError) as caught:
        main_jobevent(db=conn, since=WINDOW_BOUNDS[0], until=WINDOW_BOUNDS[1], output_dir=tmp_path, streams=given)
    assert str(caught.value) == f'streams must be a Streams or None, got {type(given).__name__}'
