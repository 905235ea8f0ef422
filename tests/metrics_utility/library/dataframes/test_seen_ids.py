"""SeenIds: the event ids already counted, found exactly however the blocks of ids arrive and chunks merge."""

from __future__ import annotations

import numpy as np
import pytest

from metrics_utility.library.dataframes import seen_ids
from metrics_utility.library.dataframes.seen_ids import SeenIds

pytestmark = pytest.mark.unit


ID_CASES = [  # blocks of ids; per block, which ids an earlier block added
    ('repeated-in-a-block', [[3, 3, 1], [3]], [[False, False, False], [True]]),
    ('growing-blocks', [[1, 2], [3, 4], [2, 5]], [[False, False], [False, False], [True, False]]),
    ('descending', [[9, 8], [7, 9]], [[False, False], [False, True]]),
    ('extremes', [[-(2**63), 2**63 - 1], [2**63 - 1, 0, -(2**63)]], [[False, False], [True, False, True]]),
    ('many-merges', [[i] for i in range(9)] + [[0, 4, 8, 9]], [[False]] * 9 + [[True, True, True, False]]),
    (
        'wide-and-narrow-ranges',
        [[0], [2**40], [5], [2**40, 5, 0, 7, 2**32 + 5]],
        [[False], [False], [False], [True, True, True, False, False]],
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('blocks', 'seen'), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES])
def test_seen_ids_know_exactly_the_ids_added(blocks, seen):
    ids = SeenIds()
    for block, expected in zip(blocks, seen, strict=True):
        values = np.array(block, dtype=np.int64)
        found = ids.seen(values)
        assert found.tolist() == expected
        ids.add(values[~found])  # as the tally does: only what it counts
    assert all((chunk[1:] > chunk[:-1]).all() for chunk in ids.chunks)  # sorted, distinct
    assert sum(len(chunk) for chunk in ids.chunks) == len({i for block in blocks for i in block})


@pytest.mark.hostile
@pytest.mark.parametrize(('blocks', 'seen'), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES])
def test_seen_ids_capped_chunks_know_exactly_the_ids_added(monkeypatch, blocks, seen):
    """Chunks stop merging at MERGE_IDS ids; lookups over the chunks left apart find the same ids."""
    monkeypatch.setattr(seen_ids, 'MERGE_IDS', 2)
    ids = SeenIds()
    for block, expected in zip(blocks, seen, strict=True):
        values = np.array(block, dtype=np.int64)
        found = ids.seen(values)
        assert found.tolist() == expected
        ids.add(values[~found])
    assert all(len(chunk) <= 2 or len(chunk) == 3 for chunk in ids.chunks)  # a 3-id block is added whole
    assert sum(len(chunk) for chunk in ids.chunks) == len({i for block in blocks for i in block})
