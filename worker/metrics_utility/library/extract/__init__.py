"""Extractors: read gathered packages (tarballs) from any Storage, day by day, safely."""

from .columns import SCHEMAS, empty, read_csv
from .extractor import Extractor, Problem, days
from .tarball import PackageTables, TarballError, read_tables

__all__ = [
    'SCHEMAS',
    'Extractor',
    'PackageTables',
    'Problem',
    'TarballError',
    'days',
    'empty',
    'read_csv',
    'read_tables',
]
