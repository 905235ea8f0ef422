"""Helpers for command tests: environments pointing at the synthetic controller database, shipped row ids."""

from __future__ import annotations

import csv
import io
import tarfile
from collections import Counter
from pathlib import Path

from metrics_utility.demo.database import ControllerDatabase


def db_env(db: ControllerDatabase) -> dict[str, str]:
    """The METRICS_UTILITY_DB_* variables of the SELECT-only role."""
    return {
        'METRICS_UTILITY_DB_HOST': '127.0.0.1',
        'METRICS_UTILITY_DB_PORT': str(db.cluster.port),
        'METRICS_UTILITY_DB_NAME': db.dbname,
        'METRICS_UTILITY_DB_USER': db.reader,
        'METRICS_UTILITY_DB_PASSWORD': db.reader_password,
        'METRICS_UTILITY_DB_SSLMODE': 'disable',
    }


def shipped_ids(tarballs: list[Path], member: str = './job_host_summary.csv') -> Counter:
    """How often each row id occurs across the given packages' CSV parts."""
    seen: Counter = Counter()
    for path in tarballs:
        with tarfile.open(path, 'r:gz') as tar:
            try:
                data = tar.extractfile(member)
            except KeyError:
                continue
            for row in csv.DictReader(io.TextIOWrapper(data, encoding='utf-8')):
                seen[int(row['id'])] += 1
    return seen
