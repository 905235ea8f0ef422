"""What was gathered, per collector and day, from the storage listing and the rollup manifests alone.

Why no package is opened: the dashboard asks this on every load, and a month of packages is gigabytes. The listing
gives each package's collector (from its name), size and upload time; the window in its name gives the last
gathered instant; the rollup manifest of a day (`rollups/YYYY/MM/DD/manifest.json`, written when reports or usage
read the day) lists the problems met reading its packages. Rows are counted only where a rollup says so: a day's
row count would need every package opened, so `rows` is None here and the packages and bytes tell the volume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from metrics_utility.library.dataframes.store import rollup_prefix
from metrics_utility.library.extract import days
from metrics_utility.library.package_listing import list_packages
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.library.storage.multi import MultiStorage

MAX_MANIFEST_BYTES = 1 << 20
MAX_PROBLEMS = 200  # the view lists the first problems; `problemCount` counts them all


@dataclass
class CollectorDay:
    day: date
    packages: int = 0
    bytes: int = 0
    problems: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            'day': self.day.isoformat(),
            'rows': None,
            'packages': self.packages,
            'bytes': self.bytes,
            'problems': self.problems,
        }


@dataclass
class CollectionView:
    since: date
    until: date
    collectors: dict[str, dict[date, CollectorDay]] = field(default_factory=dict)
    gaps: list[date] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    problem_count: int = 0
    last_gather: datetime | None = None
    last_upload: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            'since': self.since.isoformat(),
            'until': self.until.isoformat(),
            'lastGather': self.last_gather.isoformat() if self.last_gather else None,
            'lastUpload': self.last_upload.isoformat() if self.last_upload else None,
            'collectors': [
                {'name': name, 'days': [d.to_json() for _, d in sorted(per_day.items())]}
                for name, per_day in sorted(self.collectors.items())
            ],
            'gaps': [d.isoformat() for d in self.gaps],
            'problems': self.problems,
            'problemCount': self.problem_count,
        }


def _manifest_problems(storage: Storage, day: date) -> list[dict[str, Any]]:
    """The problems a day's rollup manifest records; [] when there is none or it is not readable."""
    name = f'{rollup_prefix(day)}/manifest.json'
    try:
        if not storage.exists(name):
            return []
        with storage.get(name) as path:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                return []
            value = json.loads(path.read_bytes())
    except (StorageError, OSError, ValueError, RecursionError):
        return []
    problems = value.get('problems') if isinstance(value, dict) else None
    if not isinstance(problems, list):
        return []
    return [p for p in problems if isinstance(p, dict) and isinstance(p.get('message'), str)]


def collection_view(storage: Storage, since: date, until: date) -> CollectionView:
    """Packages per collector and day of [since, until), the days without any package, problems, last times."""
    view = CollectionView(since, until)
    main = storage.primary if isinstance(storage, MultiStorage) else storage
    listing = list_packages(storage, since, until)
    packages: dict[str, str] = {}  # package base name → collector, for the manifests' problems
    for day, listed in listing.items():
        for package in listed:
            collector = package.parsed.collection_key or 'unknown'
            packages[package.parsed.name] = collector
            entry = view.collectors.setdefault(collector, {}).setdefault(day, CollectorDay(day))
            entry.packages += 1
            entry.bytes += package.size
            until_ = package.parsed.until
            if until_ is not None and (view.last_gather is None or until_ > view.last_gather):
                view.last_gather = until_
            if package.modified is not None and (view.last_upload is None or package.modified > view.last_upload):
                view.last_upload = package.modified
    seen_days = set(listing)
    view.gaps = [day for day in days(since, until) if day not in seen_days]
    for day in sorted(seen_days):
        for problem in _manifest_problems(main, day):
            package = str(problem.get('name', ''))
            collector = packages.get(package) or (package if package in view.collectors else 'unknown')
            entry = view.collectors.get(collector, {}).get(day)
            if entry is not None:
                entry.problems += 1
            view.problem_count += 1
            if len(view.problems) < MAX_PROBLEMS:
                view.problems.append(
                    {'day': day.isoformat(), 'collector': collector, 'package': package, 'message': problem['message']}
                )
    return view
