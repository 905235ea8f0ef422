"""Settings parsing: defaults, overrides, and every problem listed."""

import pytest

from metrics_utility.settings.common import ConfigError, ship_settings
from metrics_utility.settings.report import report_settings

pytestmark = pytest.mark.unit


def test_report_defaults(tmp_path):
    problems = []
    env = {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
           'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2', 'METRICS_UTILITY_PRICE_PER_NODE': '11.555',
           'METRICS_UTILITY_ORGANIZATION_FILTER': 'Default;Zürich Netzwerk;'}  # fmt: skip
    settings = report_settings(env, problems)
    assert problems == []
    assert settings.sheets[0] == 'ccsp_summary' and settings.deduplicator == 'ccsp'
    assert settings.price_per_node == 11.56
    assert settings.organization_filter == ('Default', 'Zürich Netzwerk')


def test_renewal_default_dedup_and_sheet_all(tmp_path):
    problems = []
    env = {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(tmp_path)}
    assert report_settings(env, problems, report_type='RENEWAL_GUIDANCE').deduplicator == 'renewal'
    assert 'usage_trend' in report_settings(env, problems, report_type='CCSPv2', sheets='all').sheets
    assert problems == []


def test_s3_problems_are_listed_together():
    problems = []
    env = {'METRICS_UTILITY_SHIP_TARGET': 's3', 'METRICS_UTILITY_BUCKET_ENDPOINT': 'minio:9000',
           'METRICS_UTILITY_BUCKET_ACCESS_KEY': 'AKIA'}  # fmt: skip
    ship_settings(env, ('directory', 's3'), problems)
    assert len(problems) == 3
    assert all('METRICS_UTILITY_BUCKET_' in p for p in problems)
    error = ConfigError(problems)
    assert str(error).count('\n  - ') == 3


def test_missing_target_and_bad_iterations(tmp_path):
    problems = []
    assert report_settings({'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': 'zero'}, problems) is None
    assert any('SHIP_TARGET is not set' in p for p in problems)
    assert any('REPORT_TYPE is not set' in p for p in problems)
    assert any('ITERATIONS' in p for p in problems)
