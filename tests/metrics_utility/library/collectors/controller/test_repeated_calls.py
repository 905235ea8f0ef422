"""The library contract for repeated calls: several windows of a collector into one output_dir, then one Package.

Upstream's contract lets collectors name their files at random for exactly this; members of the packages keep the
collector's key as their name, and every row reaches the packages exactly once.
"""

from __future__ import annotations

import csv
import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from metrics_utility.library.collectors.controller import job_host_summary, main_jobevent
from metrics_utility.library.package import Package, PackageError
from metrics_utility.library.slicing import daily_slices

from .conftest import read_csv

pytestmark = pytest.mark.integration
WINDOWS = daily_slices(datetime(2024, 2, 28, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))  # three days
UUID = '00000000-0000-4000-8000-000000000001'
KEY_COLUMN = {'job_host_summary': 'id', 'main_jobevent': 'id'}


def _ids(rows: list[dict[str, str]], key: str) -> list[str]:
    return sorted(row[KEY_COLUMN[key]] for row in rows)


@pytest.mark.parametrize('factory', [job_host_summary, main_jobevent], ids=['job_host_summary', 'main_jobevent'])
def test_three_calls_into_one_output_dir_keep_every_file(reader_conn, tmp_path: Path, factory):
    shared = tmp_path / 'job'
    files = [
        p
        for since, until in WINDOWS
        for p in factory(db=reader_conn, since=since, until=until, output_dir=shared).gather()
    ]
    whole = factory(db=reader_conn, since=WINDOWS[0][0], until=WINDOWS[-1][1], output_dir=tmp_path / 'whole').gather()
    assert len(files) == len(WINDOWS) == len(set(files))
    assert sorted(shared.iterdir()) == sorted(files)
    assert all(p.name.startswith(f'{factory.info.key}.') and p.suffix == '.csv' for p in files)
    key = factory.info.key
    assert _ids(read_csv(files), key) == _ids(read_csv(whole), key) and len(read_csv(whole)) > 0


def test_three_windows_of_two_collectors_in_one_package_build_hold_every_row_once(reader_conn, tmp_path: Path):
    shared, out = tmp_path / 'job', tmp_path / 'packages'
    out.mkdir()
    collectors = [
        factory(db=reader_conn, since=since, until=until, output_dir=shared)
        for factory in (job_host_summary, main_jobevent)
        for since, until in WINDOWS
    ]
    built = Package(
        config={'install_uuid': UUID}, collectors=collectors, since=WINDOWS[0][0], until=WINDOWS[-1][1], output_dir=out
    )
    packages = list(built.build())
    members: dict[str, list[bytes]] = {}
    for package in packages:
        with tarfile.open(package.path, 'r:gz') as tar:
            names = [m.name for m in tar.getmembers()]
            assert len(names) == len(set(names)), names  # a package never holds one member name twice
            for member in tar.getmembers():
                name = member.name.removeprefix('./')
                if name in ('job_host_summary.csv', 'main_jobevent.csv'):
                    members.setdefault(name.removesuffix('.csv'), []).append(tar.extractfile(member).read())
    assert [run.key for run in built.runs] == [c.key for c in collectors] and all(run.ok for run in built.runs)
    assert not any(shared.iterdir())  # Package removed every file it packed
    for key, factory in (('job_host_summary', job_host_summary), ('main_jobevent', main_jobevent)):
        packed = [row for data in members[key] for row in csv.DictReader(io.StringIO(data.decode(), newline=''))]
        whole = read_csv(
            factory(
                db=reader_conn, since=WINDOWS[0][0], until=WINDOWS[-1][1], output_dir=tmp_path / f'whole-{key}'
            ).gather()
        )
        assert len(members[key]) == len(WINDOWS)
        assert _ids(packed, key) == _ids(whole, key) and len(set(_ids(packed, key))) == len(packed) > 0


SAME_WINDOW_TWICE = {
    'the same call twice': lambda conn, d: (
        [job_host_summary(db=conn, since=WINDOWS[0][0], until=WINDOWS[0][1], output_dir=d)] * 2
    ),
    'two calls of one window': lambda conn, d: [
        job_host_summary(db=conn, since=WINDOWS[1][0], until=WINDOWS[1][1], output_dir=d) for _ in range(2)
    ],
}


@pytest.mark.hostile
@pytest.mark.parametrize('make', SAME_WINDOW_TWICE.values(), ids=list(SAME_WINDOW_TWICE))
def test_one_window_of_a_collector_given_twice_is_refused(reader_conn, tmp_path: Path, make):
    with pytest.raises(PackageError) as caught:
        Package(
            config={'install_uuid': UUID},
            collectors=make(reader_conn, tmp_path),
            since=WINDOWS[0][0],
            until=WINDOWS[-1][1],
            output_dir=tmp_path,
        )
    assert (
        str(caught.value) == "collector 'job_host_summary' given twice for one window; its rows would be packed twice"
    )
