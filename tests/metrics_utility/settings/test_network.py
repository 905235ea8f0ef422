"""settings.network: proxy URLs and CA bundles are checked before a run, one exact line each, never echoing a
proxy password; the CA precedence (a client's own variable, then METRICS_UTILITY_CA_BUNDLE) is resolved here."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from metrics_utility.cli import main
from metrics_utility.library import secret
from metrics_utility.settings import gather as gather_settings
from metrics_utility.settings.environment import Environment
from metrics_utility.settings.network import network_settings
from metrics_utility.settings.report import report_settings

P = 'METRICS_UTILITY_'
EXPECTED_PROXY = 'expected http://host:port (the value is not shown: it may hold a password)'
EXPECTED_CA = 'expected a PEM file of CA certificates'
PASSWORD = 'pr0xy-S3cret-value'


@pytest.fixture(scope='module')
def ca_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp('ca') / 'ca.pem'
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def problems_of(env: dict[str, str]) -> list[str]:
    problems: list[str] = []
    network_settings(Environment(env), problems)
    return problems


PROXY_CASES = [
    (
        'socks-scheme-with-credentials',
        f'socks5://metrics:{PASSWORD}@proxy:1080',
        f"HTTPS_PROXY: scheme 'socks5' is not supported (http or https); {EXPECTED_PROXY}",
    ),
    ('ftp-scheme', 'ftp://proxy:21', f"HTTPS_PROXY: scheme 'ftp' is not supported (http or https); {EXPECTED_PROXY}"),
    (
        'odd-scheme-characters',
        f'ht+tp://u:{PASSWORD}@proxy:1',
        f"HTTPS_PROXY: scheme '?' is not supported (http or https); {EXPECTED_PROXY}",
    ),
    (
        'space-in-host',
        f'http://u:{PASSWORD}@proxy .corp:3128',
        f'HTTPS_PROXY holds a space or control character; {EXPECTED_PROXY}',
    ),
    (
        'trailing-newline-from-a-secret',
        'http://proxy:3128\n',
        f'HTTPS_PROXY holds a space or control character; {EXPECTED_PROXY}',
    ),
    (
        'nul-in-password',
        f'http://u:{PASSWORD}\x00@proxy:3128',
        f'HTTPS_PROXY holds a space or control character; {EXPECTED_PROXY}',
    ),
    (
        'port-not-a-number',
        f'http://u:{PASSWORD}@proxy:31x8',
        f'HTTPS_PROXY: the port is not a number from 1 to 65535; {EXPECTED_PROXY}',
    ),
    (
        'port-too-large',
        'http://proxy:70000',
        f'HTTPS_PROXY: the port is not a number from 1 to 65535; {EXPECTED_PROXY}',
    ),
    ('no-host', f'http://u:{PASSWORD}@:3128', f'HTTPS_PROXY names no host; {EXPECTED_PROXY}'),
    (
        'path-after-the-port',
        'http://proxy:3128/pac',
        f'HTTPS_PROXY is not a proxy address (only scheme, host and port); {EXPECTED_PROXY}',
    ),
    (
        'port-zero',
        'http://proxy:0',
        f'HTTPS_PROXY is not a proxy address (only scheme, host and port); {EXPECTED_PROXY}',
    ),
    ('encoded-credentials-are-fine', f'http://metrics%40corp:{PASSWORD}%2F1@proxy.corp:3128', None),
    ('no-scheme-is-http', 'proxy.corp:3128', None),
    ('https-proxy', 'https://proxy.corp:443', None),
    ('ipv6-proxy', 'http://[fd00::1]:3128', None),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('value', 'expected'), [c[1:] for c in PROXY_CASES], ids=[c[0] for c in PROXY_CASES])
def test_a_proxy_url_is_checked_without_being_echoed(value, expected):
    secret.forget_all()
    problems = problems_of({'HTTPS_PROXY': value})
    assert problems == ([expected] if expected else [])
    assert all(PASSWORD not in problem and 'proxy.corp' not in problem for problem in problems)
    if f':{PASSWORD}' in value and '\x00' not in value:  # refused or not, its password is redacted from then on
        assert PASSWORD not in secret.redact(f'log line {PASSWORD}')


@pytest.mark.hostile
@pytest.mark.parametrize('name', ['https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'])
def test_every_proxy_variable_is_checked_by_its_own_name(name):
    assert problems_of({name: 'socks4://proxy:1080'}) == [
        f"{name}: scheme 'socks4' is not supported (http or https); {EXPECTED_PROXY}"
    ]


NO_PROXY_CASES = [
    (
        'tab',
        'a.svc,\tb',
        "NO_PROXY='a.svc,\\tb': expected host names, domains (.example.com) and addresses separated by commas",
    ),
    (
        'nul',
        '.svc\x00',
        "NO_PROXY='.svc\\x00': expected host names, domains (.example.com) and addresses separated by commas",
    ),
    ('spaces-after-commas-are-fine', '.cluster.local, 10.0.0.0/8, localhost', None),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('value', 'expected'), [c[1:] for c in NO_PROXY_CASES], ids=[c[0] for c in NO_PROXY_CASES])
def test_no_proxy_is_a_list_of_printable_hosts(value, expected):
    assert problems_of({'NO_PROXY': value}) == ([expected] if expected else [])


def test_the_proxy_password_is_redacted_in_every_form():
    """requests sends Basic base64(user:password) to the proxy, decoded from the URL: all three forms are hidden."""
    import base64

    secret.forget_all()
    problems_of({'HTTPS_PROXY': f'http://metrics%40corp:{PASSWORD}%2F1@proxy.corp:3128'})
    header = base64.b64encode(f'metrics@corp:{PASSWORD}/1'.encode()).decode()
    text = f'plain {PASSWORD}/1 encoded {PASSWORD}%2F1 header Basic {header}'
    assert secret.redact(text) == 'plain *** encoded *** header Basic ***'


def ca_cases(tmp: Path, ca_pem: Path) -> list[tuple[str, str, str | None]]:
    """(id, path, expected problem) with files made under `tmp`."""
    (tmp / 'empty.pem').write_bytes(b'')
    (tmp / 'blank.pem').write_text('\n  \n')
    (tmp / 'text.pem').write_text('not a certificate\n')
    (tmp / 'key.pem').write_text('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')
    (tmp / 'broken.pem').write_text('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    (tmp / 'binary.der').write_bytes(b'\x30\x82\x01\x0a\x02\x82\x01\x01\x00\xff')
    (tmp / 'dir').mkdir()
    name = f'{P}CA_BUNDLE'

    def at(file: str) -> str:
        return f'{name}={str(tmp / file)!r}'

    return [
        ('missing', str(tmp / 'nope.pem'), f'{at("nope.pem")} does not exist; {EXPECTED_CA}'),
        ('directory', str(tmp / 'dir'), f'{at("dir")} is a directory; {EXPECTED_CA} (e.g. …/ca-bundle.crt inside it)'),
        ('empty', str(tmp / 'empty.pem'), f'{at("empty.pem")} is empty; {EXPECTED_CA}'),
        ('only-whitespace', str(tmp / 'blank.pem'), f'{at("blank.pem")} is empty; {EXPECTED_CA}'),
        (
            'text',
            str(tmp / 'text.pem'),
            f'{at("text.pem")} holds no PEM certificate (-----BEGIN CERTIFICATE-----); {EXPECTED_CA}',
        ),
        (
            'private-key-only',
            str(tmp / 'key.pem'),
            f'{at("key.pem")} holds no PEM certificate (-----BEGIN CERTIFICATE-----); {EXPECTED_CA}',
        ),
        (
            'der-not-pem',
            str(tmp / 'binary.der'),
            f'{at("binary.der")} holds no PEM certificate (-----BEGIN CERTIFICATE-----); {EXPECTED_CA}',
        ),
        (
            'broken-pem',
            str(tmp / 'broken.pem'),
            f'{at("broken.pem")} holds a PEM block that is not a valid certificate; {EXPECTED_CA}',
        ),
        ('a-real-bundle', str(ca_pem), None),
        ('blank-means-unset', '  ', None),
    ]


CA_IDS = [
    'missing',
    'directory',
    'empty',
    'only-whitespace',
    'text',
    'private-key-only',
    'der-not-pem',
    'broken-pem',
    'a-real-bundle',
    'blank-means-unset',
]


@pytest.mark.hostile
@pytest.mark.parametrize('case', CA_IDS)
def test_a_ca_bundle_is_checked_before_the_run(tmp_path, ca_pem, case):
    _, path, expected = next(c for c in ca_cases(tmp_path, ca_pem) if c[0] == case)
    problems: list[str] = []
    network = network_settings(Environment({f'{P}CA_BUNDLE': path}), problems)
    assert problems == ([expected] if expected else [])
    assert network.ca_bundle == (str(ca_pem) if case == 'a-real-bundle' else None)


def gather_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / 'ship').mkdir(exist_ok=True)
    return {f'{P}SHIP_TARGET': 'directory', f'{P}SHIP_PATH': str(tmp_path / 'ship'), **extra}


@pytest.mark.hostile
def test_gather_exits_2_with_one_line_for_an_unusable_ca_bundle(tmp_path, capsys):
    missing = tmp_path / 'ca-bundle.crt'
    env = gather_env(tmp_path, **{f'{P}DB_HOST': '127.0.0.1', f'{P}DB_PORT': '1', f'{P}CA_BUNDLE': str(missing)})
    code = main(['gather', '--ship'], env)
    out = capsys.readouterr()
    problem = f'{P}CA_BUNDLE={str(missing)!r} does not exist; {EXPECTED_CA}'
    assert (code, out.err) == (2, f'metrics-utility gather: invalid configuration:\n  - {problem}\n')
    assert 'Traceback' not in out.out + out.err


@pytest.mark.hostile
def test_build_report_exits_2_for_a_proxy_with_an_odd_scheme(tmp_path, capsys):
    env = {**gather_env(tmp_path), f'{P}REPORT_TYPE': 'CCSPv2', 'HTTPS_PROXY': f'socks5h://u:{PASSWORD}@p:1'}
    code = main(['build-report'], env)
    out = capsys.readouterr()
    problem = f"HTTPS_PROXY: scheme 'socks5h' is not supported (http or https); {EXPECTED_PROXY}"
    assert (code, out.err) == (2, f'metrics-utility build-report: invalid configuration:\n  - {problem}\n')
    assert PASSWORD not in out.out + out.err


def test_a_clients_own_ca_variable_wins_then_the_shared_one(tmp_path, ca_pem):
    own = tmp_path / 'service-ca.crt'
    own.write_bytes(ca_pem.read_bytes())
    env = {
        **gather_env(tmp_path),
        f'{P}CA_BUNDLE': str(ca_pem),
        f'{P}OPTIONAL_COLLECTORS': 'total_workers_vcpu',
        f'{P}CLUSTER_NAME': 'c1',
        f'{P}PROMETHEUS_CA': str(own),
        f'{P}ELASTICSEARCH_URL': 'https://es:9200',
    }
    config = gather_settings.load(env, ship=True)
    assert (config.network.ca_bundle, config.vcpu.ca_bundle, config.elasticsearch.ca_bundle) == (
        str(ca_pem),
        str(own),
        str(ca_pem),
    )
    s3 = {**env, f'{P}SHIP_TARGET': 's3', f'{P}BUCKET_NAME': 'b', f'{P}BUCKET_ENDPOINT': 'https://s3.example.com'}
    assert gather_settings.load(s3, ship=True).ship.s3.ca_bundle == str(ca_pem)
    problems: list[str] = []
    report = report_settings({**s3, f'{P}REPORT_TYPE': 'CCSPv2'}, problems)
    assert problems == [] and report.ship.s3.ca_bundle == str(ca_pem)
