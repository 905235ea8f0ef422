"""The reports a storage holds, listed without opening a workbook, and the one found by its id.

Why: `reports list|get` and the server's `/api/v1/reports` answer from the storage listing alone. A report's name says
its type and period (`reports/YYYY/MM/<TYPE>-<YYYY-MM>.xlsx`, or `…/<TYPE>-<since>--<last>.xlsx`, build.py); its billed
quantity comes from the small JSON sidecar `build-report` writes next to it (`<same name>.json`). A report without a
readable sidecar (older ones, or a garbled file) lists its quantity as None: a list call never opens a workbook.

The id is the report's base name without `.xlsx` (`CCSPv2-2026-11`): URL-safe, stable, and it names nothing of the
storage beyond what the report name itself says. Names that do not parse are not reports and are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from metrics_utility.contract import REPORT_TYPES
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.library.storage.multi import MultiStorage

PREFIX = 'reports'
SUFFIX = '.xlsx'
SIDECAR_SUFFIX = '.json'
MAX_SIDECAR_BYTES = 16 * 1024  # a sidecar is ~200 bytes; anything much larger is not ours and is not parsed
MAX_QUANTITY = 10**12
CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
_TYPES = '|'.join(re.escape(t) for t in REPORT_TYPES)
_ID = re.compile(
    rf'(?P<type>{_TYPES})-(?:(?P<month>[0-9]{{4}}-[0-9]{{2}})|(?P<since>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})--'
    rf'(?P<last>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}))'
)


class ReportNotFound(StorageError):
    """No report answers to the id or the month and type asked for."""

    exit_code = 2


@dataclass(frozen=True)
class ReportEntry:
    """One stored report. `until` is excluded (the day after the report's last day)."""

    id: str
    type: str
    since: date
    until: date
    month: str | None
    name: str
    size: int | None = None
    modified: datetime | None = None
    billed_quantity: int | None = None
    job_runs: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            'id': self.id,
            'type': self.type,
            'since': self.since.isoformat(),
            'until': self.until.isoformat(),
            'month': self.month,
            'name': self.name,
            'size': self.size,
            'modified': self.modified.isoformat() if self.modified else None,
            'billedQuantity': self.billed_quantity,
        }

    @property
    def file_name(self) -> str:
        return self.name.rsplit('/', 1)[-1]


def parse_id(report_id: str) -> ReportEntry | None:
    """The report an id names (type, period, canonical storage name), or None when it names none."""
    match = _ID.fullmatch(report_id)
    if match is None:
        return None
    try:
        if match['month']:
            since = date.fromisoformat(match['month'] + '-01')
            until = date(since.year + since.month // 12, since.month % 12 + 1, 1)
            folder = since
        else:
            since, last = date.fromisoformat(match['since']), date.fromisoformat(match['last'])
            if last < since:
                return None
            until, folder = last + timedelta(days=1), last
    except ValueError:  # 2026-13, 2026-02-30
        return None
    name = f'{PREFIX}/{folder:%Y/%m}/{report_id}{SUFFIX}'
    return ReportEntry(report_id, match['type'], since, until, match['month'], name)


def parse_name(name: str) -> ReportEntry | None:
    """The report a storage name holds, or None when the name is not exactly what build-report writes."""
    if not name.startswith(f'{PREFIX}/') or not name.endswith(SUFFIX):
        return None
    entry = parse_id(name.rsplit('/', 1)[-1][: -len(SUFFIX)])
    return entry if entry is not None and entry.name == name else None


def report_id(report_type: str, month: str | None, since: date, until: date) -> str:
    """The id of a report of `report_type` for a month, or for the days `since` to `until` (excluded)."""
    if month:
        return f'{report_type}-{month}'
    return f'{report_type}-{since.isoformat()}--{(until - timedelta(days=1)).isoformat()}'


def sidecar_name(report_name: str) -> str:
    return report_name[: -len(SUFFIX)] + SIDECAR_SUFFIX


def sidecar(entry: ReportEntry, quantity: int | None, job_runs: int | None, generated: datetime) -> dict[str, Any]:
    """The sidecar `build-report` stores next to a report: what a listing shows without opening the workbook."""
    return {
        'type': entry.type,
        'since': entry.since.isoformat(),
        'until': entry.until.isoformat(),
        'month': entry.month,
        'quantity': quantity,
        'jobRuns': job_runs,
        'generated': generated.astimezone(UTC).isoformat(),
    }


def read_sidecar(text: bytes, entry: ReportEntry) -> tuple[int | None, int | None]:
    """(quantity, job runs) from a sidecar's bytes; each None unless it is a whole number in range, and both None
    when the sidecar is not a JSON object of this very report (type and period must match)."""
    if len(text) > MAX_SIDECAR_BYTES:
        return None, None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(value, dict):
        return None, None
    if (value.get('type'), value.get('since'), value.get('until')) != (
        entry.type,
        entry.since.isoformat(),
        entry.until.isoformat(),
    ):
        return None, None
    return _count(value.get('quantity')), _count(value.get('jobRuns'))


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUANTITY:
        return None
    return value


def _shown(value: str, limit: int = 100) -> str:
    """An id quoted for a message: control characters escaped, cut at `limit` characters."""
    return repr(value[:limit]) + (f'… ({len(value)} characters)' if len(value) > limit else '')


def main_storage(storage: Storage) -> Storage:
    """Reports live in the main storage alone (several sources only add packages)."""
    return storage.primary if isinstance(storage, MultiStorage) else storage


def list_reports(storage: Storage) -> list[ReportEntry]:
    """Every report of the storage, newest period first (then by type); one listing plus one small read per
    sidecar."""
    storage = main_storage(storage)
    stats = storage.list_stats(f'{PREFIX}/')
    entries = []
    for name, (size, modified) in stats.items():
        entry = parse_name(name)
        if entry is None:
            continue
        quantity, job_runs = None, None
        side = sidecar_name(name)
        if side in stats and stats[side][0] <= MAX_SIDECAR_BYTES:
            try:
                with storage.get(side) as path:
                    quantity, job_runs = read_sidecar(path.read_bytes()[: MAX_SIDECAR_BYTES + 1], entry)
            except (StorageError, OSError):
                pass
        entries.append(replace(entry, size=size, modified=modified, billed_quantity=quantity, job_runs=job_runs))
    return sorted(entries, key=lambda e: (-e.until.toordinal(), -e.since.toordinal(), e.type, e.id))


def find(storage: Storage, report_id: str) -> ReportEntry:
    """The stored report `report_id`; ReportNotFound when there is none."""
    entry = parse_id(report_id)
    if entry is None or not main_storage(storage).exists(entry.name):
        raise ReportNotFound(f'no report {_shown(report_id)}')  # the storage's path is not the caller's business
    return next((e for e in list_reports(storage) if e.id == report_id), entry)
