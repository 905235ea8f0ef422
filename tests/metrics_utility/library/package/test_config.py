"""config.json is built from an allow-list; secrets are dropped whatever shape they arrive in."""

from __future__ import annotations

import json
from types import SimpleNamespace

from jsonschema import Draft202012Validator

from metrics_utility.library.package.config import CONFIG_KEYS, sanitize_billing_provider_params, sanitize_config
from metrics_utility.library.package.schemas import load_schema


def test_only_config_2_0_keys_and_no_secret_values(kit: SimpleNamespace) -> None:
    content, dropped = sanitize_config(kit.CONFIG, kit.S3_PARAMS, '9.9')
    assert set(content) == CONFIG_KEYS
    Draft202012Validator(load_schema('config')).validate(content)
    text = json.dumps(content)
    assert not [s for s in kit.SECRETS if s in text]
    assert 'REDHAT_PASSWORD' in dropped and 'billing_provider_params.bucket_secret_key' in dropped
    assert content['metrics_utility_version'] == '9.9' and content['license_type'] == 'enterprise'


def test_billing_provider_params_keep_target_identifiers_only() -> None:
    kept, dropped = sanitize_billing_provider_params(
        {
            'billing_provider': 'aws',
            'billing_account_id': '123',
            'red_hat_org_id': 42,
            'password': 'x',
            'bucket_endpoint': 'https://key:secret@s3.local:9000/p',
            'ship_path': {'nested': 'x'},
        }
    )
    assert kept == {
        'billing_provider': 'aws',
        'billing_account_id': '123',
        'red_hat_org_id': 42,
        'bucket_endpoint': 'https://s3.local:9000/p',
    }
    assert dropped == ['billing_provider_params.password', 'billing_provider_params.ship_path']


def test_params_given_to_package_win_over_the_collectors() -> None:
    content, _ = sanitize_config({'billing_provider_params': {'ship_path': '/old'}}, {'ship_path': '/new'}, '1')
    assert content['billing_provider_params'] == {'ship_path': '/new'}
    content, _ = sanitize_config({'billing_provider_params': {'ship_path': '/old'}}, None, '1')
    assert content['billing_provider_params'] == {'ship_path': '/old'}


def test_a_missing_platform_describes_the_worker() -> None:
    content, _ = sanitize_config({'install_uuid': 'u'}, None, '1')
    assert set(content['platform']) == {'system', 'dist', 'release', 'type'}
    assert content['platform']['type'] in ('k8s', 'traditional')
    Draft202012Validator(load_schema('config')).validate(content)


def test_a_missing_platform_takes_the_callers_install_type(monkeypatch) -> None:
    monkeypatch.setenv('KUBERNETES_SERVICE_HOST', '10.0.0.1')  # ignored: the library reads no environment
    assert sanitize_config({'install_uuid': 'u'}, None, '1')[0]['platform']['type'] == 'traditional'
    assert sanitize_config({'install_uuid': 'u'}, None, '1', install_type='openshift')[0]['platform']['type'] == (
        'openshift'
    )
