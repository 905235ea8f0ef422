"""Sharded backfill: wall time of n concurrent shards vs one gather of the same window, on `medium` data.

Each configuration ships the same window ([start, start + days)) into a fresh directory, as separate
`metrics-utility gather --ship` processes (as an Indexed Job's pods would be), all against one local PostgreSQL:

- baseline: one gather (no --shard), measured in the same run;
- n shards: `--shard i/n` for i in 0..n-1 started together; the time is until the last one exited (merge included).

It checks that every configuration shipped exactly the baseline's object names and watermarks, then prints wall
time, speed-up and CPU use. On a small machine the database and the CPU count are the limit (see docs/scale.md).

    .venv/bin/python bench/backfill.py [--days 4] [--shards 1,2,4] [--collectors job_host_summary,main_jobevent]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from metrics_utility.demo.database import build
from metrics_utility.demo.generator import DatasetSpec
from metrics_utility.demo.pgcluster import PostgresCluster

START = datetime(2024, 3, 4, tzinfo=UTC)


def env_for(db, ship: Path, collectors: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith('METRICS_UTILITY_')}
    return (
        base
        | db.reader_env()
        | {
            'METRICS_UTILITY_SHIP_TARGET': 'directory',
            'METRICS_UTILITY_SHIP_PATH': str(ship),
            'METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR': 'false'
            if 'job_host_summary' in collectors
            else 'true',
            'METRICS_UTILITY_OPTIONAL_COLLECTORS': collectors,
            'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS': '3650',
        }
    )


def run(db, ship: Path, since: datetime, until: datetime, shards: int, collectors: str) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one configuration; raises when a process failed."""
    base = [
        sys.executable,
        '-m',
        'metrics_utility.cli',
        'gather',
        '--ship',
        f'--since={since.isoformat()}',
        f'--until={until.isoformat()}',
    ]
    commands = [base] if shards == 0 else [[*base, f'--shard={i}/{shards}'] for i in range(shards)]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            c, env=env_for(db, ship, collectors), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    errors = [(p.wait(), p.stderr.read()) for p in procs]
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = [err for code, err in errors if code != 0]
    if failed:
        raise SystemExit(f'a gather failed:\n{failed[0][-2000:]}')
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu


def shipped(ship: Path) -> tuple[set[str], dict[str, str], int]:
    files = {p.relative_to(ship).as_posix(): p.stat().st_size for p in (ship / 'data').rglob('*.tar.gz')}
    marks = json.loads((ship / 'state' / 'watermarks.json').read_text())['shipped_until']
    return set(files), marks, sum(files.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--days', type=int, default=4)
    parser.add_argument('--shards', default='1,2,4', help='comma-separated shard counts to compare with one gather')
    parser.add_argument('--collectors', default='job_host_summary,main_jobevent')
    args = parser.parse_args()
    counts = [int(n) for n in args.shards.split(',')]
    spec = DatasetSpec('medium', start=START, days=args.days, seed=11)
    since, until = START, START + timedelta(days=args.days)
    work = Path(tempfile.mkdtemp(prefix='bench-backfill-'))
    try:
        with PostgresCluster() as cluster:
            t0 = time.perf_counter()
            db, stats = build(cluster, spec, dbname='bench')
            print(
                f'built medium x {args.days} days in {time.perf_counter() - t0:.1f} s: '
                f'{stats.rows.get("main_jobhostsummary", 0):,} summaries, {stats.rows.get("main_jobevent", 0):,} '
                f'events; {os.cpu_count()} CPUs; collectors {args.collectors}'
            )
            run(db, work / 'warm', since, until, 0, args.collectors)  # warm the caches once
            base_wall, base_cpu = run(db, work / 'base', since, until, 0, args.collectors)
            names, marks, size = shipped(work / 'base')
            print(f'window {since:%Y-%m-%d} .. {until:%Y-%m-%d}: {len(names)} packages, {size / 1e6:.1f} MB\n')
            header = f'{"configuration":<16} {"wall s":>8} {"speed-up":>9} {"CPU s":>7} {"CPU/wall":>9} {"same set":>9}'
            print(header)
            print('-' * len(header))
            print(
                f'{"one gather":<16} {base_wall:>8.2f} {1.0:>9.2f} {base_cpu:>7.2f} {base_cpu / base_wall:>9.2f} '
                f'{"-":>9}'
            )
            for n in counts:
                ship = work / f'shards-{n}'
                wall, cpu = run(db, ship, since, until, n, args.collectors)
                same = shipped(ship)[:2] == (names, marks)
                print(
                    f'{f"{n} shard(s)":<16} {wall:>8.2f} {base_wall / wall:>9.2f} {cpu:>7.2f} {cpu / wall:>9.2f} '
                    f'{"yes" if same else "NO":>9}'
                )
        print('\nspeed-up = one gather wall time / sharded wall time; CPU/wall > 1 means processes overlapped.')
        print('CPU s counts the worker processes only (not PostgreSQL).')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
