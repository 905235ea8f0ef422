"""The controller's Candlepin consumer identity: the client certificate an AAP controller keeps for console.redhat.com.

Use: `load_controller_identity(conn, secret_key, now=None) -> IdentityResult` reads `CANDLEPIN_CERT_PEM`,
`CANDLEPIN_KEY_PEM` and `CANDLEPIN_CONSUMER_UUID` from `conf_setting` with one SELECT (the SELECT-only role
suffices), decrypts AWX's `$encrypted$` values with the controller's `SECRET_KEY` (text or bytes;
`read_secret_key(path)` reads it from a file, e.g. METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE) and checks the
result. It returns either

- `Identity(cert_pem, key_pem: Secret, consumer_uuid, subject, not_after)`: usable now; `remaining(now)` says how
  long it has left, `describe(now)` is a loggable line; `key_pem.reveal()` only where the TLS context needs it; or
- `Unusable(state, reason)`: `state` is `absent` (no table, no rows, the all-zero placeholder consumer) or
  `unusable` (a value fails to decrypt or a check); `reason` is one line, safe for logs, summaries and status.

`load_with_secret_key_file(conn, path, now=None)` does both steps (an unreadable SECRET_KEY file is `Unusable`).
It never raises for bad data and never puts PEM content, ciphertext or the SECRET_KEY into a reason or repr.

For the upload (`library.storage.crc_identity`), an `Identity` becomes
`ClientIdentity(identity.cert_pem, identity.key_pem.reveal(), 'controller')`; an `Unusable` is logged by its
`reason` and the upload uses the service account.

Modules: `encryption` (AWX's field decryption, pure), `identity` (the checks, pure), `controller` (the reader).
"""

from metrics_utility.library.lazy import lazy_exports

_WHERE = {
    'load_controller_identity': '.controller',
    'load_with_secret_key_file': '.controller',
    'read_secret_key': '.controller',
    'DecryptionError': '.encryption',
    'decrypt_value': '.encryption',
    'PLACEHOLDER_UUID': '.identity',
    'Identity': '.identity',
    'IdentityResult': '.identity',
    'Unusable': '.identity',
    'check_identity': '.identity',
}
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)  # names imported on first use: `store` alone is light
__all__ = sorted(_WHERE)
