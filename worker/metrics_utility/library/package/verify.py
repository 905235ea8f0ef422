"""Read a package back safely and check it against its own metadata.

The tarball is read in one sequential pass (nothing is extracted by tarfile itself): only regular files with plain
names (`./<name>`) are accepted, links and device files are refused, and member count and total bytes are capped,
counting the bytes actually read rather than trusting headers (a header announcing more than the budget is refused
before any byte of it is inflated). Each member streams through sha256 and CSV row counting; metadata members are
kept in memory, data members are written to `extract_to` or kept in memory (`keep`, for readers that parse them
once the whole package is verified) when asked for and dropped otherwise. Packages from metrics-utility (no
`package_info.json`) are read too, with `verified=False`; metrics-utility writes a package without `config.json`,
`data_collection_status.csv` or `manifest.json` when writing that member failed, so in such a package their absence is
one of `warnings`, not a refusal (a package with checksums must have all three; a tarball with none of them, or
with no data file, is no package). Nothing in a package, however malformed (JSON nested
100,000 levels deep, a corrupt deflate stream, an oversized CSV field), escapes as anything but a
PackageVerificationError.
"""

from __future__ import annotations

import csv
import json
import re
import tarfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isal import igzip, isal_zlib

from .digest import Digest
from .manifest import CONFIG_FILE, MANIFEST_FILE, PACKAGE_INFO_FILE
from .status import STATUS_FILE, parse_status_csv

MAX_MEMBERS = 100
MAX_BYTES = 1024**3  # 1 GiB uncompressed per package, as metrics-utility's extractor
METADATA_LIMIT = 16 * 1024 * 1024
_MEMBER = re.compile(r'^(?:\./)?([A-Za-z0-9][A-Za-z0-9_.-]*)$')
_METADATA = (CONFIG_FILE, MANIFEST_FILE, PACKAGE_INFO_FILE, STATUS_FILE)


class PackageVerificationError(ValueError):
    """The package is unsafe, incomplete or does not match its own checksums; `problems` lists every finding."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__(f'{path.name}: ' + '; '.join(problems))


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str
    rows: int | None  # data rows for CSV members (header excluded)


@dataclass
class PackageContents:
    """What a package holds; `files` maps member names to extracted paths (only with `extract_to`)."""

    path: Path
    members: dict[str, Member]
    manifest: dict[str, Any]
    config: dict[str, Any]
    status: list[dict[str, str]]
    info: dict[str, Any] | None
    files: dict[str, Path] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)  # the members named in `keep`
    warnings: list[str] = field(default_factory=list)  # what a package without checksums lacks (its rows are used)

    @property
    def verified(self) -> bool:
        """True when the package carried checksums (package_info.json) and every one matched."""
        return self.info is not None

    @property
    def data_members(self) -> list[str]:
        return [name for name in self.members if name not in _METADATA]


def _read_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, budget: int, keep: bool, target: Path | None, limit: int
) -> tuple[Digest, bytearray]:
    digest = Digest(csv=member.name.endswith('.csv'))
    source = tar.extractfile(member)
    assert source is not None  # regular files only
    kept = bytearray()
    out = open(target, 'wb') if target is not None else None  # noqa: SIM115 - closed below
    try:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
            if digest.size > budget:
                raise OverflowError
            if keep:
                if len(kept) + len(chunk) > limit:
                    raise OverflowError
                kept += chunk
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return digest, kept  # no copy: a kept data member may be hundreds of MiB


def read_package(
    path: str | Path,
    *,
    extract_to: str | Path | None = None,
    names: Collection[str] | None = None,
    max_members: int = MAX_MEMBERS,
    max_bytes: int = MAX_BYTES,
    keep: Collection[str] = (),
) -> PackageContents:
    """Read and verify the package at `path`; raise PackageVerificationError listing every problem.

    With `extract_to` (an existing directory), data members — only those in `names` when given — are written there
    under their member names (replacing files of the same name), and `files` maps each name to its path. When
    verification fails, the files written so far are removed. Members named in `keep` are held in memory and returned
    in `data` (within `max_bytes`), so a reader parses them only after every check passed.
    """
    path = Path(path)
    directory = Path(extract_to) if extract_to is not None else None
    members: dict[str, Member] = {}
    metadata: dict[str, bytes] = {}
    files: dict[str, Path] = {}
    kept: dict[str, bytes] = {}
    problems: list[str] = []
    total = 0
    try:
        with igzip.open(path, 'rb') as gz, tarfile.open(fileobj=gz, mode='r|') as tar:
            for member in tar:
                if member.isdir():
                    continue
                match = _MEMBER.match(member.name)
                if not member.isfile() or match is None:
                    kind = 'a link or special file' if not member.isfile() else 'not a plain file name'
                    raise PackageVerificationError(path, [f'member {member.name!r} is {kind}'])
                name = match[1]
                if name in members:
                    raise PackageVerificationError(path, [f'member {name!r} appears twice'])
                if len(members) >= max_members:
                    raise PackageVerificationError(path, [f'more than {max_members} members'])
                wanted = directory is not None and name not in _METADATA and (names is None or name in names)
                target = directory / name if wanted else None
                if target is not None:
                    files[name] = target
                if member.size > max_bytes - total:  # a header announcing a bomb: refused before inflating it
                    raise PackageVerificationError(path, [f'{name}: over the size limit'])
                held = name in _METADATA or name in keep
                limit = METADATA_LIMIT if name in _METADATA else max_bytes
                try:
                    digest, data = _read_member(tar, member, max_bytes - total, held, target, limit)
                except OverflowError:
                    raise PackageVerificationError(path, [f'{name}: over the size limit']) from None
                total += digest.size
                if name in _METADATA:
                    metadata[name] = data
                if name in keep:
                    kept[name] = data
                rows = digest.rows if name.endswith('.csv') else None
                members[name] = Member(name, digest.size, digest.sha256, rows)
    except (tarfile.TarError, OSError, EOFError, isal_zlib.error) as exc:
        _remove(files)
        truncated = isinstance(exc, EOFError) or 'unexpected end of data' in str(exc)
        kind = 'truncated' if truncated else 'not a readable'
        raise PackageVerificationError(path, [f'{kind} .tar.gz ({type(exc).__name__}: {exc})']) from exc
    except PackageVerificationError:
        _remove(files)
        raise

    # metrics-utility's format (no checksums) may lack a metadata member, never all three, and holds a data file: a
    # bare tarball of CSVs, or a config.json alone, is no package
    unverified = (
        PACKAGE_INFO_FILE not in metadata
        and any(name in metadata for name in _METADATA)
        and any(name not in _METADATA for name in members)
    )
    warnings: list[str] = []

    def missing(name: str) -> None:
        if unverified:
            warnings.append(
                f'{name} is missing (a package without {PACKAGE_INFO_FILE}, as metrics-utility writes it '
                'when that member could not be written); its rows are used'
            )
        else:
            problems.append(f'{name} is missing')

    def load_json(name: str) -> Any:
        if name not in metadata:
            missing(name)
            return None
        try:
            return json.loads(metadata[name])
        except ValueError as exc:
            problems.append(f'{name} is not JSON ({exc})')
        except RecursionError:
            problems.append(f'{name} is not JSON (nested too deeply)')
        return None

    manifest, config = load_json(MANIFEST_FILE), load_json(CONFIG_FILE)
    info = load_json(PACKAGE_INFO_FILE) if PACKAGE_INFO_FILE in metadata else None
    status: list[dict[str, str]] = []
    if STATUS_FILE not in metadata:
        missing(STATUS_FILE)
    else:
        try:
            status = parse_status_csv(metadata[STATUS_FILE])
        except ValueError as exc:
            problems.append(str(exc))
        except csv.Error as exc:
            problems.append(f'{STATUS_FILE} is not CSV ({exc})')
    if config is not None and not isinstance(config, dict):
        problems.append(f'{CONFIG_FILE} is not an object')
    if manifest is not None and not isinstance(manifest, dict):
        problems.append(f'{MANIFEST_FILE} is not an object')
    elif manifest is not None:
        problems += [
            f'{MANIFEST_FILE} lists {name}, which is not in the package' for name in manifest if name not in members
        ]
    if info is not None:  # listings are checked against a readable manifest only (its own problem is listed)
        problems += _check_info(info, members, manifest if isinstance(manifest, dict) else None)
    if problems:
        _remove(files)
        raise PackageVerificationError(path, problems)
    return PackageContents(path, members, manifest, config, status, info, files, kept, warnings)


def _remove(files: dict[str, Path]) -> None:
    """Extracted files of a package that failed verification must not be mistaken for good data."""
    for extracted in files.values():
        extracted.unlink(missing_ok=True)


def _check_info(info: Any, members: dict[str, Member], manifest: dict[str, Any] | None) -> list[str]:
    if not isinstance(info, dict) or not isinstance(info.get('files'), dict):
        return [f'{PACKAGE_INFO_FILE} has no "files" object']
    problems = []
    listed = info['files']
    for name, member in members.items():
        if name == PACKAGE_INFO_FILE:
            continue
        entry = listed.get(name)
        if not isinstance(entry, dict):
            problems.append(f'{name} is not described in {PACKAGE_INFO_FILE}')
            continue
        if entry.get('size') != member.size:
            problems.append(f'{name}: {member.size} bytes, {PACKAGE_INFO_FILE} says {entry.get("size")}')
        if entry.get('sha256') != member.sha256:
            problems.append(f'{name}: sha256 does not match {PACKAGE_INFO_FILE}')
        if 'rows' in entry and entry['rows'] != member.rows:
            problems.append(f'{name}: {member.rows} rows, {PACKAGE_INFO_FILE} says {entry["rows"]}')
        if manifest is not None and name != MANIFEST_FILE and name not in manifest:
            problems.append(f'{name} is not listed in {MANIFEST_FILE}')
    problems += [
        f'{PACKAGE_INFO_FILE} describes {name}, which is not in the package' for name in listed if name not in members
    ]
    return problems
