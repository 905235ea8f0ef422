"""Fixtures for the controller collector tests: CSV reading, the generator's ground truth, and an edge-case DB."""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
        a, b = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM main_unifiedjob WHERE name = 'Switch audit' ORDER BY created"
            ).fetchall()
        ]
        conn.execute('UPDATE main_unifiedjob SET finished = %s WHERE id = %s', (since, a))
        conn.execute('UPDATE main_unifiedjob SET finished = %s WHERE id = %s', (until, b))
        conn.execute('UPDATE main_jobhostsummary SET created = %s, modified = %s WHERE job_id = %s', (since, since, a))
        conn.execute('UPDATE main_jobhostsummary SET created = %s, modified = %s WHERE job_id = %s', (until, until, b))
        conn.execute('UPDATE main_host SET created = %s, modified = %s WHERE id = 1', (since, since))
        conn.execute("UPDATE main_host SET created = '2020-01-01', modified = %s WHERE id = 2", (until,))
        conn.execute("UPDATE main_hostmetric SET last_automation = %s WHERE hostname = 'web01.example.com'", (since,))
        conn.execute("UPDATE main_hostmetric SET last_automation = %s WHERE hostname = 'sw01'", (until,))
        first, second = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM main_jobevent WHERE job_id = %s AND event = 'runner_on_ok' ORDER BY id LIMIT 2", (a,)
            ).fetchall()
        ]
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


# A tiny dataset the hostile-input tests modify (one stored document at a time, put back after each case), and one
# real `metrics-utility gather` of a window into a directory: what was shipped, its status rows, summary, watermarks.

HOSTILE_WINDOW = ('2024-02-28', '2024-02-29')
HOSTILE_COLLECTORS = 'main_jobevent,main_jobevent_service,main_hostmetric,main_host'
WINDOW_BOUNDS = (datetime(2024, 2, 28, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC))  # HOSTILE_WINDOW as instants


@pytest.fixture(scope='session')
def hostile_db(postgres: PostgresCluster) -> ControllerDatabase:
    """The tiny dataset with every host's variables readable (the tiny set has broken ones on purpose) and the host
    metric of web01.example.com automated inside HOSTILE_WINDOW, so a case's counts are its own."""
    db, _ = build(postgres, DatasetSpec('tiny', start=datetime(2024, 2, 28, tzinfo=UTC), days=2, seed=1), 'hostile')
    with db.connect_owner() as conn:
        conn.execute("UPDATE main_host SET variables = 'ansible_host: 10.0.0.' || id")
        conn.execute(
            "UPDATE main_hostmetric SET last_automation = '2024-02-28 12:00+00' WHERE hostname = 'web01.example.com'"
        )
    return db


@dataclass
class Shipped:
    """One gather run: raw CSV bytes per collector (all packages), status rows per file, summary and watermarks."""

    data: dict[str, list[bytes]]
    status: dict[str, list[dict[str, str]]]
    summary: dict
    watermarks: dict[str, str]
    exit_code: int

    def rows(self, key: str) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for part in self.data.get(key, []):
            rows.extend(csv.DictReader(io.StringIO(part.decode('utf-8'), newline='')))
        return rows

    def unreadable(self, key: str) -> int:
        return sum(int(row['unreadable_rows']) for row in self.status[f'{key}.csv'])


@pytest.fixture
def gather_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Shipped]:
    """`metrics-utility gather --ship` of HOSTILE_WINDOW (directory target, SELECT-only role), read back."""
    from metrics_utility.cli import main
    from metrics_utility.library.package.status import parse_status_csv

    counter = iter(range(1000))

    def run(db: ControllerDatabase, collectors: str = HOSTILE_COLLECTORS, env: dict[str, str] | None = None) -> Shipped:
        ship = tmp_path / f'ship{next(counter)}'
        summary_file = ship.with_suffix('.json')
        for key in [k for k in os.environ if k.startswith('METRICS_UTILITY_')]:
            monkeypatch.delenv(key)
        env = {
            **(env or {}),
            **db.reader_env(),
            'METRICS_UTILITY_SHIP_TARGET': 'directory',
            'METRICS_UTILITY_SHIP_PATH': str(ship),
            'METRICS_UTILITY_OPTIONAL_COLLECTORS': collectors,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        code = main(
            [
                'gather',
                '--ship',
                '--since',
                HOSTILE_WINDOW[0],
                '--until',
                HOSTILE_WINDOW[1],
                '--summary-file',
                str(summary_file),
            ]
        )
        data: dict[str, list[bytes]] = {}
        status: dict[str, list[dict[str, str]]] = {}
        for path in sorted((ship / 'data').rglob('*.tar.gz')):
            with tarfile.open(path, 'r:gz') as tar:
                for member in tar.getmembers():
                    content = tar.extractfile(member).read()
                    name = member.name.removeprefix('./')
                    if name == 'data_collection_status.csv':
                        for row in parse_status_csv(content):
                            status.setdefault(row['file_name'], []).append(row)
                    elif name.endswith('.csv'):
                        data.setdefault(name.removesuffix('.csv'), []).append(content)
        marks_file = ship / 'state' / 'watermarks.json'
        marks = json.loads(marks_file.read_text())['shipped_until'] if marks_file.exists() else {}
        return Shipped(data, status, json.loads(summary_file.read_text()), marks, code)

    return run
