"""Packages: the `.tar.gz` files a gather ships (format in docs/package.md).

`Package` gathers initialised collectors of one window and yields finished packages; `verify` reads a package back
safely and checks it against its own checksums. The names are imported on first use (`library.lazy`): reading
packages back never loads the collectors' database driver.
"""

from metrics_utility.library.lazy import lazy_exports

_WHERE = {
    'DEFAULT_COMPRESSION': '.compression',
    'Compression': '.compression',
    'parse_compression': '.compression',
    'object_name': '.naming',
    'parse_tarball_name': '.naming',
    'tarball_name': '.naming',
    'window_glob': '.naming',
    'DEFAULT_MAX_DATA_SIZE': '.package',
    'CollectorResultError': '.package',
    'CollectorRun': '.package',
    'FileRecord': '.package',
    'Package': '.package',
    'PackageError': '.package',
    'PackageFile': '.package',
    'Member': '.verify',
    'PackageContents': '.verify',
    'PackageVerificationError': '.verify',
    'read_package': '.verify',
}
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
__all__ = sorted(_WHERE)
