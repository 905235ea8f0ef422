"""A gather to console.redhat.com with the controller's own Candlepin identity (METRICS_UTILITY_CANDLEPIN_ENABLED):
the identity is read from a real PostgreSQL `conf_setting` as the SELECT-only role, decrypted with the controller's
SECRET_KEY file, and every upload goes over mutual TLS to an ingress that demands a client certificate of its CA.
Without a usable identity (a wrong SECRET_KEY) the run says why once and the service account uploads."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import trustme
from psycopg.types.json import Jsonb

from metrics_utility.cli import main
from metrics_utility.demo.database import build
from metrics_utility.gather import wiring
from metrics_utility.gather.summary import RunSummary
from metrics_utility.library.candlepin.controller import CERT, CONSUMER, KEY
from metrics_utility.settings import gather as gather_settings
from testsupport.awx_encryption import encrypt_setting
from testsupport.console import SSOResponder, accepted
from testsupport.https_servers import HTTPSServer
from testsupport.secrets import CLIENT_ID, CLIENT_SECRET, assert_secret_free

from ...conftest import TINY_SPEC

pytestmark = pytest.mark.integration
SECRET_KEY = 'k9Qv2xR7tW4mZ8pL1nB6cY3hJ5sD0fG'  # nothing a log line could contain by chance
UUID = '7d0c4a52-9e61-4b7a-8c3f-2a1b0c9d8e7f'


@pytest.fixture(scope='module')
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope='module')
def consumer(ca) -> trustme.LeafCert:
    return ca.issue_cert('consumer.example', common_name=UUID, organization_name='12345')


@pytest.fixture(scope='module')
def db(postgres, consumer):
    """A controller whose conf_setting holds its Candlepin identity, encrypted as AWX writes it (value per row id)."""
    database, _ = build(postgres, TINY_SPEC, dbname='gather_candlepin')
    values = {
        CERT: consumer.cert_chain_pems[0].bytes().decode(),
        KEY: consumer.private_key_pem.bytes().decode(),
        CONSUMER: UUID,
    }
    with database.connect_owner() as conn:
        for key, value in values.items():
            (pk,) = conn.execute(
                'INSERT INTO conf_setting (created, modified, key, value, user_id) '
                'VALUES (now(), now(), %s, \'""\', NULL) RETURNING id',
                (key,),
            ).fetchone()
            stored = value if key == CONSUMER else encrypt_setting(value, SECRET_KEY, pk)
            conn.execute('UPDATE conf_setting SET value = %s WHERE id = %s', (Jsonb(stored), pk))
    return database


def environment(db, tmp_path: Path, ca, ingress: str, sso: str, secret_key: str = SECRET_KEY) -> dict[str, str]:
    bundle, key_file = tmp_path / 'ca.pem', tmp_path / 'SECRET_KEY'
    ca.cert_pem.write_to_path(str(bundle))
    key_file.write_text(secret_key + '\n')
    return {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'crc',
        'METRICS_UTILITY_BILLING_PROVIDER': 'aws',
        'METRICS_UTILITY_BILLING_ACCOUNT_ID': '123456789012',
        'METRICS_UTILITY_SERVICE_ACCOUNT_ID': CLIENT_ID,
        'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': CLIENT_SECRET,
        'METRICS_UTILITY_CRC_INGRESS_URL': ingress,
        'METRICS_UTILITY_CRC_SSO_URL': sso,
        'METRICS_UTILITY_CRC_CA_BUNDLE': str(bundle),
        'METRICS_UTILITY_STATE_PATH': str(tmp_path / 'state' / 'watermarks.json'),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': '',
        'METRICS_UTILITY_CANDLEPIN_ENABLED': 'true',
        'METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE': str(key_file),
    }


def not_after(cert: trustme.LeafCert) -> str:
    """The certificate's expiry as the summary writes it (ISO 8601, UTC, `Z`), computed apart from the worker."""
    from cryptography import x509

    parsed = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    return parsed.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')


def test_every_upload_carries_the_controllers_identity(db, tmp_path, ca, consumer, capsys):
    summary_file = tmp_path / 'summary.json'
    with HTTPSServer(ca, accepted, client_ca=ca) as ingress, HTTPSServer(ca, SSOResponder()) as sso:
        env = environment(db, tmp_path, ca, ingress.url('/api/ingress/v1/upload'), sso.url('/auth/token'))
        code = main(['gather', '--ship', '--until', '2024-03-02', f'--summary-file={summary_file}'], env=env)
    err = capsys.readouterr().err
    summary = json.loads(summary_file.read_text())
    assert code == 0, err
    crc = summary['crc']
    assert re.fullmatch(rf'CN={UUID},OU=Testing cert #[\w-]+,O=12345', crc.pop('subject'))  # trustme's random OU
    assert crc == {'identity': 'controller', 'fallback': None, 'not_after': not_after(consumer)}
    assert len(ingress.requests) == summary['packages'] > 0
    assert all(UUID in (r.client_cert_subject or '') for r in ingress.requests)
    assert sso.requests == [], 'no service-account token was needed'
    pem = consumer.private_key_pem.bytes().decode()
    lines = [line for line in pem.splitlines() if len(line) >= 32 and not line.startswith('-----')]
    assert_secret_free([err, summary_file.read_text()], [*lines, SECRET_KEY])


def test_a_wrong_secret_key_leaves_the_identity_unused_and_the_service_account_uploads(db, tmp_path, ca, caplog):
    with (
        HTTPSServer(ca, accepted, client_ca=ca) as cert_ingress,
        HTTPSServer(ca, accepted) as ingress,
        HTTPSServer(ca, SSOResponder()) as sso,
    ):
        env = environment(
            db, tmp_path, ca, ingress.url('/api/ingress/v1/upload'), sso.url('/auth/token'), 'not-the-key'
        )
        config = gather_settings.load(env, ship=True)
        with caplog.at_level(logging.WARNING, logger='metrics_utility.gather'):
            wired = wiring.wire(
                config,
                ship=True,
                keep=None,
                shard=None,
                since=None,
                until=None,
                cert_url=cert_ingress.url('/api/ingress/v1/upload'),
            )
            summary = wired.run(RunSummary(target='crc'), progress=lambda message: None)
    assert summary.ok, summary.error
    assert cert_ingress.requests == [] and len(ingress.requests) == summary.packages > 0
    warnings = [r.getMessage() for r in caplog.records if 'Candlepin identity is not used' in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].endswith('; the service account uploads')
    assert SECRET_KEY not in warnings[0] and 'not-the-key' not in warnings[0]


# Without a service account (storage.crc.identity source controller in the operator): the identity alone uploads;
# when it is not usable, one clear error and nothing lost.

NO_ACCOUNT = ('METRICS_UTILITY_SERVICE_ACCOUNT_ID', 'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET')
NOTHING_TO_UPLOAD_WITH = (
    ', and no service account is configured (METRICS_UTILITY_SERVICE_ACCOUNT_ID/_SECRET) to fall back to'
)


def without_account(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in NO_ACCOUNT}


def run(env: dict[str, str], tmp_path: Path) -> tuple[int, dict]:
    summary_file = tmp_path / 'summary.json'
    code = main(['gather', '--ship', '--until', '2024-03-02', f'--summary-file={summary_file}'], env=env)
    return code, json.loads(summary_file.read_text())


def test_without_a_service_account_the_controller_identity_alone_uploads(db, tmp_path, ca, capsys):
    with HTTPSServer(ca, accepted, client_ca=ca) as ingress, HTTPSServer(ca, SSOResponder()) as sso:
        env = environment(db, tmp_path, ca, ingress.url('/api/ingress/v1/upload'), sso.url('/auth/token'))
        code, summary = run(without_account(env), tmp_path)
    assert code == 0, capsys.readouterr().err
    assert summary['crc']['identity'] == 'controller' and summary['crc']['fallback'] is None
    assert len(ingress.requests) == summary['packages'] > 0 and sso.requests == []


def test_without_a_service_account_an_unusable_identity_fails_clearly_and_keeps_the_watermark(db, tmp_path, ca, capsys):
    with HTTPSServer(ca, accepted, client_ca=ca) as ingress, HTTPSServer(ca, SSOResponder()) as sso:
        env = environment(
            db, tmp_path, ca, ingress.url('/api/ingress/v1/upload'), sso.url('/auth/token'), 'not-the-key'
        )
        code, summary = run(without_account(env), tmp_path)
    err = capsys.readouterr().err
    assert code == 1
    assert ingress.requests == [] and sso.requests == []
    assert not (tmp_path / 'state' / 'watermarks.json').exists(), 'no watermark moved'
    reason = summary['crc']['fallback']
    assert re.fullmatch(
        r"the controller's Candlepin identity is not used: CANDLEPIN_(CERT|KEY)_PEM \(conf_setting id \d+\): "
        r'cannot decrypt: wrong SECRET_KEY for this controller, or a damaged value' + re.escape(NOTHING_TO_UPLOAD_WITH),
        reason,
    )
    assert summary['crc']['identity'] is None
    error = summary['collectors']['job_host_summary']['error']
    assert error.endswith(f'to console.redhat.com: {reason}')
    assert summary['ok'] is False and reason in err
    assert_secret_free([err, json.dumps(summary)], [SECRET_KEY, 'not-the-key'])


def test_the_second_target_uploads_with_the_controller_identity_alone(db, tmp_path, ca, capsys):
    """A directory gather with console.redhat.com as its second target (storage.console in the operator)."""
    (tmp_path / 'ship').mkdir()
    with HTTPSServer(ca, accepted, client_ca=ca) as ingress, HTTPSServer(ca, SSOResponder()) as sso:
        env = environment(db, tmp_path, ca, ingress.url('/api/ingress/v1/upload'), sso.url('/auth/token'))
        env = {
            **without_account(env),
            'METRICS_UTILITY_SHIP_TARGET': 'directory',
            'METRICS_UTILITY_SHIP_PATH': str(tmp_path / 'ship'),
            'METRICS_UTILITY_SECONDARY_TARGET': 'crc',
            'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS': '3650',  # the synthetic data lies in 2024
        }
        del env['METRICS_UTILITY_STATE_PATH']
        code, summary = run(env, tmp_path)
    assert code == 0, capsys.readouterr().err
    assert summary['secondary']['ok'] is True and summary['secondary']['packages'] == len(ingress.requests) > 0
    assert summary['crc']['identity'] == 'controller' and sso.requests == []
    assert all(UUID in (r.client_cert_subject or '') for r in ingress.requests)


def check(env: dict[str, str], tmp_path: Path) -> tuple[int, dict]:
    summary_file = tmp_path / 'check.json'
    code = main(['check', f'--summary-file={summary_file}'], env=env)
    return code, json.loads(summary_file.read_text())


@pytest.mark.hostile
@pytest.mark.parametrize(
    'secret_key, code, reason, message',
    [
        (SECRET_KEY, 0, 'Ok', rf'the controller identity \(CN={UUID},.*\): https://127\.0\.0\.1:\d+/up accepted the '),
        (
            'not-the-key',
            1,
            'AuthenticationFailed',
            r"the controller's Candlepin identity is not used: CANDLEPIN_(CERT|KEY)_PEM \(conf_setting id \d+\): "
            r'cannot decrypt: wrong SECRET_KEY for this controller, or a damaged value'
            + re.escape(NOTHING_TO_UPLOAD_WITH),
        ),
    ],
    ids=['usable', 'wrong SECRET_KEY'],
)
def test_check_probes_the_controller_identity_without_a_service_account(
    db, tmp_path, ca, capsys, secret_key, code, reason, message
):
    with HTTPSServer(ca, accepted, client_ca=ca) as ingress:
        env = environment(db, tmp_path, ca, ingress.url('/up'), 'https://127.0.0.1:1/unused', secret_key)
        found, summary = check(without_account(env), tmp_path)
    storage = next(c for c in summary['checks'] if c['name'] == 'storage')
    assert (found, storage['reason']) == (code, reason)
    assert re.match(message, storage['message']), storage['message']
    assert_secret_free([capsys.readouterr().err, json.dumps(summary)], [SECRET_KEY, 'not-the-key'])
