"""Figures' distinct counts: rows told apart by one packed int64 key count exactly what `drop_duplicates` counts.

`_count_distinct` backs job runs, non-unique nodes and content node counts; each case asserts the exact counts per
group and that they equal the counts of the copy-the-columns definition it replaced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics_utility.library.reports import figures

pytestmark = pytest.mark.unit
CATEGORIES = pd.CategoricalDtype(['NA', 'a', 'b', 'unused'])


def frame(modules, hosts, jobs, installs=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            'module_name': pd.Categorical(modules, dtype=CATEGORIES),
            'host_name': pd.Series(hosts, dtype='str'),
            'install_uuid': pd.Series(installs or ['i1'] * len(hosts), dtype='str'),
            'job_remote_id': pd.array(jobs, dtype='Int64'),
        }
    )


CASES = [  # id, frame, expected non-unique nodes per module
    ('distinct-pairs', frame(['a', 'a', 'b'], ['h1', 'h2', 'h1'], [1, 1, 1]), {'a': 2, 'b': 1}),
    ('repeated-pair', frame(['a', 'a', 'a'], ['h1', 'h1', 'h1'], [1, 1, 2]), {'a': 2}),
    ('missing-job-ids-equal-each-other', frame(['a', 'a', 'a'], ['h1', 'h1', 'h1'], [None, None, 1]), {'a': 2}),
    ('missing-module-is-a-group', frame([None, None, 'a'], ['h1', 'h2', 'h1'], [1, 1, 1]), {None: 2, 'a': 1}),
    ('hosts-named-like-missing-values', frame(['a'] * 4, ['NA', 'null', '', 'nan'], [1] * 4), {'a': 4}),
    ('module-named-NA', frame(['NA', 'a'], ['h1', 'h1'], [1, 1]), {'NA': 1, 'a': 1}),
    ('same-job-other-installation', frame(['a', 'a'], ['h1', 'h1'], [1, 1], ['i1', 'i2']), {'a': 2}),
    ('missing-host', frame(['a', 'a', 'a'], [None, None, 'h1'], [1, 1, 1]), {'a': 2}),
    ('no-rows', frame([], [], []), {}),
]  # fmt: skip


def reference(data: pd.DataFrame, by: list[str], columns: list[str]) -> pd.Series:
    """The definition replaced: a copy of the columns without duplicate rows, then a group size."""
    distinct = data[list(dict.fromkeys([*by, *columns]))].drop_duplicates()
    return distinct.groupby(by, sort=False, dropna=False, observed=True).size()


def as_dict(counts: pd.Series) -> dict:
    return {(None if pd.isna(k) else k): int(v) for k, v in counts.items()}


@pytest.mark.hostile
@pytest.mark.parametrize(('data', 'expected'), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_distinct_pairs_per_group_count_exactly(data, expected):
    got = figures._count_distinct(data, ['module_name'], figures.PAIR, 'non_unique_nodes')
    assert as_dict(got) == expected
    assert as_dict(got) == as_dict(reference(data, ['module_name'], figures.PAIR))
    assert got.name == 'non_unique_nodes'


def test_keys_wider_than_int64_are_renumbered_not_wrapped():
    """Four columns of 2^16 distinct values each: the packed key would need 64 bits; renumbering keeps it exact."""
    n = 1 << 16
    rng = np.random.default_rng(5)
    data = pd.DataFrame({c: rng.permutation(n) for c in 'abcd'})
    data = pd.concat([data, data.iloc[: n // 2]], ignore_index=True)  # half the rows twice
    keys = figures._row_keys(data, list('abcd'))
    assert keys.min() >= 0  # never wrapped around
    assert len(np.unique(keys)) == n
    assert (keys[n:] == keys[: n // 2]).all()
