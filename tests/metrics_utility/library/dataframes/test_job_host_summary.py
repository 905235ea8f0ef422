"""The day's (install, job, host, identity, organization) pairs: what a group-by of the text columns gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics_utility.library.dataframes.job_host_summary import PAIR_COLUMNS, _pairs

ROWS = [  # install, job, original host, identity, organization, reachable
    ('u1', 1, 'web1', 'web1', 'org', False),
    ('u1', 1, 'web1', 'web1', 'org', True),  # the same pair: reachable once is reachable
    ('u1', None, 'web1', 'web1', 'org', False),  # missing job id: a pair of its own
    ('u1', None, 'web1', 'web1', 'org', False),
    ('u1', 1, 'NA', 'NA', 'org', False),  # text that readers take for null stays itself
    ('u1', 1, '', '', 'org', True),  # empty text is not missing
    ('u1', 1, None, None, None, False),  # missing text is a value of its own
    ('u2', 1, 'web1', 'web1', 'org', False),  # another installation
    ('u1', 1, 'web1', 'web2', 'org', False),  # another identity of the same host name
    ('u1', 1, 'web1 ', 'web1 ', 'org', True),  # trailing space: another host
    ('u1', 2, '=cmd()', '=cmd()', 'org', False),
]


def _frame(rows):
    frame = pd.DataFrame(rows, columns=[*PAIR_COLUMNS, 'reachable'])
    for column in PAIR_COLUMNS:
        frame[column] = frame[column].astype('Int64' if column == 'job_remote_id' else 'str')
    frame['reachable'] = frame['reachable'].astype(bool)
    return frame


def _grouped(frame):
    return frame.groupby(PAIR_COLUMNS, sort=False, dropna=False)['reachable'].any().reset_index()


@pytest.mark.hostile
@pytest.mark.parametrize(
    'rows', [ROWS, ROWS[::-1], ROWS[:0], ROWS[:1], ROWS * 3], ids=['all', 'reversed', 'none', 'one', 'thrice']
)
def test_pairs_equal_a_group_by_of_the_text(rows):
    frame = _frame(rows)
    got = _pairs(frame)
    pd.testing.assert_frame_equal(got, _grouped(frame))


def test_pairs_of_many_rows_equal_a_group_by():
    rng = np.random.default_rng(7)
    n = 20_000
    hosts = np.array([f'h{i}' for i in range(300)] + ['', 'NA', None], dtype=object)
    frame = _frame(
        list(
            zip(
                rng.choice(['u1', 'u2'], n),
                np.where(rng.random(n) < 0.05, None, rng.integers(0, 50, n)).tolist(),
                hosts[rng.integers(0, len(hosts), n)],
                hosts[rng.integers(0, len(hosts), n)],
                rng.choice(['a', 'b', None], n),
                rng.random(n) < 0.3,
                strict=True,
            )
        )
    )
    pd.testing.assert_frame_equal(_pairs(frame), _grouped(frame))
