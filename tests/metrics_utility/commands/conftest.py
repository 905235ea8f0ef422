"""Fixtures for command tests: environments pointing at the synthetic controller database, S3 over HTTP."""

from __future__ import annotations

import csv
import io
import itertools
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from metrics_utility.demo.database import ControllerDatabase
from testsupport.s3_server import FaultyS3Proxy, S3Server


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


@pytest.fixture(scope='session')
def s3_server() -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


_buckets = itertools.count(1)


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    name = f'gather-{next(_buckets)}'
    s3_server.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def faulty_s3(s3_server: S3Server) -> Iterator[FaultyS3Proxy]:
    proxy = FaultyS3Proxy(s3_server.endpoint).start()
    yield proxy
    proxy.stop()
