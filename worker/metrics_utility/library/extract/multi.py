"""Packages of several installations (install_uuid) in one storage view: who is there, and what each one is.

Why: a report over several controllers keeps one set of daily rollups per installation, so adding or removing a
source never invalidates another installation's rollups, and the per-installation sheet can name each controller
(URL and version from its packages' `config.json`).
"""

from __future__ import annotations

import hashlib
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from metrics_utility.library.package.naming import day_prefix, parse_tarball_name
from metrics_utility.library.package.verify import PackageVerificationError, read_package
from metrics_utility.library.storage import Storage, StorageError
from metrics_utility.library.storage.base import PayloadKind
from metrics_utility.library.storage.multi import SHARED_AREA, stat_of

from .extractor import days

_SAFE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,99}')


def namespace(install: str) -> str:
    """A path segment for an installation's rollups: the uuid itself, or a digest of an odd name prefix."""
    if _SAFE.fullmatch(install) and install not in ('.', '..'):
        return install
    return 'x-' + hashlib.sha256(install.encode('utf-8')).hexdigest()[:16]


def installation_rollups(install: str) -> str:
    """Where one installation's daily rollups live in the main storage."""
    return f'rollups/installations/{namespace(install)}'


class InstallationView(Storage):
    """The packages of one installation (tarball name prefix) of `storage`; every other object passes through."""

    def __init__(self, storage: Storage, install: str) -> None:
        self.storage = storage
        self.install = install

    def describe(self) -> str:
        return f'{self.storage.describe()} [installation {self.install}]'

    def glob(self, pattern: str) -> list[str]:
        names = self.storage.glob(pattern)
        if not pattern.startswith(SHARED_AREA):
            return names
        parsed = ((name, parse_tarball_name(name, windowless=True)) for name in names)
        return [name for name, p in parsed if p is not None and p.install_uuid == self.install]

    def get(self, name: str) -> AbstractContextManager[Path]:
        return self.storage.get(name)

    def exists(self, name: str) -> bool:
        return self.storage.exists(name)

    def stat(self, name: str) -> dict[str, Any]:
        return stat_of(self.storage, name)

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        self.storage.put(name, **{kind: value})

    def remove(self, name: str) -> None:
        self.storage.remove(name)

    def list_sizes(self, prefix: str = '') -> dict[str, int]:
        return self.storage.list_sizes(prefix)


def installations(storage: Storage, since: date, until: date) -> list[str]:
    """The installations (tarball name prefixes, i.e. install_uuids) with packages between `since` and `until`."""
    found: set[str] = set()
    for day in days(since, until):
        for name in storage.glob(f'{day_prefix(day)}/*.tar.gz'):
            parsed = parse_tarball_name(name, windowless=True)
            if parsed is not None:
                found.add(parsed.install_uuid)
    return sorted(found)


@dataclass(frozen=True)
class Controller:
    """What the per-installation sheet tells about one installation (blank when its packages do not say)."""

    install_uuid: str
    url: str = ''
    version: str = ''


def read_config(path: Path) -> dict[str, Any]:
    """`config.json` of a package that passes verification, else {} (its problem is on the status sheet already)."""
    try:
        config = read_package(path).config
    except PackageVerificationError:
        return {}
    return config if isinstance(config, dict) else {}


def controllers(storage: Storage, since: date, until: date) -> dict[str, Controller]:
    """install_uuid → Controller, from the latest package of each installation in the period.

    A package whose config cannot be read leaves the URL and version blank: this sheet is informative, the
    problems of unreadable packages are already on the data collection status sheet.
    """
    latest: dict[str, str] = {}
    for day in days(since, until):
        for name in storage.glob(f'{day_prefix(day)}/*.tar.gz'):
            parsed = parse_tarball_name(name, windowless=True)
            if parsed is not None:
                latest[parsed.install_uuid] = name
    out: dict[str, Controller] = {}
    for prefix, name in sorted(latest.items()):
        try:
            with storage.get(name) as path:
                config = read_config(path)
        except StorageError:
            config = {}
        uuid = config.get('install_uuid') if isinstance(config.get('install_uuid'), str) else None
        uuid = uuid or prefix
        out[uuid] = Controller(
            uuid, str(config.get('controller_url_base') or ''), str(config.get('controller_version') or '')
        )
    return out
