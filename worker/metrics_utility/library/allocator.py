"""Allocator settings for a process that builds reports, so that memory freed by pyarrow and pandas goes back.

Why: a small cold report works in ~40 MiB on top of ~115 MiB of imports (pandas, pyarrow, openpyxl), yet it held
~100 MiB more, freed but still mapped:
- pyarrow's own pool (mimalloc) keeps the pages of freed buffers; the C library's malloc hands them back. No slower
  at any scale, so always (`use_system_pool`, before pyarrow is imported: Arrow picks its pool when it first
  allocates; processes started later inherit the variable).
- glibc's malloc raises its mmap threshold each time a large buffer is freed (up to 32 MiB), so later buffers are
  carved from the heap, which shrinks only from its top; a fixed threshold maps each large buffer apart and unmaps it
  when freed (`fix_mmap_threshold`). Each mapping costs page faults in proportion to the data read: nothing to speak
  of for a small installation's packages, +50 % CPU on a 6M-event day. So only when the packages are few.
Variables the user set win.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, MutableMapping

ARROW_POOL = 'ARROW_DEFAULT_MEMORY_POOL'
MMAP_THRESHOLD = 'MALLOC_MMAP_THRESHOLD_'  # glibc's own variable: when set, glibc applied it at the process start
MMAP_THRESHOLD_BYTES = 1 << 20
SMALL_READ_BYTES = 16 << 20  # compressed packages a report reads (a month of ~2,000 job host summaries a day: ~10 MB)
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def use_system_pool(environ: MutableMapping[str, str]) -> None:
    """pyarrow allocates through malloc, unless `environ` (the process's own, which Arrow and child processes read)
    chooses a pool in ARROW_DEFAULT_MEMORY_POOL."""
    environ.setdefault(ARROW_POOL, 'system')


def fix_mmap_threshold(read_bytes: int | None, environ: Mapping[str, str]) -> bool:
    """Fix this process's mmap threshold at MMAP_THRESHOLD_BYTES when it reads at most SMALL_READ_BYTES of packages
    (`None`: not known) and `environ` (the process's) sets no MALLOC_MMAP_THRESHOLD_; True when malloc took it
    (glibc only)."""
    if read_bytes is None or read_bytes > SMALL_READ_BYTES or MMAP_THRESHOLD in environ:
        return False
    mallopt = _mallopt()
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def _mallopt() -> ctypes._CFuncPtr | None:
    """glibc's mallopt from this process's own symbols (no `find_library`, which starts processes), else None."""
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
