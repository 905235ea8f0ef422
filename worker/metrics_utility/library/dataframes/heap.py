"""Where a day's build allocates Arrow memory, so what it frees goes back to the system.

Why: pandas 3 keeps text in Arrow arrays, allocated from Arrow's default pool (mimalloc in the pyarrow wheels). That
pool keeps the segments it freed in the threads that freed them: building a day of 400k job host summaries left
~200 MiB resident that nothing used, and `release_unused` gave little of it back (measured with
`bench/report.py --scale large`). Allocated from the C heap instead, the same buffers are returned by `malloc_trim`
(`release_memory`) once a step is done, and a pod's limit counts only what is live. The C heap is slower for Arrow's
threads (~10 % of a medium report), so only periods with a large day use it (`store.SYSTEM_POOL_DAY_BYTES`).
"""

from __future__ import annotations

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
