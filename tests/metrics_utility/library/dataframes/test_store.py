"""Persisted daily rollups: built once, reused warm, rebuilt when a day's packages change."""

import io
import json
import tarfile
from datetime import UTC, date, datetime, timedelta

import pytest

from metrics_utility.library.dataframes import ROLLUPS, RollupStore
from metrics_utility.library.dataframes import store as store_module
from metrics_utility.library.dataframes.store import workers_pay
from metrics_utility.library.storage import StorageDirectory
from testsupport.report_data import (
    COLUMNS,
    INSTALL_UUID,
    STATUS,
    VERSIONS,
    csv_bytes,
    synthetic,
    tarball_name,
    write_tarball,
)

pytestmark = pytest.mark.unit
NAMES = {'job_host_summary', 'main_jobevent', 'main_host', 'data_collection_status', 'main_indirectmanagednodeaudit'}


def test_warm_load_reads_rollups_and_gives_the_same_figures(tmp_path):
    data = synthetic(date(2024, 2, 27), 4, jobs_per_day=3)
    data.write(tmp_path)
    store = RollupStore(StorageDirectory(tmp_path))
    cold = store.load(date(2024, 2, 27), date(2024, 3, 2), NAMES)
    assert cold.days_rebuilt == cold.days_with_data == [date(2024, 2, d) for d in (27, 28, 29)] + [date(2024, 3, 1)]
    assert (tmp_path / 'rollups/2024/02/29/job_host_summary.parquet').is_file()
    warm = store.load(date(2024, 2, 27), date(2024, 3, 2), NAMES)
    assert warm.days_rebuilt == []
    for name in NAMES:
        assert warm[name].equals(cold[name]), name


def test_a_changed_day_is_rebuilt_alone(tmp_path):
    data = synthetic(date(2024, 2, 27), 3, jobs_per_day=3)
    data.write(tmp_path)
    store = RollupStore(StorageDirectory(tmp_path))
    store.load(date(2024, 2, 27), date(2024, 3, 1), {'job_host_summary'})
    more = synthetic(date(2024, 2, 28), 1, jobs_per_day=5, seed=99)
    more.write(tmp_path, keys={'job_host_summary'})  # same name: the day's package is replaced
    again = store.load(date(2024, 2, 27), date(2024, 3, 1), {'job_host_summary'})
    assert again.days_rebuilt == [date(2024, 2, 28)]
    day = again['job_host_summary'][again['job_host_summary']['day'] == '2024-02-28']
    assert set(day['job_remote_id']) == {r['job_remote_id'] for r in more.all('job_host_summary')}


def test_a_missing_rollup_is_added_without_discarding_others(tmp_path):
    synthetic(date(2024, 2, 27), 1).write(tmp_path)
    store = RollupStore(StorageDirectory(tmp_path))
    store.load(date(2024, 2, 27), date(2024, 2, 28), {'job_host_summary'})
    result = store.load(date(2024, 2, 27), date(2024, 2, 28), {'job_host_summary', 'main_host'})
    assert result.days_rebuilt == [date(2024, 2, 27)]
    assert store.load(date(2024, 2, 27), date(2024, 2, 28), {'job_host_summary', 'main_host'}).days_rebuilt == []


def test_corrupt_package_problem_survives_a_warm_run(tmp_path):
    paths = synthetic(date(2024, 2, 27), 1).write(tmp_path)
    paths[0].write_bytes(paths[0].read_bytes()[:64])
    store = RollupStore(StorageDirectory(tmp_path))
    cold = store.load(date(2024, 2, 27), date(2024, 2, 28), set(ROLLUPS))
    warm = store.load(date(2024, 2, 27), date(2024, 2, 28), set(ROLLUPS))
    assert [p.name for p in cold.problems] == [p.name for p in warm.problems] == [paths[0].name, 'main_jobevent']
    assert 'no job host summary' in warm.problems[1].message  # the events of the lost summaries are not counted
    assert warm.days_rebuilt == []


def test_unknown_rollup_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match='unknown rollups'):
        RollupStore(StorageDirectory(tmp_path)).load(date(2024, 2, 27), date(2024, 2, 28), {'nope'})


def test_days_built_in_worker_processes_equal_days_built_in_process(tmp_path):
    data = synthetic(date(2024, 2, 20), 8, jobs_per_day=3)
    for name in ('parallel', 'sequential'):
        data.write(tmp_path / name)
    parallel = RollupStore(StorageDirectory(tmp_path / 'parallel'), workers=2)
    sequential = RollupStore(StorageDirectory(tmp_path / 'sequential'), workers=1)
    since, until = date(2024, 2, 20), date(2024, 2, 28)
    got, expected = parallel.load(since, until, NAMES), sequential.load(since, until, NAMES)
    assert got.days_rebuilt == expected.days_rebuilt == [date(2024, 2, d) for d in range(20, 28)]
    assert [p.as_dict() for p in got.problems] == [p.as_dict() for p in expected.problems]
    for name in NAMES:
        assert got[name].equals(expected[name]), name
    compact = parallel.load(since, until, NAMES, compact=True, force=True)
    assert compact.days_rebuilt == expected.days_rebuilt
    assert compact['job_host_summary']['host_name'].astype('str').tolist() == (
        expected['job_host_summary']['host_name'].tolist()
    )


MIB = 1 << 20
WORKER_CASES = [
    ('no-days', [], False),
    ('small-days', [2 * MIB] * 10, False),
    ('mid-size-days', [12 * MIB] * 10, True),
    ('at-the-lower-bound', [8 * MIB] * 10, True),
    ('mostly-small-one-mid', [1 * MIB] * 9 + [20 * MIB], False),
    ('one-large-day-among-mid', [12 * MIB] * 9 + [33 * MIB], False),
    ('at-the-upper-bound', [32 * MIB] * 10, True),
    ('sizes-unknown', [0] * 10, False),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('sizes', 'pays'), [c[1:] for c in WORKER_CASES], ids=[c[0] for c in WORKER_CASES])
def test_worker_processes_only_for_mid_size_days(sizes, pays):
    assert workers_pay(sizes) is pays


def test_small_days_build_in_this_process_even_when_workers_are_allowed(tmp_path):
    synthetic(date(2024, 2, 1), 7, jobs_per_day=2).write(tmp_path)
    store = RollupStore(StorageDirectory(tmp_path), workers=2)
    assert store._prebuild(date(2024, 2, 1), date(2024, 2, 8), {'job_host_summary'}, False) == set()
    assert store.load(date(2024, 2, 1), date(2024, 2, 8), {'job_host_summary'}).days_rebuilt == [
        date(2024, 2, d) for d in range(1, 8)
    ]


def _mixed_package(base, day, members: dict[str, list[dict]]) -> None:
    """One package holding several collectors' CSVs, named without a key (as metrics-utility <= 0.6 wrote them)."""
    since = datetime(day.year, day.month, day.day, tzinfo=UTC)
    until = since + timedelta(days=1)
    files = {f'./{key}.csv': csv_bytes(COLUMNS[key], rows) for key, rows in members.items()}
    status = [{'since': str(since), 'until': str(until), 'file_name': f'{key}.csv', 'status': 'ok'} for key in members]
    files['./data_collection_status.csv'] = csv_bytes(STATUS, status)
    files['./config.json'] = json.dumps({'install_uuid': INSTALL_UUID}).encode()
    manifest = {f'{key}.csv': VERSIONS[key] for key in members} | {'config.json': '2.0'}
    files['./manifest.json'] = json.dumps(manifest | {'data_collection_status.csv': '1.0'}).encode()
    folder = base / 'data' / since.strftime('%Y/%m/%d')
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / tarball_name(INSTALL_UUID, since, until, 0, None), 'w:gz') as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_events_in_a_package_with_summaries_wait_for_the_day_summaries(tmp_path):
    data = synthetic(date(2024, 2, 27), 1, jobs_per_day=4)
    day = date(2024, 2, 27)
    events = data.rows[(day, 'main_jobevent')]
    half = len(events) // 2
    apart, mixed = tmp_path / 'apart', tmp_path / 'mixed'
    data.write(apart, keys={'job_host_summary', 'main_jobevent'})
    summaries = data.rows[(day, 'job_host_summary')]
    _mixed_package(mixed, day, {'main_jobevent': events[:half], 'job_host_summary': summaries})
    since = datetime(day.year, day.month, day.day, tzinfo=UTC)  # a later package of the day: events only
    write_tarball(mixed, key='main_jobevent', rows=events[half:], since=since, until=since + timedelta(days=1), index=1)
    names = {'job_host_summary', 'main_jobevent'}
    want = RollupStore(StorageDirectory(apart)).load(day, date(2024, 2, 28), names, compact=True)
    got = RollupStore(StorageDirectory(mixed)).load(day, date(2024, 2, 28), names, compact=True)
    assert got['main_jobevent']['task_runs'].sum() == len(events)
    for name in names:
        assert got[name].equals(want[name]), name
    assert not any(p.name == 'main_jobevent' for p in got.problems)


EVENT_VALUES = [
    # id, changes to the day's first two events, problems of the events package (exact)
    ('valid', {}, []),
    ('bad-values-in-columns-no-figure-reads', {'created': 'yesterday', 'failed': 'maybe', 'modified': '2024-13'}, []),
    ('bad-duration', {'duration': 'slow'},
     ["main_jobevent.csv: 2 value(s) in column 'duration' are not valid double; counted as empty"]),
    ('bad-job-id', {'job_remote_id': '7x'},
     ["main_jobevent.csv: 2 value(s) in column 'job_remote_id' are not valid int64; counted as empty",
      '2 event(s) have no job host summary in their day and are not counted']),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('change', 'problems'), [c[1:] for c in EVENT_VALUES], ids=[c[0] for c in EVENT_VALUES])
def test_only_bad_values_the_figures_read_are_problems_of_an_events_package(tmp_path, change, problems):
    day = date(2024, 2, 27)
    data = synthetic(day, 1, jobs_per_day=2)
    events = data.rows[(day, 'main_jobevent')]
    for event in events[:2]:
        event.update(change)
    data.write(tmp_path, keys={'job_host_summary', 'main_jobevent'})
    loaded = RollupStore(StorageDirectory(tmp_path)).load(day, day + timedelta(days=1), {'main_jobevent'})
    assert [p.message for p in loaded.problems if 'main_jobevent' in p.name] == problems
    counted = len(events) if 'job_remote_id' not in change else len(events) - 2  # no job: no summary to count for
    assert loaded['main_jobevent']['task_runs'].sum() == counted


@pytest.mark.parametrize(('large_day_bytes', 'parse_ahead'), [(32 << 20, True), (0, False)], ids=['small', 'large'])
def test_blocks_are_parsed_ahead_unless_a_day_is_large_same_rollups(
    tmp_path, monkeypatch, large_day_bytes, parse_ahead
):
    data = synthetic(date(2024, 2, 27), 2, jobs_per_day=3)
    data.write(tmp_path / 'a')
    data.write(tmp_path / 'b')
    reference = RollupStore(StorageDirectory(tmp_path / 'a')).load(date(2024, 2, 27), date(2024, 2, 29), NAMES)
    monkeypatch.setattr(store_module, 'SYSTEM_POOL_DAY_BYTES', large_day_bytes)
    store = RollupStore(StorageDirectory(tmp_path / 'b'))
    loaded = store.load(date(2024, 2, 27), date(2024, 2, 29), NAMES)
    assert store.parse_ahead is parse_ahead
    for name in NAMES:
        assert loaded[name].equals(reference[name]), name
