"""The gzip writers a package can be compressed with.

Every choice writes a standard gzip stream (RFC 1952), so every `.tar.gz` opens with `tarfile.open(..., 'r:gz')`,
GNU tar and console.redhat.com's ingress. They differ only in speed and ratio: ISA-L's igzip (the `isal` package)
compresses several times faster than zlib at a slightly lower ratio; `bench/compression.py` measures them.
The gzip header carries no file name and a fixed mtime, so equal input gives equal bytes.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import BinaryIO

from isal import igzip

DEFAULT_COMPRESSION = 'isal-1'


@dataclass(frozen=True)
class Compression:
    """A compressor choice, written `<library>-<level>` (e.g. 'isal-1', 'gzip-6')."""

    library: str
    level: int

    def __str__(self) -> str:
        return f'{self.library}-{self.level}'

    def open(self, fileobj: BinaryIO, mtime: int) -> BinaryIO:
        """A gzip writer over `fileobj`; closing it finishes the gzip stream but leaves `fileobj` open."""
        if self.library == 'isal':
            return igzip.IGzipFile(filename='', mode='wb', compresslevel=self.level, fileobj=fileobj, mtime=mtime)
        return gzip.GzipFile(filename='', mode='wb', compresslevel=self.level, fileobj=fileobj, mtime=mtime)


LEVELS = {'gzip': range(0, 10), 'isal': range(0, 4)}


def parse_compression(spec: str | Compression) -> Compression:
    """Parse 'isal-0'…'isal-3' or 'gzip-0'…'gzip-9'; anything else is refused with the accepted forms."""
    if isinstance(spec, Compression):
        return spec
    library, _, level = str(spec).partition('-')
    if library in LEVELS and level.isdigit() and int(level) in LEVELS[library]:
        return Compression(library, int(level))
    raise ValueError(f"compression {spec!r} is not supported; use 'isal-0'..'isal-3' or 'gzip-0'..'gzip-9'")
