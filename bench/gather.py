"""COPY ceiling vs our controller collectors on `medium` data (or `--scale large`), measured in one run.

For `job_host_summary` and `main_jobevent` over one day, this prints:
- the ceiling: the server alone running the collector's own statements, each as `COPY (<statement>) TO '/dev/null'
  CSV HEADER`, as superuser (no client, no network, no files). A collector sends two: a look-up (the hosts whose
  variables it parses / the jobs whose event partitions it reads) and the export; the ceiling is their sum, and the
  export's share is printed next to it;
- the collector: `.gather()` as the SELECT-only role, end to end (host-variable parsing / job scope look-up, COPY
  streamed into split CSV files on disk), on one warm session as a gather runs (the ceiling's session is warm too);
- rows/s, MB/s and the ratio ceiling/collector (target >= 0.8), and the same ratio against the export statement
  alone (a stricter figure: the look-up then counts as our overhead). Each measurement is the best of `--repeat`.

With `--unreadable-events N`, N events of the window (one per hour partition, as far as there are hours) get an
`event_data` the server cannot read after the ceiling was measured, so `main_jobevent` runs its fallback (failed COPY,
then hour by hour, the bad hours parsed in Python): the price of one bad document (docs/collectors.md).

Then the event statement's extraction of the four `event_data` keys against the raw read (the same rows with
`event_data` passed through as text): each variant's server time (COPY to /dev/null, best of `--repeat`) and
raw/variant; "exact" says whether it gives the collector's values (the json ones print numbers and nested values as
written, not as jsonb renders them: tests/.../test_events.py compares the chosen statement with the previous one).

Last, the end-to-end gather of all `--days` (`metrics-utility gather` of job_host_summary and main_jobevent, one
window a day, packages built on disk), each run its own process: with METRICS_UTILITY_GATHER_PARALLELISM 1, 2 and
4, the code of `--baseline` (git ref, default main; its `worker/` exported with `git archive`) in the same run, and
the single-stream ceiling of the same statements (each window's statements as server COPYs to /dev/null, summed).
Each run's CPU is printed next to its wall time (the process's, and the server's: the backends that served it), and,
from the `--verbose` log of our runs, how the streams shared the work (busiest and idlest stream) and how long
packaging waited for the collection running ahead of it (gather/prefetch.py).

    .venv/bin/python bench/gather.py [--days 3] [--repeat 3] [--unreadable-events 0] [--baseline main] [--scale medium]
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import ClientCursor, sql

from metrics_utility.demo.database import build
from metrics_utility.demo.generator import DatasetSpec
from metrics_utility.demo.pgcluster import PostgresCluster
from metrics_utility.library.collectors.controller import job_host_summary, main_jobevent, partitions, window
from metrics_utility.library.collectors.controller.host_columns import candidates
from metrics_utility.library.collectors.controller.main_jobevent import JOBS
from metrics_utility.library.collectors.controller.main_jobevent import build_query as jobevent_query

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tests'))
from testsupport.event_statements import ESCAPED, PREVIOUS_EXTRACTION, PREVIOUS_TEMPLATE, TEXT_KEYS

START = datetime(2024, 3, 4, tzinfo=UTC)


Statement = tuple[sql.Composable, dict]


def jhs_statements(conn: psycopg.Connection, since: datetime, until: datetime) -> list[Statement]:
    """What job_host_summary sends: the hosts look-up, then the export."""
    m = importlib.import_module('metrics_utility.library.collectors.controller.job_host_summary')  # not the factory
    hosts, export, params = m.statements(conn, since, until)
    return [(candidates(hosts), params), (export, params)]


def jobevent_statements(conn: psycopg.Connection, since: datetime, until: datetime) -> list[Statement]:
    """What main_jobevent sends: the jobs look-up, then the export."""
    params = window.params(since, until)
    return [(sql.SQL(JOBS).format(window=window.condition('s.modified')), params), jobevent_query(conn, since, until)]


# The collectors a benchmark runs: name, factory, the statements it sends (for the COPY-only ceiling).
COLLECTORS = (
    ('job_host_summary', job_host_summary, jhs_statements),
    ('main_jobevent', main_jobevent, jobevent_statements),
)


# name -> (LATERAL's extraction, exact); None: the collector's own statement.
EXTRACTIONS = {
    'raw read (event_data as text)': (
        'LEFT JOIN LATERAL (SELECT e.event_data AS task_action, NULL::text AS resolved_action, '
        'NULL::text AS resolved_role, NULL::text AS duration) ed ON true',
        False,
    ),
    'previous: LATERAL jsonb_to_record, left/right': (PREVIOUS_EXTRACTION, True),
    'previous: LATERAL jsonb_to_record, LIKE': (
        f"LEFT JOIN LATERAL jsonb_to_record(CASE WHEN e.event_data LIKE '{{%%}}' THEN {ESCAPED}::jsonb END) "
        f'AS ed({TEXT_KEYS}) ON true',
        True,
    ),
    'LATERAL jsonb once, ->> x4, LIKE': (
        "LEFT JOIN LATERAL (SELECT j->>'task_action' AS task_action, j->>'resolved_action' AS resolved_action, "
        "j->>'resolved_role' AS resolved_role, j->>'duration' AS duration FROM (SELECT CASE WHEN e.event_data "
        f"LIKE '{{%%}}' THEN {ESCAPED}::jsonb END AS j OFFSET 0) s) ed ON true",
        True,
    ),
    'LATERAL json_to_record (text columns)': (
        f"LEFT JOIN LATERAL json_to_record(CASE WHEN e.event_data LIKE '{{%%}}' THEN {ESCAPED}::json END) "
        f'AS ed({TEXT_KEYS}) ON true',
        False,
    ),
    'four json_extract_path_text': (
        'LEFT JOIN LATERAL (SELECT '
        + ', '.join(
            f"CASE WHEN e.event_data LIKE '{{%%}}' THEN json_extract_path_text({ESCAPED}::json, '{k}') END AS {k}"
            for k in ('task_action', 'resolved_action', 'resolved_role', 'duration')
        )
        + ') ed ON true',
        False,
    ),
    'chosen: jsonb once, ->> x4, first char/last byte (ours)': (None, True),
}


def extraction_table(cluster: PostgresCluster, dbname: str, conn: psycopg.Connection, since, until, repeat: int):
    """Each extraction variant's server time against the raw read of the same rows."""
    export = main_jobevent_module().build_export(conn, since, until)
    partition = partitions.job_created_condition('e.job_created', export.ranges)
    queries = {
        name: export.fast()
        if extraction is None
        else sql.SQL(PREVIOUS_TEMPLATE).format(**export.fixed, partitions=partition, extract=sql.SQL(extraction))
        for name, (extraction, _) in EXTRACTIONS.items()
    }
    runs: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(repeat):  # interleaved: the shared machine's load drifts
        for name, query in queries.items():
            runs[name].append(ceiling(cluster, dbname, [(query, export.params)])[0])
    timings = {name: min(values) for name, values in runs.items()}
    raw = timings['raw read (event_data as text)']
    print()
    print_table_header(f'{"main_jobevent extraction (all days)":<52} {"server s":>9} {"raw/this":>9} {"exact":>6}')
    for name, seconds in timings.items():
        print(f'{name:<52} {seconds:>9.3f} {raw / seconds:>9.2f} {"yes" if EXTRACTIONS[name][1] else "no":>6}')


ROOT = Path(__file__).resolve().parents[1]


def export_worker(ref: str) -> Path:
    """`worker/` of git `ref`, exported into a temporary folder (for PYTHONPATH)."""
    folder = Path(tempfile.mkdtemp(prefix='bench-baseline-'))
    archive = subprocess.run(['git', '-C', str(ROOT), 'archive', ref, 'worker'], check=True, capture_output=True)
    subprocess.run(['tar', '-x', '-C', str(folder)], input=archive.stdout, check=True)
    return folder / 'worker'


@dataclass
class Run:
    """One end-to-end gather: wall, the process's CPU, the server's CPU (backends that ended, reaped by the
    postmaster), and from its debug log the streams' figures summed over windows."""

    wall: float
    client: float
    server: float
    streams_wall: float = 0.0  # the windows' streams from first start to last end
    busiest: float = 0.0  # per window, the stream busy longest
    idlest: float = 0.0  # per window, the stream busy shortest
    waited: float = 0.0  # packaging waiting for its window's collection (the rest of collecting was overlapped)


STREAMS_LINE = re.compile(r'streams: \d+ pieces on \d+ streams in ([\d.]+) s; per stream busy ([\d. ]+) s')
WAITED_LINE = re.compile(r'packaging waited ([\d.]+) s')


def postmaster_cpu(cluster: PostgresCluster) -> float:
    """CPU seconds of the cluster's postmaster and its reaped children (every backend that ended)."""
    pid = int((cluster.data_dir / 'postmaster.pid').read_text().split()[0])
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf('SC_CLK_TCK')


def gather_process(
    cluster: PostgresCluster, db, since: datetime, until: datetime, pythonpath: Path, env: dict[str, str]
) -> Run:
    """One `metrics-utility gather` (dry run, packages kept on disk) in its own process, with `--verbose` when the
    code logs its streams (`verbose`); its `Run`."""
    out = Path(tempfile.mkdtemp(prefix='bench-e2e-'))
    try:
        environment = {
            'PATH': os.environ.get('PATH', ''),
            'PYTHONPATH': str(pythonpath),
            **db.reader_env(),
            'METRICS_UTILITY_SHIP_TARGET': 'directory',
            'METRICS_UTILITY_SHIP_PATH': str(out / 'ship'),
            **env,
        }
        command = [sys.executable, '-c', 'import sys; from metrics_utility.cli import main; sys.exit(main())']
        args = ['gather', '--since', since.isoformat(), '--until', until.isoformat(), '--output', str(out / 'pk')]
        verbose = ['--verbose'] if env.get('METRICS_UTILITY_GATHER_PARALLELISM') else []
        server, children = postmaster_cpu(cluster), resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([*command, *args, *verbose], env=environment, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = after.ru_utime - children.ru_utime + after.ru_stime - children.ru_stime
        run = Run(wall, client, postmaster_cpu(cluster) - server)
        for found in STREAMS_LINE.finditer(done.stderr):
            busy = [float(x) for x in found[2].split()]
            run.streams_wall += float(found[1])
            run.busiest += max(busy)
            run.idlest += min(busy)
        run.waited = sum(float(found[1]) for found in WAITED_LINE.finditer(done.stderr))
        return run
    finally:
        shutil.rmtree(out, ignore_errors=True)


def end_to_end(cluster: PostgresCluster, db, since: datetime, until: datetime, repeat: int, baseline: str) -> None:
    """The end-to-end gather with 1, 2 and 4 streams, the baseline's code and the single-stream ceiling."""
    days = [since + timedelta(days=d) for d in range((until - since).days)]
    ceiling_s = 0.0
    with db.connect_reader() as conn:
        for day in days:
            for _, _, build_statements in COLLECTORS:
                statements = build_statements(conn, day, day + timedelta(days=1))
                ceiling_s += min(ceiling(cluster, 'bench', statements)[0] for _ in range(repeat))
    ours = ROOT / 'worker'
    runs = {
        f'baseline ({baseline}), one stream': (export_worker(baseline), {}),
        **{
            f'ours, {n} stream{"s" if n > 1 else ""}': (ours, {'METRICS_UTILITY_GATHER_PARALLELISM': str(n)})
            for n in (1, 2, 4)
        },
    }
    times: dict[str, list[Run]] = {name: [] for name in runs}
    for _ in range(repeat):  # interleaved: the shared machine's load drifts
        for name, (path, env) in runs.items():
            times[name].append(gather_process(cluster, db, since, until, path, env))
    base = min(run.wall for run in times[f'baseline ({baseline}), one stream'])
    print()
    header = (
        f'{"gather, all days (own process)":<34} {"best s":>8} {"runs s":>20} {"vs baseline":>12} '
        f'{"client cpu":>11} {"server cpu":>11}'
    )
    print_table_header(header)
    print(f'{"ceiling: one stream, server only":<34} {ceiling_s:>8.2f} {"":>20} {base / ceiling_s:>11.2f}x')
    for name, values in times.items():
        best = min(values, key=lambda run: run.wall)
        shown = ' '.join(f'{v.wall:.1f}' for v in values)
        print(
            f'{name:<34} {best.wall:>8.2f} {shown:>20} {base / best.wall:>11.2f}x {best.client:>11.2f} '
            f'{best.server:>11.2f}'
        )
    print(
        "\n(best run of each) streams s: the windows' concurrent streams, first start to last end, summed; busiest / "
        "idlest: per window the stream busy longest / shortest, summed; waited: packaging waiting for its window's "
        'collection (the rest of it ran while the window before was packaged and shipped)'
    )
    print_table_header(f'{"":<34} {"streams s":>10} {"busiest":>8} {"idlest":>8} {"waited":>8}')
    for name, values in times.items():
        best = min(values, key=lambda run: run.wall)
        if best.streams_wall or best.waited:
            print(f'{name:<34} {best.streams_wall:>10.2f} {best.busiest:>8.2f} {best.idlest:>8.2f} {best.waited:>8.2f}')


def main_jobevent_module():
    return importlib.import_module('metrics_utility.library.collectors.controller.main_jobevent')  # not the factory


def print_table_header(header: str) -> None:
    print(header)
    print('-' * len(header))


def ceiling(cluster: PostgresCluster, dbname: str, statements: list[Statement]) -> tuple[float, float]:
    """The server alone, (all statements, the export alone): per statement the faster of JIT on (the server
    default) and off (what the collectors use), each statement run after a warm-up in the same session."""
    per_statement = []
    with cluster.connect(dbname, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for query, params in statements:
            statement = ClientCursor(conn).mogrify(
                sql.SQL("COPY ({}) TO '/dev/null' WITH (FORMAT csv, HEADER true)").format(query), params
            )
            times = []
            for jit in ('on', 'off'):
                conn.execute(f'SET jit = {jit}')
                started = time.perf_counter()
                conn.execute(statement)
                times.append(time.perf_counter() - started)
            per_statement.append(min(times))
    return sum(per_statement), per_statement[-1]


BAD_EVENTS = """
UPDATE main_jobevent SET event_data = '{"task_action": unreadable}' WHERE id IN (
    SELECT DISTINCT ON (date_trunc('hour', e.job_created)) e.id
    FROM main_jobevent e JOIN main_jobhostsummary s ON s.job_id = e.job_id AND s.host_name = e.host_name
    WHERE s.modified >= %(since)s AND s.modified < %(until)s AND e.event = 'runner_on_ok'
    ORDER BY date_trunc('hour', e.job_created), e.id LIMIT %(count)s
)
"""


def ours(conn: psycopg.Connection, factory, since: datetime, until: datetime) -> tuple[float, int, int]:
    """One collector run on `conn`: like a gather, which uses one connection for all its windows and collectors."""
    out = Path(tempfile.mkdtemp(prefix='bench-gather-'))
    try:
        started = time.perf_counter()
        files = factory(db=conn, since=since, until=until, output_dir=out).gather()
        elapsed = time.perf_counter() - started
        size = sum(f.stat().st_size for f in files)
        rows = 0
        for f in files:
            with open(f, 'rb') as lines:
                rows += sum(1 for _ in lines) - 1  # no field of these two collectors holds a newline
        return elapsed, rows, size
    finally:
        shutil.rmtree(out, ignore_errors=True)


def day_bench(doc: str) -> argparse.ArgumentParser:
    """The arguments of the one-day collector benchmarks (this one and bench/package.py): `--days`, `--repeat`."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--days', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=3)
    return parser


def medium_day(days: int, scale: str = 'medium') -> tuple[DatasetSpec, datetime, datetime]:
    """`scale` data (the demo generator's) over `days` days from START, and the window measured: its second day
    (the first when there is one)."""
    since = START + timedelta(days=1 if days > 1 else 0)
    return DatasetSpec(scale, start=START, days=days, seed=11), since, since + timedelta(days=1)


def collector_tables(cluster: PostgresCluster, db, args: argparse.Namespace, since: datetime, until: datetime) -> None:
    """The per-collector table of one day, then the extraction variants over all days."""
    header = (
        f'{"collector":<18} {"rows":>10} {"MB":>8} {"ceiling s":>10} {"export s":>9} {"ours s":>8} '
        f'{"ceil rows/s":>12} {"our rows/s":>11} {"our MB/s":>9} {"ratio":>6} {"export only":>11}'
    )
    print_table_header(header)
    for name, factory, build_statements in COLLECTORS:
        with db.connect_reader() as conn:  # the SELECT-only role, one session (warm, as the ceiling's)
            statements = build_statements(conn, since, until)
            ours(conn, factory, since, until)  # warm the caches once
            ceil_s, export_s = min(ceiling(cluster, 'bench', statements) for _ in range(args.repeat))
            if name == 'main_jobevent' and args.unreadable_events:
                with db.connect_owner() as owner:
                    bad = owner.execute(
                        BAD_EVENTS, {'since': since, 'until': until, 'count': args.unreadable_events}
                    ).rowcount
                print(f'({bad} unreadable event(s) in the window from here on)')
            runs = [ours(conn, factory, since, until) for _ in range(args.repeat)]
        our_s, rows, size = min(runs)
        print(
            f'{name:<18} {rows:>10,} {size / 1e6:>8.1f} {ceil_s:>10.3f} {export_s:>9.3f} {our_s:>8.3f} '
            f'{rows / ceil_s:>12,.0f} {rows / our_s:>11,.0f} {size / 1e6 / our_s:>9.1f} {ceil_s / our_s:>6.2f} '
            f'{export_s / our_s:>11.2f}'
        )
    print(
        '\nratio = ceiling time / our time (1.0 = as fast as the server can format CSV into /dev/null); '
        '"export only" leaves the look-up out of the ceiling'
    )
    with db.connect_reader() as conn:
        extraction_table(cluster, 'bench', conn, START, START + timedelta(days=args.days), args.repeat)


def main() -> None:
    parser = day_bench(__doc__)
    parser.add_argument('--unreadable-events', type=int, default=0)
    parser.add_argument('--baseline', default='main', help='git ref whose worker/ is the end-to-end baseline')
    parser.add_argument('--only-end-to-end', action='store_true', help='skip the per-collector and extraction tables')
    parser.add_argument('--scale', choices=('medium', 'large'), default='medium', help="the demo generator's scale")
    args = parser.parse_args()
    spec, since, until = medium_day(args.days, args.scale)
    with PostgresCluster() as cluster:
        t0 = time.perf_counter()
        db, stats = build(cluster, spec, dbname='bench')
        summaries, events = stats.rows.get('main_jobhostsummary', 0), stats.rows.get('main_jobevent', 0)
        print(
            f'built {args.scale} x {args.days} days in {time.perf_counter() - t0:.1f} s: {summaries:,} summaries, '
            f'{events:,} events'
        )
        print(f'window {since:%Y-%m-%d} .. {until:%Y-%m-%d} (one day)\n')
        if not args.only_end_to_end:
            collector_tables(cluster, db, args, since, until)
        end_to_end(cluster, db, START, START + timedelta(days=args.days), args.repeat, args.baseline)


if __name__ == '__main__':
    main()
