"""Gather settings: metrics-utility's variables, every problem reported at once, secrets hidden."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics_utility.settings.common import ConfigError
from metrics_utility.settings.gather import load

pytestmark = pytest.mark.unit

BASE = {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': '/data'}


def test_defaults_match_metrics_utility():
    s = load(BASE, ship=True)
    assert s.collectors == ['job_host_summary', 'main_jobevent']
    assert s.max_days == 28 and s.save_watermarks
    assert s.lock_name == 'gather_automation_controller_billing_lock'
    assert s.db.dbname == 'awx' and s.db.port == '5432'


def test_optional_collectors_disable_flags_and_lock_suffix():
    s = load(
        {
            **BASE,
            'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'total_workers_vcpu, main_host',
            'METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR': 'true',
            'METRICS_UTILITY_DISABLE_SAVE_LAST_GATHERED_ENTRIES': '1',
            'METRICS_UTILITY_COLLECTOR_LOCK_SUFFIX': 'vcpu',
            'METRICS_UTILITY_CLUSTER_NAME': 'rosa-1',
        },
        ship=True,
    )
    assert s.collectors == ['total_workers_vcpu', 'main_host']
    assert not s.save_watermarks
    assert s.lock_name == 'gather_automation_controller_billing_vcpu_lock'
    assert s.vcpu.cluster_name == 'rosa-1' and s.vcpu.metering_enabled is False


def test_every_problem_is_listed_together():
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'ftp',
        'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS': 'lots',
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_jobevent,bogus',
        'METRICS_UTILITY_DB_PORT': '99999',
        'METRICS_UTILITY_DISABLE_SAVE_LAST_GATHERED_ENTRIES': 'maybe',
    }
    with pytest.raises(ConfigError) as info:
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
    with pytest.raises(ConfigError) as info:
        load(
            {
                'METRICS_UTILITY_SHIP_TARGET': 's3',
                'METRICS_UTILITY_SHIP_PATH': 'p',
                'METRICS_UTILITY_BUCKET_ACCESS_KEY': 'AKIA',
            },
            ship=True,
        )
    assert 'BUCKET_NAME is not set' in str(info.value) and 'must be set together' in str(info.value)
    with pytest.raises(ConfigError) as info:
        load({'METRICS_UTILITY_SHIP_TARGET': 'crc', 'METRICS_UTILITY_BILLING_PROVIDER': 'gcp'}, ship=True)
    text = str(info.value)
    assert "BILLING_PROVIDER='gcp': expected aws" in text
    assert '12-digit AWS account id' in text and 'SERVICE_ACCOUNT_ID' in text and 'STATE_PATH' in text


def test_secrets_do_not_show_in_repr():
    s = load({**BASE, 'METRICS_UTILITY_DB_PASSWORD': 'pg-secret-123'}, ship=True)
    assert s.db.password.reveal() == 'pg-secret-123'
    assert 'pg-secret-123' not in repr(s)


def test_ship_target_only_needed_when_shipping():
    assert load({}, ship=False).ship_target is None
    with pytest.raises(ConfigError, match='SHIP_TARGET is not set'):
        load({}, ship=True)


def test_an_empty_optional_list_means_no_optional_collectors():
    assert load({**BASE, 'METRICS_UTILITY_OPTIONAL_COLLECTORS': ''}, ship=True).collectors == ['job_host_summary']
    assert load(BASE, ship=True).collectors == ['job_host_summary', 'main_jobevent']  # unset: the default


# requests honours HTTPS_PROXY itself (METRICS_UTILITY_PROXY_URL refuses credentials): the proxy password it may
# carry, plain or percent-encoded in the URL, is known to the log and summary redaction once settings are read.
PROXY_PASSWORDS = {
    'plain': ('HTTPS_PROXY', 'http://corp:proxy-pass-0008@10.0.0.1:3128', 'proxy-pass-0008'),
    'percent-encoded': ('https_proxy', 'http://corp:p%40ss%2Fword-0008@10.0.0.1:3128', 'p@ss/word-0008'),
    'all_proxy': ('ALL_PROXY', 'http://corp:socks-pass-0008@10.0.0.1:1080', 'socks-pass-0008'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('name, url, password', PROXY_PASSWORDS.values(), ids=list(PROXY_PASSWORDS))
def test_proxy_passwords_from_the_environment_are_redacted(name, url, password):
    from urllib.parse import quote

    from metrics_utility.library import secret

    load({**BASE, name: url}, ship=True)
    text = f'cannot use proxy {url}: {password} / {quote(password, safe="")}'
    assert secret.redact(text) == f'cannot use proxy {url.split("//")[0]}//corp:***@{url.split("@")[1]}: *** / ***'


WHOLE = 'expected a whole number from'
P = 'METRICS_UTILITY_'


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('env', 'flags', 'problem'),
    [
        ({P + 'MAX_GATHER_PERIOD_DAYS': '1e309'}, {}, f"{P}MAX_GATHER_PERIOD_DAYS='1e309': {WHOLE} 1 to 3650"),
        ({P + 'MAX_GATHER_PERIOD_DAYS': 'inf'}, {}, f"{P}MAX_GATHER_PERIOD_DAYS='inf': {WHOLE} 1 to 3650"),
        ({P + 'MAX_GATHER_PERIOD_DAYS': '٣'}, {}, f"{P}MAX_GATHER_PERIOD_DAYS='٣': {WHOLE} 1 to 3650"),
        ({P + 'MAX_GATHER_PERIOD_DAYS': '1_000'}, {}, f"{P}MAX_GATHER_PERIOD_DAYS='1_000': {WHOLE} 1 to 3650"),
        (
            {P + 'MAX_GATHER_PERIOD_DAYS': '9' * 5000},
            {},
            f"{P}MAX_GATHER_PERIOD_DAYS='{'9' * 200}'… (5000 characters): {WHOLE} 1 to 3650",
        ),
        ({P + 'MAX_GATHER_PERIOD_DAYS': '-5'}, {}, f'{P}MAX_GATHER_PERIOD_DAYS=-5: {WHOLE} 1 to 3650'),
        ({P + 'DB_PORT': '0'}, {}, f'{P}DB_PORT=0: {WHOLE} 1 to 65535'),
        ({P + 'PACKAGE_MAX_BYTES': '-1'}, {}, f'{P}PACKAGE_MAX_BYTES=-1: {WHOLE} 65536 to 17179869184'),
        ({P + 'RETENTION_MAX_BYTES': '-1'}, {}, f'{P}RETENTION_MAX_BYTES=-1: {WHOLE} 0 to 4611686018427387904'),
        ({P + 'RETENTION_MAX_AGE_DAYS': '-5'}, {}, f'{P}RETENTION_MAX_AGE_DAYS=-5: {WHOLE} 1 to 36500'),
        (
            {},
            {'RETENTION_MAX_AGE_DAYS': ('--retention-max-age-days', '-5')},
            f'--retention-max-age-days=-5: {WHOLE} 1 to 36500',
        ),
        (
            {},
            {'RETENTION_MAX_AGE_DAYS': ('--retention-max-age-days', '')},
            f"--retention-max-age-days='': {WHOLE} 1 to 36500",
        ),
        (
            {},
            {'RETENTION_MAX_AGE_DAYS': ('--retention-max-age-days', '٣')},
            f"--retention-max-age-days='٣': {WHOLE} 1 to 36500",
        ),
        (
            {P + 'RETENTION_MAX_BYTES': '10'},
            {'RETENTION_MAX_BYTES': ('--retention-max-bytes', '1e9')},
            f"--retention-max-bytes='1e9': {WHOLE} 0 to 4611686018427387904",
        ),
        (
            {P + 'DISABLE_SAVE_LAST_GATHERED_ENTRIES': 'yes please'},
            {},
            f"{P}DISABLE_SAVE_LAST_GATHERED_ENTRIES='yes please': expected true or false",
        ),
        ({P + 'MONTH_USAGE': 'maybe'}, {}, f"{P}MONTH_USAGE='maybe': expected true or false"),
        ({P + 'COMPRESSION': 'zip'}, {}, f"{P}COMPRESSION='zip': expected 'isal-0'..'isal-3' or 'gzip-0'..'gzip-9'"),
        ({P + 'DB_HOST': 'db\x00host'}, {}, f'{P}DB_HOST contains a NUL byte; remove it'),
        (
            {},
            {'RETENTION_MAX_BYTES': ('--retention-max-bytes', '1\x00')},
            [
                '--retention-max-bytes contains a NUL byte; remove it',
                f"--retention-max-bytes='1\\x00': {WHOLE} 0 to 4611686018427387904",
            ],
        ),
        (
            {P + 'DB_HOST': 'h' * 300},
            {},
            f"{P}DB_HOST='{'h' * 200}'… (300 characters): expected host names (labels of at most 63 characters, 253 in "
            'all), IP addresses or a socket directory',
        ),
        (
            {P + 'DB_SSLMODE': 's' * 300},
            {},
            f"{P}DB_SSLMODE='{'s' * 200}'… (300 characters): expected disable, allow, prefer, require, verify-ca or "
            'verify-full',
        ),
        (
            {P + 'OPTIONAL_COLLECTORS': 'main_jobevent,bad\x01key'},
            {},
            "unknown collector(s) 'bad\\x01key': expected some of job_host_summary, job_host_summary_service, "
            'main_host, main_host_daily, main_hostmetric, main_indirectmanagednodeaudit, main_jobevent, '
            'main_jobevent_service, unified_jobs, execution_environments, credentials_service, '
            'controller_version_service, table_metadata, total_workers_vcpu',
        ),
    ],
    ids=[
        'days-1e309',
        'days-inf',
        'days-arabic-indic',
        'days-underscore',
        'days-5000-digits',
        'days-negative',
        'port-0',
        'package-bytes-negative',
        'retention-bytes-negative',
        'retention-age-negative',
        'flag-retention-age-negative',
        'flag-retention-age-empty',
        'flag-retention-age-arabic-indic',
        'flag-replaces-variable',
        'bad-boolean',
        'month-usage-boolean',
        'compression',
        'nul-in-variable',
        'nul-in-flag',
        'db-host-too-long',
        'sslmode-long',
        'collector-control-char',
    ],
)
def test_hostile_values_are_one_problem_naming_the_variable_or_flag(env, flags, problem):
    with pytest.raises(ConfigError) as info:
        load(env, ship=False, flags=flags)
    assert info.value.problems == (problem if isinstance(problem, list) else [problem])


def test_flags_replace_their_variables_with_the_same_check():
    env = {P + 'RETENTION_MAX_AGE_DAYS': '-5', P + 'RETENTION_MAX_BYTES': 'lots'}
    flags = {
        'RETENTION_MAX_AGE_DAYS': ('--retention-max-age-days', ' 30 '),
        'RETENTION_MAX_BYTES': ('--retention-max-bytes', '+1024'),
    }
    retention = load(env, ship=False, flags=flags).retention
    assert (retention.max_age_days, retention.max_bytes, retention.upload_state) == (30, 1024, None)


@given(
    value=st.one_of(
        st.text(max_size=8),
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
        st.sampled_from(['1e3', '٣', '1_0', ' 7 ', '+7', 'inf', '9' * 5000]),
    )
)
@pytest.mark.parametrize(
    ('suffix', 'flag'),
    [('RETENTION_MAX_AGE_DAYS', '--retention-max-age-days'), ('RETENTION_MAX_BYTES', '--retention-max-bytes')],
)
def test_a_flag_gets_exactly_the_check_of_its_variable(suffix, flag, value):
    """Same accepted values, same problem text (but for the name); only an empty flag differs: the variable set
    empty means 'not set' (as Kubernetes renders it), the flag given empty is an error."""

    def outcome(**kwargs):
        try:
            return load(kwargs.get('env', {}), ship=False, flags=kwargs.get('flags')).retention, None
        except ConfigError as exc:
            return None, exc.problems

    by_variable = outcome(env={P + suffix: value})
    by_flag = outcome(flags={suffix: (flag, value)})
    if not value.strip():
        assert by_variable[1] is None and by_flag[1] is not None
        return
    assert by_flag[0] == by_variable[0]
    assert by_flag[1] == (None if by_variable[1] is None else [p.replace(P + suffix, flag) for p in by_variable[1]])


P = 'METRICS_UTILITY_'
CRC = {
    P + 'BILLING_PROVIDER': 'aws',
    P + 'BILLING_ACCOUNT_ID': '123456789012',
    P + 'SERVICE_ACCOUNT_ID': 'id',
    P + 'SERVICE_ACCOUNT_SECRET': 'crc-secret-0001',
}
SECONDARY = [  # (id, env, the problems, in order)
    ('unknown-target', {**BASE, **CRC, P + 'SECONDARY_TARGET': 'segment'},
     [f"{P}SECONDARY_TARGET='segment': expected crc (console.redhat.com)"]),
    ('upper-case', {**BASE, **CRC, P + 'SECONDARY_TARGET': 'CRC'},
     [f"{P}SECONDARY_TARGET='CRC': expected crc (console.redhat.com)"]),
    ('primary-crc', {**CRC, P + 'SHIP_TARGET': 'crc', P + 'STATE_PATH': '/v/w.json', P + 'SECONDARY_TARGET': 'crc'},
     [f"{P}SECONDARY_TARGET=crc: needs {P}SHIP_TARGET directory or s3 (the second target is fed from the packages "
      "stored there), found 'crc'"]),
    ('crc-settings-missing', {**BASE, P + 'SECONDARY_TARGET': 'crc'},
     [f"{P}BILLING_PROVIDER='': expected aws", f'{P}BILLING_ACCOUNT_ID: expected the 12-digit AWS account id',
      f'{P}SERVICE_ACCOUNT_ID and {P}SERVICE_ACCOUNT_SECRET: expected the console.redhat.com service account, or a '
      f"client certificate ({P}CRC_CLIENT_CERT/_KEY) or the controller's identity ({P}CANDLEPIN_ENABLED=true) to "
      'upload with']),
    ('half-mutual-tls', {**BASE, **CRC, P + 'SECONDARY_TARGET': 'crc', P + 'CRC_CLIENT_CERT': '/c.pem'},
     [f'{P}CRC_CLIENT_CERT and {P}CRC_CLIENT_KEY: set both for mutual TLS']),
    ('sso-url-with-credentials', {**BASE, **CRC, P + 'SECONDARY_TARGET': 'crc',
                                  P + 'CRC_SSO_URL': 'https://u:crc-secret-0001@sso.example/token'}, None),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(('env', 'problems'), [c[1:] for c in SECONDARY], ids=[c[0] for c in SECONDARY])
def test_secondary_target_problems_are_exact(env, problems):
    with pytest.raises(ConfigError) as info:
        load(env, ship=True)
    if problems is None:  # a URL holding credentials: one problem naming the variable, never the secret
        assert len(info.value.problems) == 1 and info.value.problems[0].startswith(f'{P}CRC_SSO_URL')
        assert 'crc-secret-0001' not in str(info.value)
    else:
        assert info.value.problems == problems


def test_secondary_target_beside_a_directory_and_not_without_shipping():
    assert load({**BASE, **CRC, P + 'SECONDARY_TARGET': 'crc'}, ship=True).secondary_target == 'crc'
    assert load({P + 'SECONDARY_TARGET': 'crc'}, ship=False).secondary_target is None


CRC_STATE = [  # (id, SHIP_PATH: 'dir' an existing directory, else the value as given; the state path, or None)
    ('existing-directory', 'dir', 'dir/state/crc-watermarks.json'),
    ('missing-directory', '/nonexistent/metrics-utility', None),
    ('a-file', 'file', None),
    ('unset', '', None),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('ship_path', 'expected'), [c[1:] for c in CRC_STATE], ids=[c[0] for c in CRC_STATE])
def test_crc_state_defaults_to_the_ship_path_only_when_it_is_a_directory(tmp_path, ship_path, expected):
    """Upstream's console CronJob has SHIP_PATH (the mounted claim) and no STATE_PATH."""
    (tmp_path / 'dir').mkdir()
    (tmp_path / 'file').write_text('')
    given = str(tmp_path / ship_path) if ship_path in ('dir', 'file') else ship_path
    env = {**CRC, P + 'SHIP_TARGET': 'crc', P + 'SHIP_PATH': given}
    if expected is not None:
        assert load(env, ship=True).state_path == tmp_path / expected
        return
    with pytest.raises(ConfigError) as info:
        load(env, ship=True)
    assert info.value.problems == [
        f'{P}STATE_PATH is not set: console.redhat.com cannot be read back, so watermarks need a file on a '
        f'persistent volume (e.g. /var/lib/metrics-utility/watermarks.json), or {P}SHIP_PATH naming an existing '
        'directory (they then live in its state/crc-watermarks.json)'
    ]


# the controller's Candlepin identity (library.candlepin): METRICS_UTILITY_CANDLEPIN_ENABLED and its SECRET_KEY file --

CANDLEPIN_BASE = {
    P + 'SHIP_TARGET': 'crc',
    P + 'STATE_PATH': '/v/w.json',
    P + 'BILLING_PROVIDER': 'aws',
    P + 'BILLING_ACCOUNT_ID': '123456789012',
    P + 'SERVICE_ACCOUNT_ID': 'id',
    P + 'SERVICE_ACCOUNT_SECRET': 'crc-secret-0001',
}
KEY_FILE = f'{P}CONTROLLER_SECRET_KEY_FILE'
NOT_A_KEY_FILE = "expected a readable file holding the controller's SECRET_KEY"
NO_ACCOUNT = (
    f'{P}SERVICE_ACCOUNT_ID and {P}SERVICE_ACCOUNT_SECRET: expected the console.redhat.com service account, or a '
    f"client certificate ({P}CRC_CLIENT_CERT/_KEY) or the controller's identity ({P}CANDLEPIN_ENABLED=true) to "
    'upload with'
)
HALF_ACCOUNT = f'{P}SERVICE_ACCOUNT_ID and {P}SERVICE_ACCOUNT_SECRET: set both (or neither)'
ON = {P + 'CANDLEPIN_ENABLED': 'true'}
CANDLEPIN = [  # (id, env: 'KEY' is the path of a SECRET_KEY file, 'DIR' of a directory; the problems)
    ('key-file-missing', {**ON, KEY_FILE: '/nonexistent/k'}, [f"{KEY_FILE}='/nonexistent/k': {NOT_A_KEY_FILE}"]),
    ('key-file-is-a-directory', {**ON, KEY_FILE: 'DIR'}, [f"{KEY_FILE}='DIR': {NOT_A_KEY_FILE}"]),
    ('key-file-nul', {**ON, KEY_FILE: 'KEY\x00'}, [f'{KEY_FILE} contains a NUL byte; remove it']),
    (
        'enabled-not-a-boolean',
        {P + 'CANDLEPIN_ENABLED': 'maybe'},
        [f"{P}CANDLEPIN_ENABLED='maybe': expected true or false"],
    ),
    (
        'no-identity-and-no-service-account',
        {P + 'SERVICE_ACCOUNT_ID': '', P + 'SERVICE_ACCOUNT_SECRET': ''},
        [NO_ACCOUNT],
    ),
    (
        'a-secret-without-its-id',
        {P + 'CANDLEPIN_ENABLED': 'false', P + 'SERVICE_ACCOUNT_ID': ''},
        [HALF_ACCOUNT],
    ),
    ('half-a-service-account-beside-it', {**ON, P + 'SERVICE_ACCOUNT_SECRET': ''}, [HALF_ACCOUNT]),
    (
        'half-a-service-account-beside-a-cert',
        {P + 'CRC_CLIENT_CERT': '/c', P + 'CRC_CLIENT_KEY': '/k', P + 'SERVICE_ACCOUNT_ID': ''},
        [HALF_ACCOUNT],
    ),
]


def _paths(env: dict[str, str], tmp_path) -> dict[str, str]:
    (tmp_path / 'secret_key').write_text('controller-secret-key\n')
    where = {'KEY': str(tmp_path / 'secret_key'), 'DIR': str(tmp_path)}
    return {name: value.replace('KEY', where['KEY']).replace('DIR', where['DIR']) for name, value in env.items()}


@pytest.mark.hostile
@pytest.mark.parametrize(('env', 'problems'), [c[1:] for c in CANDLEPIN], ids=[c[0] for c in CANDLEPIN])
def test_candlepin_settings_problems_are_exact(tmp_path, env, problems):
    with pytest.raises(ConfigError) as info:
        load({**CANDLEPIN_BASE, **_paths(env, tmp_path)}, ship=True)
    assert info.value.problems == [p.replace("'DIR'", repr(str(tmp_path))) for p in problems]


def test_upstreams_candlepin_switch_alone_is_no_error():
    """metrics-utility's ConfigMaps set CANDLEPIN_ENABLED and mount the SECRET_KEY at /etc/tower/SECRET_KEY: the
    default; a missing default file means no controller identity at upload time, never exit 2."""
    crc = load({**CANDLEPIN_BASE, P + 'CANDLEPIN_ENABLED': 'true'}, ship=True).crc
    assert (crc.candlepin_enabled, crc.controller_secret_key_file) == (True, '/etc/tower/SECRET_KEY')


@pytest.mark.parametrize(
    'identity',
    [{**ON}, {P + 'CRC_CLIENT_CERT': '/c.pem', P + 'CRC_CLIENT_KEY': '/k.pem'}],
    ids=['controller identity', 'client certificate'],
)
def test_a_certificate_identity_needs_no_service_account(identity):
    """The service account is the certificate's fallback, not a requirement (storage.crc.identity in the operator)."""
    env = {k: v for k, v in CANDLEPIN_BASE.items() if 'SERVICE_ACCOUNT' not in k}
    crc = load({**env, **identity}, ship=True).crc
    assert (crc.client_id, crc.client_secret) == (None, None)
    with pytest.raises(ConfigError) as info:
        load(env, ship=True)
    assert info.value.problems == [NO_ACCOUNT]


def test_candlepin_settings_reach_the_crc_settings(tmp_path):
    env = _paths({P + 'CANDLEPIN_ENABLED': 'true', KEY_FILE: 'KEY'}, tmp_path)
    crc = load({**CANDLEPIN_BASE, **env}, ship=True).crc
    assert (crc.candlepin_enabled, crc.controller_secret_key_file) == (True, str(tmp_path / 'secret_key'))
    assert load(CANDLEPIN_BASE, ship=True).crc.candlepin_enabled is False  # the default


PARALLELISM = 'METRICS_UTILITY_GATHER_PARALLELISM'
# (id, value, the exact problem; None: accepted, with the parallelism it gives)
PARALLELISM_CASES = [
    ('zero', '0', f'{PARALLELISM}=0: {WHOLE} 1 to 16'),
    ('negative', '-1', f'{PARALLELISM}=-1: {WHOLE} 1 to 16'),
    ('word', 'two', f"{PARALLELISM}='two': {WHOLE} 1 to 16"),
    ('exponent', '1e9', f"{PARALLELISM}='1e9': {WHOLE} 1 to 16"),
    ('billion', '1000000000', f'{PARALLELISM}=1000000000: {WHOLE} 1 to 16'),
    ('seventeen', '17', f'{PARALLELISM}=17: {WHOLE} 1 to 16'),
    ('fraction', '2.5', f"{PARALLELISM}='2.5': {WHOLE} 1 to 16"),
    ('arabic-indic-digit', '٣', f"{PARALLELISM}='٣': {WHOLE} 1 to 16"),
    ('empty-is-unset', '', 2),
    ('whitespace-is-unset', ' \t ', 2),
    ('padded', ' 4 ', 4),
    ('one', '1', 1),
    ('sixteen', '16', 16),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('value', 'outcome'), [c[1:] for c in PARALLELISM_CASES], ids=[c[0] for c in PARALLELISM_CASES]
)
def test_gather_parallelism_is_a_whole_number_from_1_to_16(value, outcome):
    if isinstance(outcome, int):
        assert load({**BASE, PARALLELISM: value}, ship=True).parallelism == outcome
        return
    with pytest.raises(ConfigError) as caught:
        load({**BASE, PARALLELISM: value}, ship=True)
    assert caught.value.problems == [outcome]


def test_gather_parallelism_defaults_to_2():
    assert load(BASE, ship=True).parallelism == 2
