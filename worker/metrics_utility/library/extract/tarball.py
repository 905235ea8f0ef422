"""Safe reading of one package tarball: its CSV tables, config.json and data_collection_status.csv.

The tarball is streamed once (no extraction to disk). Before a member's content is read its header is checked:
only regular files, no absolute or `..` paths, no links or device files, at most `MAX_FILES` members and
`MAX_BYTES` uncompressed bytes (metrics-utility's limits). Anything wrong raises `TarballError`, and the caller
gets nothing from that tarball: a half-read package never contributes half its rows.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from .columns import SCHEMAS, read_csv

MAX_FILES = 100
MAX_BYTES = 1 << 30


class TarballError(Exception):
    """The tarball is corrupt, truncated or unsafe; the message says which and why."""


@dataclass
class Package:
    """The useful content of one tarball."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def install_uuid(self) -> str:
        value = self.config.get('install_uuid')
        return value if isinstance(value, str) and value else ''


def _member_key(member: tarfile.TarInfo) -> tuple[str, str]:
    """('job_host_summary', 'csv') for './job_host_summary.csv'; refuses unsafe paths."""
    name = member.name
    normal = posixpath.normpath(name)
    if name.startswith('/') or normal.startswith('..') or '\\' in name:
        raise TarballError(f'member {name!r} escapes the package (absolute or ".." path)')
    if not (member.isfile() or member.isdir()):
        raise TarballError(f'member {name!r} is a link or device file; packages hold regular files only')
    base = posixpath.basename(normal)
    stem, _, ext = base.rpartition('.')
    return stem, ext


def read_package(
    path: Path, name: str, keys: frozenset[str] | None = None, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES
) -> Package:
    """Read the CSVs for `keys` (None = all known keys), config.json and data_collection_status.csv."""
    package = Package(name)
    files = total = 0
    try:
        with tarfile.open(path, mode='r|gz') as tar:
            for member in tar:
                stem, ext = _member_key(member)
                if member.isdir():
                    continue
                files += 1
                total += member.size
                if files > max_files:
                    raise TarballError(f'more than {max_files} files; refusing to read it')
                if total > max_bytes:
                    raise TarballError(f'more than {max_bytes} bytes uncompressed; refusing to read it')
                wanted = stem in SCHEMAS and ext == 'csv' and (keys is None or stem in keys)
                if not wanted and stem != 'config':
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                data = handle.read()
                if len(data) != member.size:
                    raise TarballError(f'member {member.name!r} is truncated')
                if stem == 'config' and ext == 'json':
                    try:
                        config = json.loads(data or b'{}')
                    except ValueError as exc:
                        package.warnings.append(f'config.json is not valid JSON ({exc}); install uuid unknown')
                        config = {}
                    package.config = config if isinstance(config, dict) else {}
                elif wanted:
                    problems: list[str] = []
                    table = read_csv(data, stem, problems)
                    package.tables[stem] = (
                        pa.concat_tables([package.tables[stem], table]) if stem in package.tables else table
                    )
                    package.warnings.extend(problems)
    except TarballError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise TarballError(f'corrupt or truncated ({type(exc).__name__}: {exc})') from exc
    except pa.ArrowException as exc:
        raise TarballError(f'unreadable CSV ({exc})') from exc
    return package
