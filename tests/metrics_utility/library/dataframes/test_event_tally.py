"""The event tally: a day's result events summed a block at a time give exactly what summing them all at once gives.

Each case feeds raw rows through `EventTally` (blocks of two rows, so every case crosses blocks) and asserts the
exact counted result: task runs per (identity, module), the events left without a summary, and the rows the
all-at-once path (`ContentUsage.group_with`) finds for the same rows.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from metrics_utility.library.dataframes import ContentUsage, JobHostSummaryUsage, event_tally
from metrics_utility.library.dataframes.event_tally import EventTally, KeySums, SeenIds, content_rollup
from metrics_utility.library.extract import read_csv
from testsupport.report_data import JOB_HOST_SUMMARY, MAIN_JOBEVENT, csv_bytes, summary_row

pytestmark = pytest.mark.unit
DAY = date(2024, 2, 1)
AT = datetime(2024, 2, 1, 10, tzinfo=UTC)
A, B = 'install-a', 'install-b'


def event(i: int | None, job: int | None, host: str, module: str = 'ping', role: str | None = None) -> dict:
    return {'id': i, 'job_remote_id': job, 'host_name': host, 'task_action': module, 'event': 'runner_on_ok',
            'resolved_role': role, 'duration': '0.5'}  # fmt: skip


SUMMARIES = [
    summary_row(1, 'web1', 7, AT),
    summary_row(2, 'web2', 7, AT, ansible_host='10.0.0.1'),
    summary_row(3, 'web3', 7, AT, ansible_host='10.0.0.1'),  # same identity as web2
    summary_row(4, 'dark1', 7, AT, ok=0, dark=1),  # unreachable: its events count, not as a node
    summary_row(5, 'twice', 8, AT, ansible_host='one'),  # one job names a host twice, two identities
    summary_row(6, 'twice', 8, AT, ansible_host='two'),
]
# id, packages of (install, events), expected task runs per (host identity, module, reachable), unmatched
CASES = [
    ('one-event', [(A, [event(1, 7, 'web1')])], {('web1', 'ping', True): 1}, 0),
    ('redelivered-in-one-block', [(A, [event(1, 7, 'web1'), event(1, 7, 'web1')])], {('web1', 'ping', True): 1}, 0),
    ('redelivered-across-blocks', [(A, [event(1, 7, 'web1'), event(2, 7, 'web1'), event(1, 7, 'web1')])],
     {('web1', 'ping', True): 2}, 0),
    ('redelivered-in-a-later-package', [(A, [event(1, 7, 'web1')]), (A, [event(1, 7, 'web1'), event(9, 7, 'web1')])],
     {('web1', 'ping', True): 2}, 0),
    ('same-id-other-installation', [(A, [event(1, 7, 'web1')]), (B, [event(1, 7, 'web1')])],
     {('web1', 'ping', True): 1}, 1),
    ('first-delivery-wins', [(A, [event(1, 7, 'web1', 'copy')]), (A, [event(1, 7, 'web1', 'file')])],
     {('web1', 'copy', True): 1}, 0),
    ('no-id-never-deduplicated', [(A, [event(None, 7, 'web1'), event(None, 7, 'web1')])],
     {('web1', 'ping', True): 2}, 0),
    ('no-summary', [(A, [event(1, 7, 'nobody'), event(2, 99, 'web1')])], {}, 2),
    ('no-job', [(A, [event(1, None, 'web1')])], {}, 1),
    ('two-hosts-one-identity', [(A, [event(1, 7, 'web2'), event(2, 7, 'web3')])], {('10.0.0.1', 'ping', True): 2}, 0),
    ('unreachable-pair', [(A, [event(1, 7, 'dark1')])], {('dark1', 'ping', False): 1}, 0),
    ('a-host-named-twice-in-a-job', [(A, [event(1, 8, 'twice')])], {('one', 'ping', True): 1, ('two', 'ping', True): 1},
     -1),
    ('negative-and-huge-ids', [(A, [event(-5, 7, 'web1'), event(2**62, 7, 'web1'), event(-5, 7, 'web1')])],
     {('web1', 'ping', True): 2}, 0),
    ('host-named-NA', [(A, [event(1, 7, 'NA')])], {}, 1),
    ('modules-and-roles', [(A, [event(1, 7, 'web1', 'a.b.c', 'r1'), event(2, 7, 'web1', 'a.b.c', 'r2'),
                                event(3, 7, 'web1', 'a.b.c', 'r1')])], {('web1', 'a.b.c', True): 3}, 0),
]  # fmt: skip


def pairs_of(install: str = A) -> JobHostSummaryUsage:
    summaries = JobHostSummaryUsage()
    table = read_csv(csv_bytes(JOB_HOST_SUMMARY, SUMMARIES), 'job_host_summary')
    summaries.add_csv(table, install_uuid=install, day=DAY)
    summaries.group()
    return summaries


def tallied(packages) -> tuple[pd.DataFrame, int, pd.DataFrame, ContentUsage]:
    """(the tally's content rollup fed two rows at a time, its unmatched count, the rollup of summing all events at
    once, that reference rollup)."""
    summaries = pairs_of()
    tally = EventTally(summaries.pairs)
    reference = ContentUsage()
    for install, rows in packages:
        staged = tally.package(install)
        table = read_csv(csv_bytes(MAIN_JOBEVENT, rows), 'main_jobevent')
        for start in range(0, table.num_rows, 2):
            staged.add(table.slice(start, 2))
        tally.commit(staged)
        reference.add_csv(table, install_uuid=install, day=DAY)
    built, missing = content_rollup(tally, DAY)
    frame = ContentUsage.empty() if built is None else ContentUsage()._conform(built.to_pandas())
    return frame, missing, reference.group_with(summaries.pairs), reference


@pytest.mark.hostile
@pytest.mark.parametrize(('packages', 'runs', 'unmatched'), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_tally_sums_what_summing_all_events_at_once_sums(packages, runs, unmatched):
    frame, missing, expected, reference = tallied(packages)
    got = frame.groupby(['host_name', 'module_name', 'reachable'])['task_runs'].sum().to_dict()
    assert got == runs
    assert missing == reference.unmatched == unmatched
    assert frame.equals(expected)


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
@pytest.mark.parametrize(('packages', 'runs', 'unmatched'), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_folding_every_part_into_the_sums_changes_nothing(monkeypatch, packages, runs, unmatched):
    """Each block's part summed into the sorted sums at once (in-place adds, inserted keys): same rows, same order."""
    monkeypatch.setattr(event_tally, 'COMBINE_ROWS', 0)
    frame, missing, expected, _ = tallied(packages)
    assert frame.equals(expected)
    assert missing == unmatched


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


DICTIONARY_CASES = [  # id, codes, number of values, expected index type, dictionary, indices (None: missing)
    ('first-use-order', [2, 0, 2, 1], 3, 'int8', ['c', 'a', 'b'], [0, 1, 0, 2]),
    ('unused-values-left-out', [3, 3], 5, 'int8', ['d'], [0, 0]),
    ('missing-codes', [-1, 1, -1], 2, 'int8', ['b'], [None, 0, None]),
    ('only-missing', [-1, -1], 2, 'int8', [], [None, None]),
    ('127-values-fit-int8', list(range(127)), 127, 'int8', None, list(range(127))),
    ('128-values-need-int16', list(range(128)), 128, 'int16', None, list(range(128))),
    ('32768-values-need-int32', list(range(32768)), 32768, 'int32', None, list(range(32768))),
    ('blocks-of-first-use', [1] * 5 + [0] * 5, 2, 'int8', ['b', 'a'], [0] * 5 + [1] * 5),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('codes', 'size', 'index_type', 'dictionary', 'indices'),
    [c[1:] for c in DICTIONARY_CASES],
    ids=[c[0] for c in DICTIONARY_CASES],
)
def test_dictionary_holds_the_values_used_in_order_of_first_use(
    monkeypatch, codes, size, index_type, dictionary, indices
):
    values = [chr(ord('a') + i) if size <= 26 else f'v{i}' for i in range(size)]
    monkeypatch.setattr(event_tally, '_first_used', functools.partial(event_tally._first_used, block=4))
    array = event_tally._dictionary(np.array(codes, dtype=np.int64), values)
    assert str(array.type.index_type) == index_type
    expected = dictionary if dictionary is not None else [values[c] for c in codes]
    assert array.dictionary.to_pylist() == expected
    assert array.indices.to_pylist() == indices
    assert array.to_pylist() == [None if c < 0 else values[c] for c in codes]


@pytest.mark.hostile
@pytest.mark.parametrize(('blocks', 'seen'), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES])
def test_seen_ids_capped_chunks_know_exactly_the_ids_added(monkeypatch, blocks, seen):
    """Chunks stop merging at MERGE_IDS ids; lookups over the chunks left apart find the same ids."""
    monkeypatch.setattr(event_tally, 'MERGE_IDS', 2)
    ids = SeenIds()
    for block, expected in zip(blocks, seen, strict=True):
        values = np.array(block, dtype=np.int64)
        found = ids.seen(values)
        assert found.tolist() == expected
        ids.add(values[~found])
    assert all(len(chunk) <= 2 or len(chunk) == 3 for chunk in ids.chunks)  # a 3-id block is added whole
    assert sum(len(chunk) for chunk in ids.chunks) == len({i for block in blocks for i in block})
