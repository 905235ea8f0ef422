"""A local (or mounted PVC) directory as storage, with atomic writes."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .base import PayloadKind, Storage, StorageError, check_name, document_bytes, iter_chunks, matches


class StorageDirectory(Storage):
    """Objects are files below `base_path`.

    Writes go to a temporary file in the destination folder, are flushed to disk, then renamed over the final name,
    so a reader (or a crash) never sees a half-written object. `get` yields the stored file itself (no copy): treat
    it as read-only.
    """

    def __init__(self, base_path: str | Path) -> None:
        self.base_path = Path(base_path)

    def describe(self) -> str:
        return f'directory {self.base_path}'

    def _path(self, name: str) -> Path:
        return self.base_path / check_name(name)

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        target = self._path(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Temp files of an earlier write of this name that was killed (writers of one name never overlap:
            # gathers hold an advisory lock).
            for stale in target.parent.glob(f'.{glob.escape(target.name)}.*.part'):
                stale.unlink(missing_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f'.{target.name}.', suffix='.part', dir=target.parent)
        except OSError as exc:
            raise StorageError(f'cannot write {name} to {self.describe()}: {exc.strerror or exc}') from exc
        try:
            with os.fdopen(fd, 'wb') as out:
                if kind == 'dict':
                    out.write(document_bytes(value))
                elif kind == 'filename':
                    with open(value, 'rb') as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                else:
                    for chunk in iter_chunks(value):
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StorageError(f'cannot write {name} to {self.describe()}: {exc.strerror or exc}') from exc
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def get(self, name: str) -> Iterator[Path]:
        path = self._path(name)
        if not path.is_file():
            raise StorageError(f'{name} not found in {self.describe()}')
        yield path

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()

    def glob(self, pattern: str) -> list[str]:
        if not self.base_path.is_dir():
            return []
        names = (p.relative_to(self.base_path).as_posix() for p in self.base_path.glob(pattern) if p.is_file())
        return sorted(n for n in names if matches(n, pattern) and not n.rsplit('/', 1)[-1].startswith('.'))

    def list_stats(self, prefix: str = '') -> dict[str, tuple[int, datetime | None]]:
        """Files below `prefix` with size and modification time (UTC), hidden files excepted."""
        root = self.base_path / prefix if prefix else self.base_path
        if not root.is_dir():
            return {}
        stats: dict[str, tuple[int, datetime | None]] = {}
        for path in root.rglob('*'):
            if path.name.startswith('.'):
                continue
            try:
                st = path.stat()
            except (FileNotFoundError, OSError):  # removed while listing, or unreadable
                continue
            if stat.S_ISREG(st.st_mode):
                modified = datetime.fromtimestamp(st.st_mtime, UTC)
                stats[path.relative_to(self.base_path).as_posix()] = (st.st_size, modified)
        return dict(sorted(stats.items()))

    def list_sizes(self, prefix: str = '') -> dict[str, int]:
        """Files below `prefix` with their sizes; hidden files (temporary `.part` writes) are not objects."""
        root = self.base_path / prefix if prefix else self.base_path
        if not root.is_dir():
            return {}
        sizes = {}
        for path in root.rglob('*'):
            if path.name.startswith('.') or not path.is_file():
                continue
            try:
                sizes[path.relative_to(self.base_path).as_posix()] = path.stat().st_size
            except FileNotFoundError:  # removed while listing
                continue
        return dict(sorted(sizes.items()))
