"""Generation benchmark: time and size of the synthetic controller database per scale.

Prints, per scale and number of days, the wall time of pure generation (Python only), the total time to a ready
database (generation + COPY + keys/indexes + ANALYZE), rows, COPY volume and on-disk size. Baseline in the same
run: the raw server `COPY ... FROM` of the same bytes into an empty copy of the event table is not separable from
generation here, so the ratio printed is generation-only time over total time (how much PostgreSQL dominates).

    python bench/generate.py                 # medium over 7 days (the issue's figure)
    python bench/generate.py small:3 medium:1
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from metrics_utility.demo.database import build
from metrics_utility.demo.generator import DatasetSpec, generate
from metrics_utility.demo.pgcluster import PostgresCluster

START = datetime(2024, 2, 26, tzinfo=UTC)


def measure(scale: str, days: int) -> dict:
    spec = DatasetSpec(scale, START, days=days, seed=1)
    began = time.perf_counter()
    volume = sum(len(chunk.encode()) for _, chunk in generate(spec))
    pure = time.perf_counter() - began
    with PostgresCluster() as cluster:
        began = time.perf_counter()
        db, stats = build(cluster, spec)
        total = time.perf_counter() - began
        with db.connect_owner() as conn:
            size = conn.execute('SELECT pg_database_size(current_database())').fetchone()[0]
    return {
        'scale': f'{scale}:{days}d',
        'pure_s': pure,
        'total_s': total,
        'summaries': stats.rows.get('main_jobhostsummary', 0),
        'events': stats.rows.get('main_jobevent', 0),
        'rows': sum(stats.rows.values()),
        'copy_mib': volume / 2**20,
        'db_mib': size / 2**20,
    }


def main(argv: list[str]) -> None:
    targets = [(a.split(':')[0], int(a.split(':')[1])) for a in argv] or [('medium', 7)]
    print(
        f'{"dataset":<12} {"generate s":>10} {"ready s":>8} {"gen/ready":>9} {"summaries":>10} {"events":>10} '
        f'{"rows":>10} {"COPY MiB":>9} {"DB MiB":>8} {"rows/s":>9}'
    )
    for scale, days in targets:
        r = measure(scale, days)
        print(
            f'{r["scale"]:<12} {r["pure_s"]:>10.1f} {r["total_s"]:>8.1f} {r["pure_s"] / r["total_s"]:>9.2f} '
            f'{r["summaries"]:>10,} {r["events"]:>10,} {r["rows"]:>10,} {r["copy_mib"]:>9.0f} {r["db_mib"]:>8.0f} '
            f'{r["rows"] / r["total_s"]:>9,.0f}'
        )


if __name__ == '__main__':
    main(sys.argv[1:])
