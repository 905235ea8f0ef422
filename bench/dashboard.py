"""Benchmark: the dashboard's full page load over a year of daily data, as a browser does it, cold and warm.

One load = `GET /`, then its three assets together, then together the four API calls the page's script makes (this
month against last month, the trend by month, collection health, the report list) and the trend chart (SVG).
The server is the real `metrics-utility serve` in a subprocess. Cold = the first load after the server started on a
storage without rollups (every day is rolled up and persisted while answering); warm = the median of the next loads.
Target (issue #15): the first page answers in under 1 s over a year of daily rollups.

    .venv/bin/python bench/dashboard.py [--days 365] [--jobs-per-day 40] [--hosts 2000] [--keep DIR]
    .venv/bin/python bench/dashboard.py --url http://127.0.0.1:8080/   # time a server that already runs

`page_load(url)` is importable (bench/serve.py may time the page with it over its own storage).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tests'))

ASSETS = ('static/dashboard.js', 'static/dashboard.css', 'static/favicon.svg')


def _fetch(url: str) -> tuple[float, int]:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        size = len(response.read())
        assert response.status == 200, (url, response.status)
    return time.perf_counter() - began, size


def _month(day: date, add: int) -> date:
    index = day.year * 12 + day.month - 1 + add
    return date(index // 12, index % 12 + 1, 1)


def page_calls(today: date) -> list[str]:
    """The API paths dashboard.js asks for on its first view (the same windows it computes)."""
    billing = f'by=month&since={_month(today, -1)}&until={_month(today, 1)}'
    trend = f'by=month&since={_month(today, -11)}&until={_month(today, 1)}'
    return [f'api/v1/usage?{billing}', f'api/v1/usage?{trend}', 'api/v1/collection', 'api/v1/reports']


def page_load(url: str, today: date | None = None) -> dict[str, float]:
    """Seconds of one full load of the page at `url`, per step and in total (requests of a step in parallel)."""
    today = today or datetime.now(UTC).date()
    timings: dict[str, float] = {}
    began = time.perf_counter()
    timings['html'] = _fetch(url)[0]
    with ThreadPoolExecutor(max_workers=6) as pool:  # a browser opens up to six connections per origin
        step = time.perf_counter()
        list(pool.map(_fetch, [url + a for a in ASSETS]))
        timings['assets'] = time.perf_counter() - step
        step = time.perf_counter()
        calls = page_calls(today)
        names = ['usage', 'usage (trend)', 'collection', 'reports', 'chart']
        urls = [url + c for c in calls] + [url + calls[1] + '&mode=plot']
        for name, (seconds, _) in zip(names, pool.map(_fetch, urls), strict=True):
            timings[name] = seconds
        timings['api'] = time.perf_counter() - step
    timings['total'] = time.perf_counter() - began
    return timings


def generate(base: Path, days: int, jobs_per_day: int, hosts: int) -> int:
    from testsupport.report_data import synthetic

    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    rows = 0
    for d in range(days):  # a day at a time keeps the generator's memory small
        data = synthetic(
            first + timedelta(days=d),
            1,
            jobs_per_day=jobs_per_day,
            hosts=hosts,
            hosts_per_job=25,
            events_per_host=1,
            seed=d,
            indirect=False,
        )
        data.write(base, keys=('job_host_summary', 'main_jobevent'))
        rows += sum(1 for _ in data.all('job_host_summary'))
    return rows


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def serve(base: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, 'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(base)}
    argv = [sys.executable, '-m', 'metrics_utility.cli', 'serve', '--port', str(port)]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.monotonic() + 60
    while True:
        try:
            _fetch(url + 'healthz')
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f'metrics-utility serve did not start (exit {process.poll()})')
            time.sleep(0.1)


def show(label: str, timings: dict[str, float]) -> None:
    steps = '  '.join(f'{k} {v * 1000:.0f}' for k, v in timings.items() if k != 'total')
    print(f'{label:6s} total {timings["total"] * 1000:7.0f} ms   ({steps}; ms)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--days', type=int, default=365)
    parser.add_argument('--jobs-per-day', type=int, default=40)
    parser.add_argument('--hosts', type=int, default=2000)
    parser.add_argument('--loads', type=int, default=5, help='warm loads (the median is printed)')
    parser.add_argument('--keep', type=Path, help='use/keep this storage directory (data generated only if empty)')
    parser.add_argument('--url', help='time a running server instead of starting one')
    args = parser.parse_args()
    if args.url:
        for i in range(args.loads):
            show(f'load {i + 1}', page_load(args.url.rstrip('/') + '/'))
        return
    base = args.keep or Path(tempfile.mkdtemp(prefix='bench-dashboard-'))
    try:
        if not (base / 'data').exists():
            began = time.perf_counter()
            rows = generate(base, args.days, args.jobs_per_day, args.hosts)
            print(f'generated {args.days} days, {rows:,} job host summaries in {time.perf_counter() - began:.0f} s')
        shutil.rmtree(base / 'rollups', ignore_errors=True)  # cold: no day rolled up yet
        results = {}
        for phase in ('cold', 'warm'):
            process, url = serve(base)
            try:
                first = page_load(url)
                show(f'{phase}', first)
                loads = [page_load(url) for _ in range(args.loads)]
                median = {k: statistics.median(t[k] for t in loads) for k in loads[0]}
                show('again', median)
                results[phase] = {'first': first, 'median': median}
            finally:
                process.terminate()
                process.wait(timeout=10)
        target = results['warm']['first']['total']
        print(f'target: the first page over rolled-up days < 1 s -> {"ok" if target < 1 else "MISSED"}')
        print(json.dumps({k: round(v['first']['total'], 3) for k, v in results.items()}))
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    main()
