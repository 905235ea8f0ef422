"""Read the packages of a date range from any Storage, one day at a time.

Each day lists `data/YYYY/MM/DD/*.tar.gz` (the layout every target shares), so memory holds at most one package's
tables at a time. Every package is verified before any of its rows is used (`tarball.read_tables` parses only what
the verifier accepted). Problems (corrupt, truncated, unsafe or tampered tarballs, CSVs lacking required columns,
unparseable values) are collected in `problems` and shown on the report's data collection status sheet, in the
run summary and the operator's status; they never stop the report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from metrics_utility.library.package.naming import day_prefix, parse_tarball_name
from metrics_utility.library.package.verify import MAX_BYTES
from metrics_utility.library.storage import Storage, StorageDirectory, StorageError

from .tarball import PackageTables, TarballError, read_tables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """Something wrong with one stored object; `day` is its partition."""

    day: date
    name: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {'day': self.day.isoformat(), 'name': self.name, 'message': self.message}


def days(since: date, until: date) -> Iterator[date]:
    """Every day from `since` to `until`, `until` excluded."""
    day = since
    while day < until:
        yield day
        day += timedelta(days=1)


class Extractor:
    """Lists and reads one storage's packages; keeps every problem met on the way."""

    def __init__(self, storage: Storage, max_bytes: int = MAX_BYTES) -> None:
        self.storage = storage
        self.max_bytes = max_bytes  # inflated bytes read from one package at most (a gzip bomb stops there)
        self.problems: list[Problem] = []

    def tarballs(self, day: date) -> list[str]:
        """The day's package names (sorted), ignoring files that are not packages."""
        names = self.storage.glob(f'{day_prefix(day)}/*.tar.gz')
        return [n for n in names if parse_tarball_name(n, windowless=True) is not None]

    def signature(self, names: list[str]) -> list[dict[str, Any]]:
        """What identifies the current content of `names`: name plus size and mtime (or etag) when cheap to know.

        A rollup records this and is rebuilt when it changes. Targets that can tell an object's size or etag
        without downloading it expose `stat(name) -> dict`; a directory is stat'ed directly. Otherwise only names
        are compared (deterministic names: a re-shipped window with the same name is not detected; use
        build-report --rebuild-rollups).
        """
        stat = getattr(self.storage, 'stat', None)
        out: list[dict[str, Any]] = []
        for name in names:
            entry: dict[str, Any] = {'name': name}
            if isinstance(self.storage, StorageDirectory):
                st = (self.storage.base_path / name).stat()
                entry.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
            elif callable(stat):
                entry.update(stat(name))
            out.append(entry)
        return out

    def read_day(
        self,
        day: date,
        keys: frozenset[str] | None = None,
        names: list[str] | None = None,
        *,
        stream_to: Path | None = None,
        streamed: frozenset[str] = frozenset(),
    ) -> Iterator[PackageTables]:
        """Yield the day's packages that may hold `keys` (None = all keys); bad ones become problems.

        With `stream_to`, the CSVs of `streamed` keys land there as files (`PackageTables.files`), each package's
        in a directory of its own: a package's files stay while the next package is read."""
        for number, name in enumerate(self.tarballs(day) if names is None else names):
            parsed = parse_tarball_name(name, windowless=True)
            if parsed is None or not parsed.may_hold(keys):
                continue
            own = None
            if stream_to is not None:
                own = stream_to / f'package-{number}'
                own.mkdir()
            try:
                with self.storage.get(name) as path:
                    package = read_tables(
                        path, parsed.name, keys, max_bytes=self.max_bytes, stream_to=own, streamed=streamed
                    )
            except TarballError as exc:
                log.warning('skipping %s: %s', name, exc)
                self.problems.append(Problem(day, parsed.name, f'{exc}; none of its rows are used'))
                continue
            except StorageError as exc:
                self.problems.append(Problem(day, parsed.name, f'cannot read from storage: {exc}'))
                continue
            if not package.install_uuid:
                package.config['install_uuid'] = parsed.install_uuid
            for warning in package.warnings:
                self.problems.append(Problem(day, parsed.name, warning))
            yield package
