"""Watermarks: per collector, how far data has been shipped ("shipped up to", exclusive).

The store is one small JSON document. It lives with the storage when the target can be read back (directory, S3:
`state/watermarks.json`), or in a local file for put-only targets. Every save replaces the whole document
atomically (temp file + rename, or a single S3 PUT), so a crash leaves either the old or the new state, never a
mix. A watermark only moves forward, and only to the end of a window whose packages the storage confirmed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from metrics_utility.library.storage import Storage, StorageError

STATE_OBJECT = 'state/watermarks.json'
FORMAT_VERSION = 1


class StateError(RuntimeError):
    """The watermark document cannot be read or written."""


@dataclass
class Watermarks:
    """In-memory view of the state document."""

    shipped_until: dict[str, datetime] = field(default_factory=dict)
    install_uuid: str | None = None

    def get(self, key: str) -> datetime | None:
        return self.shipped_until.get(key)

    def advance(self, key: str, until: datetime) -> bool:
        """Move `key` forward to `until`; never backwards. True when it moved."""
        current = self.shipped_until.get(key)
        if current is not None and until <= current:
            return False
        self.shipped_until[key] = until
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            'version': FORMAT_VERSION,
            'install_uuid': self.install_uuid,
            'shipped_until': {k: v.isoformat() for k, v in sorted(self.shipped_until.items())},
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> Watermarks:
        try:
            if data.get('version') != FORMAT_VERSION:
                raise ValueError(f'unsupported version {data.get("version")!r}')
            marks = {k: _aware(datetime.fromisoformat(v)) for k, v in data['shipped_until'].items()}
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StateError(
                f'the watermark document {where} is damaged ({exc}); fix or delete it (deleting it makes the next '
                'gather start again from the look-back horizon; already shipped windows are overwritten, not '
                'duplicated)'
            ) from None
        return cls(marks, data.get('install_uuid'))


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f'naive timestamp {value.isoformat()}')
    return value


class StorageStateStore:
    """Watermarks kept in the storage itself (directory, S3)."""

    def __init__(self, storage: Storage, name: str = STATE_OBJECT) -> None:
        self.storage = storage
        self.name = name

    def describe(self) -> str:
        return f'{self.storage.describe()}/{self.name}'

    def load(self) -> Watermarks:
        try:
            if not self.storage.exists(self.name):
                return Watermarks()
            with self.storage.get(self.name) as path:
                text = Path(path).read_text(encoding='utf-8')
        except StorageError as exc:
            raise StateError(f'cannot read watermarks from {self.describe()}: {exc}') from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(f'the watermark document {self.describe()} is not JSON ({exc})') from None
        return Watermarks.from_json(data, self.describe())

    def save(self, marks: Watermarks) -> None:
        try:
            self.storage.put(self.name, dict=marks.to_json())
        except StorageError as exc:
            raise StateError(f'cannot save watermarks to {self.describe()}: {exc}') from exc


class FileStateStore:
    """Watermarks in a local file (put-only targets): atomic replace with fsync."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def load(self) -> Watermarks:
        try:
            text = self.path.read_text(encoding='utf-8')
        except FileNotFoundError:
            return Watermarks()
        except OSError as exc:
            raise StateError(f'cannot read watermarks from {self.path}: {exc.strerror}') from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(f'the watermark document {self.path} is not JSON ({exc})') from None
        return Watermarks.from_json(data, str(self.path))

    def save(self, marks: Watermarks) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f'.{self.path.name}.', dir=self.path.parent)
            with os.fdopen(fd, 'w', encoding='utf-8') as out:
                json.dump(marks.to_json(), out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
            raise StateError(f'cannot save watermarks to {self.path}: {exc.strerror or exc}') from exc
