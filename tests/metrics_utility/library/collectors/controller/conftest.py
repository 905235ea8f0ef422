"""Fixtures for the controller collector tests: CSV reading, the generator's ground truth, and an edge-case DB."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from metrics_utility.demo.database import ControllerDatabase, build
from metrics_utility.demo.generator import DatasetSpec, Host, plan
from metrics_utility.demo.pgcluster import PostgresCluster

FULL = (datetime(2024, 2, 27, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))  # the whole standard dataset
LEAP_DAY = (datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))


def read_csv(paths: list[Path]) -> list[dict[str, str]]:
    """Rows of all parts, in order; each part must start with the same header."""
    rows: list[dict[str, str]] = []
    header = None
    for path in paths:
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            assert header is None or reader.fieldnames == header, f'{path} has another header'
            header = reader.fieldnames
            rows.extend(reader)
    return rows


def header_of(path: Path) -> list[str]:
    with open(path, newline='', encoding='utf-8') as f:
        return next(csv.reader(f))


def ts(text: str) -> datetime | None:
    """A PostgreSQL timestamptz as COPY CSV writes it under TimeZone=UTC."""
    return datetime.fromisoformat(text) if text else None


@pytest.fixture(scope='session')
def truth_hosts(controller_db: ControllerDatabase) -> dict[int, Host]:
    """The generator's own hosts (with the correct `ansible_host`) of the standard dataset, by id."""
    return {h.id: h for h in plan(controller_db.spec)._gen.hosts}


@pytest.fixture
def tiny_conn(tiny_db: ControllerDatabase) -> Iterator[psycopg.Connection]:
    with tiny_db.connect_reader() as conn:
        yield conn


# An edge-case database: the tiny dataset with rows moved exactly onto the bounds of EDGE_WINDOW.
EDGE_WINDOW = (datetime(2024, 2, 28, 16, 10, tzinfo=UTC), datetime(2024, 2, 29, 16, 10, tzinfo=UTC))


@pytest.fixture(scope='session')
def edges_db(postgres: PostgresCluster) -> ControllerDatabase:
    """Tiny dataset where job A (first network job) finished exactly at `since` and job B (second) exactly at `until`;
    their summaries were modified at those instants; host 1 was created at `since` and host 2 modified at `until`;
    the host metrics of web01 / sw01 were last automated at `since` / `until`.

    Also one event of job A carries `\\u0000` and a lone surrogate in extracted keys, and one carries non-JSON text.
    """
    db, _ = build(postgres, DatasetSpec('tiny', start=datetime(2024, 2, 28, tzinfo=UTC), days=2, seed=1), 'edges')
    since, until = EDGE_WINDOW
    with db.connect_owner() as conn:
        a, b = [r[0] for r in conn.execute(
            "SELECT id FROM main_unifiedjob WHERE name = 'Switch audit' ORDER BY created"
        ).fetchall()]  # fmt: skip
        conn.execute('UPDATE main_unifiedjob SET finished = %s WHERE id = %s', (since, a))
        conn.execute('UPDATE main_unifiedjob SET finished = %s WHERE id = %s', (until, b))
        conn.execute('UPDATE main_jobhostsummary SET created = %s, modified = %s WHERE job_id = %s', (since, since, a))
        conn.execute('UPDATE main_jobhostsummary SET created = %s, modified = %s WHERE job_id = %s', (until, until, b))
        conn.execute('UPDATE main_host SET created = %s, modified = %s WHERE id = 1', (since, since))
        conn.execute("UPDATE main_host SET created = '2020-01-01', modified = %s WHERE id = 2", (until,))
        conn.execute("UPDATE main_hostmetric SET last_automation = %s WHERE hostname = 'web01.example.com'", (since,))
        conn.execute("UPDATE main_hostmetric SET last_automation = %s WHERE hostname = 'sw01'", (until,))
        first, second = [r[0] for r in conn.execute(
            "SELECT id FROM main_jobevent WHERE job_id = %s AND event = 'runner_on_ok' ORDER BY id LIMIT 2", (a,)
        ).fetchall()]  # fmt: skip
        conn.execute(
            'UPDATE main_jobevent SET event_data = %s WHERE id = %s',
            ('{"task_action": "nul\\u0000here", "resolved_action": "lone \\ud83d surrogate", "duration": 1.5}', first),
        )
        conn.execute("UPDATE main_jobevent SET event_data = 'not json at all' WHERE id = %s", (second,))
    db.edge_jobs = (a, b)  # type: ignore[attr-defined]
    db.edge_events = (first, second)  # type: ignore[attr-defined]
    return db


@pytest.fixture
def edges_conn(edges_db: ControllerDatabase) -> Iterator[psycopg.Connection]:
    with edges_db.connect_reader() as conn:
        yield conn


@pytest.fixture
def gather(tmp_path: Path) -> Callable[..., list[Path]]:
    """Run a collector factory with `output_dir` set to a fresh folder; returns its files."""
    counter = iter(range(1000))

    def run(factory: Callable, **params) -> list[Path]:
        return factory(output_dir=tmp_path / f'run{next(counter)}', **params).gather()

    return run
