"""Gather settings: metrics-utility's variables, every problem reported at once, secrets hidden."""

import pytest

from metrics_utility.gather.settings import SettingsError, load

pytestmark = pytest.mark.unit

BASE = {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': '/data'}


def test_defaults_match_metrics_utility():
    s = load(BASE, ship=True)
    assert s.collectors == ['job_host_summary', 'main_jobevent']
    assert s.max_days == 28 and s.save_watermarks
    assert s.lock_name == 'gather_automation_controller_billing_lock'
    assert s.db['dbname'] == 'awx' and s.db['port'] == '5432'


def test_optional_collectors_disable_flags_and_lock_suffix():
    s = load({**BASE, 'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'total_workers_vcpu, main_host',
              'METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR': 'true',
              'METRICS_UTILITY_DISABLE_SAVE_LAST_GATHERED_ENTRIES': '1',
              'METRICS_UTILITY_COLLECTOR_LOCK_SUFFIX': 'vcpu', 'METRICS_UTILITY_CLUSTER_NAME': 'rosa-1'},
             ship=True)  # fmt: skip
    assert s.collectors == ['total_workers_vcpu', 'main_host']
    assert not s.save_watermarks
    assert s.lock_name == 'gather_automation_controller_billing_vcpu_lock'
    assert s.vcpu['cluster_name'] == 'rosa-1' and s.vcpu['metering_enabled'] is False


def test_every_problem_is_listed_together():
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'ftp',
        'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS': 'lots',
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_jobevent,bogus',
        'METRICS_UTILITY_DB_PORT': '99999',
        'METRICS_UTILITY_DISABLE_SAVE_LAST_GATHERED_ENTRIES': 'maybe',
    }
    with pytest.raises(SettingsError) as info:
        load(env, ship=True)
    text = str(info.value)
    expectations = [
        "SHIP_TARGET='ftp' is not supported here; expected one of: directory, s3, crc",
        'MAX_GATHER_PERIOD_DAYS=',
        'unknown collector(s) bogus',
        'DB_PORT=99999',
        "DISABLE_SAVE_LAST_GATHERED_ENTRIES='maybe'",
    ]
    for expected in expectations:
        assert expected in text
    assert len(info.value.problems) == 5


def test_s3_and_crc_requirements():
    with pytest.raises(SettingsError) as info:
        load({'METRICS_UTILITY_SHIP_TARGET': 's3', 'METRICS_UTILITY_SHIP_PATH': 'p',
              'METRICS_UTILITY_BUCKET_ACCESS_KEY': 'AKIA'}, ship=True)  # fmt: skip
    assert 'BUCKET_NAME is not set' in str(info.value) and 'must be set together' in str(info.value)
    with pytest.raises(SettingsError) as info:
        load({'METRICS_UTILITY_SHIP_TARGET': 'crc', 'METRICS_UTILITY_BILLING_PROVIDER': 'gcp'}, ship=True)
    text = str(info.value)
    assert "BILLING_PROVIDER='gcp': expected aws" in text
    assert '12-digit AWS account id' in text and 'SERVICE_ACCOUNT_ID' in text and 'STATE_PATH' in text


def test_secrets_do_not_show_in_repr():
    s = load({**BASE, 'METRICS_UTILITY_DB_PASSWORD': 'pg-secret-123'}, ship=True)
    assert s.db['password'].reveal() == 'pg-secret-123'
    assert 'pg-secret-123' not in repr(s)


def test_ship_target_only_needed_when_shipping():
    assert load({}, ship=False).ship_target is None
    with pytest.raises(SettingsError, match='SHIP_TARGET is not set'):
        load({}, ship=True)


def test_an_empty_optional_list_means_no_optional_collectors():
    assert load({**BASE, 'METRICS_UTILITY_OPTIONAL_COLLECTORS': ''}, ship=True).collectors == ['job_host_summary']
    assert load(BASE, ship=True).collectors == ['job_host_summary', 'main_jobevent']  # unset: the default


# requests honours HTTPS_PROXY itself (METRICS_UTILITY_PROXY_URL refuses credentials): the proxy password it may
# carry, plain or percent-encoded in the URL, is known to the log and summary redaction once settings are read.
PROXY_PASSWORDS = {
    'plain': ('HTTPS_PROXY', 'http://corp:proxy-pass-0008@10.0.0.1:3128', 'proxy-pass-0008'),
    'percent-encoded': ('https_proxy', 'http://corp:p%40ss%2Fword-0008@10.0.0.1:3128', 'p@ss/word-0008'),
    'all_proxy': ('ALL_PROXY', 'socks5h://corp:socks-pass-0008@10.0.0.1:1080', 'socks-pass-0008'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('name, url, password', PROXY_PASSWORDS.values(), ids=list(PROXY_PASSWORDS))
def test_proxy_passwords_from_the_environment_are_redacted(name, url, password):
    from urllib.parse import quote

    from metrics_utility.library import secret

    load({**BASE, name: url}, ship=True)
    text = f'cannot use proxy {url}: {password} / {quote(password, safe="")}'
    assert secret.redact(text) == f'cannot use proxy {url.split("//")[0]}//corp:***@{url.split("@")[1]}: *** / ***'
