"""Package: gather the collectors of one window and write their output into `.tar.gz` packages.

Every package holds, in this order: its data files (`./<key>.csv` / `./<key>.json`), `./config.json`,
`./data_collection_status.csv`, `./manifest.json` and `./package_info.json` (see docs/package.md). Files are
streamed from disk through sha256/row counting into the tar stream and the gzip writer, and each collector file is
deleted as soon as it is in its package, so memory stays flat and the temporary disk holds one collector's output
plus compressed packages. Packages are finished (metadata written, file renamed to its final name) when every
collector has run, because each carries the run's complete collector list and package count; then they are yielded
in index order. Files of collectors and unfinished packages are removed also when packaging fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO, Literal

from metrics_utility import __version__
from metrics_utility.library.errors import MetricsUtilityError
from metrics_utility.library.instants import require_aware

from ..collectors.base import Collector, unreadable_rows
from . import naming
from .compression import DEFAULT_COMPRESSION, Compression, parse_compression
from .config import CONFIG_VERSION, sanitize_config
from .digest import Digest, DigestingReader
from .manifest import (
    CONFIG_FILE,
    MANIFEST_FILE,
    PACKAGE_INFO_FILE,
    PACKAGE_INFO_FORMAT,
    PACKAGE_INFO_VERSION,
    RESERVED_KEYS,
    dumps,
    flat_manifest,
)
from .placement import Placement
from .status import STATUS_FILE, STATUS_VERSION, StatusRow, status_csv

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MAX_DATA_SIZE = 200 * MIB
COPY_BUFFER = 1 * MIB
TOOL_NAME = 'metrics-utility'

Status = Literal['ok', 'empty', 'failed']


class PackageError(MetricsUtilityError):
    """Packages could not be built (no config, bad arguments, a file that could not be written)."""


class CollectorResultError(Exception):
    """A collector returned something that is not its format's result (recorded as a failed run)."""


@dataclass
class FileRecord:
    """One data file of a collector run and where it went."""

    name: str  # member name without './', e.g. 'main_jobevent.csv'
    part: int  # 1-based
    parts: int
    size: int
    package: int = -1
    sha256: str = ''
    rows: int | None = None


@dataclass
class CollectorRun:
    """What happened when one collector was gathered; `error` is for logs only (never written into packages)."""

    key: str
    version: str
    format: str
    since: datetime | None
    until: datetime | None
    started: datetime
    elapsed: float = 0.0
    status: Status = 'ok'
    error_type: str | None = None
    error: str | None = None
    files: list[FileRecord] = field(default_factory=list)
    unreadable: int = 0  # rows exported with NULLs because their stored document could not be read

    @property
    def ok(self) -> bool:
        return self.status != 'failed'

    @property
    def rows(self) -> int | None:
        counts = [f.rows for f in self.files if f.rows is not None]
        return sum(counts) if counts else None

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def describe(self) -> dict[str, Any]:
        return {
            'key': self.key,
            'version': self.version,
            'format': self.format,
            'since': None if self.since is None else self.since.isoformat(),
            'until': None if self.until is None else self.until.isoformat(),
            'started': self.started.isoformat(),
            'elapsed': round(self.elapsed, 6),
            'status': self.status,
            'error_type': self.error_type,
            'files': len(self.files),
            'size': self.size,
            'rows': self.rows,
            'packages': [f.package for f in self.files],
        }


@dataclass(frozen=True)
class PackageFile:
    """A finished package, owned by the caller: ship it with `storage.put(p.object_name, filename=p.path)`."""

    path: Path
    name: str
    object_name: str
    index: int
    count: int
    keys: tuple[str, ...]
    data_size: int
    run_id: str


class _Writer:
    """One package being written: tar stream → gzip writer → `.<index>.partial` file in the output directory."""

    def __init__(self, directory: Path, index: int, compression: Compression, mtime: int) -> None:
        self.index = index
        self.mtime = mtime
        self.path = directory / f'.package-{index}.tar.gz.partial'
        self.members: list[tuple[str, str, Digest]] = []  # (name, version, digest)
        self.data_size = 0
        self._raw: BinaryIO = open(self.path, 'wb')  # noqa: SIM115 - closed in close()/discard()
        self._gz = compression.open(self._raw, mtime)
        self._tar = tarfile.TarFile(fileobj=self._gz, mode='w', format=tarfile.PAX_FORMAT, copybufsize=COPY_BUFFER)

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(f'./{name}')
        info.size, info.mtime, info.mode = size, self.mtime, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ''
        return info

    def add_file(self, name: str, version: str, path: Path, size: int) -> Digest:
        digest = Digest(csv=name.endswith('.csv'))
        with open(path, 'rb') as source:
            self._tar.addfile(self._info(name, size), DigestingReader(source, digest))
        self.members.append((name, version, digest))
        return digest

    def add_bytes(self, name: str, version: str, data: bytes) -> Digest:
        digest = Digest(csv=name.endswith('.csv'))
        self._tar.addfile(self._info(name, len(data)), DigestingReader(BytesIO(data), digest))
        self.members.append((name, version, digest))
        return digest

    def close(self, final: Path) -> None:
        self._tar.close()
        self._gz.close()
        self._raw.close()
        os.replace(self.path, final)

    def discard(self) -> None:
        for closeable in (self._tar, self._gz, self._raw):
            with contextlib.suppress(Exception):  # the stream is thrown away; the first error already propagates
                closeable.close()
        self.path.unlink(missing_ok=True)


def _auto_output_dir(collector: Collector) -> Path | None:
    """The per-collector temporary directory the collector contract created, if it did (so Package may remove it)."""
    directory = collector.params.get('output_dir')
    if (
        isinstance(directory, Path)
        and directory.parent == Path(tempfile.gettempdir())
        and directory.name.startswith(f'metrics-utility-{collector.key}-')
    ):
        return directory
    return None


class Package:
    """Builds the packages of one window [since, until) from initialised collectors.

    `config` is the config collector (format json) or its result as a dict; only allow-listed keys reach
    `config.json` (see `config.py`), and `billing_provider_params` keeps only non-secret target identifiers.
    `collectors` run in the given order; a collector that raises, or returns something that is not its format's
    result, is recorded as failed and the others still run. A collector key may come several times with different
    windows (several windows of one job): each run's file goes to a package that holds no other file of that key,
    so members keep their names (`<key>.csv`) and every row is packed once. `build()` yields `PackageFile`s; `runs`
    then describes every collector run (for watermarks and summaries).
    """

    def __init__(
        self,
        *,
        config: Collector | Mapping[str, Any],
        collectors: Sequence[Collector],
        since: datetime,
        until: datetime,
        output_dir: str | Path,
        install_uuid: str | None = None,
        billing_provider_params: Mapping[str, Any] | None = None,
        max_data_size: int = DEFAULT_MAX_DATA_SIZE,
        compression: str | Compression = DEFAULT_COMPRESSION,
        run_id: str | None = None,
    ) -> None:
        self.since = require_aware('since', since, PackageError, PackageError)
        self.until = require_aware('until', until, PackageError, PackageError)
        if self.since >= self.until:
            raise PackageError(f'since ({self.since.isoformat()}) must be before until ({self.until.isoformat()})')
        if isinstance(config, Collector):
            if config.format != 'json':
                raise PackageError(f'the config collector {config.key!r} must have format json, not {config.format}')
        elif not isinstance(config, Mapping):
            raise PackageError(f'config must be the config collector or a dict, got {type(config).__name__}')
        self.config = config
        self.collectors = list(collectors)
        seen: set[tuple[str, Any, Any]] = set()
        for collector in self.collectors:
            if not isinstance(collector, Collector):
                raise PackageError(f'collectors must be initialised Collector objects, got {type(collector).__name__}')
            try:
                naming.check_key(collector.key)
            except naming.NamingError as exc:
                raise PackageError(str(exc)) from None
            if collector.key in RESERVED_KEYS:
                raise PackageError(f'collector key {collector.key!r} is reserved for package metadata')
            run = (collector.key, collector.params.get('since'), collector.params.get('until'))
            if run in seen:
                raise PackageError(
                    f'collector {collector.key!r} given twice for one window; its rows would be packed twice'
                )
            seen.add(run)
        self.install_uuid = install_uuid
        if install_uuid is not None:
            self._check_uuid(install_uuid)
        self.billing_provider_params = billing_provider_params
        try:
            self.placement = Placement(max_data_size)
            self.compression = parse_compression(compression)
        except ValueError as exc:
            raise PackageError(str(exc)) from None
        self.max_data_size = max_data_size
        self.output_dir = Path(output_dir)
        if not self.output_dir.is_dir():
            raise PackageError(f'output_dir {self.output_dir} is not a directory')
        self.run_id = run_id or str(uuid.uuid4())
        self.runs: list[CollectorRun] = []
        self.dropped_config_keys: list[str] = []
        self._built = False

    @staticmethod
    def _check_uuid(value: str) -> str:
        try:
            return naming.check_install_uuid(value)
        except naming.NamingError as exc:
            raise PackageError(str(exc)) from None

    # -- gathering -----------------------------------------------------------------------------------------------

    def _config_json(self) -> tuple[bytes, str]:
        if isinstance(self.config, Collector):
            try:
                content = self.config.gather()
            except Exception as exc:
                raise PackageError(
                    f'the config collector failed ({type(exc).__name__}); no package can be built'
                ) from exc
            if not isinstance(content, Mapping) or not content:
                raise PackageError(f'the config collector returned {type(content).__name__}, expected a non-empty dict')
            version = self.config.version
        else:
            content, version = self.config, CONFIG_VERSION
        sanitized, self.dropped_config_keys = sanitize_config(content, self.billing_provider_params, __version__)
        if self.dropped_config_keys:
            log.warning('config.json: left out %s (not in the allow-list)', ', '.join(self.dropped_config_keys))
        if self.install_uuid is None:
            found = sanitized.get('install_uuid')
            if not found:
                raise PackageError('no install_uuid: pass install_uuid= or let the config carry it')
            self.install_uuid = self._check_uuid(str(found))
        return dumps(sanitized), version

    def _gather(self, collector: Collector) -> tuple[CollectorRun, list[Path] | bytes | None]:
        params = collector.params
        run = CollectorRun(
            key=collector.key,
            version=collector.version,
            format=collector.format,
            since=params.get('since', self.since),
            until=params.get('until', self.until),
            started=datetime.now(UTC),
        )
        began = time.perf_counter()
        result: Any = None
        try:
            result = collector.gather()
            run.unreadable = unreadable_rows(result)
            output = self._check_result(collector, result)
        except Exception as exc:
            if collector.format == 'csv' and isinstance(result, list | tuple):
                for path in result:  # returned files belong to the package, also when they cannot be packed
                    if isinstance(path, str | Path) and Path(path).is_file():
                        Path(path).unlink()
            run.status, run.error_type, run.error = 'failed', type(exc).__name__, str(exc)
            log.exception('collector %s failed; recorded as failed, packaging continues', collector.key)
            output = None
        run.elapsed = time.perf_counter() - began
        if (ran := getattr(collector.func, 'ran', None)) is not None:  # collected earlier (ahead): when it really ran
            run.started, run.elapsed = ran
        if run.ok and not output:
            run.status = 'empty'
        self.runs.append(run)
        return run, output

    @staticmethod
    def _check_result(collector: Collector, result: Any) -> list[Path] | bytes | None:
        if result is None:
            return None
        if collector.format == 'json':
            if not isinstance(result, Mapping):
                raise CollectorResultError(f'{collector.key}: a json collector must return a dict, got {result!r:.80}')
            return dumps(dict(result)) if result else None
        if not isinstance(result, list | tuple) or not all(isinstance(p, str | Path) for p in result):
            raise CollectorResultError(f'{collector.key}: a csv collector must return a list of file paths')
        paths = [Path(p) for p in result]
        if len(set(paths)) != len(paths):
            raise CollectorResultError(f'{collector.key}: the same file was returned twice')
        for path in paths:
            if not path.is_file():
                raise CollectorResultError(f'{collector.key}: returned {path}, which is not a regular file')
        return paths

    # -- building ------------------------------------------------------------------------------------------------

    def build(self) -> Iterator[PackageFile]:
        """Gather every collector and yield the finished packages in index order (a Package builds once)."""
        if self._built:
            raise PackageError('this Package was already built; create a new one for another run')
        self._built = True
        writers: dict[int, _Writer] = {}
        pending: list[Path] = []  # collector files not yet packed (removed whatever happens)
        auto_dirs: list[Path] = []
        finished: list[PackageFile] = []
        handed = 0
        mtime = int(self.until.timestamp())
        try:
            config_bytes, config_version = self._config_json()
            for collector in self.collectors:
                if (directory := _auto_output_dir(collector)) is not None:
                    auto_dirs.append(directory)
                run, output = self._gather(collector)
                if isinstance(output, bytes):
                    record = FileRecord(f'{run.key}.json', 1, 1, len(output))
                    run.files.append(record)
                    writer = self._writer(writers, self.placement.place(run.key, record.size), mtime)
                    self._record(record, writer, writer.add_bytes(record.name, run.version, output))
                elif output:
                    pending.extend(output)
                    sizes = [path.stat().st_size for path in output]
                    for part, (path, size) in enumerate(zip(output, sizes, strict=True), start=1):
                        record = FileRecord(f'{run.key}.csv', part, len(output), size)
                        run.files.append(record)
                        writer = self._writer(writers, self.placement.place(run.key, size), mtime)
                        self._record(record, writer, writer.add_file(record.name, run.version, path, size))
                        path.unlink()
                        pending.remove(path)
            if not writers:
                self._writer(writers, 0, mtime)  # one package always records the run (config, statuses)
            count = len(writers)
            for index in sorted(writers):
                finished.append(self._finish(writers[index], count, config_bytes, config_version))
                del writers[index]
            for package in finished:
                handed += 1
                yield package
        except BaseException:
            for writer in writers.values():
                writer.discard()
            raise
        finally:
            for package in finished[handed:]:
                package.path.unlink(missing_ok=True)  # never handed to the caller
            for path in pending:
                path.unlink(missing_ok=True)
            for directory in auto_dirs:
                shutil.rmtree(directory, ignore_errors=True)

    def _writer(self, writers: dict[int, _Writer], index: int, mtime: int) -> _Writer:
        if index not in writers:
            writers[index] = _Writer(self.output_dir, index, self.compression, mtime)
        return writers[index]

    @staticmethod
    def _record(record: FileRecord, writer: _Writer, digest: Digest) -> None:
        record.package, record.sha256 = writer.index, digest.sha256
        record.rows = digest.rows if record.name.endswith('.csv') else None
        writer.data_size += record.size

    def _status_rows(self, index: int) -> list[tuple[CollectorRun, StatusRow]]:
        rows = []
        for run in self.runs:
            here = [f for f in run.files if f.package == index]
            if here or (not run.files and index == 0):  # runs without files are recorded in package 0
                name = here[0].name if here else f'{run.key}.{run.format}'
                first = not run.files or run.files[0].package == index
                unreadable = run.unreadable if first else 0  # counted once: in the package of the run's first file
                rows.append((run, StatusRow(run.started, run.since, run.until, name, run.ok, run.elapsed, unreadable)))
        return rows

    def _finish(self, writer: _Writer, count: int, config_bytes: bytes, config_version: str) -> PackageFile:
        index = writer.index
        assert self.install_uuid is not None  # set by _config_json
        status_rows = self._status_rows(index)
        key = status_rows[0][0].key if status_rows else 'config'
        writer.add_bytes(CONFIG_FILE, config_version, config_bytes)
        writer.add_bytes(STATUS_FILE, STATUS_VERSION, status_csv(row for _, row in status_rows))
        versions = [(name, version) for name, version, _ in writer.members]
        versions.append((PACKAGE_INFO_FILE, PACKAGE_INFO_VERSION))
        writer.add_bytes(MANIFEST_FILE, '', flat_manifest(versions))
        writer.add_bytes(PACKAGE_INFO_FILE, PACKAGE_INFO_VERSION, dumps(self._info(writer, count)))
        name = naming.tarball_name(self.install_uuid, self.since, self.until, index, key)
        writer.close(self.output_dir / name)
        keys = tuple(run.key for run, row in status_rows if any(f.package == index for f in run.files))
        return PackageFile(
            path=self.output_dir / name,
            name=name,
            object_name=naming.object_name(self.install_uuid, self.since, self.until, index, key),
            index=index,
            count=count,
            keys=keys,
            data_size=writer.data_size,
            run_id=self.run_id,
        )

    def _info(self, writer: _Writer, count: int) -> dict[str, Any]:
        files: dict[str, Any] = {}
        parts = {(f.package, f.name): f for run in self.runs for f in run.files}
        for name, version, digest in writer.members:
            entry: dict[str, Any] = {'version': version or None, 'size': digest.size, 'sha256': digest.sha256}
            if name.endswith('.csv'):
                entry['rows'] = digest.rows
            if (record := parts.get((writer.index, name))) is not None:
                entry.update(collector=name.rsplit('.', 1)[0], part=record.part, parts=record.parts)
            files[name] = entry
        return {
            'format': PACKAGE_INFO_FORMAT,
            'format_version': PACKAGE_INFO_VERSION,
            'run_id': self.run_id,
            'install_uuid': self.install_uuid,
            'since': self.since.isoformat(),
            'until': self.until.isoformat(),
            'index': writer.index,
            'count': count,
            'tool': {'name': TOOL_NAME, 'version': __version__},
            'compression': str(self.compression),
            'max_data_size': self.max_data_size,
            'data_size': writer.data_size,
            'files': files,
            'collectors': [run.describe() for run in self.runs],
        }
