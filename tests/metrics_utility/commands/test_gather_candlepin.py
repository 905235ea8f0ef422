"""A gather to console.redhat.com with the controller's own Candlepin identity (METRICS_UTILITY_CANDLEPIN_ENABLED):
the identity is read from a real PostgreSQL `conf_setting` as the SELECT-only role, decrypted with the controller's
SECRET_KEY file, and every upload goes over mutual TLS to an ingress that demands a client certificate of its CA.
Without a usable identity (a wrong SECRET_KEY) the run says why once and the service account uploads."""

from __future__ import annotations

import json
import logging
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


def test_every_upload_carries_the_controllers_identity(db, tmp_path, ca, consumer, capsys):
    summary_file = tmp_path / 'summary.json'
    with HTTPSServer(ca, accepted, client_ca=ca) as ingress, HTTPSServer(ca, SSOResponder()) as sso:
        env = environment(db, tmp_path, ca, ingress.url('/api/ingress/v1/upload'), sso.url('/auth/token'))
        code = main(['gather', '--ship', '--until', '2024-03-02', f'--summary-file={summary_file}'], env=env)
    err = capsys.readouterr().err
    summary = json.loads(summary_file.read_text())
    assert code == 0, err
    assert summary['crc'] == {'identity': 'controller', 'fallback': None}
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
