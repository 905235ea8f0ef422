"""Extractors: read gathered packages (tarballs) from any Storage, day by day, safely."""

from .columns import SCHEMAS, empty, read_csv
from .extractor import Extractor, Problem, day_prefix, days
from .names import TarballName, parse
from .tarball import MAX_BYTES, MAX_FILES, Package, TarballError, read_package

__all__ = [
    'MAX_BYTES',
    'MAX_FILES',
    'SCHEMAS',
    'Extractor',
    'Package',
    'Problem',
    'TarballError',
    'TarballName',
    'day_prefix',
    'days',
    'empty',
    'parse',
    'read_csv',
    'read_package',
]
