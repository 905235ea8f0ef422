"""A month's usage digest: what month, quarter and year figures need, small enough to read a year of in well under a
second (`rollups/usage/YYYY-MM.parquet`, docs/serve.md).

Why: a period's managed nodes are distinct identities over the period, so a month cannot be kept as a count; a cold
read of a year of daily rollups takes tens of seconds. The digest keeps, per organization and for everyone (a null
organization), the month's distinct identities and distinct jobs as 64-bit hashes, and the task runs per (day,
organization); a month, quarter or year is the union of its months' hashes. It is valid only while the signatures
of the month's days (names, sizes and times of their packages, as `usage_periods` computes them) all still match
those in its metadata; otherwise it is rebuilt.

Hashes: the first 8 bytes of blake2b of the identity's UTF-8 text (a job: `<install uuid>/<job id>`), stable across
processes and releases. Two different identities share a hash with probability about n²/2⁶⁵ for n distinct ones:
for a million identities a year that is 3·10⁻⁸, a figure off by one once in tens of millions of storages.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metrics_utility.library.extract import days
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.library.tempdir import job_tempdir

log = logging.getLogger(__name__)

PREFIX = 'rollups/usage'
VERSION = 1
METADATA_KEY = b'metrics_utility.usage_digest'
IDENTITY, JOB, TASK_RUNS = 'identity', 'job', 'task_runs'
SCHEMA = pa.schema(
    [
        ('organization', pa.string()),
        ('kind', pa.dictionary(pa.int8(), pa.string())),
        ('day', pa.date32()),  # task runs only
        ('value', pa.int64()),  # a hash (its 64 bits), or the day's task runs
    ]
)


def text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode('utf-8', 'surrogatepass'), digest_size=8).digest(), 'big')


def text_hashes(texts: Iterable[str]) -> np.ndarray:
    return np.fromiter((text_hash(t) for t in texts), dtype=np.uint64)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    """The first day of the next month."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def digest_name(month: date) -> str:
    return f'{PREFIX}/{month:%Y-%m}.parquet'


@dataclass(frozen=True)
class OrganizationMonth:
    identities: np.ndarray  # distinct identity hashes, sorted
    jobs: np.ndarray  # distinct job hashes, sorted
    task_runs: dict[date, int]  # per day with any


@dataclass(frozen=True)
class MonthDigest:
    month: date
    signatures: dict[date, str]  # every day of the month
    organizations: dict[str, OrganizationMonth]
    everyone: OrganizationMonth  # the union of the organizations (kept: the first page asks for it)
    key: str = field(init=False)  # names this digest's content (its days' signatures)

    def __post_init__(self) -> None:
        record = json.dumps(sorted((d.isoformat(), s) for d, s in self.signatures.items()))
        object.__setattr__(self, 'key', hashlib.sha256(record.encode()).hexdigest())

    @classmethod
    def of(cls, month: date, signatures: dict[date, str], organizations: dict[str, OrganizationMonth]) -> MonthDigest:
        """A digest with `everyone` made from its organizations."""
        identities = _union([p.identities for p in organizations.values()])
        jobs = _union([p.jobs for p in organizations.values()])
        return cls(month, signatures, organizations, OrganizationMonth(identities, jobs, _task_sums(organizations)))

    def select(self, organization: str | None) -> OrganizationMonth | None:
        return self.everyone if organization is None else self.organizations.get(organization)

    def matches(self, signatures: Mapping[date, str]) -> bool:
        """True while every day of the month still has the signature the digest was built from."""
        return all(signatures.get(day) == self.signatures.get(day) for day in days(self.month, month_end(self.month)))

    def covers(self, since: date, until: date, empty: str) -> bool:
        """Whether the digest answers [since, until) within its month: every day outside it had no packages."""
        return all(
            self.signatures.get(day) == empty
            for day in days(self.month, month_end(self.month))
            if not since <= day < until
        )


def _task_sums(organizations: Mapping[str, OrganizationMonth]) -> dict[date, int]:
    tasks: dict[date, int] = {}
    for part in organizations.values():
        for day, runs in part.task_runs.items():
            tasks[day] = tasks.get(day, 0) + runs
    return tasks


def _union(arrays: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct values of several arrays (by sorting: faster than a hash set for 64-bit hashes)."""
    if not arrays:
        return np.zeros(0, dtype=np.uint64)
    merged = np.sort(np.concatenate(arrays)) if len(arrays) > 1 else arrays[0]
    if len(merged) < 2:
        return merged
    return merged[np.concatenate(([True], merged[1:] != merged[:-1]))]


def _sorted_distinct(values: np.ndarray) -> np.ndarray:
    """`values` as stored (sorted, distinct) are taken as they are; anything else is made so."""
    if len(values) < 2 or bool(np.all(values[1:] > values[:-1])):
        return values
    return _union([np.sort(values)])


def union_figures(parts: list[tuple[MonthDigest, date, date]], organization: str | None) -> tuple[int, int, int]:
    """(managed nodes, job runs, task runs) of the union of month digests, each limited to [since, until) (which
    `covers` allowed), for one organization or everyone."""
    identities, jobs, task_runs = [], [], 0
    for digest, since, until in parts:
        part = digest.select(organization)
        if part is not None:
            identities.append(part.identities)
            jobs.append(part.jobs)
            task_runs += sum(n for day, n in part.task_runs.items() if since <= day < until)
    return len(_union(identities)), len(_union(jobs)), task_runs


# parquet (pure: table <-> digest) ------------------------------------------------------------------------------------
def to_table(digest: MonthDigest) -> pa.Table:
    """Rows of (organization, kind, day, value); `everyone`'s identities and jobs under a null organization."""
    organizations: list[str | None] = []
    kinds, day_values, values = [], [], []
    for name, part in [(None, digest.everyone), *digest.organizations.items()]:
        for kind, hashes in ((IDENTITY, part.identities), (JOB, part.jobs)):
            organizations += [name] * len(hashes)
            kinds += [kind] * len(hashes)
            day_values += [None] * len(hashes)
            values.append(hashes.astype(np.uint64).view(np.int64))
        if name is not None:
            organizations += [name] * len(part.task_runs)
            kinds += [TASK_RUNS] * len(part.task_runs)
            day_values += list(part.task_runs)
            values.append(np.array(list(part.task_runs.values()), dtype=np.int64))
    metadata = {
        'version': VERSION,
        'month': f'{digest.month:%Y-%m}',
        'signatures': {d.isoformat(): s for d, s in sorted(digest.signatures.items())},
    }
    columns = [
        pa.array(organizations, pa.string()),
        pa.array(kinds, pa.string()).dictionary_encode().cast(SCHEMA.field('kind').type),
        pa.array(day_values, pa.date32()),
        pa.array(np.concatenate(values), pa.int64()),
    ]
    schema = SCHEMA.with_metadata({METADATA_KEY: json.dumps(metadata).encode()})
    return pa.Table.from_arrays(columns, schema=schema)


def from_table(table: pa.Table, month: date) -> MonthDigest | None:
    """The digest in `table`, or None when it is not one of this version for `month` (then it is rebuilt)."""
    try:
        metadata = json.loads((table.schema.metadata or {})[METADATA_KEY])
        if metadata['version'] != VERSION or metadata['month'] != f'{month:%Y-%m}':
            return None
        signatures = {date.fromisoformat(d): str(s) for d, s in metadata['signatures'].items()}
        table = table.select([f.name for f in SCHEMA]).cast(SCHEMA)
    except (KeyError, ValueError, TypeError, AttributeError, pa.ArrowException):
        return None
    names = table['organization'].combine_chunks().dictionary_encode()
    org_codes = pc.fill_null(names.indices, -1).to_numpy(zero_copy_only=False)
    kinds = table['kind'].combine_chunks()
    kind_codes = pc.fill_null(kinds.indices, -1).to_numpy(zero_copy_only=False)
    kind_names = kinds.dictionary.to_pylist()
    codes = {kind: kind_names.index(kind) if kind in kind_names else -2 for kind in (IDENTITY, JOB, TASK_RUNS)}
    values = table['value'].to_numpy()
    hashes = values.view(np.uint64)
    task_rows = np.flatnonzero(kind_codes == codes[TASK_RUNS])
    task_runs = list(
        zip(
            table['day'].take(pa.array(task_rows)).to_pylist(),
            org_codes[task_rows].tolist(),
            values[task_rows].tolist(),
            strict=True,
        )
    )

    def part(code: int) -> OrganizationMonth:
        of_org = org_codes == code
        runs: dict[date, int] = {}
        for day, org, count in task_runs:
            if org == code and day is not None:
                runs[day] = runs.get(day, 0) + count
        return OrganizationMonth(
            _sorted_distinct(hashes[of_org & (kind_codes == codes[IDENTITY])]),
            _sorted_distinct(hashes[of_org & (kind_codes == codes[JOB])]),
            runs,
        )

    organizations = {name: part(code) for code, name in enumerate(names.dictionary.to_pylist())}
    stored = part(-1)
    everyone = OrganizationMonth(stored.identities, stored.jobs, _task_sums(organizations))
    return MonthDigest(month, signatures, organizations, everyone)


# where digests are kept ---------------------------------------------------------------------------------------------
class DigestStore:
    """Reads and writes month digests: in the storage when it takes writes (`persist`), else in `cache_dir` when one
    is set (a local directory for read-only storages). A digest that cannot be read or written costs only speed."""

    def __init__(self, storage: Storage, *, persist: bool, cache_dir: Path | None = None) -> None:
        self.storage = storage
        self.persist = persist
        self.cache_dir = cache_dir

    def load(self, month: date, signatures: Mapping[date, str]) -> MonthDigest | None:
        """A stored digest of `month` built from exactly these days' signatures (storage first, then the cache)."""
        for read in (self._from_storage, self._from_cache):
            digest = read(month)
            if digest is not None and digest.matches(signatures):
                return digest
        return None

    def save(self, digest: MonthDigest) -> None:
        table = to_table(digest)
        if self.persist:
            try:
                with job_tempdir(prefix='usage-digest-') as tmp:
                    pq.write_table(table, tmp / 'digest.parquet')
                    self.storage.put(digest_name(digest.month), filename=tmp / 'digest.parquet')
                return
            except (StorageError, OSError) as exc:
                log.warning('cannot store the usage digest of %s (%s)', f'{digest.month:%Y-%m}', exc)
        if self.cache_dir is not None:
            path = self.cache_dir / Path(digest_name(digest.month)).name
            partial = path.with_name(path.name + '.partial')
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, partial)
                partial.replace(path)
            except OSError as exc:
                log.warning('cannot keep the usage digest of %s in the cache directory (%s)', digest.month, exc)

    def _from_storage(self, month: date) -> MonthDigest | None:
        name = digest_name(month)
        try:
            if not self.storage.exists(name):
                return None
            with self.storage.get(name) as path:
                return _read(path, month)
        except (StorageError, OSError) as exc:
            log.debug('usage digest %s not read (%s)', name, exc)
            return None

    def _from_cache(self, month: date) -> MonthDigest | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / Path(digest_name(month)).name
        return _read(path, month) if path.is_file() else None


def _read(path: Path, month: date) -> MonthDigest | None:
    try:
        return from_table(pq.read_table(path), month)
    except (OSError, pa.ArrowException) as exc:
        log.debug('usage digest %s not read (%s)', path.name, exc)
        return None
