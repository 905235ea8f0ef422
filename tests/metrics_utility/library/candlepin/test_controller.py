"""The controller's identity read from a real PostgreSQL `conf_setting`, as the SELECT-only role: rows written the
way AWX writes them (the value encrypted with the row's own id), each hostile row with its exact outcome, and no PEM,
ciphertext or SECRET_KEY in any result, repr or log record."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import trustme
from psycopg.types.json import Jsonb

from metrics_utility.demo.database import build
from metrics_utility.library.candlepin import (
    Identity,
    IdentityResult,
    Unusable,
    load_controller_identity,
    load_with_secret_key_file,
    read_secret_key,
)
from metrics_utility.library.candlepin.controller import CERT, CONSUMER, KEY
from testsupport.awx_encryption import encrypt_setting, wrap

from ....conftest import TINY_SPEC
from .test_identity import EXPIRES, NOW, SUBJECT, UUID, leaf

pytestmark = pytest.mark.integration

SECRET_KEY = 'controller-SECRET_KEY-0123456789abcdef'
ENCRYPT = object()  # store the value encrypted with the row's id, as AWX does


@pytest.fixture(scope='module')
def db(postgres):
    """A controller database of this module's own (the tests rewrite its conf_setting rows)."""
    database, _ = build(postgres, TINY_SPEC, dbname='candlepin_identity')
    return database


@pytest.fixture(scope='module')
def pems() -> dict[str, tuple[str, str]]:
    ca = trustme.CA()
    return {'good': leaf(ca), 'other': leaf(ca), 'expired': leaf(ca, not_after=datetime(2026, 1, 2, tzinfo=UTC))}


def store(db, rows: list[tuple[str, Any, Any]], pems: dict[str, tuple[str, str]] | None = None) -> dict[str, int]:
    """Replace the CANDLEPIN_* rows: (key, value, how) in order; `how` is ENCRYPT, None (stored as is) or a callable
    given the row's id returning the stored value. AWX inserts '' first, then saves the value encrypted with the id."""
    ids: dict[str, int] = {}
    with db.connect_owner() as conn:
        conn.execute("DELETE FROM conf_setting WHERE key LIKE 'CANDLEPIN\\_%'")
        for index, (key, value, how) in enumerate(rows):
            (pk,) = conn.execute(
                'INSERT INTO conf_setting (created, modified, key, value, user_id) '
                "VALUES (now(), now() + %s * interval '1 second', %s, '\"\"'::jsonb, NULL) RETURNING id",
                (index, key),
            ).fetchone()
            stored = (
                encrypt_setting(value, SECRET_KEY, pk) if how is ENCRYPT else how(pk, pems) if callable(how) else value
            )
            conn.execute('UPDATE conf_setting SET value = %s WHERE id = %s', (Jsonb(stored), pk))
            ids[key] = pk
    return ids


def load(db, secret_key: str | bytes = SECRET_KEY) -> IdentityResult:
    with db.connect_reader() as conn:
        return load_controller_identity(conn, secret_key, NOW)


def identity_rows(pems, cert='good', key='good', uuid=UUID) -> list[tuple[str, Any, Any]]:
    return [(CERT, pems[cert][0], ENCRYPT), (KEY, pems[key][1], ENCRYPT), (CONSUMER, uuid, None)]


def test_the_controllers_identity(db, pems):
    store(db, identity_rows(pems))
    identity = load(db)
    assert isinstance(identity, Identity)
    assert (identity.cert_pem, identity.key_pem.reveal()) == pems['good']
    assert (identity.consumer_uuid, identity.subject, identity.not_after) == (UUID, SUBJECT, EXPIRES)


def test_a_secret_key_that_is_not_utf8(tmp_path, db, pems):
    """AWX hashes the SECRET_KEY file's bytes; a key that is not UTF-8 text still decrypts."""
    key = b'\xff\xfe-binary-key'
    (tmp_path / 'secret_key').write_bytes(b' ' + key + b'\r\n')
    rows = [
        (CERT, None, lambda pk, p: encrypt_setting(p['good'][0], key, pk)),
        (KEY, None, lambda pk, p: encrypt_setting(p['good'][1], key, pk)),
        (CONSUMER, UUID, None),
    ]
    store(db, rows, pems)
    with db.connect_reader() as conn:
        identity = load_controller_identity(conn, read_secret_key(tmp_path / 'secret_key'), NOW)
    assert isinstance(identity, Identity) and identity.key_pem.reveal() == pems['good'][1]
    assert read_secret_key(tmp_path / 'secret_key') == key


CANNOT_READ = "cannot read the controller's SECRET_KEY file {path}"
EMPTY = Unusable('unusable', "the controller's SECRET_KEY file {path} is empty")
SECRET_KEY_FILES = [  # (id, how the path is made, the exact outcome: bytes or the reason with {path})
    ('trailing-newline', lambda d: _write(d, b'k3y\n'), b'k3y'),
    ('surrounding-whitespace', lambda d: _write(d, b' \tk3y \r\n'), b'k3y'),
    ('missing', lambda d: d / 'absent', Unusable('unusable', CANNOT_READ + ' (No such file or directory)')),
    ('a-directory', lambda d: d, Unusable('unusable', CANNOT_READ + ' (Is a directory)')),
    ('empty', lambda d: _write(d, b''), EMPTY),
    ('only-whitespace', lambda d: _write(d, b' \n\n'), EMPTY),
]


def _write(directory, content: bytes):
    (directory / 'secret_key').write_bytes(content)
    return directory / 'secret_key'


@pytest.mark.hostile
@pytest.mark.parametrize(('make', 'expected'), [c[1:] for c in SECRET_KEY_FILES], ids=[c[0] for c in SECRET_KEY_FILES])
def test_the_secret_key_file_or_one_clear_reason(tmp_path, make, expected):
    path = make(tmp_path)
    if isinstance(expected, Unusable):
        expected = Unusable(expected.state, expected.reason.format(path=path))
    assert read_secret_key(path) == expected


def test_load_with_the_secret_key_file(tmp_path, db, pems):
    store(db, identity_rows(pems))
    (tmp_path / 'secret_key').write_text(SECRET_KEY + '\n')
    with db.connect_reader() as conn:
        assert isinstance(load_with_secret_key_file(conn, tmp_path / 'secret_key', NOW), Identity)
        assert load_with_secret_key_file(conn, tmp_path / 'absent', NOW) == Unusable(
            'unusable',
            f"cannot read the controller's SECRET_KEY file {tmp_path / 'absent'} (No such file or directory)",
        )


def test_the_newest_row_of_a_key_wins_and_user_rows_are_ignored(db, pems):
    store(db, [(CERT, 'stale', None), *identity_rows(pems)])
    with db.connect_owner() as conn:
        (user,) = conn.execute('SELECT id FROM auth_user LIMIT 1').fetchone() or (None,)
        if user is None:
            (user,) = conn.execute(
                'INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, '
                "is_active, date_joined) VALUES ('', false, 'u', '', '', '', false, true, now()) RETURNING id"
            ).fetchone()
        conn.execute(
            'INSERT INTO conf_setting (created, modified, key, value, user_id) '
            "VALUES (now(), now() + interval '1 hour', %s, %s, %s)",
            (KEY, Jsonb('a user row is not the system setting'), user),
        )
    assert isinstance(load(db), Identity)


def test_plain_values_are_used_as_awx_uses_them(db, pems):
    """AWX's decrypt_field returns a value without the `$encrypted$` prefix unchanged; so do we (then check it)."""
    store(db, [(CERT, pems['good'][0], None), (KEY, pems['good'][1], None), (CONSUMER, UUID, None)])
    assert isinstance(load(db), Identity)


def test_an_encrypted_consumer_uuid_is_decrypted(db, pems):
    store(db, [(CERT, pems['good'][0], ENCRYPT), (KEY, pems['good'][1], ENCRYPT), (CONSUMER, UUID, ENCRYPT)])
    identity = load(db)
    assert isinstance(identity, Identity) and identity.consumer_uuid == UUID


def _wrong_row(pk: int, pems) -> str:
    return encrypt_setting(pems['good'][1], SECRET_KEY, pk + 1000)


def _truncated(pk: int, pems) -> str:
    return encrypt_setting(pems['good'][1], SECRET_KEY, pk)[:-60]


def _short_token(pk: int, pems) -> str:
    token = base64.b64decode(encrypt_setting(pems['good'][1], SECRET_KEY, pk).rpartition('$')[2])
    return wrap(base64.urlsafe_b64encode(base64.urlsafe_b64decode(token)[:-40]))


WRONG_KEY = 'cannot decrypt: wrong SECRET_KEY for this controller, or a damaged value'
NO_IDENTITY = Unusable('absent', 'the controller holds no Candlepin identity (no CANDLEPIN_* settings)')
# case: (rows, secret key, the exact result; {ids} in the reason is filled with the stored rows' ids)
HOSTILE: dict[str, tuple[Callable[[dict], list], str, Unusable]] = {
    'no-rows': (lambda p: [], SECRET_KEY, NO_IDENTITY),
    'empty-values': (lambda p: [(CERT, '', None), (KEY, '', None), (CONSUMER, '', None)], SECRET_KEY, NO_IDENTITY),
    'null-values': (lambda p: [(CERT, None, None), (KEY, None, None)], SECRET_KEY, NO_IDENTITY),
    'placeholder-uuid': (
        lambda p: [(CERT, '', None), (KEY, '', None), (CONSUMER, '00000000-0000-0000-0000-000000000000', None)],
        SECRET_KEY,
        Unusable('absent', 'the controller has no Candlepin consumer (CANDLEPIN_CONSUMER_UUID is all zeros)'),
    ),
    'placeholder-with-stale-pems': (
        lambda p: [*identity_rows(p)[:2], (CONSUMER, '00000000-0000-0000-0000-000000000000', None)],
        'another-controllers-key',  # the stale PEMs are not even decrypted
        Unusable('absent', 'the controller has no Candlepin consumer (CANDLEPIN_CONSUMER_UUID is all zeros)'),
    ),
    'only-the-certificate': (
        lambda p: [(CERT, p['good'][0], ENCRYPT)],
        SECRET_KEY,
        Unusable(
            'unusable',
            'the Candlepin identity is incomplete: no CANDLEPIN_KEY_PEM or CANDLEPIN_CONSUMER_UUID in conf_setting',
        ),
    ),
    'wrong-secret-key': (
        identity_rows,
        'another-controllers-key',
        Unusable('unusable', f'CANDLEPIN_CERT_PEM (conf_setting id {{{CERT}}}): {WRONG_KEY}'),
    ),
    'encrypted-for-another-row': (
        lambda p: [(CERT, p['good'][0], ENCRYPT), (KEY, None, _wrong_row), (CONSUMER, UUID, None)],
        SECRET_KEY,
        Unusable('unusable', f'CANDLEPIN_KEY_PEM (conf_setting id {{{KEY}}}): {WRONG_KEY}'),
    ),
    'truncated-ciphertext': (  # the stored text cut short: its base64 no longer ends where a quantum ends
        lambda p: [(CERT, p['good'][0], ENCRYPT), (KEY, None, _truncated), (CONSUMER, UUID, None)],
        SECRET_KEY,
        Unusable('unusable', f'CANDLEPIN_KEY_PEM (conf_setting id {{{KEY}}}): malformed encrypted value (not base64)'),
    ),
    'truncated-token': (  # cut at a base64 quantum: the token inside is short
        lambda p: [(CERT, p['good'][0], ENCRYPT), (KEY, None, _short_token), (CONSUMER, UUID, None)],
        SECRET_KEY,
        Unusable(
            'unusable',
            f'CANDLEPIN_KEY_PEM (conf_setting id {{{KEY}}}): malformed encrypted value (truncated or not an AWX token)',
        ),
    ),
    'other-cipher': (
        lambda p: [(CERT, '$encrypted$UTF8$RSA$abcd', None), (KEY, p['good'][1], ENCRYPT), (CONSUMER, UUID, None)],
        SECRET_KEY,
        Unusable(
            'unusable',
            f'CANDLEPIN_CERT_PEM (conf_setting id {{{CERT}}}): unsupported encryption algorithm (expected AESCBC)',
        ),
    ),
    'not-encrypted-not-pem': (
        lambda p: [(CERT, 'hello', None), (KEY, p['good'][1], ENCRYPT), (CONSUMER, UUID, None)],
        SECRET_KEY,
        Unusable('unusable', 'CANDLEPIN_CERT_PEM is not a PEM certificate'),
    ),
    'certificate-not-pem': (
        lambda p: [(CERT, 'not a certificate', ENCRYPT), (KEY, p['good'][1], ENCRYPT), (CONSUMER, UUID, None)],
        SECRET_KEY,
        Unusable('unusable', 'CANDLEPIN_CERT_PEM is not a PEM certificate'),
    ),
    'json-object': (
        lambda p: [(CERT, {'pem': p['good'][0]}, None), (KEY, p['good'][1], ENCRYPT), (CONSUMER, UUID, None)],
        SECRET_KEY,
        Unusable('unusable', 'CANDLEPIN_CERT_PEM is not a text value in conf_setting'),
    ),
    'mismatched-key': (
        lambda p: identity_rows(p, key='other'),
        SECRET_KEY,
        Unusable('unusable', 'CANDLEPIN_KEY_PEM is not the key of CANDLEPIN_CERT_PEM'),
    ),
    'expired': (
        lambda p: identity_rows(p, cert='expired', key='expired'),
        SECRET_KEY,
        Unusable('unusable', f'the Candlepin certificate ({SUBJECT}) expired on 2026-01-02T00:00:00+00:00'),
    ),
    'uuid-not-a-uuid': (
        lambda p: identity_rows(p, uuid='consumer-1'),
        SECRET_KEY,
        Unusable('unusable', 'CANDLEPIN_CONSUMER_UUID is not a UUID'),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', list(HOSTILE))
def test_a_hostile_row_is_one_clear_outcome(db, pems, case, caplog):
    rows, secret_key, expected = HOSTILE[case]
    ids = store(db, rows(pems), pems)
    with caplog.at_level(logging.DEBUG):
        result = load(db, secret_key)
    assert result == Unusable(expected.state, expected.reason.format(**{k: ids.get(k) for k in (CERT, KEY)}))
    with db.connect_owner() as conn:
        stored = [v for (v,) in conn.execute("SELECT value::text FROM conf_setting WHERE key LIKE 'CANDLEPIN\\_%'")]
    assert_no_material(' '.join([repr(result), result.reason, caplog.text]), pems, stored)


def assert_no_material(text: str, pems: dict[str, tuple[str, str]], stored: list[str]) -> None:
    """No line of any certificate or key body, no stored ciphertext and no SECRET_KEY in `text`."""
    assert SECRET_KEY not in text
    for cert, key in pems.values():
        for material in (cert, key):
            assert '-----BEGIN' not in text
            assert not [line for line in material.strip().splitlines()[1:-1] if line in text]
    assert not [value for value in stored if len(value) > 40 and value.strip('"')[23:63] in text]


@pytest.mark.hostile
def test_no_conf_setting_table_is_no_identity(db):
    with db.connect_reader() as conn:
        conn.execute('SET search_path TO pg_catalog')
        result = load_controller_identity(conn, SECRET_KEY, NOW)
        assert result == Unusable('absent', 'the controller database has no conf_setting table')
        assert conn.execute('SELECT 1').fetchone() == (1,)  # the session is still usable


@pytest.mark.hostile
def test_a_table_the_role_cannot_read_is_one_clear_reason(db, pems):
    store(db, identity_rows(pems))
    with db.connect_owner() as conn:
        conn.execute(f'REVOKE SELECT ON conf_setting FROM {db.reader}')
    try:
        with db.connect_reader() as conn:
            conn.execute('BEGIN')
            assert load_controller_identity(conn, SECRET_KEY, NOW) == Unusable(
                'unusable',
                'cannot read the Candlepin identity from conf_setting (permission denied for table conf_setting)',
            )
            assert conn.execute('SELECT 1').fetchone() == (1,)
    finally:
        with db.connect_owner() as conn:
            conn.execute(f'GRANT SELECT ON conf_setting TO {db.reader}')


def test_a_good_identity_leaves_no_material_in_logs_or_repr(db, pems, caplog):
    store(db, identity_rows(pems))
    with caplog.at_level(logging.DEBUG):
        identity = load(db)
    assert isinstance(identity, Identity)
    with db.connect_owner() as conn:
        stored = [v for (v,) in conn.execute("SELECT value::text FROM conf_setting WHERE key LIKE 'CANDLEPIN\\_%'")]
    text = ' '.join([repr(identity), str(identity), identity.describe(NOW), caplog.text])
    assert_no_material(text, pems, stored)
