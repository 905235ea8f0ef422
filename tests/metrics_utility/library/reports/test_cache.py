"""Cached period figures are used only while the period's rollups are unchanged."""

from datetime import date

import pytest

from metrics_utility.library.reports import CCSPV2_SHEETS, ReportOptions, build
from metrics_utility.library.storage import StorageDirectory, StorageError
from testsupport.report_data import synthetic

pytestmark = pytest.mark.unit
FEB = (date(2024, 2, 1), date(2024, 3, 1))


def _options(**kw):
    return ReportOptions('CCSPv2', *FEB, month='2024-02', sheets=CCSPV2_SHEETS, **kw)


def test_a_changed_day_invalidates_the_cached_figures(tmp_path):
    synthetic(date(2024, 2, 10), 3, jobs_per_day=4, hosts=30).write(tmp_path)
    storage = StorageDirectory(tmp_path)
    first = build(storage, _options(), tmp_path / 'a.xlsx')
    (entry,) = (tmp_path / 'rollups/figures').glob('*.zip')
    assert first.days_rebuilt == 3
    bigger = synthetic(date(2024, 2, 11), 1, jobs_per_day=12, hosts=90, seed=3)
    bigger.write(tmp_path, keys={'job_host_summary'})  # same package name, new content
    second = build(storage, _options(), tmp_path / 'b.xlsx')
    assert second.days_rebuilt == 1
    assert second.quantity != first.quantity
    (replacement,) = (tmp_path / 'rollups/figures').glob('*.zip')  # the superseded entry is gone
    assert replacement != entry and replacement.name.split('-')[0] == entry.name.split('-')[0]
    third = build(storage, _options(), tmp_path / 'c.xlsx')
    assert (third.quantity, third.days_rebuilt) == (second.quantity, 0)


def test_options_that_change_figures_have_their_own_entry(tmp_path):
    synthetic(date(2024, 2, 10), 2, jobs_per_day=4, hosts=30).write(tmp_path)
    storage = StorageDirectory(tmp_path)
    everyone = build(storage, _options(), tmp_path / 'a.xlsx')
    default = build(storage, _options(organization_filter=('Default',)), tmp_path / 'b.xlsx')
    assert default.quantity < everyone.quantity
    build(storage, _options(price_per_node=99, company_name='Other'), tmp_path / 'c.xlsx')  # writing only
    assert len(list((tmp_path / 'rollups/figures').glob('*.zip'))) == 2


def test_rebuild_rollups_ignores_the_cache(tmp_path):
    synthetic(date(2024, 2, 10), 2, jobs_per_day=4, hosts=30).write(tmp_path)
    storage = StorageDirectory(tmp_path)
    build(storage, _options(), tmp_path / 'a.xlsx')
    forced = build(storage, _options(), tmp_path / 'b.xlsx', force_rollups=True)
    assert forced.days_rebuilt == 2


def test_a_storage_refusing_removal_still_gets_its_report(tmp_path, monkeypatch, caplog):
    synthetic(date(2024, 2, 10), 2, jobs_per_day=4, hosts=30).write(tmp_path)
    storage = StorageDirectory(tmp_path)
    build(storage, _options(), tmp_path / 'a.xlsx')
    synthetic(date(2024, 2, 11), 1, jobs_per_day=12, hosts=90, seed=3).write(tmp_path, keys={'job_host_summary'})

    def refuse(name):
        raise StorageError(f'no delete for {name}')

    monkeypatch.setattr(storage, 'remove', refuse)
    second = build(storage, _options(), tmp_path / 'b.xlsx')
    assert second.path is not None and second.days_rebuilt == 1
    assert len(list((tmp_path / 'rollups/figures').glob('*.zip'))) == 2  # kept, only taking space
    assert 'cannot remove superseded report figures' in caplog.text
