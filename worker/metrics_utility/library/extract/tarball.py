"""The tables of one verified package: its CSVs parsed, with config.json.

There is one package reader, the library's verifier (`package.verify.read_package`); this module only parses what
it returns. The verifier streams the tarball once: it refuses unsafe members (absolute
or `..` paths, links, device files, duplicates), caps member count and inflated bytes (counting what is read, so a
gzip bomb stops at the limit), and checks every member against the package's own `package_info.json` (sha256, size,
CSV row count) and `manifest.json`. Only when all of that holds are the wanted CSVs parsed. Anything wrong raises
`TarballError`, and the caller gets nothing from that tarball: a tampered or half-read package never contributes any
of its rows. A CSV lacking one of its key's required columns (`columns.REQUIRED`) is left out and named in `warnings`.

Large CSVs (the `streamed` keys, e.g. a day's millions of result events) can be written to a directory while they
are verified instead of being held in memory; `files` names them and `columns.stream_csv` reads them a block at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from metrics_utility.library.package.verify import MAX_BYTES, MAX_MEMBERS, PackageVerificationError, read_package

from .columns import SCHEMAS, missing_columns, missing_columns_in, read_csv


class TarballError(Exception):
    """The tarball is corrupt, truncated, unsafe or does not match its own checksums; the message lists the
    verifier's findings."""


@dataclass
class PackageTables:
    """The useful content of one package: its config and the parsed CSVs of the wanted keys."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # streamed keys: the verified CSV, parsed by the caller
    warnings: list[str] = field(default_factory=list)

    @property
    def install_uuid(self) -> str:
        value = self.config.get('install_uuid')
        return value if isinstance(value, str) and value else ''


def read_tables(
    path: Path,
    name: str,
    keys: frozenset[str] | None = None,
    max_members: int = MAX_MEMBERS,
    max_bytes: int = MAX_BYTES,
    *,
    stream_to: Path | None = None,
    streamed: frozenset[str] = frozenset(),
) -> PackageTables:
    """Verify the package, then parse its CSVs of `keys` (None = every known key, the status CSV included).

    With `stream_to` (an existing directory), the CSVs of `streamed` keys are written there as `<key>.csv` (replacing
    files of that name) and listed in `files`, unparsed, once the package passed verification.
    """
    wanted = {f'{stem}.csv': stem for stem in SCHEMAS if keys is None or stem in keys}
    to_file = {m for m, stem in wanted.items() if stem in streamed} if stream_to is not None else set()
    try:
        contents = read_package(
            path,
            max_members=max_members,
            max_bytes=max_bytes,
            keep=set(wanted) - to_file,
            extract_to=stream_to if to_file else None,
            names=to_file,
        )
    except PackageVerificationError as exc:
        raise TarballError('; '.join(exc.problems)) from None
    package = PackageTables(name, config=contents.config if isinstance(contents.config, dict) else {})
    package.warnings += contents.warnings
    for member, file in contents.files.items():
        stem = wanted[member]
        missing = missing_columns_in(file, stem)
        if missing:
            listed = ', '.join(repr(column) for column in missing)
            package.warnings.append(f'{member} lacks required column(s) {listed}; its rows are not used')
            file.unlink()
            continue
        package.files[stem] = file
    for member in list(contents.data):
        data, stem = contents.data.pop(member), wanted[member]  # each CSV's bytes are freed once parsed
        missing = missing_columns(data, stem)
        if missing:
            listed = ', '.join(repr(column) for column in missing)
            package.warnings.append(f'{member} lacks required column(s) {listed}; its rows are not used')
            continue
        try:
            package.tables[stem] = read_csv(data, stem, package.warnings)
        except pa.ArrowException as exc:
            raise TarballError(f'{member} is not readable CSV ({exc})') from exc
    return package
