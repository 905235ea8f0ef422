"""`metrics-utility candlepin register|renew` (also metrics-utility 0.8's name `candlepin_manage`): manage a
Candlepin consumer identity when the controller has none.

Why: mutual TLS to console.redhat.com needs a consumer certificate; a controller without one (or a standalone
install) gets one here. `register` creates a consumer with the Red Hat login (basic auth) in the organization given
or the user's only one, and keeps certificate, key and UUID in the local store; `renew` checks in with that
certificate and regenerates it when it expires within `METRICS_UTILITY_CANDLEPIN_RENEWAL_DAYS`. Every failure is one
line and an exit code (2: configuration, 1: Candlepin or the store failed); a password, key or certificate never
reaches the output.
"""

from __future__ import annotations

import argparse
import socket
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from metrics_utility.commands import failed, upstream_options
from metrics_utility.contract import PREFIX
from metrics_utility.library.candlepin.store import Identity, IdentityStore, StoreError, not_after
from metrics_utility.library.errors import MetricsUtilityError
from metrics_utility.library.secret import Secret
from metrics_utility.settings.environment import process_environment
from metrics_utility.settings.messages import ConfigError

if TYPE_CHECKING:  # the HTTP client (requests) is imported when the command runs
    from metrics_utility.library.candlepin.client import CandlepinClient
    from metrics_utility.library.storage.http import RetryPolicy
    from metrics_utility.settings.candlepin import CandlepinSettings

NAME = 'candlepin'
ALIAS = 'candlepin_manage'
PROG = f'metrics-utility {NAME}'

# flag → the variable it replaces (metrics-utility's flags of the same meaning)
FLAGS = {
    '--username': f'{PREFIX}RH_USERNAME',
    '--password': f'{PREFIX}RH_PASSWORD',
    '--org': f'{PREFIX}CANDLEPIN_ORG',
    '--candlepin-url': f'{PREFIX}CANDLEPIN_URL',
    '--candlepin-ca': f'{PREFIX}CANDLEPIN_CA',
    '--proxy': f'{PREFIX}PROXY_URL',
}


class IdentityError(MetricsUtilityError):
    """The local store cannot be used (unreadable, incomplete, a certificate without an expiry)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        NAME,
        aliases=[ALIAS],
        help='register or renew a Candlepin consumer identity (docs/upstream.md)',
        description='register: create a Candlepin consumer and store its certificate; renew: check in and regenerate '
        'the certificate near its expiry. Exit 0 done, 1 Candlepin or the store failed, 2 bad configuration.',
    )
    actions = parser.add_subparsers(dest='candlepin_action', metavar='ACTION', required=True)
    for action in ('register', 'renew'):
        sub = actions.add_parser(action, help=f'{action} the consumer identity')
        for flag in FLAGS if action == 'register' else list(FLAGS)[3:]:
            sub.add_argument(flag, help=f'replaces {FLAGS[flag]}')
        sub.add_argument('--force', action='store_true', help='register again / regenerate whatever the expiry')
        sub.add_argument('--dry-run', action='store_true', help='say what would be done; change nothing')
        upstream_options.add(sub)
        sub.set_defaults(func=run)


def run(
    args: argparse.Namespace,
    env: dict[str, str] | None = None,
    *,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
) -> int:
    from metrics_utility.library.candlepin.client import CandlepinClient
    from metrics_utility.settings.candlepin import candlepin_settings

    for warning in upstream_options.warnings(args):
        sys.stderr.write(f'{PROG}: warning: {warning}\n')
    values = dict(process_environment() if env is None else env)
    for flag, variable in FLAGS.items():
        given = getattr(args, flag[2:].replace('-', '_'), None)
        if given is not None:
            values[variable] = given
    if values.get(FLAGS['--password']):
        Secret(values[FLAGS['--password']])  # known to the redaction before anything can echo it
    try:
        problems: list[str] = []
        settings = candlepin_settings(values, problems)
        if problems:
            raise ConfigError(problems)
        client = CandlepinClient(
            settings.url,
            ca_bundle=settings.ca_bundle,
            proxy_url=settings.proxy_url,
            retry=retry,
            ca_setting=settings.ca_variable,
        )
        when = now or datetime.now(UTC)
        if args.candlepin_action == 'register':
            line = register(settings, client, force=args.force, dry_run=args.dry_run, now=when)
        else:
            line = renew(settings, client, force=args.force, dry_run=args.dry_run, now=when)
    except MetricsUtilityError as error:
        return failed(PROG, error)
    print(line)
    return 0


def register(settings: CandlepinSettings, client: CandlepinClient, *, force: bool, dry_run: bool, now: datetime) -> str:
    if not settings.registration_enabled:
        raise ConfigError([f'{PREFIX}CANDLEPIN_REGISTRATION_ENABLED is false: registration is switched off'])
    if not (settings.username and settings.password):
        raise ConfigError(
            [f'{PREFIX}RH_USERNAME and {PREFIX}RH_PASSWORD (or --username/--password): both are needed to register']
        )
    store = IdentityStore(settings.cert_dir)
    existing = _read(store)
    if existing and not force:
        return (
            f'consumer {existing.uuid} is already registered in {settings.cert_dir}; nothing done (--force registers '
            'a new one)'
        )
    org = settings.org or _only_org(client.owners(settings.username, settings.password), settings.username)
    if dry_run:
        return f'dry run: would register a consumer in organization {org!r} at {settings.url}'
    identity = client.register(org, settings.username, settings.password, socket.gethostname() or 'metrics-utility')
    expiry = _expiry(identity.cert_pem, 'the certificate Candlepin issued')
    _write(store, identity)
    return (
        f'registered consumer {identity.uuid} in organization {org!r}; certificate valid until {expiry:%Y-%m-%d}; '
        f'stored in {settings.cert_dir}'
    )


def renew(settings: CandlepinSettings, client: CandlepinClient, *, force: bool, dry_run: bool, now: datetime) -> str:
    if not settings.lifecycle_enabled:
        raise ConfigError([f'{PREFIX}CANDLEPIN_LIFECYCLE_ENABLED is false: check-in and renewal are switched off'])
    store = IdentityStore(settings.cert_dir)
    identity = _read(store)
    if identity is None:
        raise IdentityError(f'no identity in {settings.cert_dir}; run `{PROG} register` first')
    expiry = _expiry(identity.cert_pem, f'the stored certificate in {settings.cert_dir}')
    if expiry <= now:  # Candlepin accepts no expired certificate, not even to regenerate it
        raise IdentityError(
            f'the certificate of consumer {identity.uuid} in {settings.cert_dir} expired on {expiry:%Y-%m-%d}; '
            f'register again with `{PROG} register --force`'
        )
    days = (expiry - now).total_seconds() / 86400
    due = force or days <= settings.renewal_days
    if dry_run:
        return f'dry run: would check in consumer {identity.uuid}' + (' and regenerate its certificate' if due else '')
    client.checkin(identity.uuid, store.paths())
    if not due:
        return (
            f'checked in consumer {identity.uuid}; certificate valid until {expiry:%Y-%m-%d} ({int(days)} days), '
            f'regenerated within {settings.renewal_days} days of expiry'
        )
    fresh = client.regenerate(identity.uuid, store.paths())
    new_expiry = _expiry(fresh.cert_pem, 'the certificate Candlepin regenerated')
    _write(store, fresh)
    return f'checked in consumer {identity.uuid}; certificate regenerated, valid until {new_expiry:%Y-%m-%d}'


def _only_org(orgs: list[str], username: str) -> str:
    from metrics_utility.library.candlepin.client import CandlepinError

    if len(orgs) == 1:
        return orgs[0]
    if not orgs:
        raise CandlepinError(f'{username} may register in no organization; ask an organization administrator')
    shown = ', '.join(repr(o) for o in orgs[:10]) + (f' and {len(orgs) - 10} more' if len(orgs) > 10 else '')
    raise ConfigError(
        [f'{username} belongs to {len(orgs)} organizations ({shown}): choose one in {PREFIX}CANDLEPIN_ORG']
    )


def _expiry(cert_pem: str, what: str) -> datetime:
    try:
        return not_after(cert_pem)
    except ValueError as exc:
        raise IdentityError(f'{what} cannot be read: {exc}') from None


def _read(store: IdentityStore) -> Identity | None:
    try:
        return store.read()
    except StoreError as exc:
        raise IdentityError(str(exc)) from None


def _write(store: IdentityStore, identity: Identity) -> None:
    try:
        store.write(identity)
    except StoreError as exc:
        raise IdentityError(str(exc)) from None
