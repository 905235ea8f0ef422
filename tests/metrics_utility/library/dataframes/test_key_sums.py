"""KeySums: parts summed in place into the sorted sums, keys given back in order of first appearance."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics_utility.library.dataframes.key_sums import KeySums

pytestmark = pytest.mark.unit


def part(*rows: tuple[int, int, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=['key', 'task_runs', 'duration']).astype({'key': 'int64', 'task_runs': 'int64'})


SUM_CASES = [  # id, parts (distinct keys each, in order of first appearance), expected keys in that order
    ('one-part', [part((5, 1, 0.5), (2, 1, 0.25))], [(5, 1, 0.5), (2, 1, 0.25)]),
    ('keys-met-again', [part((5, 1, 0.5)), part((2, 2, 1.0), (5, 3, 0.5))], [(5, 4, 1.0), (2, 2, 1.0)]),
    ('new-keys-between-known-ones', [part((1, 1, 1.0), (9, 1, 1.0)), part((5, 1, 1.0), (0, 1, 1.0), (9, 1, 1.0))],
     [(1, 1, 1.0), (9, 2, 2.0), (5, 1, 1.0), (0, 1, 1.0)]),
    ('extreme-keys', [part((2**62, 1, 0.0), (-(2**62), 1, 0.0)), part((0, 1, 0.0), (2**62, 1, 0.0))],
     [(2**62, 2, 0.0), (-(2**62), 1, 0.0), (0, 1, 0.0)]),
    ('empty-parts', [part(), part((3, 1, 0.5)), part()], [(3, 1, 0.5)]),
    ('nothing', [], []),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('parts', 'expected'), [c[1:] for c in SUM_CASES], ids=[c[0] for c in SUM_CASES])
def test_key_sums_add_parts_in_place_keeping_first_appearance(parts, expected):
    sums = KeySums()
    for p in parts:
        sums.add(p)
    keys, runs, duration = sums.take()
    assert list(zip(keys.tolist(), runs.tolist(), duration.tolist(), strict=True)) == expected
    assert len(sums.keys) == len(sums.first) == 0  # taken: the sums let go of their columns
