"""Several storages seen as one: the main storage plus read-only additional sources of packages.

Why: `build-report` combines the packages of controllers that ship to different places (two directories, a
directory and a bucket) without copying them. Only packages (`data/…`) are combined. Everything else — rollups,
reports — lives in the main storage alone, so another source's own reports or rollups never shadow ours, and
nothing is ever written to or deleted from an additional source.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from .base import PayloadKind, Storage, StorageError, check_name
from .directory import StorageDirectory

SHARED_AREA = 'data/'


def stat_of(storage: Storage, name: str) -> dict[str, Any]:
    """Size and mtime (directory) or whatever the target's `stat()` tells (e.g. an etag); {} when not cheap."""
    if isinstance(storage, StorageDirectory):
        st = (storage.base_path / check_name(name)).stat()
        return {'size': st.st_size, 'mtime_ns': st.st_mtime_ns}
    stat = getattr(storage, 'stat', None)
    return dict(stat(name)) if callable(stat) else {}


class MultiStorage(Storage):
    """The main storage (`primary`) plus `sources` whose packages are read too.

    A package name present in several storages is read from the first that lists it (the main storage first):
    names are deterministic, so the same name is the same window of the same installation.
    """

    def __init__(self, primary: Storage, sources: Sequence[Storage]) -> None:
        if primary.put_only or any(s.put_only for s in sources):
            raise StorageError('build-report cannot read packages from an upload-only target')
        self.primary = primary
        self.sources = tuple(sources)
        self._globs: dict[str, list[str]] = {}
        self._owner: dict[str, Storage] = {}

    @property
    def all(self) -> tuple[Storage, ...]:
        return (self.primary, *self.sources)

    def describe(self) -> str:
        extra = ', '.join(s.describe() for s in self.sources)
        return f'{self.primary.describe()} (+ read-only packages from {extra})'

    def refresh(self) -> None:
        """Forget the package listings (a long-lived caller that expects new packages in the sources)."""
        self._globs.clear()
        self._owner.clear()

    # reads: packages from every storage, anything else from the main one ------------------------------------------
    def glob(self, pattern: str) -> list[str]:
        """Union over the storages for `data/…` patterns (listed once per build: sources are read-only)."""
        if not pattern.startswith(SHARED_AREA):
            return self.primary.glob(pattern)
        if pattern not in self._globs:
            names: set[str] = set()
            for storage in self.all:
                for name in storage.glob(pattern):
                    self._owner.setdefault(name, storage)
                    names.add(name)
            self._globs[pattern] = sorted(names)
        return list(self._globs[pattern])

    def owner(self, name: str) -> Storage:
        """The storage a name is read from."""
        if not name.startswith(SHARED_AREA):
            return self.primary
        if name not in self._owner:
            found = next((s for s in self.all if s.exists(name)), self.primary)
            self._owner[name] = found
        return self._owner[name]

    def get(self, name: str) -> AbstractContextManager[Path]:
        return self.owner(name).get(name)

    def exists(self, name: str) -> bool:
        if not name.startswith(SHARED_AREA):
            return self.primary.exists(name)
        return any(s.exists(name) for s in self.all)

    def stat(self, name: str) -> dict[str, Any]:
        """What the rollup manifests compare to notice a changed package, from the storage that holds it."""
        return stat_of(self.owner(name), name)

    def list_sizes(self, prefix: str = '') -> dict[str, int]:
        """The main storage's objects only: retention and usage figures never reach into another source."""
        return self.primary.list_sizes(prefix)

    def list_stats(self, prefix: str = '') -> dict[str, tuple[int, datetime | None]]:
        """The main storage's objects only, as `list_sizes`."""
        return self.primary.list_stats(prefix)

    # writes: the main storage only ---------------------------------------------------------------------------------
    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        self.primary.put(name, **{kind: value})
        if name.startswith(SHARED_AREA):
            self._globs.clear()
            self._owner[name] = self.primary

    def remove(self, name: str) -> None:
        """Removes from the main storage only; an additional source is never modified."""
        self.primary.remove(name)
        if name.startswith(SHARED_AREA):
            self._globs.clear()
            self._owner.pop(name, None)
