"""config: identity, version and license from the database — and never a secret."""

import json

from metrics_utility.demo.generator import SECRET_SETTINGS
from metrics_utility.library.collectors.controller import config


def test_values(reader_conn, controller_db):
    result = config(db=reader_conn).gather()
    assert result['install_uuid'] == controller_db.install_uuid
    assert result['controller_version'] == '4.6.8'  # the newest enabled instance, not the disabled 4.5.12
    assert result['controller_url_base'] == 'https://controller.example.com'
    assert result['license_type'] == 'enterprise' and result['total_licensed_instances'] == 100
    assert result['platform']['system']
    json.dumps(result)  # serialisable as config.json


def test_no_secret_ever_leaves_the_database(reader_conn):
    params = {'ship_path': '/data', 'bucket_access_key': 'AKIA-leak', 'bucket_secret_key': 'very-secret'}
    text = json.dumps(config(db=reader_conn, billing_provider_params=params).gather())
    for key, value in SECRET_SETTINGS.items():
        assert value not in text and key not in text
    assert 'rh-portal-user' not in text and 'PASSWORD' not in text.upper()
    assert 'AKIA-leak' not in text and 'very-secret' not in text and '/data' in text


def test_the_install_type_is_a_parameter_not_the_environment(reader_conn, monkeypatch):
    """The library reads no environment: the caller's settings detect the install type and pass it."""
    monkeypatch.setenv('container', 'oci')
    assert config(db=reader_conn).gather()['platform']['type'] == 'traditional'
    assert config(db=reader_conn, install_type='k8s').gather()['platform']['type'] == 'k8s'
