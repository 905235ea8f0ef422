"""Shared fixtures. Each names the real thing it starts: `postgres` is a throwaway PostgreSQL server,
`controller_db` a synthetic controller database inside it (owner and SELECT-only roles)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psycopg
import pytest

from metrics_utility.demo.database import ControllerDatabase, build
from metrics_utility.demo.generator import DatasetSpec
from metrics_utility.demo.pgcluster import PostgresCluster, PostgresNotFoundError, find_bin_dir

# The standard test dataset: 4 days across the end of February in a leap year (2024-02-27 .. 2024-03-01 excl.),
# so month ends, the leap day and weekend days are all covered.
STANDARD_SPEC = DatasetSpec(scale='small', start=datetime(2024, 2, 27, tzinfo=UTC), days=4, seed=7)
TINY_SPEC = DatasetSpec(scale='tiny', start=datetime(2024, 2, 28, tzinfo=UTC), days=2, seed=1)


@pytest.fixture(scope='session')
def postgres() -> Iterator[PostgresCluster]:
    """A private PostgreSQL server for the whole test session."""
    try:
        find_bin_dir()
    except PostgresNotFoundError as exc:
        if os.environ.get('CI'):
            raise
        pytest.skip(str(exc))
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(scope='session')
def controller_db(postgres: PostgresCluster) -> ControllerDatabase:
    """The standard dataset (`small`, 4 days over 29 Feb 2024). Read-only for tests: never modify it."""
    db, _ = build(postgres, STANDARD_SPEC, dbname='awx')
    return db


@pytest.fixture(scope='session')
def tiny_db(postgres: PostgresCluster) -> ControllerDatabase:
    """The hand-checkable `tiny` dataset (scenario cases only). Read-only for tests."""
    db, _ = build(postgres, TINY_SPEC, dbname='awx_tiny')
    return db


@pytest.fixture
def owner_conn(controller_db: ControllerDatabase) -> Iterator[psycopg.Connection]:
    with controller_db.connect_owner() as conn:
        yield conn


@pytest.fixture
def reader_conn(controller_db: ControllerDatabase) -> Iterator[psycopg.Connection]:
    """A connection as the SELECT-only role: what collectors must work with."""
    with controller_db.connect_reader() as conn:
        yield conn


_counter = iter(range(1, 10_000))


@pytest.fixture
def scratch_db(postgres: PostgresCluster) -> ControllerDatabase:
    """A fresh tiny dataset of the test's own, free to modify (costs ~0.5 s)."""
    db, _ = build(postgres, TINY_SPEC, dbname=f'scratch_{next(_counter)}')
    return db


# S3 over HTTP (moto's server), shared by the storage and command tests; moto is imported only when used -------

if TYPE_CHECKING:
    from testsupport.s3_server import FaultyS3Proxy, S3Server


@pytest.fixture(scope='session')
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server over HTTP, shared by the session (tests use their own buckets)."""
    from testsupport.s3_server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


_buckets = itertools.count(1)


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """A fresh, empty bucket."""
    name = f'metrics-{next(_buckets)}'
    s3_server.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def faulty_s3(s3_server: S3Server) -> Iterator[FaultyS3Proxy]:
    """A reverse proxy in front of moto that fails the requests a test chooses with 500 InternalError."""
    from testsupport.s3_server import FaultyS3Proxy

    proxy = FaultyS3Proxy(s3_server.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    """Each test starts with an empty process-wide redactor (library.secret), so one test's secrets never redact
    another test's expected text."""
    from metrics_utility.library import secret

    secret.forget_all()
    yield
    secret.forget_all()


@pytest.fixture(autouse=True)
def _restore_worker_logging() -> Iterator[None]:
    """A command run in-process points the `metrics_utility` logger at the sys.stderr of its moment (pytest's capture
    of that test); each test gets the logger back as it found it, so a later test's records never go to a closed
    capture."""
    import logging

    logger = logging.getLogger('metrics_utility')
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.fixture(autouse=True)
def _restore_arrow_pool_variable() -> Iterator[None]:
    """build-report run in-process sets ARROW_DEFAULT_MEMORY_POOL (library/allocator.py); each test gets the
    environment back as it found it, so a later test's child processes never inherit an earlier test's choice."""
    from metrics_utility.library.allocator import ARROW_POOL

    before = os.environ.get(ARROW_POOL)
    yield
    if before is None:
        os.environ.pop(ARROW_POOL, None)
    else:
        os.environ[ARROW_POOL] = before
