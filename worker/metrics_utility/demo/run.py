"""`metrics-utility demo`: a throwaway controller database with synthetic data, end to end.

It builds the database and prints what it holds, ships the generated days to `<output>/ship` with the real gather
command (SELECT-only role), builds a CCSPv2 report with every sheet from what was shipped, and ends with the command
that serves the dashboard over that storage.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from metrics_utility.library import instants

from .database import build
from .generator import DatasetSpec
from .pgcluster import PostgresCluster


@dataclass
class DemoOptions:
    output: Path
    scale: str = 'small'
    days: int = 3
    seed: int = 42
    keep_running: bool = False


GATHERED = 'main_jobevent,main_host,main_indirectmanagednodeaudit,main_hostmetric'


def _gather(db, spec: DatasetSpec, ship_path: Path, out) -> int:
    """Ship the generated days to a local directory with the real gather command (SELECT-only role)."""
    env = {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship_path),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': GATHERED,
    }
    if ship_path.exists():
        shutil.rmtree(ship_path)
    print(f'\nGathering {spec.start:%Y-%m-%d} .. {spec.end:%Y-%m-%d} into {ship_path} ...', file=out)
    from metrics_utility.cli import main  # the command line itself: the demo runs what a user types

    code = main(['gather', '--ship', '--since', spec.start.isoformat(), '--until', spec.end.isoformat()], env=env)
    packages = sorted(ship_path.glob('data/*/*/*/*.tar.gz'))
    print(f'gather exit code {code}: {len(packages)} package(s) under {ship_path / "data"}', file=out)
    return code


def _report(spec: DatasetSpec, ship_path: Path, out) -> int:
    """Build a CCSPv2 report with every sheet over the gathered days, into <ship>/reports/."""
    from metrics_utility.cli import main

    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship_path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PRICE_PER_NODE': '25.00',
        'METRICS_UTILITY_REPORT_COMPANY_NAME': 'Demo Corp',
        'METRICS_UTILITY_REPORT_SKU': 'MCT3695',
    }
    last = (spec.end - timedelta(days=1)).date().isoformat()
    print(f'\nBuilding the CCSPv2 report for {spec.start:%Y-%m-%d} .. {last} ...', file=out)
    argv = ['build-report', '--since', spec.start.date().isoformat(), '--until', last, '--sheets', 'all', '--force']
    code = main(argv, env=env)
    reports = sorted(ship_path.glob('reports/*/*/*.xlsx'))
    for report in reports:
        print(f'Report: {report}', file=out)
    return code


def _check(db, ship_path: Path, out) -> int:
    """`metrics-utility check` of the gather just run: what a cron user or the operator's check Job sees."""
    from metrics_utility.check import outcomes
    from metrics_utility.commands.check import check
    from metrics_utility.settings.environment import Environment

    env = {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship_path),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': GATHERED,
    }
    print('\n$ metrics-utility check', file=out)
    results = check(Environment(env))
    for line in outcomes.lines(results):
        print(line, file=out)
    code = outcomes.exit_code(results)
    print(f'check exit code {code}', file=out)
    return code


def dashboard_command(ship_path: Path, port: int = 8080) -> tuple[str, str]:
    """The exact command that serves the dashboard over the demo's storage, and the URL to open."""
    here = Path(sys.executable).parent / 'metrics-utility'  # the venv's command when the demo runs from one
    program = 'metrics-utility'
    if here.is_file():
        program = os.path.relpath(here) if here.is_relative_to(Path.cwd()) else str(here)
    env = f'METRICS_UTILITY_SHIP_TARGET=directory METRICS_UTILITY_SHIP_PATH={shlex.quote(str(ship_path))}'
    return f'{env} {shlex.quote(program)} serve --port {port}', f'http://127.0.0.1:{port}/'


def run_demo(options: DemoOptions, out=sys.stdout) -> int:
    start = instants.days_ago(options.days)  # the last N complete UTC days
    spec = DatasetSpec(scale=options.scale, start=start, days=options.days, seed=options.seed)
    pg_dir = options.output.resolve() / 'postgres'
    if pg_dir.exists():
        shutil.rmtree(pg_dir)
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    cluster = PostgresCluster(base_dir=pg_dir, keep=True)
    print(f'Starting a throwaway PostgreSQL in {pg_dir} ...', file=out)
    cluster.start()
    try:
        began = time.monotonic()
        print(
            f'Generating {spec.scale!r} controller data for {spec.start:%Y-%m-%d} .. {spec.end:%Y-%m-%d} '
            f'(seed {spec.seed}) ...',
            file=out,
        )
        db, stats = build(cluster, spec)
        print(
            f'Loaded {sum(stats.rows.values()):,} rows ({stats.bytes / 2**20:.1f} MiB, {stats.partitions} hourly '
            f'event partitions) in {time.monotonic() - began:.1f}s\n',
            file=out,
        )
        with db.connect_owner() as conn:
            tables = conn.execute(
                'SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace '
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
            ).fetchall()
            width = max(len(t) for (t,) in tables)
            print(f'{"table":<{width}}  {"rows":>10}', file=out)
            for (table,) in tables:
                count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                print(f'{table:<{width}}  {count:>10,}', file=out)
        ship_path = options.output.resolve() / 'ship'
        code = _gather(db, spec, ship_path, out)
        if code != 0:
            return code
        code = _report(spec, ship_path, out)
        if code != 0:
            return code
        print(f'\nCluster data directory: {cluster.data_dir}', file=out)
        print(f'Install UUID of the synthetic controller: {db.install_uuid}', file=out)
        if options.keep_running:
            print(f'PostgreSQL keeps running: psql "{cluster.conninfo(db.dbname, db.owner)}"', file=out)
            print(f'Stop it with: pg_ctl -D {cluster.data_dir} stop  (as the user owning that folder)', file=out)
        else:
            print('The server stops after the check below; its data directory stays for inspection.', file=out)
        code = _check(db, ship_path, out)  # then the preflight says how the run went
        if code != 0:
            return code
        command, url = dashboard_command(ship_path)
        print(f'\nDashboard over this storage (Ctrl-C stops it):\n  {command}\nthen open {url}', file=out)
    finally:
        if not options.keep_running:
            cluster.stop()
    return 0
