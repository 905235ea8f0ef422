"""The packages of a range of days, from one listing per month of the storage (and of every additional source).

Why: the usage cache and the collection view must know, for hundreds of days, which packages each day holds and
whether they changed, without one request per day (a year is 12 listings, not 365 globs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from metrics_utility.library.extract import days
from metrics_utility.library.package.naming import TarballName, parse_tarball_name
from metrics_utility.library.storage import Storage
from metrics_utility.library.storage.multi import MultiStorage


@dataclass(frozen=True)
class ListedPackage:
    name: str  # the object name, data/YYYY/MM/DD/<package>
    parsed: TarballName
    size: int
    modified: datetime | None


def month_prefixes(since: date, until: date) -> list[str]:
    """The `data/YYYY/MM/` prefixes covering [since, until)."""
    out: list[str] = []
    for day in days(since.replace(day=1), until):
        prefix = f'data/{day:%Y/%m}/'
        if not out or out[-1] != prefix:
            out.append(prefix)
    return out


def list_packages(storage: Storage, since: date, until: date) -> dict[date, list[ListedPackage]]:
    """Every package stored under a day of [since, until) (names that are not packages are left out), per day, in
    name order; a name held by several sources is listed once (the first source, as reads take it)."""
    sources = storage.all if isinstance(storage, MultiStorage) else (storage,)
    found: dict[date, dict[str, ListedPackage]] = {}
    for prefix in month_prefixes(since, until):
        for source in sources:
            for name, (size, modified) in source.list_stats(prefix).items():
                parts = name.split('/')
                parsed = parse_tarball_name(name, windowless=True)
                if parsed is None or len(parts) != 5:
                    continue
                try:
                    day = date(int(parts[1]), int(parts[2]), int(parts[3]))
                except ValueError:
                    continue
                if since <= day < until:
                    found.setdefault(day, {}).setdefault(name, ListedPackage(name, parsed, size, modified))
    return {day: [entries[n] for n in sorted(entries)] for day, entries in sorted(found.items())}
