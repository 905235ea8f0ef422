"""Bounded memory: a day's rollups are built from its packages without holding its events (issue #16).

The build runs in a child process whose resident memory, summed over its process tree, is sampled from /proc; the
growth above what the process held once its modules were imported must stay under a bound proportional to the
summaries (which the day's rollup keeps) and far below what holding every event would need. A regression to
load-everything (300k events cost 309 MiB that way, measured with the code of main before the change) fails this
test, and so does a regression of the bounded build of issue #16 (the tally regrouped whole at every fold, seen ids
merged without a cap, Arrow text in a pool that keeps what it freed, the summaries' rows kept during the events):
the same day grew the tree by 159-187 MiB before it, 89-103 MiB with it.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from testsupport.report_data import write_scaled_day
from testsupport.waiting import wait_until

pytestmark = [pytest.mark.unit, pytest.mark.slow]
DAY = date(2024, 2, 1)
BUILD = """
import sys
from datetime import date
from pathlib import Path
import pandas, pyarrow
from metrics_utility.library.dataframes import RollupStore, store
from metrics_utility.library.storage import StorageDirectory
store.SYSTEM_POOL_DAY_BYTES = 0  # this small day takes the path of a large one (its Arrow memory in the C heap)
rss = lambda: int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS:')))
print(rss(), flush=True)
sys.stdin.readline()  # the parent has read the figure above
period = RollupStore(StorageDirectory(Path(sys.argv[1]))).load(
    date(2024, 2, 1), date(2024, 2, 2), {'job_host_summary', 'main_jobevent'}, compact=True
)
print(len(period['job_host_summary']), int(period['main_jobevent']['task_runs'].sum()), flush=True)
"""


def tree_rss_kib(pid: int) -> int:
    """Resident KiB of a process and all its descendants (every thread's children), 0 once it is gone."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f'/proc/{current}/status').read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith('VmRSS:')))
            for task in Path(f'/proc/{current}/task').iterdir():
                todo += [int(child) for child in (task / 'children').read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def build_peak_mib(base: Path) -> tuple[float, list[str]]:
    """Peak growth (MiB) of the build's process tree above its RSS after imports, and what it printed."""
    child = subprocess.Popen(
        [sys.executable, '-c', BUILD, str(base)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    imported = int(child.stdout.readline())
    peak = 0

    def done() -> bool:
        nonlocal peak
        peak = max(peak, tree_rss_kib(child.pid))
        return child.poll() is not None

    child.stdin.write('\n')
    child.stdin.flush()
    wait_until(done, 300, 'the rollup build')
    out = child.stdout.read().split()
    assert child.returncode == 0
    return (peak - imported) / 1024, out


def test_a_day_of_300k_events_builds_without_holding_them(tmp_path):
    summaries, events = write_scaled_day(tmp_path, DAY, summaries=20_000, events=300_000, hosts=5_000, seed=3)
    growth, out = build_peak_mib(tmp_path)
    assert 0 < int(out[0]) <= summaries and int(out[1]) == events  # every event has its summary
    # 20k summary rows, a tally of ~120k (pair, module, role) rows and one 8 MiB chunk of CSV at a time
    assert growth < 125, f'building the day grew the process tree by {growth:.0f} MiB'
