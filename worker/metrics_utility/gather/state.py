"""Watermarks: per collector, how far data has been shipped ("shipped up to", exclusive).

The store is one small JSON document. It lives with the storage when the target can be read back (directory, S3:
`state/watermarks.json`), or in a local file for put-only targets. Every save replaces the whole document
atomically (temp file + rename, or a single S3 PUT), so a crash leaves either the old or the new state, never a
mix. A watermark only moves forward, and only to the end of a window whose packages the storage confirmed.

Several gathers may share one document (different lock names, the vCPU run, backfill merges), so a save never
writes what it read at the start of its run: it re-reads the document and merges (each collector keeps the later
of both marks) under a lock keyed by the document's location, whatever the gathers' lock names: an exclusive
`flock` on `.<document>.lock` beside a file or directory document (held by an open file, so the kernel drops it
when the holder exits or is killed); on S3 by compare-and-swap (If-Match / If-None-Match conditional writes), and
windows are claimed under a lease object that its holder keeps rewriting (a dead holder's lease runs out).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from metrics_utility.library.errors import MetricsUtilityError
from metrics_utility.library.storage import Storage, StorageError

STATE_OBJECT = 'state/watermarks.json'
FORMAT_VERSION = 1
MAX_DOCUMENT_BYTES = 1 << 20  # a real document is a few hundred bytes; anything this big is not one
LOCK_TIMEOUT = 1800.0  # seconds a gather waits for another one to finish its window on the same state
LEASE_SECONDS = 60.0  # S3: a lock object not rewritten for this long is free (its holder died)
CAS_ATTEMPTS = 20  # S3: re-read and retry when another writer changed the document in between
FUTURE_TOLERANCE = timedelta(hours=1)  # clocks of two pods may differ a little; a mark beyond this is damage
RECOVERY = (
    "fix it, or delete it: the next gather then starts after the packages the target holds or the controller's "
    'AUTOMATION_ANALYTICS_LAST_ENTRIES, else at the look-back horizon (console.redhat.com cannot be listed: it would '
    'receive those windows a second time)'
)


log = logging.getLogger('metrics_utility.gather.state')


class StateError(MetricsUtilityError, RuntimeError):
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

    def absorb(self, other: Watermarks) -> bool:
        """Take every mark of `other` that is later than ours (never moves one back); the first install_uuid
        recorded stays. True when anything changed."""
        changed = False
        for key, until in other.shipped_until.items():
            changed = self.advance(key, until) or changed
        if self.install_uuid is None and other.install_uuid is not None:
            self.install_uuid = other.install_uuid
            changed = True
        return changed

    def adopt(self, stored: Watermarks) -> None:
        """Become the merged document just saved (it holds every mark of ours)."""
        self.shipped_until = dict(stored.shipped_until)
        self.install_uuid = stored.install_uuid

    def check_not_ahead(self, now: datetime, where: str) -> None:
        """A mark later than now would stop its collector for good (every window would start after `until`)."""
        for key, until in sorted(self.shipped_until.items()):
            if until > now + FUTURE_TOLERANCE:
                raise StateError(
                    f'the watermark document {where} is damaged ({_short(key)}: {until.isoformat()} is later than now, '
                    f'{now.isoformat()}; a clock set wrong or an edited document); {RECOVERY}'
                )

    def to_json(self) -> dict[str, Any]:
        return {
            'version': FORMAT_VERSION,
            'install_uuid': self.install_uuid,
            'shipped_until': {k: v.isoformat() for k, v in sorted(self.shipped_until.items())},
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> Watermarks:
        try:
            return cls(*_checked(data))
        except ValueError as exc:
            raise StateError(f'the watermark document {where} is damaged ({exc}); {RECOVERY}') from None

    @classmethod
    def parse(cls, raw: bytes, where: str) -> Watermarks:
        """The document from its bytes; every kind of damage is one StateError naming the document."""
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise StateError(
                f'the watermark document {where} is damaged (larger than {MAX_DOCUMENT_BYTES} bytes); {RECOVERY}'
            )
        try:
            data = json.loads(raw.decode('utf-8'))
        except UnicodeDecodeError:
            raise StateError(f'the watermark document {where} is not UTF-8 text; {RECOVERY}') from None
        except RecursionError:
            raise StateError(f'the watermark document {where} is not JSON (nested too deeply); {RECOVERY}') from None
        except ValueError as exc:  # JSONDecodeError, or an integer beyond Python's digit limit
            raise StateError(f'the watermark document {where} is not JSON ({exc}); {RECOVERY}') from None
        return cls.from_json(data, where)


def _checked(data: Any) -> tuple[dict[str, datetime], str | None]:
    if not isinstance(data, dict):
        raise ValueError(f'expected a JSON object, found {_json_type(data)}')
    if data.get('version') != FORMAT_VERSION:
        raise ValueError(f'unsupported version {_short(data.get("version"))}, expected {FORMAT_VERSION}')
    shipped = data.get('shipped_until')
    if not isinstance(shipped, dict):
        raise ValueError(f'"shipped_until" must be an object of collector: timestamp, found {_json_type(shipped)}')
    marks = {}
    for key, value in shipped.items():
        if not isinstance(value, str):
            raise ValueError(f'{_short(key)}: expected an ISO 8601 timestamp, found {_json_type(value)}')
        try:
            until = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f'{_short(key)}: {_short(value)} is not an ISO 8601 timestamp') from None
        if until.tzinfo is None:
            raise ValueError(f'{_short(key)}: naive timestamp {until.isoformat()} (no time zone)')
        marks[key] = until
    install_uuid = data.get('install_uuid')
    if install_uuid is not None and not isinstance(install_uuid, str):
        raise ValueError(f'"install_uuid" must be a string or null, found {_json_type(install_uuid)}')
    return marks, install_uuid


def _json_type(value: Any) -> str:
    names = {dict: 'an object', list: 'an array', str: 'a string', bool: 'a boolean', type(None): 'null'}
    return names.get(type(value), 'a number')


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + '...'


def lock_path(document: Path) -> Path:
    """The lock file beside a document; hidden, so a directory target never counts or lists it as an object."""
    return document.with_name(f'.{document.name}.lock')


class _ReentrantLock:
    """What both state locks share: re-entrant within one store object (taken on the outermost entry, given back on
    its exit), waiting up to `timeout` seconds polling every `poll`, and the messages naming the document."""

    def __init__(self, where: str, timeout: float, poll: float) -> None:
        self.where = where
        self.timeout = timeout
        self.poll = poll
        self._mutex = threading.RLock()
        self._depth = 0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._mutex:
            if self._depth == 0:
                self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()

    def _acquire(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def _timed_out(self) -> StateError:
        return StateError(
            f'the watermark document {self.where} stayed locked by another gather for '
            f'{self.timeout:.0f}s; only one gather at a time can ship to one target or state path'
        )

    def _unlockable(self, reason: object) -> StateError:
        return StateError(f'cannot lock the watermark document {self.where}: {reason}')


class LocationLock(_ReentrantLock):
    """Exclusive lock on one state location, shared by every gather whatever its advisory lock name.

    `flock` on `.<document>.lock`: the lock belongs to the open file, so a killed holder never leaves it taken. The
    holder removes the file before letting go, and a waiter that then holds a removed file retries on the current
    one, so a file exists only while the lock is held, or after its holder was killed (then it is free to take).
    Re-entrant within one store object; other store objects, threads and processes wait (up to `timeout` seconds,
    then StateError).
    """

    def __init__(self, path: Path, where: str, timeout: float = LOCK_TIMEOUT, poll: float = 0.05) -> None:
        super().__init__(where, timeout, poll)
        self.path = path
        self._fd: int | None = None

    def _acquire(self) -> None:
        self._fd = self._locked_fd()

    def _release(self) -> None:
        """Remove the file while still holding it (waiters notice and retry), then let go."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def _locked_fd(self) -> int:
        started = time.monotonic()
        while True:
            fd = self._open()
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() - started >= self.timeout:
                            raise self._timed_out() from None
                        time.sleep(self.poll)
                if self._still_linked(fd):
                    return fd
            except OSError as exc:
                os.close(fd)
                raise self._unlockable(exc.strerror or exc) from exc
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the holder removed this file while we waited: lock the one that is there now

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise self._unlockable(exc.strerror or exc) from exc

    def _still_linked(self, fd: int) -> bool:
        try:
            now, held = os.stat(self.path), os.fstat(fd)
        except FileNotFoundError:
            return False
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


class S3Lease(_ReentrantLock):
    """Exclusive lease on one S3 state location: the object `.<document>.lock` beside it, created only if absent
    (If-None-Match) and rewritten every `lease / 3` seconds by a thread while held. A holder that stopped rewriting
    it for `lease` seconds by the server's clock (killed, or cut off) has lost it: the next one takes it over by
    compare-and-swap. Re-entrant within one store object, like LocationLock.
    """

    def __init__(
        self,
        storage: Any,
        name: str,
        where: str,
        timeout: float = LOCK_TIMEOUT,
        lease: float = LEASE_SECONDS,
        poll: float = 0.5,
    ) -> None:
        super().__init__(where, timeout, poll)
        self.storage = storage
        self.name = name
        self.lease = lease
        self._etag: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _acquire(self) -> None:
        body = json.dumps({'holder': f'{uuid.uuid4()}', 'lease_seconds': self.lease}).encode()
        started = time.monotonic()
        try:
            while True:
                tag = self.storage.put_if_unchanged(self.name, body, None)
                if tag is None:
                    held = self.storage.age(self.name)
                    if held is None:
                        continue  # released in between: try again at once
                    if held[1] > self.lease:  # its holder stopped renewing: take it over
                        tag = self.storage.put_if_unchanged(self.name, body, held[0])
                if tag is not None:
                    break
                if time.monotonic() - started >= self.timeout:
                    raise self._timed_out()
                time.sleep(self.poll)
        except StorageError as exc:
            raise self._unlockable(exc) from exc
        self._etag = tag
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, args=(body,), name='state-lease', daemon=True)
        self._renewer.start()

    def _renew(self, body: bytes) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                tag = self.storage.put_if_unchanged(self.name, body, self._etag)
            except StorageError as exc:
                log.warning('cannot renew the lock of %s (%s); trying again', self.where, exc)
                continue
            if tag is None:
                log.error('lost the lock of %s to another gather (not renewed for %.0fs)', self.where, self.lease)
                self._etag = None
                return
            self._etag = tag

    def _release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        if self._etag is not None:  # still ours: remove it (a lost lease belongs to its new holder)
            with contextlib.suppress(StorageError):
                self.storage.remove(self.name)
            self._etag = None


class StorageStateStore:
    """Watermarks kept in the storage itself (directory: file lock beside it; S3: lease object, compare-and-swap)."""

    def __init__(self, storage: Storage, name: str = STATE_OBJECT, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.storage = storage
        self.name = name
        base = getattr(storage, 'base_path', None)
        self._path = None if base is None else Path(base) / name
        self._lock: LocationLock | S3Lease | None = None
        if self._path is not None:
            self._lock = LocationLock(lock_path(self._path), self.describe(), lock_timeout)
        elif hasattr(storage, 'put_if_unchanged'):
            self._lock = S3Lease(storage, lock_path(Path(name)).as_posix(), self.describe(), lock_timeout)

    def describe(self) -> str:
        return f'{self.storage.describe()}/{self.name}'

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Exclusive while a window is claimed, shipped and recorded (S3: a lease object; saves there are CAS)."""
        return self._lock() if self._lock is not None else contextlib.nullcontext()

    def load(self) -> Watermarks:
        tagged = self._read()
        return Watermarks() if tagged is None else Watermarks.parse(tagged[0], self.describe())

    def save(self, marks: Watermarks) -> None:
        """Merge `marks` into the stored document (re-read under the lock / by CAS) and update `marks` to the result."""
        if hasattr(self.storage, 'put_if_unchanged'):
            return self._save_cas(marks)
        with self.locked():
            stored = self.load()
            if stored.absorb(marks):
                try:
                    self.storage.put(self.name, dict=stored.to_json())
                except StorageError as exc:
                    raise StateError(f'cannot save watermarks to {self.describe()}: {exc}') from exc
            marks.adopt(stored)

    def _save_cas(self, marks: Watermarks) -> None:
        for attempt in range(CAS_ATTEMPTS):
            tagged = self._read()
            stored = Watermarks() if tagged is None else Watermarks.parse(tagged[0], self.describe())
            if not stored.absorb(marks):
                marks.adopt(stored)
                return
            data = json.dumps(stored.to_json(), indent=2).encode()
            try:
                stored_now = self.storage.put_if_unchanged(self.name, data, None if tagged is None else tagged[1])
            except StorageError as exc:
                raise StateError(f'cannot save watermarks to {self.describe()}: {exc}') from exc
            if stored_now:
                marks.adopt(stored)
                return
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # another writer won: spread the retries
        raise StateError(
            f'cannot save watermarks to {self.describe()}: it changed under every one of '
            f'{CAS_ATTEMPTS} attempts (other writers keep replacing it)'
        )

    def _read(self) -> tuple[bytes, str | None] | None:
        try:
            if hasattr(self.storage, 'read_tagged'):
                return self.storage.read_tagged(self.name)
            if not self.storage.exists(self.name):
                if self._path is not None and os.path.lexists(self._path):  # a directory or a dangling link
                    raise StateError(f'cannot read watermarks from {self.describe()}: not a regular file')
                return None
            with self.storage.get(self.name) as path, open(path, 'rb') as stream:
                return stream.read(MAX_DOCUMENT_BYTES + 1), None
        except StorageError as exc:
            raise StateError(f'cannot read watermarks from {self.describe()}: {exc}') from exc
        except OSError as exc:
            raise StateError(f'cannot read watermarks from {self.describe()}: {exc.strerror or exc}') from exc


class FileStateStore:
    """Watermarks in a local file (put-only targets): atomic replace with fsync, merged under `.<file>.lock`."""

    def __init__(self, path: str | Path, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self._lock = LocationLock(lock_path(self.path), str(self.path), lock_timeout)

    def describe(self) -> str:
        return str(self.path)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return self._lock()

    def load(self) -> Watermarks:
        try:
            with open(self.path, 'rb') as stream:
                raw = stream.read(MAX_DOCUMENT_BYTES + 1)
        except FileNotFoundError:
            if os.path.lexists(self.path):  # a dangling link: not a missing document
                raise StateError(f'cannot read watermarks from {self.path}: not a regular file') from None
            return Watermarks()
        except OSError as exc:
            raise StateError(f'cannot read watermarks from {self.path}: {exc.strerror}') from exc
        return Watermarks.parse(raw, str(self.path))

    def save(self, marks: Watermarks) -> None:
        """Merge `marks` into the file (re-read under the lock) and update `marks` to the result."""
        with self.locked():
            stored = self.load()
            if stored.absorb(marks):
                self._write(stored)
            marks.adopt(stored)

    def _write(self, marks: Watermarks) -> None:
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
