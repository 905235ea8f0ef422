"""Compression benchmark: Package throughput per compressor on realistic job-event data.

Data: the demo generator's `main_jobevent` rows (COPY text, ~1 KB per row with JSON event data), written as
collector parts of at most 200 MiB with a header line, ~400 MB in all (`--mb`). A fake CSV collector hard-links the
parts into its output directory, so Package can delete them without the next run regenerating anything.

Baselines, measured in the same run on the same (page-cached) files:
- `copy`: shutil.copyfile of every part (what moving the bytes costs at all);
- `tar`: tarfile without compression (the container alone);
- `tar+isal-1 raw`: tarfile over an isal gzip writer without Package's sha256 and row counting.
Each figure is the best of `--repeat` runs. `ratio` is uncompressed/compressed size; `x tar` is the time relative
to the uncompressed tar baseline.

    python bench/compression.py               # ~400 MB, 2 repeats
    python bench/compression.py --mb 200 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from isal import igzip

from metrics_utility.demo.generator import DatasetSpec, generate
from metrics_utility.library.collectors.base import collector
from metrics_utility.library.package import Package, read_package

PART = 200 * 1024 * 1024
SINCE = datetime(2024, 2, 26, tzinfo=UTC)
HEADER = b'id\tcreated\tmodified\tjob_created\tevent\tevent_data\tfailed\tchanged\tuuid\tplaybook\tplay\trole\ttask\n'
SOURCE: list[Path] = []


@collector('bench_jobevent', '1.0', 'csv')
def bench_jobevent(output_dir: Path | None = None) -> list[Path]:
    """Hard-links the prepared parts (instant), so Package's own work is what gets timed."""
    assert output_dir is not None
    links = []
    for path in SOURCE:
        link = output_dir / path.name
        os.link(path, link)
        links.append(link)
    return links


def prepare(directory: Path, megabytes: int) -> list[Path]:
    """Write ~`megabytes` MB of generated main_jobevent rows into parts of at most 200 MiB."""
    parts: list[Path] = []
    target = megabytes * 1_000_000
    written = 0
    out = None
    days = max(1, megabytes // 200 + 1)
    for table, chunk in generate(DatasetSpec('medium', SINCE, days=days, seed=1)):
        if table != 'main_jobevent':
            continue
        data = chunk.encode('utf-8')
        if out is None or out.tell() + len(data) > PART:
            if out is not None:
                out.close()
            parts.append(directory / f'main_jobevent.part{len(parts):04d}.csv')
            out = open(parts[-1], 'wb')  # noqa: SIM115 - closed when the part is full or at the end
            out.write(HEADER)
        out.write(data)
        written += len(data)
        if written >= target:
            break
    if out is not None:
        out.close()
    return parts


def best(repeat: int, run: Callable[[], int]) -> tuple[float, int]:
    """(best seconds, output bytes) of `repeat` runs."""
    times, size = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        size = run()
        times.append(time.perf_counter() - began)
    return min(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mb', type=int, default=400, help='uncompressed data to generate (MB)')
    parser.add_argument('--repeat', type=int, default=2)
    parser.add_argument('--choices', default='isal-0,isal-1,isal-2,gzip-1,gzip-6')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix='bench-compression-') as temp:
        root = Path(temp)
        (root / 'src').mkdir()
        began = time.perf_counter()
        SOURCE.extend(prepare(root / 'src', args.mb))
        total = sum(p.stat().st_size for p in SOURCE)
        print(f'data: {total / 1e6:,.0f} MB in {len(SOURCE)} parts (generated in {time.perf_counter() - began:.1f} s)')
        for path in SOURCE:  # warm the page cache so every method reads from memory
            with open(path, 'rb') as f:
                while f.read(1 << 24):
                    pass

        def copy() -> int:
            target = root / 'copy'
            target.mkdir(exist_ok=True)
            for path in SOURCE:
                shutil.copyfile(path, target / path.name)
            size = sum(p.stat().st_size for p in target.iterdir())
            shutil.rmtree(target)
            return size

        def raw_tar(compress: bool) -> Callable[[], int]:
            def run() -> int:
                target = root / 'raw.tar'
                with open(target, 'wb') as raw:
                    stream = igzip.IGzipFile(filename='', mode='wb', compresslevel=1, fileobj=raw) if compress else raw
                    with tarfile.TarFile(fileobj=stream, mode='w', copybufsize=1 << 20) as tar:
                        for path in SOURCE:
                            tar.add(path, arcname=f'./{path.name}')
                    if compress:
                        stream.close()
                size = target.stat().st_size
                target.unlink()
                return size

            return run

        def package(choice: str) -> Callable[[], int]:
            def run() -> int:
                out = root / 'out'
                out.mkdir()
                work = root / 'work'
                work.mkdir()
                built = Package(
                    config={'install_uuid': '00000000-0000-4000-8000-000000000001'},
                    collectors=[bench_jobevent(output_dir=work)],
                    since=SINCE,
                    until=SINCE + timedelta(days=1),
                    output_dir=out,
                    compression=choice,
                )
                size = sum(f.path.stat().st_size for f in built.build())
                shutil.rmtree(out)
                shutil.rmtree(work)
                return size

            return run

        rows = [('copy (baseline)', *best(args.repeat, copy))]
        rows.append(('tar, no compression (baseline)', *best(args.repeat, raw_tar(False))))
        rows.append(('tar + isal-1, no checksums', *best(args.repeat, raw_tar(True))))
        for choice in args.choices.split(','):
            rows.append((f'Package {choice}', *best(args.repeat, package(choice))))

        tar_seconds = rows[1][1]
        print(f'{"method":<32} {"seconds":>8} {"MB/s":>8} {"ratio":>6} {"x tar":>6} {"MB out":>8}')
        for name, seconds, size in rows:
            print(
                f'{name:<32} {seconds:>8.2f} {total / 1e6 / seconds:>8.0f} {total / size:>6.2f} '
                f'{seconds / tar_seconds:>6.2f} {size / 1e6:>8.0f}'
            )

        out = root / 'verify'
        out.mkdir()
        work = root / 'work'
        work.mkdir()
        built = list(
            Package(
                config={'install_uuid': '00000000-0000-4000-8000-000000000001'},
                collectors=[bench_jobevent(output_dir=work)],
                since=SINCE,
                until=SINCE + timedelta(days=1),
                output_dir=out,
            ).build()
        )
        began = time.perf_counter()
        rows_read = sum(read_package(f.path).members['bench_jobevent.csv'].rows or 0 for f in built)
        seconds = time.perf_counter() - began
        print(
            f'read_package (verify sha256 + rows) of the default: {seconds:.2f} s, {total / 1e6 / seconds:.0f} MB/s, '
            f'{rows_read:,} rows in {len(built)} packages'
        )


if __name__ == '__main__':
    main()
