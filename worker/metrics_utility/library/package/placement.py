"""Which package a file goes into: insights-analytics-collector's `_find_available_package` rule, made pure.

Each file goes to the first package that (a) does not already hold the same key (readers find data by the member
name `<key>.csv`, so a package can hold one part of a collector at most) and (b) still has room for it; otherwise
a new package is started. A file larger than the limit goes into a package of its own. Packages are numbered in
the order they are started, so the same files in the same order always get the same indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Bin:
    index: int
    size: int = 0
    keys: list[str] = field(default_factory=list)


class Placement:
    """First-fit placement under `limit` bytes of uncompressed data per package."""

    def __init__(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f'max_data_size must be a positive whole number of bytes, got {limit!r}')
        self.limit = limit
        self.bins: list[Bin] = []

    def place(self, key: str, size: int) -> int:
        """The index of the package that takes a file of `size` bytes for `key`."""
        for candidate in self.bins:
            if key not in candidate.keys and (candidate.size == 0 or candidate.size + size <= self.limit):
                chosen = candidate
                break
        else:
            chosen = Bin(len(self.bins))
            self.bins.append(chosen)
        chosen.size += size
        chosen.keys.append(key)
        return chosen.index
