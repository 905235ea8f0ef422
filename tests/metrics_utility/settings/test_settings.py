"""Settings parsing: defaults, overrides, and every problem listed."""

import pytest

from metrics_utility.library.reports.options import VALID_SHEETS
from metrics_utility.settings.common import ConfigError, ship_settings
from metrics_utility.settings.report import report_settings

pytestmark = pytest.mark.unit


def test_report_defaults(tmp_path):
    problems = []
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PRICE_PER_NODE': '11.555',
        'METRICS_UTILITY_ORGANIZATION_FILTER': 'Default;Zürich Netzwerk;',
    }
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
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 's3',
        'METRICS_UTILITY_BUCKET_ENDPOINT': 'minio:9000',
        'METRICS_UTILITY_BUCKET_ACCESS_KEY': 'AKIA',
    }
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


P = 'METRICS_UTILITY_'
PRICE = 'expected a non-negative number such as 11 or 11.50'
TYPES = 'expected one of: CCSP, CCSPv2, RENEWAL_GUIDANCE'


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('env', 'flags', 'problem'),
    [
        ({P + 'PRICE_PER_NODE': '1__000'}, {}, f"{P}PRICE_PER_NODE='1__000'; {PRICE}"),
        ({P + 'PRICE_PER_NODE': '1e309'}, {}, f"{P}PRICE_PER_NODE='1e309'; {PRICE}"),
        ({P + 'PRICE_PER_NODE': '-5'}, {}, f"{P}PRICE_PER_NODE='-5'; {PRICE}"),
        ({P + 'PRICE_PER_NODE': 'nan'}, {}, f"{P}PRICE_PER_NODE='nan'; {PRICE}"),
        ({P + 'PRICE_PER_NODE': '١١'}, {}, f"{P}PRICE_PER_NODE='١١'; {PRICE}"),
        (
            {'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': '²'},
            {},
            "REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS='²'; expected a whole number from 0 to 1000000",
        ),
        (
            {'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': '9' * 5000},
            {},
            f"REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS='{'9' * 200}'… (5000 characters); expected a whole number "
            'from 0 to 1000000',
        ),
        (
            {'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': '-1'},
            {},
            'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS=-1; expected a whole number from 0 to 1000000',
        ),
        ({}, {'report_type': ''}, f'--type is empty; {TYPES}'),
        ({}, {'report_type': 'CCSPv3'}, f"--type='CCSPv3' is not a report type; {TYPES} (case-sensitive)"),
        ({}, {'sheets': ' , '}, '--sheets names no sheet; expected a comma list of sheet names or "all"'),
        (
            {},
            {'sheets': 'ccsp_summary,bogus'},
            f"--sheets has 'bogus', not valid for CCSPv2; expected some of: {', '.join(VALID_SHEETS['CCSPv2'])} "
            '(or "all")',
        ),
        ({P + 'REPORT_SKU': 'MCT\x003'}, {}, f'{P}REPORT_SKU contains a NUL byte; remove it'),
        (
            {P + 'SHIP_PATH': '/x' * 3000},
            {},
            f"{P}SHIP_PATH='{'/x' * 100}'… (6000 characters) is not an existing directory",
        ),
    ],
    ids=[
        'price-double-underscore',
        'price-exponent-overflow',
        'price-negative',
        'price-nan',
        'price-arabic-indic',
        'iterations-superscript',
        'iterations-5000-digits',
        'iterations-negative',
        'flag-type-empty',
        'flag-type-unknown',
        'flag-sheets-empty',
        'flag-sheets-bogus',
        'nul-in-header',
        'ship-path-too-long',
    ],
)
def test_hostile_report_values_are_one_problem_naming_the_variable_or_flag(tmp_path, env, flags, problem):
    base = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), P + 'REPORT_TYPE': 'CCSPv2'}
    problems: list[str] = []
    report_settings({**base, **env}, problems, **flags)
    assert problems == [problem]


@pytest.mark.hostile
def test_an_s3_bucket_name_botocore_refuses_is_one_readable_problem():
    problems: list[str] = []
    ship_settings(
        {P + 'SHIP_TARGET': 's3', P + 'BUCKET_NAME': 'b' * 300, P + 'BUCKET_ENDPOINT': 'http://127.0.0.1:1'},
        ('directory', 's3'),
        problems,
    )
    assert problems == [
        f"{P}BUCKET_NAME='{'b' * 200}'… (300 characters) is not a bucket name; expected up to 255 "
        'letters, digits, dots, hyphens and underscores'
    ]
