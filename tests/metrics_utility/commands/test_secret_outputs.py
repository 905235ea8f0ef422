"""The commands never print a credential: URLs holding one are refused (exit 2, one message that does not repeat
it), and `--verbose` against S3 never logs botocore's signed headers or the keys. Every output is scanned: stderr,
stdout, the summary file and every log record at DEBUG (third-party ones included)."""

from __future__ import annotations

import json
import logging

import pytest

from metrics_utility.cli import _parser
from metrics_utility.commands import build_report, gather
from testsupport.s3_server import ACCESS_KEY, SECRET_KEY
from testsupport.secrets import assert_no_secret

PASSWORD = 'url-pass+word/do-not~leak-0005'
P = 'url-pass%2Bword%2Fdo-not~leak-0005'  # as written inside a URL
TOKEN = 'url-token-do-not-leak-0005'
CRC = {
    'METRICS_UTILITY_SHIP_TARGET': 'crc', 'METRICS_UTILITY_BILLING_PROVIDER': 'aws',
    'METRICS_UTILITY_BILLING_ACCOUNT_ID': '123456789012', 'METRICS_UTILITY_SERVICE_ACCOUNT_ID': 'sa',
    'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': 'crc-secret-0005', 'METRICS_UTILITY_STATE_PATH': '/tmp/w.json',
}  # fmt: skip
S3 = {
    'METRICS_UTILITY_SHIP_TARGET': 's3', 'METRICS_UTILITY_SHIP_PATH': 'billing', 'METRICS_UTILITY_BUCKET_NAME': 'b',
    'METRICS_UTILITY_BUCKET_ACCESS_KEY': ACCESS_KEY, 'METRICS_UTILITY_BUCKET_SECRET_KEY': SECRET_KEY,
}  # fmt: skip
HOLDS = 'holds credentials (user:password@host), which would reach logs and ConfigMaps'
S3_INSTEAD = 'give the keys in METRICS_UTILITY_BUCKET_ACCESS_KEY/SECRET_KEY instead'
SA_INSTEAD = 'the service account goes in METRICS_UTILITY_SERVICE_ACCOUNT_ID/SECRET'


def holding(variable: str, url: str, env: dict[str, str], instead: str, *argv: str) -> tuple:
    """A case: (extra arguments, `env` with `variable` set to `url`, the one problem reported)."""
    name = f'METRICS_UTILITY_{variable}'
    return [*argv], {**env, name: url}, f'{name} {HOLDS}: {instead}'


PROMETHEUS = {'METRICS_UTILITY_CLUSTER_NAME': 'c'}
PROMETHEUS_INSTEAD = 'give a bearer token in METRICS_UTILITY_PROMETHEUS_TOKEN_FILE instead'
PROXY_INSTEAD = 'set HTTPS_PROXY from a Secret instead (its password is redacted too)'

# id: (extra arguments, environment, the one problem reported)
GATHER_URLS = {
    'bucket endpoint with user and password': holding(
        'BUCKET_ENDPOINT', f'https://minio:{P}@s3.local:9000', S3, S3_INSTEAD, '--ship'
    ),
    'bucket endpoint with a token': holding(
        'BUCKET_ENDPOINT', f'http://{TOKEN}@127.0.0.1:9000', S3, S3_INSTEAD, '--ship'
    ),
    'crc ingress URL': holding('CRC_INGRESS_URL', f'https://sa:{P}@console.example/upload', CRC, SA_INSTEAD, '--ship'),
    'crc SSO URL': holding('CRC_SSO_URL', f'https://sa:{P}@sso.example/token', CRC, SA_INSTEAD, '--ship'),
    'proxy URL': holding('PROXY_URL', f'http://proxy:{P}@10.0.0.1:3128', CRC, PROXY_INSTEAD, '--ship'),
    'prometheus URL': holding(  # a dry run
        'PROMETHEUS_URL',
        f'https://sa:{P}@prom:9091',
        PROMETHEUS,
        PROMETHEUS_INSTEAD,
        '--collectors',
        'total_workers_vcpu',
    ),
}


def scan(*texts: str) -> None:
    assert_no_secret(list(texts), PASSWORD, P, TOKEN, SECRET_KEY, ACCESS_KEY)


@pytest.mark.hostile
@pytest.mark.parametrize('argv, env, problem', GATHER_URLS.values(), ids=list(GATHER_URLS))
def test_gather_refuses_urls_holding_credentials(tmp_path, capsys, caplog, argv, env, problem):
    summary_file = tmp_path / 'summary.json'
    args = _parser().parse_args(['gather', '--summary-file', str(summary_file), *argv])
    with caplog.at_level(logging.DEBUG):
        code = gather.run(args, env=env)
    err = capsys.readouterr().err
    assert code == 2
    assert err == f'metrics-utility gather: invalid configuration:\n  - {problem}\n'
    assert json.loads(summary_file.read_text())['error'] == f'invalid configuration:\n  - {problem}'
    scan(err, summary_file.read_text(), caplog.text)


ADDITIONAL_S3 = {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_ADDITIONAL_SHIP_PATHS': 's3://other/data'}
REPORT_URLS = {
    'bucket endpoint': holding('BUCKET_ENDPOINT', f'https://minio:{P}@s3.local:9000', S3, S3_INSTEAD)[1:],
    'endpoint of an additional S3 source': holding(
        'BUCKET_ENDPOINT', f'https://{TOKEN}@s3.local', ADDITIONAL_S3, S3_INSTEAD
    )[1:],
}


@pytest.mark.hostile
@pytest.mark.parametrize('env, problem', REPORT_URLS.values(), ids=list(REPORT_URLS))
def test_build_report_refuses_urls_holding_credentials(tmp_path, capsys, caplog, env, problem):
    env = {'METRICS_UTILITY_SHIP_PATH': str(tmp_path), 'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2', **env}
    summary_file = tmp_path / 'summary.json'
    args = _parser().parse_args(['build-report', '--month', '2024-02', '--summary-file', str(summary_file)])
    with caplog.at_level(logging.DEBUG):
        code = build_report.run(args, env=env)
    out, err = capsys.readouterr()
    assert code == 2
    assert err == f'metrics-utility build-report: invalid configuration:\n  - {problem}\n'
    assert json.loads(summary_file.read_text())['error'] == f'invalid configuration: {problem}'
    scan(out, err, summary_file.read_text(), caplog.text)


def _on_moto(s3_server, bucket: str, **extra: str) -> dict[str, str]:
    """The S3 settings pointed at the moto server's `bucket`."""
    return {
        **S3,
        'METRICS_UTILITY_BUCKET_NAME': bucket,
        'METRICS_UTILITY_BUCKET_ENDPOINT': s3_server.endpoint,
        'METRICS_UTILITY_BUCKET_REGION': 'us-east-1',
        **extra,
    }


@pytest.mark.hostile
def test_build_report_verbose_against_s3_never_logs_signed_headers_or_keys(s3_server, bucket, tmp_path, capsys, caplog):
    env = _on_moto(s3_server, bucket, METRICS_UTILITY_REPORT_TYPE='CCSPv2')
    summary_file = tmp_path / 'summary.json'
    argv = ['build-report', '--verbose', '--month', '2024-02', '--summary-file', str(summary_file)]
    args = _parser().parse_args(argv)
    with caplog.at_level(logging.DEBUG):
        code = build_report.run(args, env=env)
    out, err = capsys.readouterr()
    assert code == 0  # an empty bucket: no billing data, nothing to build
    assert out.splitlines()[0] == 'metrics-utility build-report: No billing data for the period; no report written'
    assert json.loads(summary_file.read_text())['ok'] is True
    assert not [r for r in caplog.records if r.name.startswith(('botocore', 'urllib3', 's3transfer'))]
    scan(out, err, summary_file.read_text(), caplog.text)


@pytest.mark.hostile
def test_gather_verbose_against_s3_never_logs_signed_headers_or_keys(
    controller_db, s3_server, bucket, tmp_path, capsys, caplog
):
    env = _on_moto(s3_server, bucket, **controller_db.reader_env(), METRICS_UTILITY_OPTIONAL_COLLECTORS='')
    summary_file = tmp_path / 'summary.json'
    args = _parser().parse_args(
        [
            'gather',
            '--ship',
            '--verbose',
            '--since',
            '2024-02-28',
            '--until',
            '2024-02-29',
            '--summary-file',
            str(summary_file),
        ]
    )
    with caplog.at_level(logging.DEBUG):
        code = gather.run(args, env=env)
    err = capsys.readouterr().err
    assert code == 0
    shipped = json.loads(summary_file.read_text())
    assert shipped['ok'] is True and shipped['packages'] >= 1
    assert not [r for r in caplog.records if r.name.startswith(('botocore', 'urllib3', 's3transfer'))]
    scan(err, summary_file.read_text(), caplog.text)


def test_scan_sees_the_keys_in_botocore_debug_output():
    """The scanner itself: botocore's signed headers do carry the access key id (so the tests above can fail)."""
    line = f"{{'Authorization': b'AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240301/us-east-1/s3/aws4_request'}}"
    with pytest.raises(AssertionError, match='leaked'):
        scan(line)
