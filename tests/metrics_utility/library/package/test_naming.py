"""Names and object names: metrics-utility's pattern, UTC everywhere, refusals of unsafe parts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from metrics_utility.library.package.naming import (
    NamingError,
    day_prefix,
    object_name,
    parse_tarball_name,
    tarball_name,
    window_glob,
)
from metrics_utility.library.storage.base import matches

UUID = '2b54dd1f-6b43-4a4b-9b1b-0123456789ab'
SINCE = datetime(2024, 4, 16, tzinfo=UTC)
UNTIL = datetime(2024, 4, 17, tzinfo=UTC)


def test_the_reference_example() -> None:
    assert tarball_name(UUID, SINCE, UNTIL, 0, 'job_host_summary') == (
        f'{UUID}-2024-04-16-000000+0000-2024-04-17-000000+0000-0-job_host_summary.tar.gz'
    )
    assert object_name(UUID, SINCE, UNTIL, 3, 'main_jobevent').startswith('data/2024/04/16/')


def test_other_timezones_are_written_in_utc() -> None:
    since = datetime(2024, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # 2024-02-29 23:30 UTC
    name = object_name(UUID, since, since + timedelta(hours=1), 0, 'x')
    assert name == f'data/2024/02/29/{UUID}-2024-02-29-233000+0000-2024-03-01-003000+0000-0-x.tar.gz'


def test_round_trip_and_legacy_names() -> None:
    parsed = parse_tarball_name(f'data/2024/04/16/{tarball_name(UUID, SINCE, UNTIL, 12, "main_host")}')
    assert parsed is not None
    assert (parsed.install_uuid, parsed.since, parsed.until, parsed.index, parsed.key) == (
        UUID,
        SINCE,
        UNTIL,
        12,
        'main_host',
    )
    legacy = parse_tarball_name(f'{UUID}-2024-04-16-000000+0000-2024-04-17-000000+0000-0.tar.gz')  # ≤ 0.6.0
    assert legacy is not None and legacy.key is None and legacy.index == 0
    assert parse_tarball_name('report.xlsx') is None


@pytest.mark.parametrize(
    ('uuid', 'since', 'index', 'key'),
    [
        ('../etc', SINCE, 0, 'k'),
        ('a/b', SINCE, 0, 'k'),
        ('', SINCE, 0, 'k'),
        (UUID, SINCE.replace(tzinfo=None), 0, 'k'),
        (UUID, SINCE, -1, 'k'),
        (UUID, SINCE, True, 'k'),
        (UUID, SINCE, 0, 'Job'),
        (UUID, SINCE, 0, 'a-b'),
    ],
)
def test_unsafe_parts_are_refused(uuid: str, since: datetime, index: int, key: str) -> None:
    with pytest.raises(NamingError):
        tarball_name(uuid, since, UNTIL, index, key)


def test_window_glob_matches_every_package_of_the_window_only() -> None:
    pattern = window_glob(UUID, SINCE, UNTIL)
    assert matches(object_name(UUID, SINCE, UNTIL, 0, 'config'), pattern)
    assert matches(object_name(UUID, SINCE, UNTIL, 17, 'main_jobevent'), pattern)
    assert not matches(object_name(UUID, SINCE, UNTIL + timedelta(hours=1), 0, 'config'), pattern)
    assert not matches(object_name('other', SINCE, UNTIL, 0, 'config'), pattern)


# --- names as readers meet them (metrics-utility's historical variants) ---------------------------------------------

WINDOW = '2024-04-16-000000+0000-2024-04-17-000000+0000'


@pytest.mark.parametrize(
    ('name', 'key', 'collection_key'),
    [
        (f'{UUID}-{WINDOW}-0-job_host_summary.tar.gz', 'job_host_summary', 'job_host_summary'),
        (f'{UUID}-{WINDOW}-3-main_jobevent.tar.gz', 'main_jobevent', 'main_jobevent'),
        (f'{UUID}-{WINDOW}-0-unknown.tar.gz', 'unknown', None),
        (f'{UUID}-{WINDOW}-0-config.tar.gz', 'config', None),
        (f'{UUID}-{WINDOW}-0.tar.gz', None, None),
        (f'data/2024/04/16/{UUID}-{WINDOW}-1-main_host.tar.gz', 'main_host', 'main_host'),
    ],
)
def test_the_collection_key_is_read_from_the_name_when_the_name_says_it(name, key, collection_key) -> None:
    parsed = parse_tarball_name(name)
    assert parsed is not None
    assert (parsed.key, parsed.collection_key, parsed.install_uuid) == (key, collection_key, UUID)
    assert parsed.name == name.rsplit('/', 1)[-1]


def test_names_without_a_collection_key_may_hold_anything() -> None:
    parsed = parse_tarball_name(f'{UUID}-{WINDOW}-0.tar.gz')
    assert parsed.may_hold(frozenset({'main_jobevent'}))
    assert parse_tarball_name(f'{UUID}-{WINDOW}-0-unknown.tar.gz').may_hold(frozenset({'main_jobevent'}))
    named = parse_tarball_name(f'{UUID}-{WINDOW}-0-main_host.tar.gz')
    assert not named.may_hold(frozenset({'job_host_summary'}))
    assert named.may_hold(frozenset({'job_host_summary', 'config'}))
    assert named.may_hold(None)


def test_windowless_names_are_packages_only_for_readers_that_ask() -> None:
    name = f'data/2024/04/16/{UUID}-2-main_host.tar.gz'
    assert parse_tarball_name(name) is None  # retention and the gather need the window: not theirs to touch
    parsed = parse_tarball_name(name, windowless=True)
    assert parsed is not None
    assert (parsed.install_uuid, parsed.since, parsed.until, parsed.index, parsed.key) == (
        UUID,
        None,
        None,
        2,
        'main_host',
    )


@pytest.mark.hostile
@pytest.mark.parametrize(
    'name',
    ['notes.txt', 'x.tar', '.hidden.tar.gz.part', f'{UUID}-{WINDOW}-0-Main.tar.gz', f'{UUID}.tar.gz', '-0.tar.gz'],
    ids=['text-file', 'plain-tar', 'partial-upload', 'upper-case-key', 'no-index', 'no-install-uuid'],
)
def test_other_files_are_not_packages(name: str) -> None:
    assert parse_tarball_name(name) is None
    assert parse_tarball_name(name, windowless=True) is None


def test_day_prefix_takes_a_day_or_the_utc_date_of_a_window_start() -> None:
    assert day_prefix(date(2024, 2, 29)) == 'data/2024/02/29'
    assert day_prefix(datetime(2024, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))) == 'data/2024/02/29'
    with pytest.raises(NamingError, match='has no timezone'):
        day_prefix(datetime(2024, 3, 1))
