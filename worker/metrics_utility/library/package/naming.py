"""Tarball and object names, compatible with metrics-utility's directory/S3 layout.

A package of the window [since, until) is named
`<install_uuid>-<since YYYY-MM-DD-HHMMSS+0000>-<until …>-<index>-<key>.tar.gz` and stored as
`data/<YYYY>/<MM>/<DD>/<name>` with the date of `since`, so the report builder's per-day listing finds it. Unlike
metrics-utility, `index` is the package's position in the run (never a count of files in a temp directory), so
packaging the same window again produces the same names and a re-ship overwrites instead of duplicating.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SUFFIX = '.tar.gz'
INSTANT_FORMAT = '%Y-%m-%d-%H%M%S%z'
KEY_PATTERN = re.compile(r'^[a-z][a-z0-9_]*$')
# Install uuids are normally RFC 4122 text; anything that is safe as one object-name segment is accepted.
INSTALL_UUID_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._]*(?:-[A-Za-z0-9._]+)*$')
_INSTANT = r'\d{4}-\d{2}-\d{2}-\d{6}[+-]\d{4}'
_NAME = re.compile(
    rf'^(?P<install_uuid>.+?)-(?P<since>{_INSTANT})-(?P<until>{_INSTANT})-(?P<index>\d+)(?:-(?P<key>[a-z][a-z0-9_]*))?'
    rf'{re.escape(SUFFIX)}$'
)


class NamingError(ValueError):
    """A name part cannot be used in an object name (the message names the part)."""


@dataclass(frozen=True)
class TarballName:
    """The parts of a package name; `key` is None for metrics-utility ≤ 0.6.0 names (`…-<index>.tar.gz`)."""

    install_uuid: str
    since: datetime
    until: datetime
    index: int
    key: str | None

    def __str__(self) -> str:
        return tarball_name(self.install_uuid, self.since, self.until, self.index, self.key or 'unknown')


def _utc(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise NamingError(f'{name} must be a timezone-aware datetime, got {value!r}')
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """`2024-02-29-000000+0000`: the form metrics-utility puts in names (always UTC)."""
    return _utc('instant', value).strftime(INSTANT_FORMAT)


def check_install_uuid(value: str) -> str:
    if not isinstance(value, str) or not INSTALL_UUID_PATTERN.match(value):
        raise NamingError(f'install_uuid {value!r} cannot be used in object names: expected text like a UUID')
    return value


def check_key(value: str) -> str:
    if not isinstance(value, str) or not KEY_PATTERN.match(value):
        raise NamingError(f'collector key {value!r} must match {KEY_PATTERN.pattern}')
    return value


def tarball_name(install_uuid: str, since: datetime, until: datetime, index: int, key: str) -> str:
    """The file name of package `index` (0-based) of one window."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise NamingError(f'index must be a whole number >= 0, got {index!r}')
    return (
        f'{check_install_uuid(install_uuid)}-{format_instant(since)}-{format_instant(until)}-{index}-{check_key(key)}'
        f'{SUFFIX}'
    )


def day_prefix(since: datetime) -> str:
    """`data/YYYY/MM/DD`: the folder of a window's packages (the UTC date of `since`)."""
    return _utc('since', since).strftime('data/%Y/%m/%d')


def object_name(install_uuid: str, since: datetime, until: datetime, index: int, key: str) -> str:
    """Where package `index` of a window is stored: `data/YYYY/MM/DD/<tarball name>`."""
    return f'{day_prefix(since)}/{tarball_name(install_uuid, since, until, index, key)}'


def window_glob(install_uuid: str, since: datetime, until: datetime) -> str:
    """A Storage.glob pattern for every package of one window, whatever its index and key.

    A caller re-shipping a window uses it to remove objects a previous run left behind that this run did not
    overwrite (fewer packages than before, or a different key in a name).
    """
    return f'{day_prefix(since)}/{check_install_uuid(install_uuid)}-{format_instant(since)}-{format_instant(until)}-*'


def parse_tarball_name(name: str) -> TarballName | None:
    """The parts of a package file name (a path is allowed), or None when it is not a package name."""
    match = _NAME.match(name.rsplit('/', 1)[-1])
    if match is None:
        return None
    since = datetime.strptime(match['since'], INSTANT_FORMAT).astimezone(UTC)
    until = datetime.strptime(match['until'], INSTANT_FORMAT).astimezone(UTC)
    return TarballName(match['install_uuid'], since, until, int(match['index']), match['key'])
