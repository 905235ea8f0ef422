"""Figures of a period, persisted: a warm rebuild of the same report reads one small file instead of the month.

The key is a hash of everything the figures depend on: the figures' format version and the installed release (an
upgrade never reads figures of older code), the rollup format version, the manifest of every day of the period that
has packages (its sources — name, size, mtime or etag — and the problems met reading them), and the options that
change figures (type, sheets, period, organization filter, deduplicator). Header fields, price and generation date
only change how figures are written, so they are not part of it. The key exists only when every day's rollups are
fresh (`RollupStore.fingerprint`); a day whose packages changed, or `--rebuild-rollups`, means no cache is read.
Entries are `rollups/figures/<report>-<key>.zip` (`<report>` hashes the options alone): one parquet file per frame and
`figures.json`. A stale entry is never read again; saving a report's new figures removes its superseded entries, so
the cache holds one entry per report (type, period, sheets, filter, deduplicator) however often it is rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from datetime import date
from importlib import metadata
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from metrics_utility.library.extract import Problem
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.library.tempdir import job_tempdir

from .ccspv2 import Figures
from .options import ReportOptions

log = logging.getLogger(__name__)

FIGURES_VERSION = 2  # bump whenever a figure's definition or frame layout changes (2: reachable content nodes)
PREFIX = 'rollups/figures'


def _release() -> str:
    try:
        return metadata.version('metrics-utility')
    except metadata.PackageNotFoundError:
        return 'unknown'


def _digest(value: dict[str, Any], length: int) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:length]


def cache_name(options: ReportOptions, fingerprint: str | None) -> str | None:
    if fingerprint is None:
        return None
    report = {
        'type': options.report_type,
        'sheets': sorted(options.sheets),
        'since': options.since.isoformat(),
        'until': options.until.isoformat(),
        'organizations': sorted(options.organization_filter),
        'deduplicator': options.deduplicator,
    }
    key = {**report, 'figures': FIGURES_VERSION, 'release': _release(), 'rollups': fingerprint}
    return f'{PREFIX}/{_digest(report, 16)}-{_digest(key, 40)}.zip'


def _remove_superseded(storage: Storage, name: str) -> None:
    """Delete the report's other entries: figures of older rollups or releases are never read again."""
    report = name.removeprefix(f'{PREFIX}/').split('-', 1)[0]
    try:
        for old in storage.glob(f'{PREFIX}/{report}-*.zip'):
            if old != name:
                storage.remove(old)
    except StorageError as exc:
        log.warning('cannot remove superseded report figures (%s); they only take space', exc)


def save(storage: Storage, name: str, figures: Figures) -> None:
    """Persist `figures`; a storage that refuses it only costs speed on the next run."""
    meta: dict[str, Any] = {
        'version': FIGURES_VERSION,
        'quantity': figures.quantity,
        'experimental': figures.experimental,
        'organizations': figures.organizations,
        'problems': [p.as_dict() for p in figures.problems],
        'frames': list(figures.frames),
    }
    try:
        with job_tempdir(prefix='figures-') as tmp:
            path = tmp / 'figures.zip'
            with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_STORED) as archive:
                archive.writestr('figures.json', json.dumps(meta, ensure_ascii=False))
                for i, frame in enumerate(figures.frames.values()):
                    buffer = io.BytesIO()
                    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, compression='zstd')
                    archive.writestr(f'{i}.parquet', buffer.getvalue())
            storage.put(name, filename=path)
    except (StorageError, OSError, pa.ArrowException) as exc:
        log.warning('cannot persist report figures %s (%s); continuing without', name, exc)
        return
    _remove_superseded(storage, name)


def load(storage: Storage, name: str) -> Figures | None:
    """The figures stored under `name`, or None (absent, unreadable or of another version)."""
    try:
        if not storage.exists(name):
            return None
        with storage.get(name) as path, zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read('figures.json'))
            if meta.get('version') != FIGURES_VERSION:
                return None
            frames = {
                key: pq.read_table(io.BytesIO(archive.read(f'{i}.parquet'))).to_pandas()
                for i, key in enumerate(meta['frames'])
            }
    except (StorageError, OSError, ValueError, KeyError, zipfile.BadZipFile, pa.ArrowException) as exc:
        log.warning('report figures %s unreadable (%s); computing them', name, exc)
        return None
    problems = [Problem(date.fromisoformat(p['day']), p['name'], p['message']) for p in meta['problems']]
    return Figures(frames, int(meta['quantity']), bool(meta['experimental']), problems, list(meta['organizations']))
