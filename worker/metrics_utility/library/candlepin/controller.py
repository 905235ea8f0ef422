"""The thin edge: read the controller's Candlepin identity from `conf_setting` (one SELECT) and check it.

Why here and not in gather: the identity is a credential for shipping, read with the same SELECT-only role the
collectors use. A missing table or row is "no identity" (an older controller), never an error; every other failure
is one line in `Unusable.reason`, and the values read never appear in it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .encryption import DecryptionError, decrypt_value, is_encrypted
from .identity import NO_CONSUMER, PLACEHOLDER_UUID, IdentityResult, Unusable, check_identity, utc_now

if TYPE_CHECKING:
    import psycopg

CERT, KEY, CONSUMER = 'CANDLEPIN_CERT_PEM', 'CANDLEPIN_KEY_PEM', 'CANDLEPIN_CONSUMER_UUID'
KEYS = (CERT, KEY, CONSUMER)
_QUERY = 'SELECT key, id, value FROM conf_setting WHERE user_id IS NULL AND key = ANY(%s) ORDER BY modified, id'


def read_secret_key(path: str | Path) -> bytes | Unusable:
    """The controller's SECRET_KEY from a file (the Secret `<controller>-secret-key`, key `secret_key`, mounted as a
    file): its bytes stripped of surrounding whitespace, as AWX reads its own (a key that is not UTF-8 works too);
    or why it cannot be used, naming the path, never the content."""
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        return Unusable('unusable', f"cannot read the controller's SECRET_KEY file {path} ({exc.strerror or exc})")
    if not key:
        return Unusable('unusable', f"the controller's SECRET_KEY file {path} is empty")
    return key


def load_controller_identity(
    conn: psycopg.Connection, secret_key: str | bytes, now: datetime | None = None
) -> IdentityResult:
    """The controller's identity from `conf_setting`, decrypted with `secret_key` and checked at `now`."""
    rows = _read(conn)
    if isinstance(rows, Unusable):
        return rows
    return identity_from_rows(rows, secret_key, now or utc_now())


def load_with_secret_key_file(
    conn: psycopg.Connection, secret_key_file: str | Path, now: datetime | None = None
) -> IdentityResult:
    """`load_controller_identity` with the SECRET_KEY read from `secret_key_file` (CrcSettings'
    `controller_secret_key_file`): an unreadable or empty file is `Unusable` too, so the caller falls back."""
    secret_key = read_secret_key(secret_key_file)
    if isinstance(secret_key, Unusable):
        return secret_key
    return load_controller_identity(conn, secret_key, now)


def _read(conn: psycopg.Connection) -> dict[str, tuple[int, Any]] | Unusable:
    """{key: (row id, value)}, the newest row of each key (as the controller reads its settings)."""
    import psycopg

    try:
        with conn.transaction():  # a savepoint inside an open transaction: a failure leaves the session usable
            rows = conn.execute(_QUERY, (list(KEYS),)).fetchall()
    except psycopg.errors.UndefinedTable:
        return Unusable('absent', 'the controller database has no conf_setting table')
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Unusable('unusable', f'cannot read the Candlepin identity from conf_setting ({first})')
    return {key: (pk, value) for key, pk, value in rows}


def identity_from_rows(rows: dict[str, tuple[int, Any]], secret_key: str | bytes, now: datetime) -> IdentityResult:
    """The pure part of `load_controller_identity`: rows by key → the checked identity or the reason there is none.
    A value may be stored encrypted or plain (AWX's `decrypt_field` passes a plain value through; so do we)."""
    present = {key: rows[key] for key in KEYS if key in rows and rows[key][1] not in (None, '')}
    if not present:
        return Unusable('absent', 'the controller holds no Candlepin identity (no CANDLEPIN_* settings)')
    values: dict[str, str] = {}
    for key in (CONSUMER, CERT, KEY):  # the consumer first: its placeholder means absent, whatever else is stored
        if key not in present:
            continue
        plain = _plain(key, *present[key], secret_key)
        if isinstance(plain, Unusable):
            return plain
        if key == CONSUMER and plain.strip() == PLACEHOLDER_UUID:
            return NO_CONSUMER
        values[key] = plain
    missing = [key for key in KEYS if key not in values]
    if missing:
        return Unusable('unusable', f'the Candlepin identity is incomplete: no {" or ".join(missing)} in conf_setting')
    return check_identity(values[CERT], values[KEY], values[CONSUMER], now)


def _plain(key: str, pk: int, value: Any, secret_key: str | bytes) -> str | Unusable:
    if not isinstance(value, str):
        return Unusable('unusable', f'{key} is not a text value in conf_setting')
    if not is_encrypted(value):
        return value
    try:
        return decrypt_value(value, secret_key, pk)
    except DecryptionError as exc:
        return Unusable('unusable', f'{key} (conf_setting id {pk}): {exc}')
