"""Event ids already counted, per installation, so a row delivered twice counts once (8 bytes an id at most)."""

from __future__ import annotations

import numpy as np

MERGE_IDS = 1 << 20  # SeenIds chunks are merged up to this many ids (8 MiB): a merge copies both chunks twice


class SeenIds:
    """Ids already counted, as sorted distinct arrays, each at most half the size of the one before (a
    binary-counter merge: few arrays, each id copied O(log n) times), up to `MERGE_IDS` ids per array: merging two
    arrays of 3M ids held ~170 MiB of copies at once on a large day, while a lookup skips the arrays whose range a
    block of ids does not reach (ids mostly grow). An array whose ids span less than 2^32 keeps them as uint32
    offsets from its `bases` entry (4 bytes an id instead of 8)."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []  # sorted distinct ids less their base (uint32, or int64 with base 0)
        self.bases: list[int] = []

    def seen(self, ids: np.ndarray) -> np.ndarray:
        """True where an id is already in the set.

        Only ids within a chunk's range are looked up (ids mostly grow, so a new block's usually lie above every
        chunk), in sorted order (a binary search of sorted needles stays in cache)."""
        found = np.zeros(len(ids), dtype=bool)
        if not len(ids):
            return found
        low, high = int(ids.min()), int(ids.max())
        for chunk, base in zip(self.chunks, self.bases, strict=True):
            first, last = base + int(chunk[0]), base + int(chunk[-1])
            if first > high or last < low:
                continue
            inside = np.flatnonzero((ids >= first) & (ids <= last))
            if not len(inside):
                continue
            inside = inside[np.argsort(ids[inside], kind='stable')]
            needles = (ids[inside] - base).astype(chunk.dtype)  # within [first, last]: the offset fits
            at = np.minimum(np.searchsorted(chunk, needles), len(chunk) - 1)
            found[inside] |= chunk[at] == needles
        return found

    def add(self, ids: np.ndarray) -> None:
        if len(ids):
            self._push(_sorted_unique(ids))

    def update(self, other: SeenIds) -> None:
        for i in range(len(other.chunks)):
            self._push(other.ids(i))

    def ids(self, i: int) -> np.ndarray:
        """The ids of chunk `i`, as int64."""
        return self.chunks[i].astype(np.int64) + self.bases[i]

    def _push(self, ids: np.ndarray) -> None:
        self._append(ids)
        while (
            len(self.chunks) > 1
            and len(self.chunks[-2]) <= len(self.chunks[-1])
            and len(self.chunks[-2]) + len(self.chunks[-1]) <= MERGE_IDS
        ):
            merged = _sorted_unique(np.concatenate([self.ids(len(self.chunks) - 2), self.ids(len(self.chunks) - 1)]))
            del self.chunks[-2:], self.bases[-2:]
            self._append(merged)

    def _append(self, ids: np.ndarray) -> None:
        """Keep sorted distinct ids, as offsets from the first when they span less than 2^32."""
        base = int(ids[0])
        if int(ids[-1]) - base < 1 << 32:
            self.chunks.append((ids - base).astype(np.uint32))
            self.bases.append(base)
        else:
            self.chunks.append(ids)
            self.bases.append(0)


def _sorted_unique(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct ids (a stable sort merges sorted runs in linear time; np.unique hashes, 8x slower here)."""
    ids = np.sort(ids, kind='stable')
    keep = np.empty(len(ids), dtype=bool)
    keep[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=keep[1:])
    return ids[keep]
