"""Helpers for command tests: environments pointing at the synthetic controller database, shipped row ids."""

from __future__ import annotations

import csv
import io
import tarfile
from collections import Counter
from pathlib import Path


def shipped_ids(tarballs: list[Path], member: str = './job_host_summary.csv') -> Counter:
    """How often each row id occurs across the given packages' CSV parts."""
    seen: Counter = Counter()
    for path in tarballs:
        with tarfile.open(path, 'r:gz') as tar:
            try:
                data = tar.extractfile(member)
            except KeyError:
                continue
            for row in csv.DictReader(io.TextIOWrapper(data, encoding='utf-8')):
                seen[int(row['id'])] += 1
    return seen
