"""The pure rules of the second target (gather/secondary.py) and of retention beside it (gather/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from metrics_utility.gather.retention import lowest
from metrics_utility.gather.secondary import PendingWindow, pending, starting_marks

pytestmark = pytest.mark.unit

U = '00000000-0000-4000-8000-000000000001'
D1, D2, D3 = (datetime(2024, 2, d, tzinfo=UTC) for d in (1, 2, 3))


def name(since: datetime, until: datetime, index: int = 0, key: str = 'job_host_summary') -> str:
    return f'data/{since:%Y/%m/%d}/{U}-{since:%Y-%m-%d-%H%M%S}+0000-{until:%Y-%m-%d-%H%M%S}+0000-{index}-{key}.tar.gz'


def test_pending_groups_a_window_and_orders_oldest_first():
    listing = [name(D2, D3, 1), name(D1, D2), name(D2, D3, 0), name(D1, D2, key='main_host')]
    assert pending(listing, {}) == [
        PendingWindow('job_host_summary', D1, D2, (name(D1, D2),)),
        PendingWindow('main_host', D1, D2, (name(D1, D2, key='main_host'),)),
        PendingWindow('job_host_summary', D2, D3, (name(D2, D3, 0), name(D2, D3, 1))),
    ]


HOSTILE_LISTINGS = [  # (id, listing, marks, windows left)
    ('confirmed-up-to-the-mark', [name(D1, D2), name(D2, D3)], {'job_host_summary': D2}, [(D2, D3)]),
    ('mark-inside-a-window-resends-it-whole', [name(D1, D3)], {'job_host_summary': D2}, [(D1, D3)]),
    ('another-collectors-mark-does-not-count', [name(D1, D2)], {'main_host': D3}, [(D1, D2)]),
    ('not-under-data', [name(D1, D2).replace('data/', 'reports/', 1), 'state/console.json'], {}, []),
    ('legacy-name-without-key', [f'data/2024/02/01/{U}-2024-02-01-000000+0000-2024-02-02-000000+0000-0.tar.gz'], {},
     []),
    ('windowless-name', [f'data/2024/02/01/{U}-0-job_host_summary.tar.gz'], {}, []),
    ('not-a-tarball', ['data/2024/02/01/notes.txt', 'data/'], {}, []),
    ('rollup-area-look-alike', [name(D1, D2).replace('data/', 'rollups/', 1)], {}, []),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('listing', 'marks', 'left'), [c[1:] for c in HOSTILE_LISTINGS], ids=[c[0] for c in HOSTILE_LISTINGS]
)
def test_pending_sends_only_what_the_name_proves(listing, marks, left):
    assert [(w.since, w.until) for w in pending(listing, marks)] == left


def test_a_new_secondary_starts_at_the_controller_mark_never_before_the_horizon():
    assert starting_marks(['a', 'b', 'c'], {'a': D3, 'b': D1}, D2) == {'a': D3, 'b': D2, 'c': D2}


LOWEST = [  # (id, upload stage marks, secondary marks, deletable up to)
    ('no-upload-stage', None, {'a': D2}, {'a': D2}),
    ('each-the-lower', {'a': D3, 'b': D1}, {'a': D2, 'b': D3}, {'a': D2, 'b': D1}),
    ('missing-in-the-secondary', {'a': D3}, {}, {}),
    ('missing-in-the-upload-stage', {}, {'a': D3}, {}),
    ('damaged-secondary-document', None, {}, {}),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('first', 'second', 'expected'), [c[1:] for c in LOWEST], ids=[c[0] for c in LOWEST])
def test_retention_deletes_only_what_both_upload_stages_confirmed(first, second, expected):
    assert lowest(first, second) == expected
