"""Benchmark: build-report CCSPv2 (all sheets) over a month of ≥1M job host summaries, cold and warm.

Tarballs are written through tests/testsupport/report_data.py (the collectors' CSV shape). build-report runs in a
subprocess; its wall time and peak RSS (RUSAGE_CHILDREN.ru_maxrss) are printed. Cold = no rollups (built and
persisted), warm = rollups present. Targets: cold ≤ 30 s and ≤ 1 GB, warm ≤ 5 s.

    .venv/bin/python bench/report.py [--rows 1000000] [--events-per-host 2] [--keep DIR] [--digest FILE]
    .venv/bin/python bench/report.py --scale large [--baseline DIR]

`--scale` writes streamed synthetic days instead (`report_data.write_scaled_day`): small = 4 days of 2,000 job host
summaries (8 events each), medium = 3 days of 40,300 (1.1M events in all), large = one day of 400,000 summaries
and 6,000,000 result events. `--baseline DIR` also runs every step with the worker package of DIR (e.g. a
`git archive main` export, `DIR/worker` first on PYTHONPATH) and prints both side by side. Memory is the peak of
the RSS summed over build-report's process tree (sampled every 10 ms), with each process's own peak.

`--digest FILE` checks that the figures did not change: a sha256 of every cell of each sheet (values, formats,
styles; tests/testsupport/xlsx_dump.py) of the warm run's workbook is written to FILE when it does not exist yet
(e.g. built by an older commit on the same data) and compared with it when it does; any difference fails the run.
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
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tests'))

from testsupport.report_data import synthetic, write_scaled_day
from testsupport.xlsx_dump import digest


def generate(base: Path, rows: int, events_per_host: int) -> int:
    days, hosts_per_job = 29, 50
    jobs_per_day = -(-rows // (days * hosts_per_job))
    total = 0
    for d in range(days):  # one day at a time keeps the generator's memory small
        data = synthetic(
            date(2024, 2, 1 + d),
            1,
            jobs_per_day=jobs_per_day,
            hosts=15_000,
            hosts_per_job=hosts_per_job,
            events_per_host=events_per_host,
            seed=d,
        )
        data.write(base)
        total += sum(1 for _ in data.all('job_host_summary'))
    return total


SCALES = {  # name: (days, job host summaries per day, result events per day)
    'small': (4, 2_000, 16_000),
    'medium': (3, 40_300, 366_700),
    'large': (1, 400_000, 6_000_000),
}


def generate_scale(base: Path, scale: str) -> tuple[int, int]:
    days, summaries, events = SCALES[scale]
    written = [
        write_scaled_day(base, date(2024, 2, 1 + d), summaries=summaries, events=events, seed=d, first_id=d * summaries)
        for d in range(days)
    ]
    return sum(s for s, _ in written), sum(e for _, e in written)


def _tree_rss_kb(pid: int) -> dict[int, int]:
    """Resident KB of a process and each of its descendants (Linux /proc: every thread's children), by pid."""
    found, todo = {}, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f'/proc/{p}/status').read_text()
            found[p] = int(next(line.split()[1] for line in status.splitlines() if line.startswith('VmRSS:')))
            for task in Path(f'/proc/{p}/task').iterdir():
                todo += [int(c) for c in (task / 'children').read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return found


def run(base: Path, label: str, *extra: str, worker: Path | None = None) -> tuple[float, float]:
    """One build-report; returns (wall seconds, peak MB summed over its process tree)."""
    env = {
        **os.environ,
        **({'PYTHONPATH': str(worker)} if worker else {}),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(base),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PRICE_PER_NODE': '11',
    }
    cli = [sys.executable, '-m', 'metrics_utility.cli', 'build-report', '--month', '2024-02', '--sheets', 'all', *extra]
    start = time.perf_counter()
    # Each run in its own child of a fresh python, so RUSAGE_CHILDREN reflects that run only (its largest process);
    # the sum over the process tree (build-report and its day-building workers) is sampled every 20 ms.
    probe = (
        'import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); '
        'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); '
        'sys.exit(r.returncode)'
    )
    child = subprocess.Popen(
        [sys.executable, '-c', probe, *cli], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    tree, peaks = 0, {}
    while child.poll() is None:
        sample = _tree_rss_kb(child.pid)
        sample.pop(child.pid, None)  # the probe itself is not part of build-report
        tree = max(tree, sum(sample.values()))
        for pid, kb in sample.items():
            peaks[pid] = max(peaks.get(pid, 0), kb)
        time.sleep(0.01)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - start
    if child.returncode:
        sys.exit(f'{label} failed ({child.returncode}):\n{stdout}\n{stderr}')
    rss_mb = int(stderr.strip().splitlines()[-1]) / 1024
    each = ' '.join(f'{kb / 1024:.0f}' for kb in sorted(peaks.values(), reverse=True))
    print(
        f'{label:34s} wall {wall:6.1f} s  summed peak {tree / 1024:5.0f} MiB  largest process {rss_mb:5.0f} MiB  '
        f'({len(peaks)} process(es), peaks MiB: {each})  {stdout.strip().splitlines()[-1][:60]}'
    )
    return wall, tree / 1024


def check_digest(workbook: Path, path: Path) -> None:
    got = digest(workbook)
    if not path.exists():
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + '\n')
        print(f'cell digest of {len(got)} sheets written to {path}')
        return
    expected = json.loads(path.read_text())
    changed = [s for s in sorted(set(got) | set(expected)) if got.get(s) != expected.get(s)]
    if changed or list(got) != list(expected):
        sys.exit(f'cells differ from {path}: sheets {changed or "order"}')
    print(f'cells identical to {path} ({sum(v["rows"] for v in got.values()):,} rows in {len(got)} sheets)')


def precompile() -> None:
    """Byte-compile the installed packages and the worker, as the image's `pip install` does: with
    PYTHONDONTWRITEBYTECODE set (as here and in the image) and a venv installed by uv (which does not compile),
    every run would otherwise spend ~1.8 s compiling pandas & co. before doing any work."""
    import compileall
    import site

    for path in [*site.getsitepackages(), str(Path(__file__).resolve().parent.parent / 'worker')]:
        compileall.compile_dir(path, quiet=1, workers=2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rows', type=int, default=1_000_000)
    parser.add_argument('--events-per-host', type=int, default=2)
    parser.add_argument('--keep', type=Path, help='use/keep this directory (data generated only if empty)')
    parser.add_argument('--digest', type=Path, help='per-sheet cell digest: written if absent, else compared')
    parser.add_argument('--no-precompile', action='store_true', help='do not byte-compile packages first')
    parser.add_argument('--scale', choices=sorted(SCALES), help='streamed synthetic days instead of --rows')
    parser.add_argument('--baseline', type=Path, help='also run the worker of this source tree (e.g. main)')
    args = parser.parse_args()
    if not args.no_precompile:
        precompile()
    base = args.keep or Path(tempfile.mkdtemp(prefix='bench-report-'))
    try:
        if not (base / 'data').exists():
            start = time.perf_counter()
            if args.scale:
                summaries, events = generate_scale(base, args.scale)
                what = f'{summaries:,} job host summaries, {events:,} result events ({args.scale})'
            else:
                rows = generate(base, args.rows, args.events_per_host)
                what = f'{rows:,} job host summaries (+ events x{args.events_per_host})'
            size = sum(p.stat().st_size for p in (base / 'data').rglob('*.tar.gz')) / 1e6
            print(f'generated {what} in {time.perf_counter() - start:.0f} s, {size:.0f} MB of tarballs')
        versions = [('baseline', args.baseline / 'worker'), ('this tree', None)] if args.baseline else [('', None)]
        for name, worker in versions:
            shutil.rmtree(base / 'rollups', ignore_errors=True)
            shutil.rmtree(base / 'reports', ignore_errors=True)
            report = base / 'reports/2024/02/CCSPv2-2024-02.xlsx'
            cold = run(base, f'{name} cold'.strip(), worker=worker)
            if args.digest:
                check_digest(report, args.digest)
            warm = run(base, f'{name} warm'.strip(), '--force', worker=worker)
            if args.digest:
                check_digest(report, args.digest)
            shutil.rmtree(base / 'rollups' / 'figures', ignore_errors=True)
            run(base, f'{name} warm, figures not cached'.strip(), '--force', worker=worker)
            if args.digest:
                check_digest(report, args.digest)
        print(
            f'targets: cold ≤ 30 s / 1024 MiB -> {"ok" if cold[0] <= 30 and cold[1] <= 1024 else "MISSED"}; '
            f'warm ≤ 5 s -> {"ok" if warm[0] <= 5 else "MISSED"}'
        )
        print(f'peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB')
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    main()
