"""Tarball names in the storage layout, including metrics-utility's historical variants (reference §7.6).

`<install_uuid>-<since>-<until>-<index>-<key>.tar.gz` names its data collection; `-unknown`, `-config` and names
without a key suffix (releases ≤0.6.0) do not, so such a tarball must be opened to learn what it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STAMP = r'\d{4}-\d{2}-\d{2}-\d{6}[+-]\d{4}'
_NAME = re.compile(
    rf'^(?P<prefix>.+?)-(?P<since>{_STAMP})-(?P<until>{_STAMP})-(?P<index>\d+)(?:-(?P<key>[a-z][a-z0-9_]*))?\.tar\.gz$'
)
_GENERIC = re.compile(r'^(?P<prefix>.+?)-(?P<index>\d+)(?:-(?P<key>[a-z][a-z0-9_]*))?\.tar\.gz$')
UNSPECIFIC = frozenset({'unknown', 'config'})


@dataclass(frozen=True)
class TarballName:
    """What a tarball's name tells: its collector key (None when the name does not say) and install uuid prefix."""

    name: str
    prefix: str
    key: str | None

    def may_hold(self, keys: frozenset[str] | None) -> bool:
        """False only when the name proves the tarball holds none of `keys` (None = every key). The name says
        nothing about the metadata members, which every package has (config, data collection status)."""
        return keys is None or self.key is None or self.key in keys or bool(keys & METADATA_KEYS)


METADATA_KEYS = frozenset({'config', 'data_collection_status', 'manifest'})


def parse(name: str) -> TarballName | None:
    """Parse a tarball's base name; None when it is not a package at all (e.g. a stray file)."""
    base = name.rsplit('/', 1)[-1]
    match = _NAME.match(base) or _GENERIC.match(base)
    if match is None:
        return None
    key = match.group('key')
    return TarballName(base, match.group('prefix'), None if key in UNSPECIFIC else key)
