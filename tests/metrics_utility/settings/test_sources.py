"""--also-from / METRICS_UTILITY_ADDITIONAL_SHIP_PATHS: directories and s3:// URIs, every problem named."""

from __future__ import annotations

import pytest

from metrics_utility.settings.common import ShipSettings
from metrics_utility.settings.sources import VARIABLE, additional_sources

pytestmark = pytest.mark.unit
ENDPOINT = {
    'METRICS_UTILITY_BUCKET_ENDPOINT': 'http://127.0.0.1:9000',
    'METRICS_UTILITY_BUCKET_ACCESS_KEY': 'k',
    'METRICS_UTILITY_BUCKET_SECRET_KEY': 's',
}


def test_variable_lists_directories_and_buckets(tmp_path):
    (tmp_path / 'b').mkdir()
    problems: list[str] = []
    env = {VARIABLE: f'{tmp_path / "b"}; s3://other-bucket/controller-c/ ;', **ENDPOINT}
    sources = additional_sources(env, None, problems)
    assert problems == []
    assert [(s.ship.target, s.ship.path) for s in sources] == [
        ('directory', str(tmp_path / 'b')),
        ('s3', 'controller-c'),
    ]
    assert sources[1].ship.s3.bucket == 'other-bucket' and sources[1].ship.s3.access_key == 'k'


def test_flags_replace_the_variable(tmp_path):
    (tmp_path / 'flag').mkdir()
    sources = additional_sources({VARIABLE: '/nonexistent'}, [str(tmp_path / 'flag')], problems := [])
    assert problems == [] and [s.spec for s in sources] == [str(tmp_path / 'flag')]


def test_every_bad_source_is_named(tmp_path):
    problems: list[str] = []
    main = ShipSettings('directory', str(tmp_path))
    specs = [str(tmp_path), str(tmp_path / 'missing'), 's3://', 's3://bucket/p', 'https://example.com/x']
    assert additional_sources({}, specs, problems, main) == []
    assert len(problems) == 5
    assert 'is the main storage' in problems[0]
    assert 'not an existing directory' in problems[1]
    assert 'names no bucket' in problems[2]
    assert 'METRICS_UTILITY_BUCKET_ENDPOINT' in problems[3]
    assert 'not supported' in problems[4]
    assert all(p.startswith('--also-from') for p in problems)


def test_the_same_source_twice_is_refused(tmp_path):
    problems: list[str] = []
    additional_sources({}, [str(tmp_path), f'{tmp_path}/'], problems)
    assert len(problems) == 1 and 'given twice' in problems[0]
