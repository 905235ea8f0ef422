"""Wiring a gather from its settings: the storage target, the watermark store, the packager, the database
connection, the collectors' own parameters and the optional scale steps, handed to `runner.run` as one `Wired`."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from metrics_utility.contract import PREFIX
from metrics_utility.library import instants
from metrics_utility.library.collectors import Collector
from metrics_utility.library.errors import MetricsUtilityError, SetupError
from metrics_utility.library.package import Package
from metrics_utility.library.slicing import Window
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.settings.gather import GatherSettings

from . import backfill, runner, scale_steps
from .runner import GatherRequest, PackagedFile, Packager, StateStore
from .state import FileStateStore, StorageStateStore
from .summary import RunSummary

log = logging.getLogger('metrics_utility.gather')

if TYPE_CHECKING:  # the console.redhat.com modules are imported lazily (their HTTP stack)
    from metrics_utility.library.storage.crc import StorageCRC
    from metrics_utility.library.storage.crc_identity import ClientIdentity


@dataclass
class Wired:
    """Everything one gather run needs, built from settings before any connection."""

    request: GatherRequest
    connect: Callable[[], psycopg.Connection]  # the working sessions (a shard's hold the gather lock shared)
    connect_exclusive: Callable[[], psycopg.Connection]  # plain sessions (the backfill merge takes the lock itself)
    packager: Packager
    storage: Storage | None
    state: StateStore | None
    steps: scale_steps.ScaleSteps
    second: Storage | None = None  # the second target (console.redhat.com), fed by a step of `steps`

    def run(self, summary: RunSummary, progress: Callable[[str], None]) -> RunSummary:
        """One gather with these parts (`runner.run`); the summary says which identity console.redhat.com took."""
        try:
            return runner.run(
                self.request,
                self.connect,
                self.packager,
                self.storage,
                self.state,
                summary,
                self.steps,
                progress=progress,
            )
        finally:
            summary.crc = crc_identity_used(self.storage) or crc_identity_used(self.second) or summary.crc


def wire(
    settings: GatherSettings,
    *,
    ship: bool,
    keep: Path | None,
    shard: backfill.Shard | None,
    since: datetime | None,
    until: datetime | None,
    identity: ClientIdentity | None = None,
    cert_url: str | None = None,
) -> Wired:
    """The run's parts; a target or step that cannot be set up raises `SetupError` (exit 2). `identity` is a client
    certificate console.redhat.com uploads try first (e.g. the controller's own), before the service account;
    `cert_url` replaces the `cert.` host the ingress URL is rewritten to for it (tests: a second local server)."""
    crc, unusable = settings.crc, None
    uploads = ship and 'crc' in (settings.ship_target, settings.secondary_target)
    if identity is None and uploads and crc is not None and crc.candlepin_enabled:
        identity, unusable = controller_identity(settings)
    try:
        storage = storage_for(settings, identity, cert_url, unusable) if ship else None
        state = state_store_for(settings, storage) if ship else None
    except (StorageError, ValueError, OSError) as exc:
        raise SetupError(f'cannot set up {settings.ship_target}: {_reason(exc)}') from None
    try:  # the second target uploads with the same identity as a crc primary would
        second = (
            crc_storage(settings, identity, cert_url, unusable) if ship and settings.secondary_target == 'crc' else None
        )
    except (StorageError, ValueError) as exc:
        raise SetupError(f'cannot set up the secondary target crc: {_reason(exc)}') from None
    connect = connector(settings)
    try:
        target = settings.ship_target if ship else None
        steps = scale_steps.build(
            settings, storage, shard, ship, since, until, target, secondary=second, connect=connect
        )
    except StorageError as exc:
        raise SetupError(str(exc)) from None
    request = GatherRequest(
        collectors=settings.collectors,
        since=since,
        until=until,
        max_days=settings.max_days,
        ship=ship,
        save_watermarks=steps.save_watermarks,
        lock_name=steps.lock_name,
        collector_params=collector_params(settings),
        parallelism=settings.parallelism,
    )
    opener = scale_steps.shared_lock(connect, settings.lock_name) if shard is not None else connect
    return Wired(request, opener, connect, packager_for(settings, keep), storage, state, steps, second)


def connector(settings: GatherSettings) -> Callable[[], psycopg.Connection]:
    """Opens a session on the controller database."""
    db = settings.db

    def connect() -> psycopg.Connection:
        # Read-only sessions: even a bug could not write to the controller database.
        return psycopg.connect(
            host=db.host,
            port=db.port,
            dbname=db.dbname,
            user=db.user,
            password=db.password.reveal() or None,
            sslmode=db.sslmode,
            application_name='metrics-utility',
            connect_timeout=15,
            options='-c default_transaction_read_only=on',
        )

    return connect


def collector_params(config: GatherSettings) -> dict[str, dict]:
    """Parameters of collectors beyond a window's (`RunContext`): the vCPU collector's Prometheus settings, the
    install type config.json records."""
    params: dict[str, dict] = {}
    if config.vcpu:
        vcpu = {
            'cluster_name': config.vcpu.cluster_name,
            'metering_enabled': config.vcpu.metering_enabled,
            'prometheus_url': config.vcpu.prometheus_url,
        }
        if config.vcpu.token_file:
            vcpu['bearer_token_file'] = config.vcpu.token_file
        if config.vcpu.ca_bundle:
            vcpu['ca_bundle'] = config.vcpu.ca_bundle
        params['total_workers_vcpu'] = vcpu
    params['config'] = {'install_type': config.platform.install_type}
    return params


def _reason(exc: Exception) -> str:
    """One line for an error: its first line, or the OS's words (a path the OS refuses, e.g. too long)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 500 else text[:500] + '…'


class CollectorFailedError(MetricsUtilityError, RuntimeError):
    """A collector of the window failed inside the package build; the window is not shipped."""


def controller_identity(settings: GatherSettings) -> tuple[ClientIdentity | None, str | None]:
    """The controller's own Candlepin identity (METRICS_UTILITY_CANDLEPIN_ENABLED), read with one SELECT and the
    controller's SECRET_KEY: (identity, None), or (None, why not) with one warning (the service account, when
    configured, then uploads)."""
    from metrics_utility.library.candlepin import Identity, load_with_secret_key_file
    from metrics_utility.library.storage.crc_identity import ClientIdentity

    crc = settings.crc
    assert crc is not None
    then = 'the service account uploads' if _service_account(settings) else 'no service account is configured'
    try:
        with connector(settings)() as conn:
            result = load_with_secret_key_file(conn, crc.controller_secret_key_file)
    except psycopg.Error as exc:
        why = f"the controller's Candlepin identity could not be read ({_reason(exc)})"
        log.warning('%s; %s', why, then)
        return None, why
    if not isinstance(result, Identity):
        why = f"the controller's Candlepin identity is not used: {result.reason}"
        log.warning('%s; %s', why, then)
        return None, why
    log.info("console.redhat.com: the controller's Candlepin identity, %s", result.describe(instants.now()))
    return ClientIdentity(
        result.cert_pem, result.key_pem.reveal(), 'controller', result.subject, result.not_after
    ), None


def storage_for(
    settings: GatherSettings,
    identity: ClientIdentity | None = None,
    cert_url: str | None = None,
    unusable: str | None = None,
) -> Storage | None:
    """The configured target (imported lazily: S3 and console.redhat.com pull in their HTTP stacks)."""
    target = settings.ship_target
    if target in ('directory', 's3'):
        return settings.ship.storage()
    if target == 'crc':
        return crc_storage(settings, identity, cert_url, unusable)
    return None


def _service_account(settings: GatherSettings) -> StorageCRC | None:
    """The service-account target when one is configured (the only identity, or a certificate's fallback)."""
    crc = settings.crc
    if crc is None or not crc.client_id or crc.client_secret is None:
        return None
    from metrics_utility.library.storage.crc import StorageCRC

    return StorageCRC(
        crc.client_id, crc.client_secret.reveal(), crc.ingress_url, crc.proxy_url, crc.sso_url, crc.ca_bundle
    )


def crc_storage(
    settings: GatherSettings,
    identity: ClientIdentity | None = None,
    cert_url: str | None = None,
    unusable: str | None = None,
) -> Storage:
    """console.redhat.com from the crc variables: a client certificate first (`identity`, e.g. the controller's,
    else the CRC_CLIENT_CERT/KEY files) over mutual TLS to the `cert.` host, with the service account (when
    configured) as its fallback; else the service account alone. With neither (`unusable` says why the controller's
    identity is missing), every upload fails with that reason: the windows stay unconfirmed, nothing is lost."""
    from metrics_utility.library.storage.crc_identity import NoIdentity, StorageCRCIdentity, load_client_identity

    crc = settings.crc
    assert crc is not None  # the settings load the crc group whenever crc is a target
    if identity is None and crc.client_cert and crc.client_key:
        identity = load_client_identity(crc.client_cert, crc.client_key)
    fallback = _service_account(settings)
    if identity is not None:
        return StorageCRCIdentity(
            identity, crc.ingress_url, crc.proxy_url, crc.ca_bundle, fallback=fallback, cert_url=cert_url
        )
    if fallback is not None:
        return fallback
    return NoIdentity(
        f'{unusable or "no client certificate"}, and no service account is configured '
        f'({PREFIX}SERVICE_ACCOUNT_ID/_SECRET) to fall back to'
    )


def crc_identity_used(storage: Storage | None) -> dict[str, Any] | None:
    """The summary's `crc` block (contract.SUMMARY_CRC_FIELDS) once a console.redhat.com upload was tried."""
    from metrics_utility.library.storage.crc import StorageCRC
    from metrics_utility.library.storage.crc_identity import IdentityUsed, NoIdentity, StorageCRCIdentity
    from metrics_utility.library.storage.crc_mutual import StorageCRCMutual

    if isinstance(storage, StorageCRCIdentity | NoIdentity) and storage.identity_used is not None:
        return storage.identity_used.to_json()
    if isinstance(storage, StorageCRC | StorageCRCMutual) and storage.last_upload is not None:
        return IdentityUsed('service-account' if isinstance(storage, StorageCRC) else 'certificate').to_json()
    return None


def state_store_for(settings: GatherSettings, storage: Storage | None):
    if settings.state_path is not None:
        return FileStateStore(settings.state_path)
    if storage is not None and not storage.put_only:
        return StorageStateStore(storage)
    return None


def billing_provider_params(settings: GatherSettings) -> dict[str, Any]:
    """What config.json says about the target: identifiers only, never credentials (metrics-utility leaked S3 keys)."""
    if settings.ship_target == 'directory':
        return {'ship_path': settings.ship_path}
    if settings.ship_target == 's3':
        s3 = settings.ship.s3
        return {
            'ship_path': settings.ship_path,
            'bucket_name': s3.bucket,
            'bucket_endpoint': s3.endpoint,
            'bucket_region': s3.region,
        }
    if settings.ship_target == 'crc':
        crc = settings.crc
        return {
            'billing_provider': crc.billing_provider,
            'billing_account_id': crc.billing_account_id,
            'red_hat_org_id': crc.red_hat_org_id,
        }
    return {}


def packager_for(settings: GatherSettings, keep_in: Path | None = None) -> Packager:
    """A packager building metrics-utility-compatible tarballs; with `keep_in` (dry run) they stay there."""
    options: dict[str, Any] = {'billing_provider_params': billing_provider_params(settings)}
    if settings.compression:
        options['compression'] = settings.compression
    if settings.package_max_bytes:
        options['max_data_size'] = settings.package_max_bytes

    def package(
        collectors: list[Collector], config: dict[str, Any], window: Window, workdir: Path
    ) -> Iterable[PackagedFile]:
        out = keep_in or Path(tempfile.mkdtemp(prefix='packages-', dir=workdir))
        out.mkdir(parents=True, exist_ok=True)
        built = Package(
            config=config,
            collectors=collectors,
            since=window.since,
            until=window.until,
            output_dir=out,
            install_uuid=config.get('install_uuid'),
            **options,
        )
        files = list(built.build())
        failed = [run for run in built.runs if not run.ok]
        if failed:
            for item in files:
                item.path.unlink(missing_ok=True)
            raise CollectorFailedError(f'{failed[0].key} failed: {failed[0].error or failed[0].error_type}')
        rows = sum(run.rows or 0 for run in built.runs)
        unreadable = sum(run.unreadable for run in built.runs)
        return [
            PackagedFile(
                f.path,
                f.object_name,
                rows if i == 0 else 0,
                f.path.stat().st_size,
                _file_records(built, f.index),
                unreadable if i == 0 else 0,
            )
            for i, f in enumerate(files)
        ]

    return package


def _file_records(built: Package, index: int) -> tuple[dict[str, Any], ...]:
    """What each data file of package `index` holds (the KPI documents are built from it)."""
    return tuple(
        {
            'collector': run.key,
            'file': f.name,
            'part': f.part,
            'parts': f.parts,
            'rows': f.rows,
            'size': f.size,
            'sha256': f.sha256,
            'elapsed': round(run.elapsed, 3),
            'status': run.status,
        }
        for run in built.runs
        for f in run.files
        if f.package == index
    )
