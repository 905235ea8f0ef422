"""`credentials_service` on real PostgreSQL: upstream's columns, SQL truth per window, no secret ever, hostile rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from metrics_utility.demo.generator import CREDENTIALS
from metrics_utility.library.collectors.controller import credentials_service

from .conftest import FULL, LEAP_DAY, header_of, read_csv

# metrics-utility 0.8: metrics_utility/library/collectors/controller/credentials_service.py (SELECT list).
UPSTREAM_COLUMNS = ['credential_type']
SECRETS = [value.encode() for *_, inputs in CREDENTIALS for value in inputs.values()]


def truth(conn, since: datetime, until: datetime) -> list[str]:
    """Managed type names of the credentials of jobs finished in the window, worked out in Python from raw rows."""
    rows = conn.execute(
        'SELECT u.finished, t.name, t.managed FROM main_unifiedjob_credentials uc '
        'JOIN main_unifiedjob u ON u.id = uc.unifiedjob_id JOIN main_credential c ON c.id = uc.credential_id '
        'JOIN main_credentialtype t ON t.id = c.credential_type_id'
    ).fetchall()
    return sorted({name for finished, name, managed in rows if managed and finished and since <= finished < until})


@pytest.mark.parametrize('window', [FULL, LEAP_DAY], ids=['full', 'leap-day'])
def test_managed_types_of_finished_jobs_as_the_reader(reader_conn, gather, window):
    files = gather(credentials_service, db=reader_conn, since=window[0], until=window[1])
    assert header_of(files[0]) == UPSTREAM_COLUMNS
    got = [r['credential_type'] for r in read_csv(files)]
    assert got == truth(reader_conn, *window) == ['Amazon Web Services', 'Machine']


def test_no_credential_input_and_no_custom_type_is_exported(reader_conn, gather):
    files = gather(credentials_service, db=reader_conn, since=FULL[0], until=FULL[1])
    data = files[0].read_bytes()
    assert SECRETS and not [s for s in SECRETS if s in data]
    assert b'Acme Internal Vault' not in data and b'$encrypted$' not in data  # the custom type was used, not shipped
    used = reader_conn.execute('SELECT count(*) FROM main_unifiedjob_credentials WHERE credential_id = 3').fetchone()
    assert used[0] > 0


def test_empty_window_writes_no_file(reader_conn, gather):
    assert (
        gather(
            credentials_service,
            db=reader_conn,
            since=datetime(2019, 1, 1, tzinfo=UTC),
            until=datetime(2019, 1, 2, tzinfo=UTC),
        )
        == []
    )


SINCE, UNTIL = datetime(2024, 2, 28, 12, tzinfo=UTC), datetime(2024, 2, 28, 13, tzinfo=UTC)
INSIDE = datetime(2024, 2, 28, 12, 30, tzinfo=UTC)
HOSTILE = [
    # (id, type name, managed, job finished, exact CSV body after the header or None for no file)
    ('quote-comma-newline', 'Vault "prod",\nEU', True, INSIDE, b'"Vault ""prod"",\nEU"\n'),
    ('control-chars', 'Tok\x01en\x1b[0m\t', True, INSIDE, b'Tok\x01en\x1b[0m\t\n'),
    ('longest-name', 'N' * 512, True, INSIDE, b'N' * 512 + b'\n'),
    ('empty-name', '', True, INSIDE, b'""\n'),
    ('custom-type-left-out', 'Secret Corp Token', False, INSIDE, None),
    ('job-still-running', 'Machine X', True, None, None),
    ('finished-at-since', 'Machine X', True, SINCE, b'Machine X\n'),
    ('finished-at-until', 'Machine X', True, UNTIL, None),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('name', 'managed', 'finished', 'body'), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_rows(scratch_db, gather, name, managed, finished, body):
    secret = '$encrypted$UTF8$AESCBC$hostile-secret'
    with scratch_db.connect_owner() as conn:
        conn.execute('DELETE FROM main_unifiedjob_credentials')
        type_id = conn.execute(
            'INSERT INTO main_credentialtype (created, modified, description, name, kind, managed, inputs, injectors) '
            "VALUES (now(), now(), '', %s, 'cloud', %s, '{}', '{}') RETURNING id",
            (name, managed),
        ).fetchone()[0]
        cred_id = conn.execute(
            'INSERT INTO main_credential (created, modified, description, name, inputs, managed, credential_type_id) '
            "VALUES (now(), now(), '', 'hostile', jsonb_build_object('password', %s::text), false, %s) RETURNING id",
            (secret, type_id),
        ).fetchone()[0]
        job_id = conn.execute('SELECT min(id) FROM main_unifiedjob').fetchone()[0]
        conn.execute('UPDATE main_unifiedjob SET finished = %s WHERE id = %s', (finished, job_id))
        conn.execute(
            'INSERT INTO main_unifiedjob_credentials (unifiedjob_id, credential_id) VALUES (%s, %s)', (job_id, cred_id)
        )
    with scratch_db.connect_reader() as conn:
        files = gather(credentials_service, db=conn, since=SINCE, until=UNTIL)
    if body is None:
        assert files == []
    else:
        data = files[0].read_bytes()
        assert data == b'credential_type\n' + body and secret.encode() not in data
