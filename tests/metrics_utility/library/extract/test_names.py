"""Tarball names: the current layout and metrics-utility's historical variants."""

import pytest

from metrics_utility.library.extract import parse

pytestmark = pytest.mark.unit

UUID = '2b54dd1f-8c3a-4b6e-9d2f-0a1b2c3d4e5f'
WINDOW = '2024-04-16-000000+0000-2024-04-17-000000+0000'


@pytest.mark.parametrize(
    ('name', 'key'),
    [
        (f'{UUID}-{WINDOW}-0-job_host_summary.tar.gz', 'job_host_summary'),
        (f'{UUID}-{WINDOW}-3-main_jobevent.tar.gz', 'main_jobevent'),
        (f'{UUID}-{WINDOW}-0-unknown.tar.gz', None),
        (f'{UUID}-{WINDOW}-0-config.tar.gz', None),
        (f'{UUID}-{WINDOW}-0.tar.gz', None),
        (f'data/2024/04/16/{UUID}-{WINDOW}-1-main_host.tar.gz', 'main_host'),
    ],
)
def test_key_is_read_from_the_name_when_the_name_says_it(name, key):
    parsed = parse(name)
    assert parsed is not None
    assert parsed.key == key
    assert parsed.prefix == UUID


def test_names_without_a_key_may_hold_anything():
    parsed = parse(f'{UUID}-{WINDOW}-0.tar.gz')
    assert parsed.may_hold(frozenset({'main_jobevent'}))
    named = parse(f'{UUID}-{WINDOW}-0-main_host.tar.gz')
    assert not named.may_hold(frozenset({'job_host_summary'}))
    assert named.may_hold(None)


@pytest.mark.parametrize('name', ['notes.txt', 'x.tar', '.hidden.tar.gz.part'])
def test_other_files_are_not_packages(name):
    assert parse(name) is None
