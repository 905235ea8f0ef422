"""Sharded backfill pieces: shard parsing, slice ownership, markers and the watermark merge rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from metrics_utility import contract
from metrics_utility.gather import backfill
from metrics_utility.gather.backfill import Markers, Shard, ShardError, ShardPlan, merge
from metrics_utility.gather.state import StorageStateStore, Watermarks
from metrics_utility.library.slicing import Window
from metrics_utility.library.storage import StorageDirectory

pytestmark = pytest.mark.unit
SINCE = datetime(2024, 1, 1, tzinfo=UTC)
UNTIL = datetime(2024, 1, 8, tzinfo=UTC)


def test_shard_parsing():
    assert Shard.parse('2/5') == Shard(2, 5)
    assert Shard.parse('5', '4') == Shard(4, 5)
    for bad, text in (('5/5', '0 <= i < n'), ('a/b', 'whole numbers'), ('3', 'JOB_COMPLETION_INDEX'), ('0/0', 'i < n')):
        with pytest.raises(ShardError, match=text):
            Shard.parse(bad)


# --shard values int() would take but the operator never renders; each is one clear error, never a shard.
ODD_SHARDS = {
    'arabic-indic digits': ('٣/٤', None),
    'underscore grouping': ('1_0/2_0', None),
    'plus sign': ('+1/4', None),
    'index from the environment with unicode digits': ('4', '٢'),
    'ten thousand digits': ('1/' + '9' * 10000, {}),
}


@pytest.mark.hostile
@pytest.mark.parametrize('text, index', ODD_SHARDS.values(), ids=list(ODD_SHARDS))
def test_shard_numbers_are_ascii_digits(text, index):
    with pytest.raises(ShardError) as caught:
        Shard.parse(text, index)
    assert str(caught.value) == f'--shard {text!r}: expected whole numbers i/n, e.g. 0/4'


def test_window_must_be_fixed_and_past():
    now = datetime(2024, 1, 10, tzinfo=UTC)
    assert backfill.check_window(SINCE, UNTIL, now) == (SINCE, UNTIL)
    with pytest.raises(ShardError, match='both --since and --until'):
        backfill.check_window(SINCE, None, now)
    with pytest.raises(ShardError, match='in the future'):
        backfill.check_window(SINCE, now + timedelta(hours=1), now)
    assert backfill.run_id(SINCE, UNTIL, 3) == '20240101T000000Z-20240108T000000Z-3'


def test_every_slice_belongs_to_exactly_one_shard(tmp_path):
    markers = Markers(StorageDirectory(tmp_path), 'run')
    plans = [ShardPlan(Shard(i, 3), SINCE, UNTIL, markers) for i in range(3)]
    slices = plans[0].slices
    assert len(slices) == 7
    for window in slices:
        assert sum(p.select('job_host_summary', window) for p in plans) == 1
    assert [p.select('job_host_summary', slices[3]) for p in plans] == [True, False, False]  # 3 mod 3 == 0
    snapshot = Window(UNTIL - timedelta(seconds=1), UNTIL)
    assert [p.select('main_host', snapshot) for p in plans] == [True, False, False]


def test_merge_advances_over_the_consecutive_prefix_only(tmp_path):
    storage = StorageDirectory(tmp_path)
    markers = Markers(storage, 'run')
    state = StorageStateStore(storage)
    plan = ShardPlan(Shard(0, 1), SINCE, UNTIL, markers)
    for window in plan.slices[:3] + plan.slices[4:]:  # day 4 missing
        markers.mark('job_host_summary', window, [], plan.shard)
    assert merge(markers, state, ['job_host_summary', 'main_jobevent'], plan.slices) == {
        'job_host_summary': plan.slices[2].until
    }
    assert merge(markers, state, ['job_host_summary'], plan.slices) == {}  # idempotent
    markers.mark('job_host_summary', plan.slices[3], [], plan.shard)
    assert merge(markers, state, ['job_host_summary'], plan.slices) == {'job_host_summary': UNTIL}
    assert state.load().get('job_host_summary') == UNTIL
    # A backfill that starts after a collector's watermark never jumps over the gap.
    state.save(Watermarks({'job_host_summary': SINCE - timedelta(days=3)}))
    assert merge(markers, state, ['job_host_summary'], plan.slices) == {}
    # Retrying: marked slices are not selected again.
    assert not plan.select('job_host_summary', plan.slices[0])


FEWEST, MOST = contract.SHARDS  # the shard bound has one home, the contract


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('text', 'message'),
    [
        (f'0/{MOST + 1}', f'--shard 0/{MOST + 1}: expected 0 <= i < n <= {MOST}'),
        (f'{MOST}/{MOST}', f'--shard {MOST}/{MOST}: expected 0 <= i < n <= {MOST}'),
        (f'0/{FEWEST - 1}', f'--shard 0/{FEWEST - 1}: expected 0 <= i < n <= {MOST}'),
    ],
    ids=['one-shard-too-many', 'index-equal-to-count', 'no-shards'],
)
def test_shard_count_stays_within_the_contract(text, message):
    with pytest.raises(ShardError) as caught:
        Shard.parse(text)
    assert str(caught.value) == message
    assert Shard.parse(f'{MOST - 1}/{MOST}') == Shard(MOST - 1, MOST)
