"""A per-job temporary directory that is always removed, even when the job fails."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def job_tempdir(prefix: str = 'metrics-utility-', base: str | Path | None = None) -> Iterator[Path]:
    """Yield a fresh private directory (mode 0700) and delete it with everything inside on exit.

    `base` lets callers keep work on a volume of their choice (e.g. an emptyDir) instead of the system temp dir.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
