"""Where a day's build allocates Arrow memory, so what it frees goes back to the system.

Why: pandas 3 keeps text in Arrow arrays, allocated from Arrow's default pool (mimalloc in the pyarrow wheels). That
pool keeps the segments it freed in the threads that freed them: building a day of 400k job host summaries left
~200 MiB resident that nothing used, and `release_unused` gave little of it back (measured with
`bench/report.py --scale large`). Allocated from the C heap instead, the same buffers are returned by `malloc_trim`
(`release_memory`) once a step is done, and a pod's limit counts only what is live. The C heap is slower for Arrow's
threads (~10 % of a medium report), so only periods with a large day use it (`store.SYSTEM_POOL_DAY_BYTES`).
"""

from __future__ import annotations

import ctypes
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa


@contextmanager
def system_pool() -> Iterator[None]:
    """Arrow allocations inside the block come from the C heap; the previous default pool is restored after.

    Buffers remember their pool, so one allocated here is freed correctly whenever it is released."""
    previous = pa.default_memory_pool()
    system = pa.system_memory_pool()
    if previous.backend_name == system.backend_name:
        yield
        return
    pa.set_memory_pool(system)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def release_memory(collect: bool = False) -> None:
    """Give freed heap back to the system (glibc's malloc_trim; nothing elsewhere); with `collect`, first free what
    only reference cycles keep among the young objects (a step's frames; ~2 ms, where a full collection over the
    imported modules took ~70 ms and slowed a medium report by a second): at the end of a step, not of every block.

    Why: pandas and numpy free the large temporaries of a group-by into the C heap, which keeps them mapped; over a
    day of millions of events the resident size then holds ~300 MiB nobody uses, and a pod's limit counts it. Frames
    caught in reference cycles keep their columns until the collector runs, which numeric work rarely triggers."""
    if collect:
        gc.collect(1)
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def release_grown(step: int = 32 << 20) -> None:
    """`release_memory` once the resident size grew by `step` bytes since it last ran here: between the blocks of a
    day, where trimming after every block cost a medium report ~10 % of its time (the next block faults the pages
    in again) and never trimming let a large day's build grow by ~90 MiB."""
    resident = _resident()
    if resident - _released[0] > step:
        release_memory()
        _released[0] = _resident()


def _resident() -> int:
    """Resident bytes of this process (Linux /proc; 0 elsewhere, where nothing is trimmed anyway)."""
    try:
        with open('/proc/self/statm', 'rb') as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096
_released = [0]  # resident bytes after the last release_grown trim


def _libc() -> ctypes.CDLL | None:
    """The C library this process runs with (its own symbols: no `find_library`, which starts processes)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, 'malloc_trim') else None


_LIBC = _libc()
