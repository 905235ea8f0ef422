"""Tarball and object names, compatible with metrics-utility's directory/S3 layout.

A package of the window [since, until) is named
`<install_uuid>-<since YYYY-MM-DD-HHMMSS+0000>-<until …>-<index>-<key>.tar.gz` and stored as
`data/<YYYY>/<MM>/<DD>/<name>` with the date of `since`, so the report builder's per-day listing finds it. Unlike
metrics-utility, `index` is the package's position in the run (never a count of files in a temp directory), so
packaging the same window again produces the same names and a re-ship overwrites instead of duplicating.

Readers also meet metrics-utility's historical variants: names without a key suffix (releases <= 0.6.0), the
unspecific keys `unknown` and `config`, and (listed by metrics-utility's extractor) names without the window
`<install_uuid>-<index>[-<key>].tar.gz`. Such a tarball must be opened to learn what it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from metrics_utility.library.instants import require_aware

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
_WINDOWLESS_NAME = re.compile(
    rf'^(?P<install_uuid>.+?)-(?P<index>\d+)(?:-(?P<key>[a-z][a-z0-9_]*))?{re.escape(SUFFIX)}$'
)
UNSPECIFIC_KEYS = frozenset({'unknown', 'config'})  # keys in names that do not say which collection is inside
METADATA_KEYS = frozenset({'config', 'data_collection_status', 'manifest'})  # members every package has


class NamingError(ValueError):
    """A name part cannot be used in an object name (the message names the part)."""


@dataclass(frozen=True)
class TarballName:
    """The parts of a package name (`name` is the base name as read).

    `key` is the suffix as written (None for metrics-utility <= 0.6.0 names, `…-<index>.tar.gz`); `since` and
    `until` are None only for windowless names, which only `parse_tarball_name(..., windowless=True)` accepts.
    """

    name: str
    install_uuid: str
    since: datetime | None
    until: datetime | None
    index: int
    key: str | None

    @property
    def collection_key(self) -> str | None:
        """The collector key the name proves, or None when the name does not say (`unknown`, `config`, no key)."""
        return None if self.key in UNSPECIFIC_KEYS else self.key

    def may_hold(self, keys: frozenset[str] | None) -> bool:
        """False only when the name proves the tarball holds none of `keys` (None = every key). The name says
        nothing about the metadata members, which every package has (config, data collection status)."""
        key = self.collection_key
        return keys is None or key is None or key in keys or bool(keys & METADATA_KEYS)


def _utc(name: str, value: datetime) -> datetime:
    return require_aware(name, value, NamingError)


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


def day_prefix(day: date | datetime) -> str:
    """`data/YYYY/MM/DD`: the folder of a window's packages (for a datetime, the UTC date of the window's `since`)."""
    if isinstance(day, datetime):
        day = _utc('since', day).date()
    return f'data/{day:%Y/%m/%d}'


def object_name(install_uuid: str, since: datetime, until: datetime, index: int, key: str) -> str:
    """Where package `index` of a window is stored: `data/YYYY/MM/DD/<tarball name>`."""
    return f'{day_prefix(since)}/{tarball_name(install_uuid, since, until, index, key)}'


def window_glob(install_uuid: str, since: datetime, until: datetime) -> str:
    """A Storage.glob pattern for every package of one window, whatever its index and key.

    A caller re-shipping a window uses it to remove objects a previous run left behind that this run did not
    overwrite (fewer packages than before, or a different key in a name).
    """
    return f'{day_prefix(since)}/{check_install_uuid(install_uuid)}-{format_instant(since)}-{format_instant(until)}-*'


def parse_tarball_name(name: str, *, windowless: bool = False) -> TarballName | None:
    """The parts of a package file name (a path is allowed), or None when it is not a package name.

    With `windowless`, names without the window (`<install_uuid>-<index>[-<key>].tar.gz`) are packages too, with
    `since` and `until` None: a reader lists them, a caller that needs the window does not.
    """
    base = name.rsplit('/', 1)[-1]
    match = _NAME.match(base)
    if match is not None:
        since = datetime.strptime(match['since'], INSTANT_FORMAT).astimezone(UTC)
        until = datetime.strptime(match['until'], INSTANT_FORMAT).astimezone(UTC)
        return TarballName(base, match['install_uuid'], since, until, int(match['index']), match['key'])
    match = _WINDOWLESS_NAME.match(base) if windowless else None
    if match is None:
        return None
    return TarballName(base, match['install_uuid'], None, None, int(match['index']), match['key'])
