"""`metrics-utility check` against real peers: PostgreSQL (a role without SELECT on one table, a wrong password, a
closed port), moto S3 and an S3 that refuses, an SSO server answering 401, a real Prometheus. Each case asserts the
exact reason, message and exit code; outputs never hold a secret, even when a peer echoes it back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from metrics_utility import contract
from metrics_utility.cli import main
from metrics_utility.library.collectors.controller.tables import tables_read
from testsupport.https_servers import HTTPSServer, Reply
from testsupport.prometheus import free_port
from testsupport.proxy import TLSFront
from testsupport.s3_server import SECRET_KEY
from testsupport.secrets import assert_no_secret

from .conftest import s3_env

CLIENT_SECRET = 'check-sso-secret-do-not-leak-0013'
DEFAULT_TABLES = tables_read(['job_host_summary', 'main_jobevent'])


def run_check(tmp_path: Path, env: dict[str, str], capsys, *argv: str) -> tuple[int, dict, str]:
    summary_file = tmp_path / 'check.json'
    code = main(['check', '--summary-file', str(summary_file), *argv], env=env)
    captured = capsys.readouterr()
    return code, json.loads(summary_file.read_text()), captured.out + captured.err


def directory_env(db, tmp_path: Path) -> dict[str, str]:
    return {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path / 'ship'),
    }


def reasons(summary: dict) -> dict[str, str]:
    return {c['name']: c['reason'] for c in summary['checks']}


def test_all_checks_pass_and_leave_no_probe_behind(controller_db, tmp_path, capsys):
    code, summary, out = run_check(tmp_path, directory_env(controller_db, tmp_path), capsys)
    assert code == 0, out
    assert summary['ok'] is True and summary['reason'] == 'Ok' and summary['error'] is None
    assert reasons(summary) == {'database': 'Ok', 'tables': 'Ok', 'storage': 'Ok'}
    assert set(summary) == set(contract.SUMMARY_KEYS['check'])  # the keys the operator knows
    assert f'SELECT allowed on all {len(DEFAULT_TABLES)} tables the collectors read' in out
    assert list((tmp_path / 'ship').rglob('*.txt')) == []  # the probe object was deleted


@pytest.fixture
def partial_role(scratch_db) -> Iterator[tuple[object, dict[str, str]]]:
    """A login role granted SELECT on every table the default collectors read except main_host."""
    role, password = f'{scratch_db.dbname}_partial', 'partial-password-0013'
    with scratch_db.cluster.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    with scratch_db.cluster.connect(scratch_db.dbname, autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA public TO {role}')
        for table in DEFAULT_TABLES:
            if table != 'main_host':
                conn.execute(f'GRANT SELECT ON {table} TO {role}')
    yield (
        scratch_db,
        {**scratch_db.reader_env(), 'METRICS_UTILITY_DB_USER': role, 'METRICS_UTILITY_DB_PASSWORD': password},
    )
    with scratch_db.cluster.connect(scratch_db.dbname, autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY {role}')
        conn.execute(f'DROP ROLE {role}')


def test_a_missing_grant_names_the_table_and_the_statement(partial_role, tmp_path, capsys):
    _db, env = partial_role
    env = {**env, 'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(tmp_path / 'ship')}
    code, summary, _out = run_check(tmp_path, env, capsys)
    role = env['METRICS_UTILITY_DB_USER']
    assert code == 1
    tables = next(c for c in summary['checks'] if c['name'] == 'tables')
    assert tables == {
        'name': 'tables',
        'ok': False,
        'reason': 'PermissionDenied',
        'tables': ['main_host'],
        'message': f"role '{role}' may not SELECT from main_host; as the database owner run: "
        f'GRANT SELECT ON main_host TO "{role}"',
    }
    assert summary['reason'] == 'PermissionDenied'
    assert reasons(summary) == {'database': 'Ok', 'tables': 'PermissionDenied', 'storage': 'Ok'}


def test_only_the_tables_of_the_configured_collectors_are_checked(partial_role, tmp_path, capsys):
    """execution_environments does not read main_host: the same role passes with only that collector."""
    db, env = partial_role
    env = {**env, 'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(tmp_path / 'ship')}
    with db.cluster.connect(db.dbname, autocommit=True) as conn:
        conn.execute(f'GRANT SELECT ON main_executionenvironment TO {env["METRICS_UTILITY_DB_USER"]}')
    code, _summary, out = run_check(tmp_path, env, capsys, '--collectors', 'execution_environments')
    assert code == 0, out
    assert 'SELECT allowed on all 3 tables the collectors read' in out


def _closed_port() -> str:
    return str(free_port())


DATABASE_FAILURES = {
    'wrong password': (
        lambda db: {'METRICS_UTILITY_DB_PASSWORD': 'wrong-password-0013'},
        'AuthenticationFailed',
        'password authentication failed for user',
    ),
    'unknown role': (lambda db: {'METRICS_UTILITY_DB_USER': 'nobody_0013'}, 'AuthenticationFailed', 'nobody_0013'),
    'closed port': (
        lambda db: {'METRICS_UTILITY_DB_PORT': _closed_port()},
        'DatabaseUnreachable',
        'Connection refused',
    ),
    'no such database': (
        lambda db: {'METRICS_UTILITY_DB_NAME': 'absent_0013'},
        'DatabaseNotFound',
        'database "absent_0013" does not exist',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('change, reason, words', DATABASE_FAILURES.values(), ids=list(DATABASE_FAILURES))
def test_database_failures_have_their_reason(controller_db, tmp_path, capsys, change, reason, words):
    env = {**directory_env(controller_db, tmp_path), **change(controller_db)}
    code, summary, out = run_check(tmp_path, env, capsys)
    assert code == 1
    assert reasons(summary) == {'database': reason, 'storage': 'Ok'}  # the storage is still checked
    assert summary['reason'] == reason
    assert words in summary['checks'][0]['message']
    assert_no_secret([out, json.dumps(summary)], 'wrong-password-0013', controller_db.reader_password)


class _Refusing(BaseHTTPRequestHandler):
    """An S3 endpoint that refuses everything with AccessDenied, echoing the secret key in its message."""

    def _refuse(self) -> None:
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied '
            f'for {SECRET_KEY}</Message></Error>'
        ).encode()
        self.send_response(403)
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_GET = do_HEAD = do_DELETE = do_POST = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_s3() -> Iterator[str]:
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def test_s3_probe_passes_and_deletes_its_object(controller_db, s3_server, bucket, tmp_path, capsys):
    code, _summary, out = run_check(tmp_path, s3_env(controller_db, s3_server.endpoint, bucket), capsys)
    assert code == 0, out
    assert s3_server.client().list_objects_v2(Bucket=bucket).get('KeyCount') == 0


S3_FAILURES = {
    'bucket policy refuses the put': (
        'refusing',
        'metrics',
        'StorageDenied',
        'cannot write a probe object: cannot upload check/probe-',
    ),
    'no such bucket': ('moto', 'absent-bucket-0013', 'StorageNotFound', "bucket 'absent-bucket-0013' does not exist"),
    'endpoint unreachable': ('closed', 'metrics', 'StorageUnreachable', 'cannot connect to http://127.0.0.1:'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('where, bucket_name, reason, words', S3_FAILURES.values(), ids=list(S3_FAILURES))
def test_s3_failures_have_their_reason(
    controller_db, s3_server, refusing_s3, tmp_path, capsys, where, bucket_name, reason, words
):
    endpoint = {'moto': s3_server.endpoint, 'refusing': refusing_s3, 'closed': f'http://127.0.0.1:{free_port()}'}[where]
    code, summary, out = run_check(tmp_path, s3_env(controller_db, endpoint, bucket_name), capsys)
    assert code == 1
    storage = next(c for c in summary['checks'] if c['name'] == 'storage')
    assert storage['reason'] == reason
    assert words in storage['message']
    assert_no_secret([out, json.dumps(summary)], SECRET_KEY)


def test_s3_probe_trusts_the_shared_ca_bundle(controller_db, s3_server, bucket, tmp_path, capsys):
    """The probe uses the client gather uses: S3 behind a private CA passes with METRICS_UTILITY_CA_BUNDLE and fails
    without it (the check once built its own S3 client without the bundle)."""
    ca = trustme.CA()
    bundle = tmp_path / 'private-ca.pem'
    ca.cert_pem.write_to_path(str(bundle))
    host, port = s3_server.endpoint.removeprefix('http://').split(':')
    with TLSFront(ca, (host, int(port))) as front:
        env = s3_env(controller_db, front.endpoint, bucket)
        trusted, _, out = run_check(tmp_path, {**env, 'METRICS_UTILITY_CA_BUNDLE': str(bundle)}, capsys)
        untrusted, summary, _ = run_check(tmp_path, env, capsys)
    assert trusted == 0, out
    assert untrusted == 1
    assert next(c for c in summary['checks'] if c['name'] == 'storage')['reason'] == 'StorageUnreachable'


@pytest.fixture
def console_ca(tmp_path) -> tuple[trustme.CA, str]:
    ca = trustme.CA()
    bundle = tmp_path / 'ca.pem'
    ca.cert_pem.write_to_path(str(bundle))
    return ca, str(bundle)


def crc_env(db, tmp_path: Path, sso_url: str, bundle: str) -> dict[str, str]:
    return {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'crc',
        'METRICS_UTILITY_BILLING_PROVIDER': 'aws',
        'METRICS_UTILITY_BILLING_ACCOUNT_ID': '123456789012',
        'METRICS_UTILITY_SERVICE_ACCOUNT_ID': 'sa-0013',
        'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': CLIENT_SECRET,
        'METRICS_UTILITY_CRC_SSO_URL': sso_url,
        'METRICS_UTILITY_CRC_CA_BUNDLE': bundle,
        'METRICS_UTILITY_STATE_PATH': str(tmp_path / 'watermarks.json'),
    }


SSO_ANSWERS = {
    'token issued': (
        Reply(200, {'access_token': 'check-token-0013', 'expires_in': 300}),
        0,
        'Ok',
        "issued a token for client_id 'sa-0013'",
    ),
    'secret refused (401) and echoed back': (
        Reply(401, {'error': 'invalid_client', 'error_description': f'wrong secret {CLIENT_SECRET}'}),
        1,
        'AuthenticationFailed',
        "rejected the service account credentials of client_id 'sa-0013'",
    ),
    'SSO broken (500)': (Reply(500, 'down'), 1, 'StorageUnreachable', 'failed: HTTP 500'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('reply, expected_code, reason, words', SSO_ANSWERS.values(), ids=list(SSO_ANSWERS))
def test_console_service_account(controller_db, tmp_path, capsys, console_ca, reply, expected_code, reason, words):
    ca, bundle = console_ca
    with HTTPSServer(ca, lambda request: reply) as sso:
        code, summary, out = run_check(tmp_path, crc_env(controller_db, tmp_path, sso.url('/token'), bundle), capsys)
        [request] = sso.requests
    assert code == expected_code, out
    storage = next(c for c in summary['checks'] if c['name'] == 'storage')
    assert storage['reason'] == reason
    assert words in storage['message']
    assert b'grant_type=client_credentials' in request.body
    assert_no_secret([out, json.dumps(summary)], CLIENT_SECRET, 'check-token-0013')


@pytest.mark.hostile
@pytest.mark.parametrize('reply, expected_code, reason, words', SSO_ANSWERS.values(), ids=list(SSO_ANSWERS))
def test_the_second_console_target_is_checked_too(
    controller_db, tmp_path, capsys, console_ca, reply, expected_code, reason, words
):
    """A directory gather with console.redhat.com as its second target (METRICS_UTILITY_SECONDARY_TARGET=crc): the
    check writes its probe to the directory and asks SSO for the second target's token, as check `secondary`."""
    ca, bundle = console_ca
    (tmp_path / 'ship').mkdir()
    with HTTPSServer(ca, lambda request: reply) as sso:
        env = {
            **crc_env(controller_db, tmp_path, sso.url('/token'), bundle),
            'METRICS_UTILITY_SHIP_TARGET': 'directory',
            'METRICS_UTILITY_SHIP_PATH': str(tmp_path / 'ship'),
            'METRICS_UTILITY_SECONDARY_TARGET': 'crc',
        }
        code, summary, out = run_check(tmp_path, env, capsys)
        [request] = sso.requests
    assert code == expected_code, out
    checks = {c['name']: c for c in summary['checks']}
    assert checks['storage']['reason'] == 'Ok' and 'wrote, read back and deleted' in checks['storage']['message']
    assert checks['secondary']['reason'] == reason
    assert words in checks['secondary']['message']
    assert b'grant_type=client_credentials' in request.body
    assert_no_secret([out, json.dumps(summary)], CLIENT_SECRET, 'check-token-0013')


def test_console_unreachable(controller_db, tmp_path, capsys, console_ca):
    _, bundle = console_ca
    url = f'https://127.0.0.1:{free_port()}/token'
    code, summary, _out = run_check(tmp_path, crc_env(controller_db, tmp_path, url, bundle), capsys)
    assert code == 1
    assert reasons(summary)['storage'] == 'StorageUnreachable'


def test_bad_configuration_exits_2_with_every_problem(tmp_path, capsys):
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'nowhere',
        'METRICS_UTILITY_DB_PORT': 'x',
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv3',
    }
    code, summary, _out = run_check(tmp_path, env, capsys)
    assert code == 2
    assert summary['reason'] == 'InvalidConfiguration'
    [configuration] = summary['checks']
    assert configuration['name'] == 'configuration'
    for words in ('METRICS_UTILITY_SHIP_TARGET=', 'METRICS_UTILITY_DB_PORT', 'METRICS_UTILITY_REPORT_TYPE='):
        assert words in configuration['message']


PROMETHEUS_TOKEN = 'zq7-bearer-do-not-leak-0013'


@pytest.fixture(scope='module')
def secured_prometheus(tmp_path_factory) -> Iterator[tuple[str, str, str]]:
    """A real Prometheus behind HTTPS requiring PROMETHEUS_TOKEN: (url, CA bundle, directory for token files)."""
    import time

    from testsupport.prometheus import BearerTLSProxy, PrometheusNotFoundError, PrometheusServer, Sample

    workdir = tmp_path_factory.mktemp('check-prometheus')
    try:
        server = PrometheusServer([Sample('machine_cpu_cores', {'node': 'n1'}, 4, time.time() - 3600)], workdir)
    except PrometheusNotFoundError as exc:
        pytest.skip(str(exc))
    ca = trustme.CA()
    bundle = workdir / 'ca.pem'
    ca.cert_pem.write_to_path(str(bundle))
    with server, BearerTLSProxy(server.url, ca, tokens=[PROMETHEUS_TOKEN]) as proxy:
        yield proxy.url, str(bundle), str(workdir)


PROMETHEUS_CASES = {
    'query answered': ('up', PROMETHEUS_TOKEN, 0, 'Ok', 'answered a query'),
    'token refused': ('up', 'wrong-token-0013', 1, 'AuthenticationFailed', 'HTTP 401'),
    'unreachable': ('closed', PROMETHEUS_TOKEN, 1, 'PrometheusUnreachable', 'https://127.0.0.1:'),
}


@pytest.mark.hostile
@pytest.mark.parametrize(
    'where, token, expected_code, reason, words', PROMETHEUS_CASES.values(), ids=list(PROMETHEUS_CASES)
)
def test_prometheus_is_asked_when_vcpu_is_collected(
    controller_db, tmp_path, capsys, secured_prometheus, where, token, expected_code, reason, words
):
    url, bundle, _ = secured_prometheus
    token_file = tmp_path / 'token'
    token_file.write_text(token + '\n')
    env = {
        **directory_env(controller_db, tmp_path),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'total_workers_vcpu',
        'METRICS_UTILITY_CLUSTER_NAME': 'c1',
        'METRICS_UTILITY_PROMETHEUS_TOKEN_FILE': str(token_file),
        'METRICS_UTILITY_PROMETHEUS_CA': bundle,
        'METRICS_UTILITY_PROMETHEUS_URL': url if where == 'up' else f'https://127.0.0.1:{free_port()}',
    }
    code, summary, out = run_check(tmp_path, env, capsys)
    assert code == expected_code, out
    prometheus = next(c for c in summary['checks'] if c['name'] == 'prometheus')
    assert prometheus['reason'] == reason
    assert words in prometheus['message']
    assert_no_secret([out, json.dumps(summary)], token)


def test_prometheus_is_not_asked_without_vcpu(controller_db, tmp_path, capsys):
    env = {**directory_env(controller_db, tmp_path), 'METRICS_UTILITY_PROMETHEUS_URL': 'https://127.0.0.1:1'}
    code, summary, _ = run_check(tmp_path, env, capsys)
    assert code == 0
    assert 'prometheus' not in reasons(summary)


def test_console_client_certificate(controller_db, tmp_path, capsys, console_ca):
    """Mutual TLS: the ingress accepts our certificate (a HEAD answered), or refuses one its CA did not sign."""
    ca, bundle = console_ca
    client_ca, stranger = trustme.CA(), trustme.CA()
    for name, issuer in (('ours', client_ca), ('stranger', stranger)):
        issued = issuer.issue_cert('billing-client')
        issued.cert_chain_pems[0].write_to_path(str(tmp_path / f'{name}.crt'))
        issued.private_key_pem.write_to_path(str(tmp_path / f'{name}.key'))
    outcomes = {}
    with HTTPSServer(ca, lambda request: Reply(405), client_ca=client_ca) as ingress:
        for name in ('ours', 'stranger'):
            env = {
                **crc_env(controller_db, tmp_path, 'https://127.0.0.1:1/unused', bundle),
                'METRICS_UTILITY_SERVICE_ACCOUNT_ID': '',
                'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': '',
                'METRICS_UTILITY_CRC_CLIENT_CERT': str(tmp_path / f'{name}.crt'),
                'METRICS_UTILITY_CRC_CLIENT_KEY': str(tmp_path / f'{name}.key'),
                'METRICS_UTILITY_CRC_INGRESS_URL': ingress.url('/api/ingress/v1/upload'),
            }
            code, summary, _out = run_check(tmp_path, env, capsys)
            storage = next(c for c in summary['checks'] if c['name'] == 'storage')
            outcomes[name] = (code, storage['reason'], storage['message'].split(' (')[-1])
    assert outcomes['ours'] == (0, 'Ok', 'HTTP 501)')  # the test server has no HEAD: any answer proves the handshake
    assert outcomes['stranger'][:2] == (1, 'AuthenticationFailed')


HEADER = {f'METRICS_UTILITY_REPORT_{f.variable.removeprefix("REPORT_")}': 'x' for f in contract.HEADER_FIELDS}


@pytest.mark.hostile
@pytest.mark.parametrize(
    'report_type, unset, expected_code, reason',
    [
        ('CCSPv2', (), 0, 'Ok'),
        ('CCSPv2', ('METRICS_UTILITY_REPORT_PO_NUMBER',), 1, 'ReportFieldsMissing'),
        ('RENEWAL_GUIDANCE', tuple(HEADER), 0, 'Ok'),
    ],
    ids=['CCSPv2 complete', 'CCSPv2 without PO number', 'RENEWAL_GUIDANCE needs none'],
)
def test_report_header_fields(controller_db, tmp_path, capsys, report_type, unset, expected_code, reason):
    (tmp_path / 'ship').mkdir()
    env = {
        **directory_env(controller_db, tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': report_type,
        **{k: v for k, v in HEADER.items() if k not in unset},
    }
    code, summary, out = run_check(tmp_path, env, capsys)
    assert code == expected_code, out
    report = next(c for c in summary['checks'] if c['name'] == 'report')
    assert report['reason'] == reason
    if unset and reason != 'Ok':
        assert report['message'] == (
            'CCSPv2 reports print these header fields, which are empty: METRICS_UTILITY_REPORT_PO_NUMBER'
        )


@pytest.mark.hostile
def test_a_refused_command_line_still_writes_the_summary(tmp_path, capsys):
    summary_file = tmp_path / 'check.json'
    code = main(['check', '--bogus', '--summary-file', str(summary_file)], env={})
    err = capsys.readouterr().err
    assert code == 2
    assert err == 'metrics-utility check: unrecognized arguments: --bogus (see metrics-utility check --help)\n'
    assert json.loads(summary_file.read_text()) == {
        'command': 'check',
        'ok': False,
        'reason': 'InvalidConfiguration',
        'error': 'unrecognized arguments: --bogus (see metrics-utility check --help)',
    }
