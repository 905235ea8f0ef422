"""End to end DB -> tar.gz on disk vs the raw COPY ceiling, per compression choice, on `medium` data, in one run.

For `job_host_summary` and `main_jobevent` over one day: the ceiling is the server alone running the collector's own
statements (its look-up and its export), each as `COPY (<statement>) TO '/dev/null'`, as `bench/gather.py` measures
it; "end to end" is the collector (SELECT-only role, COPY streamed
into CSV parts) plus `Package` writing the `.tar.gz` files (checksums, row counts, compression). The ratio is
ceiling time / end-to-end time (target >= 0.6 with compression); "export only" leaves the look-up out of the
ceiling. Best of `--repeat`.

    .venv/bin/python bench/package.py [--days 3] [--repeat 3] [--compression isal-1,gzip-1,gzip-6]
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from gather import (  # bench/gather.py: the same ceiling
    COLLECTORS,
    ceiling,
    day_bench,
    medium_day,
    print_table_header,
)
from metrics_utility.demo.database import build
from metrics_utility.demo.pgcluster import PostgresCluster
from metrics_utility.library.package import Package


def end_to_end(db, conn, factory, since, until, compression: str) -> tuple[float, int, int, int]:
    """Seconds, rows, tarball bytes and packages for collector + Package into a fresh folder (one warm session)."""
    work = Path(tempfile.mkdtemp(prefix='bench-package-'))
    try:
        started = time.perf_counter()
        collector = factory(db=conn, since=since, until=until, output_dir=work / 'csv')
        package = Package(
            config={'install_uuid': db.install_uuid},
            collectors=[collector],
            since=since,
            until=until,
            output_dir=work,
            install_uuid=db.install_uuid,
            compression=compression,
        )
        files = list(package.build())
        elapsed = time.perf_counter() - started
        rows = sum(run.rows or 0 for run in package.runs)
        return elapsed, rows, sum(f.path.stat().st_size for f in files), len(files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = day_bench(__doc__)
    parser.add_argument('--compression', default='isal-1,gzip-1,gzip-6')
    args = parser.parse_args()
    spec, since, until = medium_day(args.days)
    with PostgresCluster() as cluster:
        db, stats = build(cluster, spec, dbname='bench')
        print(
            f'medium x {args.days} days: {stats.rows["main_jobhostsummary"]:,} summaries, '
            f'{stats.rows["main_jobevent"]:,} events; window {since:%Y-%m-%d} (one day)\n'
        )
        header = (
            f'{"collector":<18} {"compression":<12} {"rows":>9} {"ceiling s":>9} {"e2e s":>7} '
            f'{"ceil rows/s":>11} {"e2e rows/s":>10} {"tar.gz MB":>9} {"pkgs":>4} {"ratio":>6} '
            f'{"export only":>11}'
        )
        print_table_header(header)
        for name, factory, build_statements in COLLECTORS:
            conn = db.connect_reader()  # the SELECT-only role, one session (warm, as the ceiling's)
            statements = build_statements(conn, since, until)
            end_to_end(db, conn, factory, since, until, 'isal-1')  # warm caches once
            ceil_s, export_s = min(ceiling(cluster, 'bench', statements) for _ in range(args.repeat))
            for compression in args.compression.split(','):
                runs = [end_to_end(db, conn, factory, since, until, compression) for _ in range(args.repeat)]
                secs, rows, size, count = min(runs)
                print(
                    f'{name:<18} {compression:<12} {rows:>9,} {ceil_s:>9.3f} {secs:>7.3f} {rows / ceil_s:>11,.0f} '
                    f'{rows / secs:>10,.0f} {size / 1e6:>9.1f} {count:>4} {ceil_s / secs:>6.2f} '
                    f'{export_s / secs:>11.2f}'
                )
            conn.close()
        print(
            '\nratio = ceiling time / end-to-end time (DB -> CSV parts -> tar.gz on disk); target >= 0.6; '
            '"export only" leaves the look-up out of the ceiling'
        )


if __name__ == '__main__':
    main()
