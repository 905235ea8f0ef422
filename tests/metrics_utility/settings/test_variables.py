"""The declarations are the one source: the contract's renders are declared, ranges come from the contract, every
declared variable has an effect, docs/settings.md is generated from them, and nothing else reads the environment."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import trustme

from metrics_utility import contract
from metrics_utility.settings import gather as gather_settings
from metrics_utility.settings.candlepin import candlepin_settings
from metrics_utility.settings.environment import Environment, overrides
from metrics_utility.settings.push import push_settings
from metrics_utility.settings.report import report_settings
from metrics_utility.settings.serve import serve_settings
from metrics_utility.settings.sources import additional_sources
from metrics_utility.settings.upstream import without_effect
from metrics_utility.settings.variables import BY_NAME, GROUPS, VARIABLES

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
P = contract.PREFIX


@pytest.fixture(scope='module')
def render_settings() -> ModuleType:
    spec = importlib.util.spec_from_file_location('render_settings', ROOT / 'scripts' / 'render-settings.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_variable_is_declared_once_in_a_known_group():
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    assert {v.group for v in VARIABLES} <= set(GROUPS)
    assert all(v.doc and '\n' not in v.doc for v in VARIABLES)


def test_the_operator_renders_only_declared_variables():
    assert {P + name for name in contract.RENDERED_VARIABLES} <= set(BY_NAME)


def test_ranges_separators_and_header_fields_come_from_the_contract():
    for name, pair in (
        ('MAX_GATHER_PERIOD_DAYS', contract.MAX_GATHER_PERIOD_DAYS),
        ('RETENTION_MAX_AGE_DAYS', contract.RETENTION_MAX_AGE_DAYS),
        ('RETENTION_MAX_BYTES', contract.RETENTION_MAX_BYTES),
    ):
        assert (BY_NAME[P + name].low, BY_NAME[P + name].high) == pair
    for name, separator in contract.LIST_SEPARATORS.items():
        assert BY_NAME[P + name].separator == separator
    assert [v.name for v in VARIABLES if v.group == 'header'] == [P + f.variable for f in contract.HEADER_FIELDS]
    assert BY_NAME[P + 'REPORT_TYPE'].choices == contract.REPORT_TYPES


def full_environment(tmp_path: Path) -> dict[str, str]:
    """Every declared variable set, with values that switch every group on."""
    env = {v.name: 'x' for v in VARIABLES}
    env.update(
        {
            P + 'SHIP_TARGET': 'crc',
            P + 'SHIP_PATH': str(tmp_path),
            P + 'BILLING_PROVIDER': 'aws',
            P + 'BILLING_ACCOUNT_ID': '123456789012',
            P + 'OPTIONAL_COLLECTORS': 'total_workers_vcpu',
            P + 'DB_PORT': '5432',
            P + 'DB_SSLMODE': 'require',
            P + 'MAX_GATHER_PERIOD_DAYS': '28',
            P + 'GATHER_PARALLELISM': '3',
            P + 'PACKAGE_MAX_BYTES': '65536',
            P + 'RETENTION_MAX_AGE_DAYS': '30',
            P + 'RETENTION_MAX_BYTES': '10',
            P + 'RETENTION_UPLOAD_STATE': 'state/up.json',
            P + 'COMPRESSION': 'gzip-6',
            P + 'CRC_CLIENT_CERT': '',
            P + 'CRC_CLIENT_KEY': '',
            P + 'ELASTICSEARCH_URL': 'https://es:9200',
            P + 'ELASTICSEARCH_API_KEY': '',
            P + 'CRC_INGRESS_URL': 'https://in',
            P + 'CRC_SSO_URL': 'https://sso',
            P + 'PROXY_URL': 'http://proxy:3128',
            P + 'PROMETHEUS_URL': 'https://prom',
            P + 'PUSHGATEWAY_URL': 'http://127.0.0.1:9',
            P + 'PRICE_PER_NODE': '1',
            P + 'PUSHGATEWAY_TIMEOUT': '5',
            'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': '3',
            P + 'REPORT_TYPE': 'CCSPv2',
            P + 'OPTIONAL_CCSP_REPORT_SHEETS': 'all',
            P + 'DEDUPLICATOR': 'ccsp',
            P + 'ADDITIONAL_SHIP_PATHS': '',
            P + 'BUCKET_ENDPOINT': 'http://127.0.0.1:1',
            P + 'USAGE_BASED_METERING_ENABLED': 'true',
            P + 'MONTH_USAGE': 'true',
            P + 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR': 'false',
            P + 'DISABLE_SAVE_LAST_GATHERED_ENTRIES': 'false',
            P + 'SECONDARY_TARGET': '',  # crc is the primary here; the S3 load below names the secondary
            **{name: 'http://127.0.0.1:3128' for name in gather_settings.PROXIES},
        }
    )
    # METRICS_UTILITY_CA_BUNDLE is checked before a run (settings.network): it names a real PEM file.
    env[P + 'CA_BUNDLE'] = str(tmp_path / 'ca.pem')
    trustme.CA().cert_pem.write_to_path(env[P + 'CA_BUNDLE'])
    env[P + 'CANDLEPIN_ENABLED'] = 'true'  # its SECRET_KEY file must exist
    env[P + 'CONTROLLER_SECRET_KEY_FILE'] = str(tmp_path / 'secret_key')
    (tmp_path / 'secret_key').write_text('controller-secret-key\n')
    return env


def test_every_declared_variable_is_consumed_by_a_group(tmp_path):
    """A variable declared but read by no loader would be a setting without effect: load every group from one
    environment and require each declaration to have been read."""
    env = Environment(full_environment(tmp_path))
    config = gather_settings.load(env, ship=True)
    problems: list[str] = []
    report_env = Environment({**env.values, P + 'SHIP_TARGET': 'directory'})
    report_env.consumed = env.consumed
    assert report_settings(report_env, problems) is not None and problems == []
    additional_sources(report_env, None, problems)
    s3 = {P + 'SHIP_TARGET': 's3', P + 'BUCKET_NAME': 'b', P + 'BUCKET_ACCESS_KEY': 'a', P + 'BUCKET_SECRET_KEY': 's'}
    s3_env = Environment({**env.values, **s3, P + 'SECONDARY_TARGET': 'crc'})
    s3_env.consumed = env.consumed
    s3_config = gather_settings.load(s3_env, ship=True)
    assert s3_config.ship.s3 is not None and s3_config.secondary_target == 'crc'
    assert push_settings(env) is not None
    gather_settings.job_completion_index(env)
    env.text('METRICS_UTILITY_PG_BIN')  # the demo's one variable: read by demo.pgcluster.find_bin_dir
    candlepin_settings(env, [])  # the candlepin command's group ('x' values are problems there: not asserted)
    serve_settings(report_env, [])  # serve's group ('x' values are problems there: not asserted)
    assert len(without_effect(env)) == sum(v.upstream == 'no effect' for v in BY_NAME.values())  # one warning each
    assert problems == []
    assert config.vcpu is not None and config.crc is not None and config.elasticsearch is not None
    assert sorted(set(BY_NAME) - env.consumed) == []


def test_the_demo_reads_its_variable_through_the_settings_layer(tmp_path, monkeypatch):
    from metrics_utility.demo import pgcluster

    for tool in ('pg_ctl', 'initdb', 'postgres'):
        (tmp_path / tool).write_text('#!/bin/sh\n')
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv('METRICS_UTILITY_PG_BIN', str(tmp_path))
    assert pgcluster.find_bin_dir() == tmp_path


def test_flags_override_the_variables_that_declare_them():
    args = argparse.Namespace(
        report_type='CCSP',
        sheets=None,
        also_from=['/a'],
        retention_max_bytes='5',
        collectors='main_host',
        retention_max_age_days=None,
    )
    assert overrides(args) == {
        P + 'REPORT_TYPE': ('--type', 'CCSP'),
        P + 'ADDITIONAL_SHIP_PATHS': ('--also-from', ['/a']),
        P + 'RETENTION_MAX_BYTES': ('--retention-max-bytes', '5'),
        P + 'OPTIONAL_COLLECTORS': ('--collectors', 'main_host'),
    }
    env = Environment({P + 'RETENTION_MAX_BYTES': '99', P + 'OPTIONAL_COLLECTORS': 'main_jobevent'}, overrides(args))
    config = gather_settings.load(env, ship=False)
    assert config.retention.max_bytes == 5 and config.collectors == ['main_host']


def test_an_undeclared_variable_cannot_be_read():
    with pytest.raises(KeyError, match='METRICS_UTILITY_NOT_A_SETTING is not declared'):
        Environment({}).text('METRICS_UTILITY_NOT_A_SETTING')


def test_groups_are_typed_and_frozen():
    config = gather_settings.load({P + 'DB_HOST': 'db.example', P + 'RETENTION_MAX_AGE_DAYS': '7'}, ship=False)
    assert config.db.host == 'db.example'
    assert config.retention == gather_settings.RetentionSettings(max_age_days=7, max_bytes=None, upload_state=None)
    with pytest.raises(AttributeError):
        config.db.host = 'elsewhere'  # type: ignore[misc]
    assert config.elasticsearch is None and config.crc is None and config.vcpu is None


@pytest.mark.parametrize(
    ('env', 'install_type'),
    [
        ({}, 'traditional'),
        ({'KUBERNETES_SERVICE_HOST': '10.0.0.1'}, 'k8s'),
        ({'KUBERNETES_SERVICE_PORT': '443'}, 'k8s'),
        ({'container': 'oci', 'KUBERNETES_SERVICE_HOST': '10.0.0.1'}, 'openshift'),
    ],
    ids=['plain', 'k8s-host', 'k8s-port', 'oci'],
)
def test_the_install_type_is_detected_once_for_the_library(env, install_type):
    assert gather_settings.platform_settings(env).install_type == install_type


def test_docs_settings_md_is_generated_from_the_declarations(render_settings):
    assert (ROOT / 'docs' / 'settings.md').read_text() == render_settings.render(), 'run scripts/render-settings.py'
    text = render_settings.render()
    assert all(f'`{v.name}`' in text for v in VARIABLES)


def test_render_settings_check_mode_passes_on_the_committed_page():
    result = subprocess.run(
        [sys.executable, str(ROOT / 'scripts' / 'render-settings.py'), '--check'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# -- nothing outside the settings layer reads the environment ---------------------------------------------------

ALLOWED = ('worker/metrics_utility/settings/', 'operator/metrics_operator/config.py')
ENVIRONMENT_NAMES = {'env', 'environ', 'environment'}
READERS = ('environ', 'environb', 'getenv', 'getenvb')


def environment_reads(source: str) -> list[int]:
    """Lines that read the process environment (`os.environ`, `os.getenv`, `from os import environ`) or index an
    environment mapping (`env[...]`, `env.get(...)`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            process = node.value.id == 'os' and node.attr in READERS
            if process or (node.value.id in ENVIRONMENT_NAMES and node.attr == 'get'):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id in ENVIRONMENT_NAMES:
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == 'os' and any(a.name in READERS for a in node.names):
            lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize(
    ('source', 'lines'),
    [
        ('import os\nos.environ.get("A")', [2]),
        ('import os\nx = os.getenv("A")', [2]),
        ('from os import environ', [1]),
        ('def f(env):\n    return env["A"]', [2]),
        ('def f(env):\n    env.get("A")', [2]),
        ('"""os.environ in a docstring"""\nenv = [1]\nenv.append(2)', []),
    ],
    ids=['os-environ', 'getenv', 'import-environ', 'env-index', 'env-get', 'docstring-and-lists'],
)
def test_the_environment_read_detector(source, lines):
    assert environment_reads(source) == lines


def test_no_module_outside_the_settings_layer_reads_the_environment():
    found = {}
    for package in ('worker', 'operator'):
        for path in sorted((ROOT / package).rglob('*.py')):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(ALLOWED):
                continue
            if lines := environment_reads(path.read_text()):
                found[relative] = lines
    assert found == {}
