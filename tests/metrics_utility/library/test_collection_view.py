"""The collection view from the listing and the rollup manifests: packages per collector and day, gaps, problems,
last gather and upload — and storage content that is not ours never breaks it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from metrics_utility.library.collection_view import MAX_PROBLEMS, collection_view
from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.storage.multi import MultiStorage
from metrics_utility.library.usage_periods import UsageReader
from testsupport.report_data import synthetic, write_tarball

pytestmark = pytest.mark.unit


@pytest.fixture
def ship(tmp_path: Path) -> Path:
    synthetic(date(2024, 2, 27), 2).write(tmp_path)  # 27 and 28 Feb, every key
    return tmp_path


def test_packages_per_collector_and_day_gaps_and_last_times(ship):
    view = collection_view(StorageDirectory(ship), date(2024, 2, 26), date(2024, 3, 1)).to_json()
    jhs = next(c for c in view['collectors'] if c['name'] == 'job_host_summary')
    assert [(d['day'], d['packages'], d['problems'], d['rows']) for d in jhs['days']] == [
        ('2024-02-27', 1, 0, None),
        ('2024-02-28', 1, 0, None),
    ]
    sizes = sorted(p.stat().st_size for p in ship.rglob('*job_host_summary.tar.gz'))
    assert sorted(d['bytes'] for d in jhs['days']) == sizes
    assert view['gaps'] == ['2024-02-26', '2024-02-29']
    assert view['lastGather'] == '2024-02-29T00:00:00+00:00'
    newest = max(p.stat().st_mtime for p in ship.rglob('*.tar.gz'))
    assert view['lastUpload'] == datetime.fromtimestamp(newest, UTC).isoformat()
    assert (view['problems'], view['problemCount']) == ([], 0)


def test_problems_come_from_the_rollup_manifests(ship):
    since = datetime(2024, 2, 28, 6, tzinfo=UTC)
    bad = write_tarball(ship, key='job_host_summary', rows=[], since=since, until=since + timedelta(hours=1))
    bad.write_bytes(b'not a gzip file')
    UsageReader(StorageDirectory(ship), persist=True).usage('day', date(2024, 2, 27), date(2024, 2, 29))
    view = collection_view(StorageDirectory(ship), date(2024, 2, 27), date(2024, 2, 29)).to_json()
    (problem,) = view['problems']
    assert (problem['day'], problem['collector'], problem['package']) == ('2024-02-28', 'job_host_summary', bad.name)
    assert 'none of its rows are used' in problem['message']
    jhs = next(c for c in view['collectors'] if c['name'] == 'job_host_summary')
    assert [(d['day'], d['packages'], d['problems']) for d in jhs['days']] == [
        ('2024-02-27', 1, 0),
        ('2024-02-28', 2, 1),
    ]


MANIFESTS = {
    'not-json': b'{"problems": [',
    'a-list': b'[1, 2]',
    'problems-not-a-list': b'{"problems": "everything"}',
    'problem-without-message': b'{"problems": [{"name": "x"}]}',
    'message-not-text': b'{"problems": [{"name": "x", "message": 5}]}',
    'huge': b'{"problems": [], "pad": "' + b'x' * (2 << 20) + b'"}',
    'deeply-nested': b'[' * 100_000 + b']' * 100_000,
}


@pytest.mark.hostile
@pytest.mark.parametrize('content', MANIFESTS.values(), ids=list(MANIFESTS))
def test_a_garbled_rollup_manifest_lists_no_problem(ship, content):
    (ship / 'rollups/2024/02/27').mkdir(parents=True)
    (ship / 'rollups/2024/02/27/manifest.json').write_bytes(content)
    view = collection_view(StorageDirectory(ship), date(2024, 2, 27), date(2024, 2, 28)).to_json()
    assert (view['problems'], view['problemCount']) == ([], 0)


FOREIGN = {
    'not-a-package': 'data/2024/02/27/notes.txt',
    'package-in-a-subfolder': 'data/2024/02/27/old/2b54dd1f-8c3a-4b6e-9d2f-0a1b2c3d4e5f-0-job_host_summary.tar.gz',
    'package-in-a-month-folder': 'data/2024/02/2b54dd1f-8c3a-4b6e-9d2f-0a1b2c3d4e5f-0-job_host_summary.tar.gz',
    'day-that-is-no-date': 'data/2024/02/30/2b54dd1f-8c3a-4b6e-9d2f-0a1b2c3d4e5f-0-job_host_summary.tar.gz',
    'day-out-of-range-folder': 'data/2024/02/2x/2b54dd1f-8c3a-4b6e-9d2f-0a1b2c3d4e5f-0-job_host_summary.tar.gz',
}


@pytest.mark.hostile
@pytest.mark.parametrize('name', FOREIGN.values(), ids=list(FOREIGN))
def test_objects_that_are_not_packages_of_a_day_are_not_counted(ship, name):
    (ship / name).parent.mkdir(parents=True, exist_ok=True)
    (ship / name).write_bytes(b'x')
    view = collection_view(StorageDirectory(ship), date(2024, 2, 1), date(2024, 3, 1)).to_json()
    assert sum(d['packages'] for c in view['collectors'] for d in c['days']) == len(list(ship.rglob('*.tar.gz'))) - (
        0 if name.endswith('.txt') else 1
    )
    assert len(view['gaps']) == 27


def test_problems_are_listed_up_to_a_bound_and_counted_all(ship):
    problems = [{'day': '2024-02-27', 'name': f'p{i}', 'message': f'm{i}'} for i in range(MAX_PROBLEMS + 5)]
    (ship / 'rollups/2024/02/27').mkdir(parents=True)
    (ship / 'rollups/2024/02/27/manifest.json').write_text(json.dumps({'problems': problems}))
    view = collection_view(StorageDirectory(ship), date(2024, 2, 27), date(2024, 2, 28))
    assert (len(view.problems), view.problem_count) == (MAX_PROBLEMS, MAX_PROBLEMS + 5)
    assert view.problems[0] == {'day': '2024-02-27', 'collector': 'unknown', 'package': 'p0', 'message': 'm0'}


def test_additional_sources_are_listed_too(ship, tmp_path_factory):
    other = tmp_path_factory.mktemp('other')
    synthetic(date(2024, 2, 29), 1, install_uuid='7c0f6a52-9d1e-4c55-8a0b-3e2f1d4c5b6a').write(other)
    storage = MultiStorage(StorageDirectory(ship), [StorageDirectory(other)])
    view = collection_view(storage, date(2024, 2, 26), date(2024, 3, 1)).to_json()
    assert view['gaps'] == ['2024-02-26']
    assert view['lastGather'] == '2024-03-01T00:00:00+00:00'
