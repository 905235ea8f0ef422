"""Build the storage target, the watermark store and the packager a gather needs from its settings."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from metrics_utility.library.collectors import Collector
from metrics_utility.library.package import Package
from metrics_utility.library.slicing import Window
from metrics_utility.library.storage import Storage

from .runner import PackagedFile, Packager
from .settings import GatherSettings
from .state import FileStateStore, StorageStateStore


class CollectorFailedError(RuntimeError):
    """A collector of the window failed inside the package build; the window is not shipped."""


def storage_for(settings: GatherSettings) -> Storage | None:
    """The configured target (imported lazily: S3 and console.redhat.com pull in their HTTP stacks)."""
    target = settings.ship_target
    if target in ('directory', 's3'):
        return settings.ship.storage()
    if target == 'crc':
        crc = settings.crc
        if crc['client_cert']:
            from metrics_utility.library.storage.crc_mutual import StorageCRCMutual

            return StorageCRCMutual(crc['ingress_url'], crc['proxy_url'], (crc['client_cert'], crc['client_key']),
                                    crc['ca_bundle'])  # fmt: skip
        from metrics_utility.library.storage.crc import StorageCRC

        return StorageCRC(crc['client_id'], crc['client_secret'].reveal(), crc['ingress_url'], crc['proxy_url'],
                          crc['sso_url'], crc['ca_bundle'])  # fmt: skip
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
        return {'ship_path': settings.ship_path, 'bucket_name': s3.bucket, 'bucket_endpoint': s3.endpoint,
                'bucket_region': s3.region}  # fmt: skip
    if settings.ship_target == 'crc':
        return {k: settings.crc[k] for k in ('billing_provider', 'billing_account_id', 'red_hat_org_id')}
    return {}


def packager_for(settings: GatherSettings, keep_in: Path | None = None) -> Packager:
    """A packager building metrics-utility-compatible tarballs; with `keep_in` (dry run) they stay there."""
    options: dict[str, Any] = {'billing_provider_params': billing_provider_params(settings)}
    if settings.compression:
        options['compression'] = settings.compression
    if settings.package_max_bytes:
        options['max_data_size'] = settings.package_max_bytes

    def package(collectors: list[Collector], config: dict[str, Any], window: Window,
                workdir: Path) -> Iterable[PackagedFile]:  # fmt: skip
        out = keep_in or Path(tempfile.mkdtemp(prefix='packages-', dir=workdir))
        out.mkdir(parents=True, exist_ok=True)
        built = Package(config=config, collectors=collectors, since=window.since, until=window.until, output_dir=out,
                        install_uuid=config.get('install_uuid'), **options)  # fmt: skip
        files = list(built.build())
        failed = [run for run in built.runs if not run.ok]
        if failed:
            for item in files:
                item.path.unlink(missing_ok=True)
            raise CollectorFailedError(f'{failed[0].key} failed: {failed[0].error or failed[0].error_type}')
        rows = sum(run.rows or 0 for run in built.runs)
        unreadable = sum(run.unreadable for run in built.runs)
        return [PackagedFile(f.path, f.object_name, rows if i == 0 else 0, f.path.stat().st_size,
                             _file_records(built, f.index), unreadable if i == 0 else 0)
                for i, f in enumerate(files)]  # fmt: skip

    return package


def _file_records(built: Package, index: int) -> tuple[dict[str, Any], ...]:
    """What each data file of package `index` holds (the KPI documents are built from it)."""
    return tuple(
        {'collector': run.key, 'file': f.name, 'part': f.part, 'parts': f.parts, 'rows': f.rows, 'size': f.size,
         'sha256': f.sha256, 'elapsed': round(run.elapsed, 3), 'status': run.status}
        for run in built.runs for f in run.files if f.package == index
    )  # fmt: skip
