"""Running sums of task runs and durations per int64 key of a day's event tally."""

from __future__ import annotations

import numpy as np
import pandas as pd


class KeySums:
    """Task runs and durations per int64 key, kept sorted by key so a part is summed in place (new keys inserted),
    with each key's rank of first appearance to give the keys back in that order.

    Why not regroup the concatenated parts: that copied the whole tally (2.6M keys on a large day) and hashed it
    again for every half million new rows, holding ~270 MiB at once; here a part costs its own size plus one copy
    of one column at a time when it brings new keys."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)
        self.task_runs = np.zeros(0, np.int64)
        self.duration = np.zeros(0, np.float64)
        self.first = np.zeros(0, np.int32)  # rank of the key's first appearance (fewer keys than events)

    def add(self, part: pd.DataFrame) -> None:
        """Sum a part (distinct keys, in order of first appearance) into the sums."""
        keys = part['key'].to_numpy(dtype=np.int64)
        order = np.argsort(keys, kind='stable')
        keys = keys[order]
        at = np.searchsorted(self.keys, keys)
        known = at < len(self.keys)
        known[known] = self.keys[at[known]] == keys[known]
        runs = part['task_runs'].to_numpy(dtype=np.int64)[order]
        duration = part['duration'].to_numpy(dtype=np.float64)[order]
        self.task_runs[at[known]] += runs[known]
        self.duration[at[known]] += duration[known]
        new = ~known
        if not new.any():
            return
        in_part_order = np.zeros(len(keys), dtype=bool)
        in_part_order[order[new]] = True
        rank = (len(self.first) + np.cumsum(in_part_order) - 1).astype(np.int32)  # new keys, in the part's order
        where = at[new]
        self.keys = np.insert(self.keys, where, keys[new])
        self.task_runs = np.insert(self.task_runs, where, runs[new])
        self.duration = np.insert(self.duration, where, duration[new])
        self.first = np.insert(self.first, where, rank[order[new]])

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keys, task runs and durations in order of first appearance, each reordered as the sums let go of it
        (one column copied at a time); the sums are empty afterwards."""
        order = np.argsort(self.first, kind='stable')
        self.first = np.zeros(0, np.int32)
        keys, self.keys = self.keys[order], np.zeros(0, np.int64)
        task_runs, self.task_runs = self.task_runs[order], np.zeros(0, np.int64)
        duration, self.duration = self.duration[order], np.zeros(0, np.float64)
        return keys, task_runs, duration
