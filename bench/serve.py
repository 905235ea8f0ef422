"""Benchmark: the dashboard's first page over a year of daily rollups of `medium`-like data, cold and warm.

A year of days, each with one small real package and a job host summary rollup the size of a `medium` day (12,000
hosts, 2,400 jobs a day of ~20 hosts: ~48,000 rows; rollups written directly, as build-report would persist them, so
the year is generated in seconds). The first page's API calls go through the real HTTP server (aiohttp, loopback):
this month against last month, the trend by month over the year, the collection view of 30 days, the report list.

Cold = a server just started (nothing in memory), three ways: without usage digests (every day's rollup read), with
the digests build-report leaves (every past month; the current month is built from its days), and with every
month's digest (a restarted server that had written the current month's). Warm = the same calls again. Baseline:
pyarrow alone reading the same rollup columns and counting distinct hosts and jobs per month (what any answer from
the days themselves must at least read).

    .venv/bin/python bench/serve.py [--days 365] [--rows-per-day 48000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tests'))

from aiohttp.test_utils import TestClient, TestServer

from metrics_utility.library.dataframes.job_host_summary import JobHostSummaryUsage
from metrics_utility.library.dataframes.store import RollupStore
from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.usage_digest import PREFIX as DIGESTS
from metrics_utility.library.usage_digest import month_end
from metrics_utility.library.usage_periods import write_month_digests
from metrics_utility.serve.app import Served, make_app
from testsupport.report_data import INSTALL_UUID, write_tarball

TODAY = date(2026, 12, 6)
HOSTS, JOBS_PER_DAY, ORGS = 12_000, 2_400, 10


def day_frame(day: date, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """One day's direct usage rollup of `rows` rows: JOBS_PER_DAY jobs over HOSTS hosts in ORGS organizations."""
    first_job = (day - date(2020, 1, 1)).days * JOBS_PER_DAY
    job = rng.integers(0, JOBS_PER_DAY, rows)
    host = rng.integers(0, HOSTS, rows)
    org = job % ORGS
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    stamps = pd.Series(pd.to_datetime(start) + pd.to_timedelta(rng.integers(0, 86_000, rows), unit='s'))
    names = np.array([f'host{i:05d}.example.com' for i in range(HOSTS)], dtype=object)
    frame = pd.DataFrame(
        {
            'day': pd.Timestamp(day),
            'install_uuid': INSTALL_UUID,
            'organization_name': np.array([f'org{i}' for i in range(ORGS)], dtype=object)[org],
            'job_template_name': 'deploy',
            'job_remote_id': pd.array(first_job + job, dtype='Int64'),
            'host_name': names[host],
            'original_host_name': names[host],
            'task_runs': rng.integers(1, 40, rows),
            'host_runs': 1,
            'first_automation': stamps,
            'last_automation': stamps,
            'job_created': stamps,
        }
    ).drop_duplicates(['job_remote_id', 'host_name'])
    rollup = JobHostSummaryUsage()
    return rollup._conform(frame.sort_values(['organization_name', 'job_remote_id', 'host_name']))


def generate(base: Path, days: int, rows: int) -> None:
    storage = StorageDirectory(base)
    store = RollupStore(storage)
    rng = np.random.default_rng(7)
    for i in range(days):
        day = TODAY - timedelta(days=days - 1 - i)
        since = datetime(day.year, day.month, day.day, tzinfo=UTC)
        row = {'id': 1, 'host_name': 'h', 'ok': 1, 'job_remote_id': 1, 'created': since, 'modified': since}
        write_tarball(base, key='job_host_summary', rows=[row], since=since, until=since + timedelta(hours=1))
        sources = store.extractor.signature(store.extractor.tarballs(day))
        store._write(day, {'job_host_summary': day_frame(day, rows, rng)}, sources, [], {'job_host_summary'})


def first_page() -> list[tuple[str, dict[str, str]]]:
    first = TODAY.replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=1)
    year_ago = date(first.year - 1, first.month, 1)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    return [
        ('/api/v1/usage', {'by': 'month', 'since': last_month.isoformat(), 'until': tomorrow}),
        ('/api/v1/usage', {'by': 'month', 'since': year_ago.isoformat(), 'until': tomorrow}),
        ('/api/v1/collection', {'since': (TODAY - timedelta(days=29)).isoformat(), 'until': tomorrow}),
        ('/api/v1/reports', {}),
    ]


async def timed_page(client: TestClient) -> tuple[float, list[float]]:
    started = time.perf_counter()
    each = []
    for path, params in first_page():
        t0 = time.perf_counter()
        reply = await client.get(path, params=params)
        assert reply.status == 200, await reply.text()
        await reply.read()
        each.append(time.perf_counter() - t0)
    return time.perf_counter() - started, each


async def serve_runs(base: Path) -> tuple[tuple[float, list[float]], tuple[float, list[float]]]:
    storage = StorageDirectory(base)
    served = Served.of(storage)
    served.today = lambda: TODAY
    async with TestClient(TestServer(make_app(served))) as client:
        cold = await timed_page(client)
        warm = await timed_page(client)
    return cold, warm


async def full_page_runs(base: Path) -> tuple[dict[str, float], dict[str, float]]:
    """The page as a browser loads it (bench/dashboard.py: HTML, assets, then the API calls and the chart at once),
    through the app with the dashboard's routes and chart renderer, on a server just started, then again."""
    from dashboard import page_load
    from metrics_utility.serve import page, plot

    storage = StorageDirectory(base)
    served = Served.of(storage)
    served.today = lambda: TODAY
    app = make_app(served, plot=plot.render, pages=[page.add_routes])
    async with TestClient(TestServer(app)) as client:
        url = str(client.make_url('/'))
        cold = await asyncio.to_thread(page_load, url, TODAY)  # the loop keeps serving while the loads wait
        warm = await asyncio.to_thread(page_load, url, TODAY)
    return cold, warm


def baseline(base: Path) -> float:
    """pyarrow alone: read host, job and task columns of the year's rollups, distinct hosts and jobs per month."""
    started = time.perf_counter()
    files = sorted(str(p) for p in (base / 'rollups').rglob('job_host_summary.parquet'))
    table = ds.dataset(files, format='parquet').to_table(columns=['day', 'host_name', 'job_remote_id', 'task_runs'])
    month = pc.strftime(table['day'], format='%Y-%m')
    table = table.append_column('month', month)
    table.group_by('month').aggregate(
        [('host_name', 'count_distinct'), ('job_remote_id', 'count_distinct'), ('task_runs', 'sum')]
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--days', type=int, default=365)
    parser.add_argument('--rows-per-day', type=int, default=48_000)
    parser.add_argument('--keep', type=Path, help='generate into (or reuse) this directory and keep it')
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix='bench-serve-'))
    try:
        if not (base / 'rollups').is_dir():
            t0 = time.perf_counter()
            generate(base, args.days, args.rows_per_day)
            took = time.perf_counter() - t0
            print(f'generated {args.days} days x ~{args.rows_per_day:,} rollup rows in {took:.1f} s')
        rows = sum(
            pa.parquet.ParquetFile(p).metadata.num_rows for p in (base / 'rollups').rglob('job_host_summary.parquet')
        )
        print(f'{rows:,} direct-usage rollup rows over {args.days} days')
        shutil.rmtree(base / DIGESTS, ignore_errors=True)
        names = ['this vs last month', 'trend by month', 'collection 30 days', 'reports']

        def show(label: str, run: tuple[float, list[float]], digits: int) -> None:
            calls = ', '.join(f'{n} {t:.{digits}f}' for n, t in zip(names, run[1], strict=True))
            print(f'first page {label}: {run[0]:.{digits}f} s  ({calls})')

        cold, _ = asyncio.run(serve_runs(base))
        show('cold, no digests', cold, 2)
        first = (TODAY - timedelta(days=args.days - 1)).replace(day=1)
        t0 = time.perf_counter()
        built = write_month_digests(StorageDirectory(base), first, TODAY.replace(day=1))
        print(f"build-report's digests of {built} past months written in {time.perf_counter() - t0:.1f} s")
        cold, _ = asyncio.run(serve_runs(base))
        show('cold, digests of past months (as build-report leaves them)', cold, 2)
        write_month_digests(StorageDirectory(base), TODAY.replace(day=1), month_end(TODAY))
        cold, warm = asyncio.run(serve_runs(base))
        show('cold, every month digested (a restarted server)', cold, 2)
        show('warm', warm, 3)
        print(f'baseline (pyarrow alone, distinct hosts/jobs per month over the year): {baseline(base):.2f} s')
        for label, timings in zip(('cold', 'warm'), asyncio.run(full_page_runs(base)), strict=True):
            steps = ', '.join(f'{k} {v:.3f}' for k, v in timings.items() if k != 'total')
            print(f'full page {label} (HTML, assets, API and chart at once): {timings["total"]:.2f} s  ({steps})')
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
