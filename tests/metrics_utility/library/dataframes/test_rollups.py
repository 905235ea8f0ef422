"""Rollup classes: fields even when empty, raw → rollup → regroup consistency, redelivered rows, identity."""

import functools
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from metrics_utility.library.dataframes import ROLLUPS, ContentUsage, JobHostSummaryUsage
from metrics_utility.library.extract import read_csv
from testsupport.report_data import JOB_HOST_SUMMARY, MAIN_JOBEVENT, csv_bytes, pg_ts, summary_row

pytestmark = pytest.mark.unit
DAY = date(2024, 2, 29)
T0 = datetime(2024, 2, 29, 10, tzinfo=UTC)


_jhs = functools.partial(summary_row, at=T0)


def _table(key, columns, rows):
    return read_csv(csv_bytes(columns, rows), key)


@pytest.mark.parametrize('name', sorted(ROLLUPS))
def test_empty_rollups_keep_their_fields(name):
    rollup = ROLLUPS[name]()
    assert list(rollup.data.columns) == list(ROLLUPS[name].fields)
    assert list(rollup.regroup().columns) == list(ROLLUPS[name].fields)


def test_job_host_summary_counts_reachable_rows_by_identity():
    rollup = JobHostSummaryUsage()
    rows = [
        _jhs(1, 'web01', 1, ansible_host='10.0.0.1'),
        _jhs(2, 'web01-alias', 1, ansible_host=' 10.0.0.1 '),
        _jhs(3, 'ghost', 1, ok=0, dark=1),
        _jhs(4, 'db01', 2, ansible_host=''),
        _jhs(4, 'db01', 2),
    ]
    rollup.add_csv(_table('job_host_summary', JOB_HOST_SUMMARY, rows), install_uuid='u1', day=DAY)
    data = rollup.group()
    # ghost unreachable; id 4 delivered twice; identities are exact strings (docs/reports.md), never trimmed
    assert sorted(data['host_name']) == [' 10.0.0.1 ', '10.0.0.1', 'db01']
    assert set(rollup.pairs['original_host_name']) == {'web01', 'web01-alias', 'ghost', 'db01'}


def test_regroup_of_daily_rollups_equals_grouping_everything():
    days = []
    whole = JobHostSummaryUsage()
    for d in range(3):
        rows = [_jhs(d * 10 + i, f'h{i % 4}', d * 10 + i // 2) for i in range(8)]
        table = _table('job_host_summary', JOB_HOST_SUMMARY, rows)
        daily = JobHostSummaryUsage()
        daily.add_csv(table, install_uuid='u1', day=DAY)
        days.append(daily.group())
        whole.add_csv(table, install_uuid='u1', day=DAY)
    month = JobHostSummaryUsage()
    for frame in days:
        month.add_frame(frame)
    key = ['job_remote_id', 'host_name']
    pd.testing.assert_frame_equal(
        month.regroup().sort_values(key, ignore_index=True), whole.group().sort_values(key, ignore_index=True)
    )


def test_events_take_identity_and_organization_from_their_summary():
    jhs = JobHostSummaryUsage()
    jhs.add_csv(
        _table('job_host_summary', JOB_HOST_SUMMARY, [_jhs(1, 'web01', 7, ansible_host='10.0.0.1', org='A')]),
        install_uuid='u1',
        day=DAY,
    )
    jhs.group()
    events = ContentUsage()
    rows = [
        {
            'id': 1,
            'host_name': 'web01',
            'job_remote_id': 7,
            'task_action': 'yum',
            'resolved_action': 'ansible.builtin.dnf',
            'duration': '1.5',
        },
        {'id': 2, 'host_name': 'web01', 'job_remote_id': 7, 'task_action': 'my_mod', 'role': 'web', 'duration': ''},
        {'id': 3, 'host_name': 'web01', 'job_remote_id': 7, 'task_action': 'a.b.c.d', 'resolved_role': 'ns.coll.r'},
        {'id': 3, 'host_name': 'web01', 'job_remote_id': 7, 'task_action': 'a.b.c.d', 'resolved_role': 'ns.coll.r'},
        {'id': 4, 'host_name': 'other', 'job_remote_id': 7, 'task_action': 'ping'},
        {'id': 5, 'host_name': 'web01', 'job_remote_id': 7, 'task_action': None},
    ]
    events.add_csv(_table('main_jobevent', MAIN_JOBEVENT, rows), install_uuid='u1', day=DAY)
    data = events.group_with(jhs.pairs).sort_values('module_name', ignore_index=True)
    assert data[['host_name', 'organization_name']].drop_duplicates().values.tolist() == [['10.0.0.1', 'A']]
    assert data['module_name'].tolist() == ['a.b.c.d', 'ansible.builtin.dnf', 'my_mod']
    assert data['collection_name'].tolist() == ['a.b', 'ansible.builtin', 'No collection used']
    assert data['role_name'].tolist() == ['ns.coll.r', 'No role used', 'web']
    assert data['task_runs'].tolist() == [1, 1, 1]
    assert data['duration'].tolist() == [0.0, 1.5, 0.0]
    assert events.unmatched == 1  # 'other' ran nothing with a summary


def test_output_formats_round_trip(tmp_path):
    rollup = JobHostSummaryUsage()
    rollup.add_csv(_table('job_host_summary', JOB_HOST_SUMMARY, [_jhs(1, 'a', 1)]), install_uuid='u1', day=DAY)
    rollup.group()
    rollup.to_parquet(tmp_path / 'r.parquet')
    rollup.to_csv(tmp_path / 'r.csv')
    again = JobHostSummaryUsage()
    again.add_parquet(tmp_path / 'r.parquet')
    pd.testing.assert_frame_equal(again.regroup(), rollup.data)
    assert '"host_name":"a"' in rollup.to_json()
    assert (tmp_path / 'r.csv').read_text().startswith('day,install_uuid,')


def _snapshot(day: int, rng) -> pd.DataFrame:
    """A day's inventory rollup where hosts come and go, move organizations and change (or lose) facts."""
    from metrics_utility.library.dataframes import InventoryScope
    from testsupport.report_data import MAIN_HOST

    rows = []
    for i in rng.sample(range(40), 25):
        org = [None, 'Default', 'Acme'][(i + day // 3) % 3]
        facts = None if (i + day) % 5 == 0 else f'{{"day": {day % 3}}}'
        rows.append(
            {
                'host_name': f'h{i:02d}' if i % 7 else f'H{i:02d}',
                'host_id': i,
                'inventory_name': f'inv{i % 3}',
                'organization_name': org,
                'last_automation': pg_ts(T0 + timedelta(days=day, minutes=i)),
                'first_automation': pg_ts(T0 - timedelta(days=i)),
                'canonical_facts': facts,
                'facts': facts,
                'ansible_host_variable': '10.0.0.1' if i in (3, 4) else None,
            }
        )
    daily = InventoryScope()
    for install in ('u1', 'u2') if day % 2 else ('u1',):
        daily.add_csv(_table('main_host', MAIN_HOST, rows), install_uuid=install, day=DAY + timedelta(days=day))
    return daily.group()


@pytest.mark.parametrize('step', [1, 2, 3, 7])
def test_inventory_fold_equals_regroup(step):
    import random

    from metrics_utility.library.dataframes import InventoryScope

    rng = random.Random(step)
    days = [_snapshot(d, rng) for d in range(12)]
    month = InventoryScope()
    for frame in days:
        month.add_frame(frame)
    expected = month.regroup()
    folder, folded = InventoryScope(), []
    for frame in days:
        folded.append(frame)
        if len(folded) > step:
            folded = [folder.fold(folded)]
    pd.testing.assert_frame_equal(folder.fold(folded), expected)
    assert folder.fold([]).equals(InventoryScope().regroup())


DEDUPING = {key: rollup for key, rollup in ROLLUPS.items() if rollup.dedupe_on}


@pytest.mark.parametrize('rollup', list(DEDUPING.values()), ids=list(DEDUPING))
def test_empty_raw_has_the_columns_prepare_adds(rollup):
    """Rollups that drop redelivered rows see raw columns beyond `fields`: `raw_fields` names exactly those, so a
    day without rows has the same columns as a day with rows."""
    from metrics_utility.library.extract.columns import empty

    prepared = rollup().prepare(empty(rollup.sources[0]).to_pandas(), 'u', pd.Timestamp('2024-02-29'))
    assert set(prepared.columns) - set(rollup.fields) == set(rollup.raw_fields)
    assert list(rollup().empty_raw().columns) == [*rollup.fields, *rollup.raw_fields]
    assert set(rollup.dedupe_on) <= set(rollup.raw_fields) | set(rollup.fields)
