"""A report process hands freed memory back: pyarrow on the system pool; malloc with a fixed mmap threshold when the
packages it reads are few.

The bound at the end is the issue's: a cold report of a small installation needs no more memory than Red Hat's
metrics-utility needs for it (162 MiB); main needed ~270 MiB for the same four days (mimalloc kept ~50 MiB of
freed buffers, glibc's heap ~10, boto3/psycopg/requests ~40); now ~154 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest

from metrics_utility.library.allocator import (
    ARROW_POOL,
    MMAP_THRESHOLD,
    SMALL_READ_BYTES,
    fix_mmap_threshold,
    use_system_pool,
)
from testsupport.report_data import write_scaled_day

pytestmark = pytest.mark.unit

POOLS = [
    # (id, the user's environment, the environment afterwards)
    ('nothing-chosen', {}, {ARROW_POOL: 'system'}),
    ('own-pool-kept', {ARROW_POOL: 'jemalloc'}, {ARROW_POOL: 'jemalloc'}),
    ('empty-choice-kept', {ARROW_POOL: ''}, {ARROW_POOL: ''}),  # Arrow's own answer to it: its default pool
]


@pytest.mark.hostile
@pytest.mark.parametrize(('given', 'after'), [c[1:] for c in POOLS], ids=[c[0] for c in POOLS])
def test_the_users_pool_is_kept(given, after):
    environ = dict(given)
    use_system_pool(environ)
    assert environ == after


# Each case runs in a fresh interpreter: a fixed threshold stays for the life of the process.
THRESHOLDS = [
    # (id, packages read in bytes, the user's environment, malloc took the fixed threshold)
    ('no-packages', 0, {}, True),
    ('a-small-installation', SMALL_READ_BYTES, {}, True),
    ('one-byte-more', SMALL_READ_BYTES + 1, {}, False),
    ('size-unknown', None, {}, False),
    ('users-own-threshold', 0, {MMAP_THRESHOLD: '4194304'}, False),
    ('users-empty-threshold', 0, {MMAP_THRESHOLD: ''}, False),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('size', 'given', 'applied'), [c[1:] for c in THRESHOLDS], ids=[c[0] for c in THRESHOLDS])
def test_the_threshold_is_fixed_only_for_few_packages_and_never_over_the_users(size, given, applied):
    code = (
        'import os, sys; from metrics_utility.library.allocator import fix_mmap_threshold as f; '
        "print(f(None if sys.argv[1] == 'None' else int(sys.argv[1]), os.environ))"
    )
    env = {k: v for k, v in os.environ.items() if k != MMAP_THRESHOLD} | given
    done = subprocess.run([sys.executable, '-c', code, repr(size)], env=env, capture_output=True, text=True, check=True)
    assert done.stdout == f'{applied}\n'


def test_the_threshold_is_not_fixed_where_mallopt_is_missing(monkeypatch):
    from metrics_utility.library import allocator

    monkeypatch.setattr(allocator, '_mallopt', lambda: None)
    assert fix_mmap_threshold(0, {}) is False


def test_pyarrow_loaded_afterwards_allocates_from_the_system_pool_and_children_inherit_it():
    code = (
        'import os, subprocess, sys; from metrics_utility.library.allocator import use_system_pool; '
        'use_system_pool(os.environ); '
        'import pyarrow; child = subprocess.run([sys.executable, "-c", "import pyarrow; '
        'print(pyarrow.default_memory_pool().backend_name)"], capture_output=True, text=True).stdout.strip(); '
        'print(pyarrow.default_memory_pool().backend_name, child)'
    )
    clean = {k: v for k, v in os.environ.items() if k != ARROW_POOL}
    done = subprocess.run([sys.executable, '-c', code], env=clean, capture_output=True, text=True, check=True)
    assert done.stdout == 'system system\n'


# VmHWM, not ru_maxrss: Linux carries the forking process's peak (pytest's) into ru_maxrss across exec.
PEAK = """
import json
from metrics_utility import cli
code = cli.main(['build-report', '--month', '2024-02', '--sheets', 'all'])
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))
print(json.dumps({'code': code, 'peak_mib': peak / 1024}))
"""
SMALL_COLD_REPORT_MIB = 162  # what metrics-utility 0.8 needs at the `small` scale (issue 16)


@pytest.mark.integration
def test_a_cold_report_of_a_small_installation_fits_what_metrics_utility_needs(tmp_path):
    for day in range(4):  # bench/report.py's `small` scale: 4 days of 2,000 job host summaries and 16,000 events
        write_scaled_day(
            tmp_path, date(2024, 2, 1 + day), summaries=2_000, events=16_000, seed=day, first_id=day * 2_000
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith('METRICS_UTILITY_') and k != ARROW_POOL}
    env |= {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
    }
    done = subprocess.run([sys.executable, '-c', PEAK], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result['code'] == 0, done.stderr
    assert result['peak_mib'] <= SMALL_COLD_REPORT_MIB, result
