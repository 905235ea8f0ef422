"""An iterator's next item produced on a background thread while the caller works on the current one.

Why: a rollup reads a day's CSV a block at a time and tallies each block; done one after the other, the parse
(Arrow's own threads, no GIL) and the tally (mostly one thread) leave one of two cores idle. Producing one item ahead
overlaps them for the memory of one more item.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar('T')
_END = object()


def read_ahead(items: Iterable[T]) -> Iterator[T]:
    """The items of `items` in order, each produced while the one before is in the caller's hands.

    An exception of the producer is raised here in its place. When the caller stops early, the item under way is
    awaited and the producer closed (a generator's `finally` runs on this thread)."""
    source = iter(items)
    pool = ThreadPoolExecutor(1, thread_name_prefix='read-ahead')
    try:
        pending = pool.submit(next, source, _END)
        while (item := pending.result()) is not _END:
            pending = pool.submit(next, source, _END)
            yield item  # type: ignore[misc]
    finally:
        pool.shutdown(wait=True)  # the item under way, if any, is finished (a generator cannot be closed mid-step)
        if isinstance(source, Generator):
            source.close()
