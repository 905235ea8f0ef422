"""Month usage digests: the figures they give equal the per-day path's for every by/range/organization, where they
are kept (storage, cache directory, nowhere), and when they are rebuilt (a changed day, a digest that is not one)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from metrics_utility.library.storage import StorageDirectory, StorageError
from metrics_utility.library.usage_digest import (
    METADATA_KEY,
    MonthDigest,
    digest_name,
    from_table,
    text_hash,
    to_table,
    union_figures,
)
from metrics_utility.library.usage_periods import UsageReader, write_month_digests
from testsupport.report_data import synthetic, write_tarball

pytestmark = pytest.mark.unit
D = date
LONG = 'h' * 10_000


def add_row(base: Path, day: date, host: str, organization: str, job: int, index: int = 0) -> None:
    since = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    row = {
        'id': 900_000 + job,
        'host_name': host,
        'ok': 1,
        'job_remote_id': job,
        'organization_name': organization,
        'job_template_name': 't',
        'created': since,
        'modified': since,
        'job_created': since,
    }
    write_tarball(base, key='job_host_summary', rows=[row], since=since, until=since + timedelta(hours=1), index=index)


@pytest.fixture(scope='module')
def year(tmp_path_factory) -> Path:
    """Synthetic days 27 Feb – 2 Mar 2024, a day in May and one in December 2024, a hostile organization."""
    base = tmp_path_factory.mktemp('year')
    synthetic(D(2024, 2, 27), 5).write(base)
    synthetic(D(2024, 5, 10), 1, seed=11).write(base)
    add_row(base, D(2024, 12, 31), 'late.example.com', 'Zürich\x01 NA', 1_000_001)
    add_row(base, D(2024, 3, 1), 'null', 'Zürich\x01 NA', 1_000_002, index=1)
    return base


RANGES = {
    'months-clipped-first-and-last': ('month', D(2024, 2, 15), D(2024, 3, 2)),
    'months-of-a-year': ('month', D(2024, 1, 1), D(2025, 1, 1)),
    'quarters-clipped': ('quarter', D(2024, 2, 20), D(2024, 11, 3)),
    'years-across-new-year': ('year', D(2023, 6, 1), D(2025, 2, 1)),
    'clipped-inside-a-month-with-data-around': ('month', D(2024, 2, 28), D(2024, 2, 29)),
    'one-empty-month': ('month', D(2024, 4, 1), D(2024, 5, 1)),
}
ORGANIZATIONS = {'everyone': None, 'default': 'Default', 'hostile-name': 'Zürich\x01 NA', 'none-such': 'No such org'}
CASES = [(*RANGES[r], o) for r in RANGES for o in ORGANIZATIONS.values()]
CASE_IDS = [f'{r}-{o}' for r in RANGES for o in ORGANIZATIONS]


@pytest.fixture(scope='module')
def readers(year) -> tuple[UsageReader, UsageReader, UsageReader]:
    """The per-day reference, the reader that built and stored the digests, and a restarted one that reads them."""
    reference = UsageReader(StorageDirectory(year), monthly_digests=False)
    builder = UsageReader(StorageDirectory(year), persist=True)
    builder.usage('month', D(2023, 6, 1), D(2025, 2, 1))
    restarted = UsageReader(StorageDirectory(year))
    return reference, builder, restarted


@pytest.mark.parametrize(('by', 'since', 'until', 'organization'), CASES, ids=CASE_IDS)
def test_digests_give_the_per_day_figures(readers, by, since, until, organization):
    reference, builder, restarted = readers
    expected = reference.usage(by, since, until, organization)
    assert builder.usage(by, since, until, organization) == expected
    assert restarted.usage(by, since, until, organization) == expected
    assert restarted.digests_built == 0


def test_a_restarted_reader_reads_no_day_for_a_year_by_month(year, readers):
    _, builder, _ = readers
    assert builder.digests_built == 4  # the months with packages: empty months are neither built nor kept
    restarted = UsageReader(StorageDirectory(year))
    figures = restarted.usage('month', D(2024, 1, 1), D(2025, 1, 1))
    assert (restarted.days_read, restarted.digests_built) == (0, 0)
    assert [p.period.label for p in figures if p.managed_nodes] == ['2024-02', '2024-03', '2024-05', '2024-12']
    kept = sorted(p.name for p in (year / 'rollups' / 'usage').iterdir())
    assert kept == ['2024-02.parquet', '2024-03.parquet', '2024-05.parquet', '2024-12.parquet']


HOSTILE_IDENTITIES = {
    'NA': 'NA',
    'null': 'null',
    'empty': '',
    'control-characters': 'host\x00\x01\x1f\x7f',
    'ten-thousand-characters': LONG,
    'lone-surrogate-free-unicode': 'hôst-名前.example',
}


@pytest.mark.hostile
@pytest.mark.parametrize('identity', HOSTILE_IDENTITIES.values(), ids=list(HOSTILE_IDENTITIES))
def test_hostile_identities_and_organizations_count_as_the_per_day_path(tmp_path, identity):
    add_row(tmp_path, D(2024, 2, 3), 'plain.example.com', 'plain', 1)
    add_row(tmp_path, D(2024, 2, 4), identity, identity, 2)
    add_row(tmp_path, D(2024, 3, 4), identity, identity, 3)
    span = (D(2024, 1, 1), D(2025, 1, 1))
    reference = UsageReader(StorageDirectory(tmp_path), monthly_digests=False)
    UsageReader(StorageDirectory(tmp_path), persist=True).usage('month', *span)
    restarted = UsageReader(StorageDirectory(tmp_path))
    for organization in (None, identity, 'plain'):
        for by in ('month', 'quarter', 'year'):
            assert restarted.usage(by, *span, organization) == reference.usage(by, *span, organization)
    (whole,) = restarted.usage('year', *span)
    (theirs,) = restarted.usage('year', *span, identity)
    assert (restarted.days_read, restarted.digests_built) == (0, 0)
    assert (whole.managed_nodes, whole.job_runs) == (reference.usage('year', *span)[0].managed_nodes, 3)
    assert (theirs.job_runs, theirs.task_runs) == (2, reference.usage('year', *span, identity)[0].task_runs)


@pytest.fixture
def month(tmp_path: Path) -> Path:
    synthetic(D(2024, 2, 27), 2).write(tmp_path)
    return tmp_path


def test_a_changed_day_rebuilds_its_month_only(month):
    span = (D(2024, 1, 1), D(2024, 4, 1))
    first = UsageReader(StorageDirectory(month), persist=True)
    before = first.usage('month', *span)
    assert first.digests_built == 1
    stored = (month / digest_name(D(2024, 2, 1))).read_bytes()
    add_row(month, D(2024, 2, 10), 'new.example.com', 'Default', 777)
    restarted = UsageReader(StorageDirectory(month), persist=True)
    after = restarted.usage('month', *span)
    assert restarted.digests_built == 1  # February; January and March hold no packages
    assert after[1].managed_nodes == before[1].managed_nodes + 1
    assert after[1].job_runs == before[1].job_runs + 1
    assert (after[0], after[2]) == (before[0], before[2])
    assert (month / digest_name(D(2024, 2, 1))).read_bytes() != stored


def test_within_the_ttl_a_remembered_digest_is_not_checked_again(month):
    clock = [0.0]
    reader = UsageReader(StorageDirectory(month), ttl=60, clock=lambda: clock[0])
    (before,) = reader.usage('month', D(2024, 2, 1), D(2024, 3, 1))
    add_row(month, D(2024, 2, 10), 'new.example.com', 'Default', 777)
    assert reader.usage('month', D(2024, 2, 1), D(2024, 3, 1)) == [before]
    clock[0] = 61
    (after,) = reader.usage('month', D(2024, 2, 1), D(2024, 3, 1))
    assert after.managed_nodes == before.managed_nodes + 1
    assert reader.digests_built == 2


class ReadOnlyDirectory(StorageDirectory):
    def _store(self, name, kind, value):
        raise StorageError(f'cannot write {name} to {self.describe()}: Read-only file system')


def test_a_read_only_storage_keeps_digests_in_the_cache_directory(month, tmp_path_factory, caplog):
    cache = tmp_path_factory.mktemp('cache')
    span = (D(2024, 2, 1), D(2024, 4, 1))
    first = UsageReader(ReadOnlyDirectory(month), persist=True, cache_dir=cache)
    figures = first.usage('quarter', *span)
    assert not (month / 'rollups').exists()
    assert sorted(p.name for p in cache.iterdir()) == ['2024-02.parquet']
    assert 'cannot store the usage digest of 2024-02' in caplog.text
    restarted = UsageReader(ReadOnlyDirectory(month), cache_dir=cache)
    assert restarted.usage('quarter', *span) == figures
    assert (restarted.days_read, restarted.digests_built) == (0, 0)


def test_without_persistence_or_cache_nothing_is_written(month):
    reader = UsageReader(StorageDirectory(month))
    reader.usage('year', D(2024, 1, 1), D(2025, 1, 1))
    assert reader.digests_built == 1
    assert not (month / 'rollups').exists()


def not_a_parquet(path: Path) -> None:
    path.write_bytes(b'PAR1 not really')


def empty(path: Path) -> None:
    path.write_bytes(b'')


def without_metadata(path: Path) -> None:
    pq.write_table(pq.read_table(path).replace_schema_metadata({}), path)


def with_metadata(**change):
    def rewrite(path: Path) -> None:
        import json

        table = pq.read_table(path)
        metadata = json.loads(table.schema.metadata[METADATA_KEY])
        metadata.update(change)
        pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata)}), path)

    return rewrite


def without_column(path: Path) -> None:
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(['value']), path)


CORRUPT = {
    'not-a-parquet-file': not_a_parquet,
    'empty-file': empty,
    'no-digest-metadata': without_metadata,
    'another-version': with_metadata(version=99),
    'another-month': with_metadata(month='2024-03'),
    'signatures-not-a-mapping': with_metadata(signatures=['x']),
    'a-day-that-does-not-exist': with_metadata(signatures={'2024-02-30': 'x'}),
    'a-column-missing': without_column,
}


@pytest.mark.hostile
@pytest.mark.parametrize('corrupt', CORRUPT.values(), ids=list(CORRUPT))
def test_a_stored_digest_that_is_not_one_is_rebuilt(month, corrupt):
    span = (D(2024, 2, 1), D(2024, 3, 1))
    (expected,) = UsageReader(StorageDirectory(month), persist=True).usage('month', *span)
    corrupt(month / digest_name(D(2024, 2, 1)))
    reader = UsageReader(StorageDirectory(month), persist=True)
    assert reader.usage('month', *span) == [expected]
    assert reader.digests_built == 1
    assert UsageReader(StorageDirectory(month)).usage('month', *span) == [expected]  # rewritten: read again


def test_the_parquet_form_keeps_the_digest_exactly(month):
    reader = UsageReader(StorageDirectory(month))
    (digest,) = reader.month_digests(D(2024, 2, 1), D(2024, 3, 1)).values()
    again = from_table(to_table(digest), D(2024, 2, 1))
    assert isinstance(again, MonthDigest)
    assert (again.key, again.signatures, set(again.organizations)) == (
        digest.key,
        digest.signatures,
        set(digest.organizations),
    )
    for name, part in digest.organizations.items():
        assert again.organizations[name].identities.tolist() == part.identities.tolist()
        assert again.organizations[name].jobs.tolist() == part.jobs.tolist()
        assert again.organizations[name].task_runs == part.task_runs
    assert again.everyone.identities.tolist() == digest.everyone.identities.tolist()
    assert again.everyone.jobs.tolist() == digest.everyone.jobs.tolist()
    assert again.everyone.task_runs == digest.everyone.task_runs
    assert len(digest.everyone.identities) > max(len(p.identities) for p in digest.organizations.values())
    assert to_table(digest).schema.field('value').type == pa.int64()


def test_identity_hashes_are_stable():
    """Digests outlive processes and releases: the hash of a text is fixed (blake2b, 8 bytes, big-endian)."""
    assert text_hash('host1.example.com') == 0x0A7A6D69F093834B
    assert text_hash('\udcff') != text_hash('')  # a lone surrogate (a broken name) hashes, never raises


def test_build_report_leaves_the_digests_of_its_whole_months(month):
    assert write_month_digests(StorageDirectory(month), D(2024, 2, 1), D(2024, 3, 1)) == 1
    assert write_month_digests(StorageDirectory(month), D(2024, 2, 1), D(2024, 3, 1)) == 0  # still matching
    assert write_month_digests(StorageDirectory(month), D(2024, 2, 15), D(2024, 3, 10)) == 0  # no whole month
    assert write_month_digests(StorageDirectory(month), D(2024, 1, 10), D(2024, 4, 1)) == 0  # March: no packages
    add_row(month, D(2024, 3, 5), 'march.example.com', 'Default', 5)
    assert write_month_digests(StorageDirectory(month), D(2024, 1, 10), D(2024, 4, 1)) == 1  # March
    assert sorted(p.name for p in (month / 'rollups' / 'usage').iterdir()) == ['2024-02.parquet', '2024-03.parquet']


def test_stored_hashes_out_of_order_or_repeated_are_counted_once(month):
    """A digest is written sorted and distinct; one that is not (another writer, an edit) still counts each once."""
    reader = UsageReader(StorageDirectory(month))
    (digest,) = reader.month_digests(D(2024, 2, 1), D(2024, 3, 1)).values()
    table = to_table(digest)
    untidy = pa.concat_tables([table.slice(0, 0), table.filter(pc.not_equal(table['kind'], 'task_runs'))])
    untidy = pa.concat_tables([untidy.take(pa.array(range(untidy.num_rows - 1, -1, -1))), table])
    again = from_table(untidy.replace_schema_metadata(table.schema.metadata), D(2024, 2, 1))
    assert again is not None
    span = [(digest, D(2024, 2, 1), D(2024, 3, 1))]
    for organization in (None, *digest.organizations):
        assert union_figures([(again, *span[0][1:])], organization) == union_figures(span, organization)
