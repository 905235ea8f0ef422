"""Rollups per installation over several storages equal the rollups of one storage holding every package."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from metrics_utility.library.dataframes import PeriodData, RollupStore
from metrics_utility.library.dataframes.combine import load_by_installation, merge_periods
from metrics_utility.library.extract import Problem
from metrics_utility.library.extract.multi import installation_rollups, installations, namespace
from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.storage.multi import MultiStorage
from testsupport.report_data import synthetic

pytestmark = pytest.mark.unit
A, B = '11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'
NAMES = {'job_host_summary', 'main_jobevent', 'main_host', 'data_collection_status', 'main_indirectmanagednodeaudit'}
SINCE, UNTIL = date(2024, 2, 27), date(2024, 3, 1)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), kind='stable', ignore_index=True)


@pytest.fixture
def layout(tmp_path):
    """Installation A in `a/`, B in `b/`, and both in `both/`."""
    for folder, installs in (('a', [A]), ('b', [B]), ('both', [A, B])):
        for install in installs:
            seed = 5 if install == A else 6
            synthetic(SINCE, 3, jobs_per_day=3, seed=seed, install_uuid=install).write(tmp_path / folder)
    return tmp_path


def test_two_storages_give_the_frames_of_one_storage_holding_both(layout):
    combined = MultiStorage(StorageDirectory(layout / 'a'), [StorageDirectory(layout / 'b')])
    merged = load_by_installation(combined, SINCE, UNTIL, NAMES)
    single = RollupStore(StorageDirectory(layout / 'both')).load(SINCE, UNTIL, NAMES)
    assert set(merged['job_host_summary']['install_uuid']) == {A, B}
    for name in NAMES:
        assert _sorted(merged[name]).equals(_sorted(single[name])), name
    assert merged.days_with_data == single.days_with_data == [date(2024, 2, 27), date(2024, 2, 28), date(2024, 2, 29)]


def test_rollups_are_namespaced_per_installation_in_the_main_storage(layout):
    combined = MultiStorage(StorageDirectory(layout / 'a'), [StorageDirectory(layout / 'b')])
    assert installations(combined, SINCE, UNTIL) == [A, B]
    first = load_by_installation(combined, SINCE, UNTIL, {'job_host_summary'})
    assert first.days_rebuilt == first.days_with_data
    for install in (A, B):
        assert (layout / 'a' / installation_rollups(install) / '2024/02/28/job_host_summary.parquet').is_file()
    assert not (layout / 'b' / 'rollups').exists()
    warm = load_by_installation(combined, SINCE, UNTIL, {'job_host_summary'})
    assert warm.days_rebuilt == []
    assert _sorted(warm['job_host_summary']).equals(_sorted(first['job_host_summary']))


def test_merge_keeps_problems_and_unites_days():
    one = PeriodData({}, [Problem(date(2024, 2, 27), 'x.tar.gz', 'corrupt')], [date(2024, 2, 28)], [date(2024, 2, 28)])
    two = PeriodData({}, [], [date(2024, 2, 27), date(2024, 2, 28)], [])
    merged = merge_periods([one, two], {'job_host_summary'})
    assert [p.name for p in merged.problems] == ['x.tar.gz']
    assert merged.days_with_data == [date(2024, 2, 27), date(2024, 2, 28)]
    assert merged.days_rebuilt == [date(2024, 2, 28)]
    assert merged['job_host_summary'].empty


@pytest.mark.parametrize(('prefix', 'safe'), [(A, True), ('legacy_name', True), ('../up', False), ('a b', False)])
def test_namespace_is_one_safe_path_segment(prefix, safe):
    value = namespace(prefix)
    assert (value == prefix) is safe
    assert '/' not in value and ' ' not in value and not value.startswith('.')
