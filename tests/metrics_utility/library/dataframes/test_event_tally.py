"""The event tally: a day's result events summed a block at a time give exactly what summing them all at once gives.

Each case feeds raw rows through `EventTally` (blocks of two rows, so every case crosses blocks) and asserts the
exact counted result: task runs per (identity, module), the events left without a summary, and the rows the
all-at-once path (`ContentUsage.group_with`) finds for the same rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from metrics_utility.library.dataframes import ContentUsage, JobHostSummaryUsage, event_tally
from metrics_utility.library.dataframes.event_tally import EventTally
from metrics_utility.library.dataframes.tally_content import content_rollup
from metrics_utility.library.extract import read_csv
from testsupport.report_data import JOB_HOST_SUMMARY, MAIN_JOBEVENT, csv_bytes, summary_row

pytestmark = pytest.mark.unit
DAY = date(2024, 2, 1)
AT = datetime(2024, 2, 1, 10, tzinfo=UTC)
A, B = 'install-a', 'install-b'


def event(i: int | None, job: int | None, host: str, module: str = 'ping', role: str | None = None, **extra) -> dict:
    return {'id': i, 'job_remote_id': job, 'host_name': host, 'task_action': module, 'event': 'runner_on_ok',
            'resolved_role': role, 'duration': '0.5', **extra}  # fmt: skip


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
    ('blank-resolved-action-falls-back', [(A, [event(1, 7, 'web1', resolved_action='  '),
                                               event(2, 7, 'web1', resolved_action='a.b.copy'),
                                               event(3, 7, 'web1', '=cmd()', resolved_action='\t\r\n'),
                                               event(4, 7, 'web1', 'NA', resolved_action=' x ')])],
     {('web1', 'ping', True): 1, ('web1', 'a.b.copy', True): 1, ('web1', '=cmd()', True): 1, ('web1', ' x ', True): 1},
     0),
    ('blank-task-action-kept', [(A, [event(1, 7, 'web1', '  ')])], {('web1', '  ', True): 1}, 0),
    ('role-fallbacks', [(A, [{**event(1, 7, 'web1', role=' '), 'role': 'r2'}, {**event(2, 7, 'web1'), 'role': '\t'},
                             {**event(3, 7, 'web1', role='NA'), 'role': 'r9'},
                             {**event(4, 7, 'web1', role=''), 'role': ''},
                             {**event(5, 7, 'web1', role='+r'), 'role': None}])],
     {('web1', 'ping', True): 5}, 0),
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


@pytest.mark.hostile
@pytest.mark.parametrize(('packages', 'runs', 'unmatched'), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_folding_every_part_into_the_sums_changes_nothing(monkeypatch, packages, runs, unmatched):
    """Each block's part summed into the sorted sums at once (in-place adds, inserted keys): same rows, same order."""
    monkeypatch.setattr(event_tally, 'COMBINE_ROWS', 0)
    frame, missing, expected, _ = tallied(packages)
    assert frame.equals(expected)
    assert missing == unmatched
