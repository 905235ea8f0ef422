"""Packages: the `.tar.gz` files a gather ships (format in docs/package.md).

`Package` gathers initialised collectors of one window and yields finished packages; `verify` reads a package back
safely and checks it against its own checksums.
"""

from .compression import DEFAULT_COMPRESSION, Compression, parse_compression
from .naming import object_name, parse_tarball_name, tarball_name, window_glob
from .package import (
    DEFAULT_MAX_DATA_SIZE,
    CollectorResultError,
    CollectorRun,
    FileRecord,
    Package,
    PackageError,
    PackageFile,
)
from .verify import Member, PackageContents, PackageVerificationError, read_package

__all__ = [
    'DEFAULT_COMPRESSION',
    'DEFAULT_MAX_DATA_SIZE',
    'CollectorResultError',
    'CollectorRun',
    'Compression',
    'FileRecord',
    'Member',
    'Package',
    'PackageContents',
    'PackageError',
    'PackageFile',
    'PackageVerificationError',
    'object_name',
    'parse_compression',
    'parse_tarball_name',
    'read_package',
    'tarball_name',
    'window_glob',
]
