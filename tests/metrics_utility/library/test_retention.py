"""Retention: the pure plan (age, size, oldest first, whole windows, upload guard) and the executor on a directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from metrics_utility.library import retention
from metrics_utility.library.package import object_name
from metrics_utility.library.retention import Policy, plan
from metrics_utility.library.storage import StorageDirectory

pytestmark = pytest.mark.unit
UUID = '2b54dd1f-0000-4000-8000-000000000001'
NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)


def day(n: int) -> datetime:
    return datetime(2024, 3, 1, tzinfo=UTC) + timedelta(days=n)


def package(n: int, key: str = 'job_host_summary', index: int = 0) -> str:
    return object_name(UUID, day(n), day(n + 1), index, key)


def listing(days: range, size: int = 100) -> dict[str, int]:
    objects = {}
    for n in days:
        objects[package(n)] = size
        objects[package(n, 'main_jobevent')] = size
    return objects


def test_no_limits_deletes_nothing():
    objects = listing(range(9)) | {'state/watermarks.json': 10}
    result = plan(objects, Policy(), NOW)
    assert result.delete == [] and result.stored_bytes == 1810 and result.stored_objects == 19


def test_age_deletes_whole_windows_whose_end_is_old_enough():
    objects = listing(range(9)) | {'reports/2024/02/CCSPv2-2024-02.xlsx': 5, 'state/watermarks.json': 10}
    result = plan(objects, Policy(max_age_days=7), NOW)
    # cutoff 2024-03-03T12:00: the windows ending 03-02 and 03-03T00:00 go (both collectors), nothing else.
    assert sorted(o.name for o in result.delete) == sorted(
        [package(0), package(0, 'main_jobevent'), package(1), package(1, 'main_jobevent')]
    )
    assert set(result.reasons.values()) == {'age'}


def test_size_deletes_oldest_first_until_under_the_limit_and_never_state_or_reports():
    objects = listing(range(5)) | {'state/watermarks.json': 50, 'reports/2024/03/r.xlsx': 50}
    result = plan(objects, Policy(max_bytes=700), NOW)  # 1100 stored: two windows (400) must go
    assert [o.since for o in result.delete] == [day(0), day(0), day(1), day(1)]
    assert result.remaining_bytes == 700 and set(result.reasons.values()) == {'size'}
    everything = plan({'state/watermarks.json': 50, 'reports/x.xlsx': 5000}, Policy(max_bytes=1), NOW)
    assert everything.delete == []  # over the limit, but nothing there may be deleted


def test_multi_part_windows_and_rollups_are_candidates():
    objects = {
        package(0, index=0): 10,
        package(0, index=1): 10,
        'rollups/jobs/2024/03/01/hosts.parquet': 10,
        'rollups/jobs/2024/03/05/hosts.parquet': 10,
        'data/README': 1,
        'rollups/summary.json': 1,
    }
    result = plan(objects, Policy(max_age_days=5), NOW)
    assert {o.name for o in result.delete} == {
        package(0, index=0),
        package(0, index=1),
        'rollups/jobs/2024/03/01/hosts.parquet',
    }


def test_upload_guard_keeps_windows_not_uploaded_even_over_the_limit():
    objects = listing(range(6))
    uploaded = {'job_host_summary': day(3), 'main_jobevent': day(2)}
    result = plan(objects, Policy(max_bytes=0), NOW, uploaded)
    # A window goes only when every collector in it is uploaded: days 0 and 1 (main_jobevent is uploaded to day 2).
    assert {o.since for o in result.delete} == {day(0), day(1)}
    assert {o.since for o in result.blocked} == {day(2), day(3), day(4), day(5)}
    nothing_uploaded = plan(objects, Policy(max_age_days=1), NOW, uploaded={})
    assert nothing_uploaded.delete == [] and len(nothing_uploaded.blocked) == 12
    # Rollups are local derivatives, never uploaded: the guard does not hold them.
    rollup = plan({'rollups/a/2024/03/01/x.parquet': 5}, Policy(max_age_days=1), NOW, uploaded={})
    assert len(rollup.delete) == 1


def test_policy_and_time_are_checked():
    with pytest.raises(ValueError, match='max_age_days'):
        Policy(max_age_days=0)
    with pytest.raises(ValueError, match='timezone-aware'):
        plan({}, Policy(max_bytes=1), datetime(2024, 1, 1))


def test_apply_on_a_directory_deletes_and_measures(tmp_path):
    storage = StorageDirectory(tmp_path)
    for name in listing(range(4)):
        storage.put(name, dict={'pad': 'x' * 80})
    storage.put('state/watermarks.json', dict={})
    (tmp_path / 'data' / '.half-written.part').write_bytes(b'x' * 1000)  # in-flight temp files are not objects
    before = storage.list_sizes()
    assert len(before) == 9 and all(not n.endswith('.part') for n in before)
    dry = retention.apply(storage, Policy(max_age_days=7), NOW, dry_run=True)
    assert dry.deleted_objects == 4 and storage.list_sizes() == before
    outcome = retention.apply(storage, Policy(max_age_days=7), NOW)
    assert outcome.deleted == [package(0), package(0, 'main_jobevent'), package(1), package(1, 'main_jobevent')]
    assert outcome.stored_objects == 5 and outcome.stored_bytes == sum(storage.list_sizes().values())
    assert outcome.volume_bytes and 0 < outcome.volume_free_bytes <= outcome.volume_bytes
    assert not storage.exists(package(0)) and storage.exists(package(2)) and storage.exists('state/watermarks.json')
