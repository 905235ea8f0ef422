"""The extractor over a storage: day listing, key filtering, historical names, problems kept, not raised."""

import gzip
import io
import tarfile
from datetime import UTC, date, datetime, timedelta

import pytest

from metrics_utility.library.extract import Extractor
from metrics_utility.library.storage import StorageDirectory
from testsupport.report_data import pg_ts, write_tarball

pytestmark = pytest.mark.unit


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _write(base, day, key, n, **kw):
    rows = [{'id': i, 'host_name': f'h{i}', 'modified': pg_ts(_at(day)), 'ok': 1} for i in range(n)]
    if key == 'main_host':
        rows = [{'host_name': f'h{i}', 'host_id': i} for i in range(n)]
    return write_tarball(base, key=key, rows=rows, since=_at(day), until=_at(day) + timedelta(days=1), **kw)


def test_reads_each_day_and_filters_by_key(tmp_path):
    day = date(2024, 2, 29)
    _write(tmp_path, day, 'job_host_summary', 3)
    _write(tmp_path, day, 'main_host', 2)
    _write(tmp_path, day + timedelta(days=1), 'job_host_summary', 1)
    (tmp_path / 'data/2024/02/29/README.txt').write_text('not a package')
    extractor = Extractor(StorageDirectory(tmp_path))
    packages = list(extractor.read_day(day, frozenset({'job_host_summary'})))
    assert [p.tables['job_host_summary'].num_rows for p in packages] == [3]
    assert len(extractor.tarballs(day)) == 2
    assert extractor.problems == []


def test_historical_names_are_opened_to_find_their_content(tmp_path):
    day = date(2024, 2, 29)
    _write(tmp_path, day, 'job_host_summary', 2, name_key=None)
    _write(tmp_path, day, 'job_host_summary', 1, name_key='unknown', index=1)
    _write(tmp_path, day, 'main_host', 4, name_key='config', index=2)
    extractor = Extractor(StorageDirectory(tmp_path))
    packages = list(extractor.read_day(day, frozenset({'job_host_summary'})))
    assert sorted(p.tables['job_host_summary'].num_rows for p in packages if 'job_host_summary' in p.tables) == [1, 2]


def test_corrupt_tarball_is_a_problem_not_a_failure(tmp_path):
    day = date(2024, 2, 29)
    good = _write(tmp_path, day, 'job_host_summary', 3)
    bad = _write(tmp_path, day, 'job_host_summary', 500, index=1)
    bad.write_bytes(bad.read_bytes()[:100])
    extractor = Extractor(StorageDirectory(tmp_path))
    packages = list(extractor.read_day(day))
    assert [p.name for p in packages] == [good.name]
    assert [(p.day, p.name) for p in extractor.problems] == [(day, bad.name)]
    assert extractor.problems[0].message.startswith('truncated .tar.gz (EOFError: ')
    assert extractor.problems[0].message.endswith('; none of its rows are used')


def test_signature_changes_when_a_package_is_rewritten(tmp_path):
    day = date(2024, 2, 29)
    path = _write(tmp_path, day, 'job_host_summary', 3)
    extractor = Extractor(StorageDirectory(tmp_path))
    before = extractor.signature(extractor.tarballs(day))
    _write(tmp_path, day, 'job_host_summary', 30)
    assert path.exists()
    assert extractor.signature(extractor.tarballs(day)) != before


def _bomb(path, members):
    """A package of `members` (name, size) members of zeros: kilobytes compressed, megabytes inflated."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as tar:
        for name, size in members:
            info = tarfile.TarInfo(f'./{name}')
            info.size = size
            tar.addfile(info, io.BytesIO(bytes(size)))
    path.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0))


BOMBS = [
    ('one-member-over-the-budget', [('job_host_summary.csv', 24 << 20)], 'job_host_summary.csv: over the size limit'),
    (
        'members-adding-up-over-the-budget',
        [('job_host_summary.csv', 6 << 20), ('main_host.csv', 6 << 20), ('main_jobevent.csv', 6 << 20)],
        'main_jobevent.csv: over the size limit',
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('members', 'message'), [c[1:] for c in BOMBS], ids=[c[0] for c in BOMBS])
def test_a_gzip_bomb_stops_at_the_byte_budget(tmp_path, members, message):
    day = date(2024, 2, 29)
    path = _write(tmp_path, day, 'job_host_summary', 1)
    _bomb(path, members)
    assert path.stat().st_size < 64 << 10  # kilobytes that would inflate to megabytes
    extractor = Extractor(StorageDirectory(tmp_path), max_bytes=16 << 20)
    assert list(extractor.read_day(day)) == []
    assert [(p.name, p.message) for p in extractor.problems] == [(path.name, f'{message}; none of its rows are used')]


def test_streamed_files_of_a_package_stay_while_the_next_is_read(tmp_path):
    day = date(2024, 2, 29)
    _write(tmp_path / 'store', day, 'job_host_summary', 3)
    _write(tmp_path / 'store', day, 'job_host_summary', 5, index=1)
    streamed = tmp_path / 'streamed'
    streamed.mkdir()
    extractor = Extractor(StorageDirectory(tmp_path / 'store'))
    packages = list(extractor.read_day(day, stream_to=streamed, streamed=frozenset({'job_host_summary'})))
    files = [p.files['job_host_summary'] for p in packages]
    assert len(set(files)) == 2
    assert [f.read_text().count('\n') for f in files] == [4, 6]  # header and rows of each package, both kept
