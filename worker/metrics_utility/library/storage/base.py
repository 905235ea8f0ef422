"""The Storage interface shared by every target (directory, S3, console.redhat.com, Segment, …).

Object names are relative POSIX paths such as `data/2024/02/29/<uuid>-…-job_host_summary.tar.gz`. They are
deterministic, so storing the same window twice overwrites instead of duplicating. `glob` patterns use `*`, `?` and
`[…]` within one path segment (a `*` never crosses a `/`), the same on every target.

Put-only targets (console.redhat.com, Segment) raise `PutOnlyStorageError` from every read operation, so a caller
learns at once that it cannot, for example, build a report from them.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from metrics_utility.library.errors import MetricsUtilityError


class StorageError(MetricsUtilityError):
    """A storage operation failed; the message names the target and the object."""


class PutOnlyStorageError(StorageError, NotImplementedError):
    """The target only accepts uploads (it cannot list, read or delete)."""


def check_name(name: str) -> str:
    """Refuse names that could escape the storage root or are not plain relative paths."""
    if not name or name.startswith('/') or '\\' in name:
        raise StorageError(f'invalid object name {name!r}: expected a relative path like data/2024/01/31/x.tar.gz')
    normal = posixpath.normpath(name)
    if normal != name or normal.startswith('..') or '/../' in f'/{normal}/':
        raise StorageError(f'invalid object name {name!r}: no ".", ".." or empty path segments allowed')
    return name


def matches(name: str, pattern: str) -> bool:
    """True when `name` matches `pattern` segment by segment (`*` does not cross `/`)."""
    parts, wanted = name.split('/'), pattern.split('/')
    return len(parts) == len(wanted) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted, strict=True))


def literal_prefix(pattern: str) -> str:
    """The part of `pattern` before its first wildcard segment (a listing prefix for object stores)."""
    fixed = []
    for segment in pattern.split('/'):
        if any(c in segment for c in '*?['):
            break
        fixed.append(segment)
    return '/'.join(fixed)


PayloadKind = Literal['dict', 'filename', 'fileobj']
ALL_PAYLOADS: frozenset[PayloadKind] = frozenset(('dict', 'filename', 'fileobj'))


def payload(dict: Any | None, filename: str | Path | None, fileobj: IO[bytes] | None) -> tuple[PayloadKind, Any]:
    """Validate put()'s exactly-one-of arguments; returns ('dict'|'filename'|'fileobj', the value as given)."""
    given = [(k, v) for k, v in (('dict', dict), ('filename', filename), ('fileobj', fileobj)) if v is not None]
    if len(given) != 1:
        raise TypeError('put() takes exactly one of dict=, filename= or fileobj=')
    kind, value = given[0]
    return kind, value


def document_bytes(document: Any) -> bytes:
    """A dict= payload as stored in a file: indented JSON with sorted keys, so the same data gives the same bytes."""
    return json.dumps(document, indent=2, sort_keys=True, default=str).encode('utf-8')


class Storage(ABC):
    """Where packages and reports go. Implementations raise StorageError (never return False) on failure."""

    put_only: bool = False
    #: The payload kinds this target stores; put() refuses the others with `_refused_payload`'s message.
    accepts: frozenset[PayloadKind] = ALL_PAYLOADS

    def put(
        self,
        name: str,
        *,
        dict: Any | None = None,
        filename: str | Path | None = None,
        fileobj: IO[bytes] | None = None,
    ) -> None:
        """Store one object, replacing any object of the same name; returns only once the target confirmed it.

        Exactly one of `dict=` (a JSON document), `filename=` (a local file) or `fileobj=` (a binary stream). The
        checks every target shares run here once; `_store` does the target's part.
        """
        kind, value = payload(dict, filename, fileobj)
        check_name(name)
        if kind not in self.accepts:
            raise StorageError(self._refused_payload(name, kind))
        self._store(name, kind, value)

    def _refused_payload(self, name: str, kind: PayloadKind) -> str:
        return f'{self.describe()} does not accept {kind}= payloads, for {name}'

    @abstractmethod
    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        """Write one payload of a kind in `accepts` under an already checked name; raise StorageError on failure."""

    @abstractmethod
    def get(self, name: str) -> AbstractContextManager[Path]:
        """Context manager yielding a local file with the object's content (removed afterwards if temporary)."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def remove(self, name: str) -> None:
        """Delete an object; deleting a missing object is not an error."""

    @abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """Names matching `pattern`, sorted."""

    def describe(self) -> str:
        """A short, secret-free description for logs and summaries (e.g. 'directory /data')."""
        return type(self).__name__

    def list_sizes(self, prefix: str = '') -> dict[str, int]:
        """Every object below `prefix` (any depth) with its size in bytes: what retention and usage figures need.

        Targets that can list (directory, S3) override it; the others cannot report what they store.
        """
        raise StorageError(f'{self.describe()} cannot list stored objects and their sizes')

    def list_stats(self, prefix: str = '') -> dict[str, tuple[int, datetime | None]]:
        """Every object below `prefix` with its size and last-modified time (UTC; None when the target cannot tell):
        what report and package listings show. Defaults to `list_sizes` without times."""
        return {name: (size, None) for name, size in self.list_sizes(prefix).items()}


class PutOnlyStorage(Storage):
    """Base for upload-only targets: reads raise PutOnlyStorageError naming the target."""

    put_only = True

    def _refuse(self, operation: str) -> PutOnlyStorageError:
        return PutOnlyStorageError(f'{self.describe()} only accepts uploads; {operation} is not possible there')

    def get(self, name: str) -> AbstractContextManager[Path]:
        raise self._refuse('get')

    def exists(self, name: str) -> bool:
        raise self._refuse('exists')

    def remove(self, name: str) -> None:
        raise self._refuse('remove')

    def glob(self, pattern: str) -> list[str]:
        raise self._refuse('glob')

    def list_sizes(self, prefix: str = '') -> dict[str, int]:
        raise self._refuse('listing')


def iter_chunks(fileobj: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := fileobj.read(size):
        yield chunk
