"""The next window's collection, running while the current window is packaged and shipped.

A window's work is collect (database: COPY streams), then package (client: digest, tar, gzip), then ship (storage).
Done strictly one after another, the database idles while the client packages and the client idles while the
database works. Here every collection runs on one background thread, one at a time and in the runner's order, so the
database sessions are used exactly as before (never two collections at once: the number of working sessions stays
the setting), while the runner's thread packages and ships the window before. `Package` receives the collector as a
`Collector` whose `gather()` hands over the background result (its files, or its exception, raised there as if the
collector had raised), so packaging, failure recording and clean-up are unchanged.

What the runner guarantees stays: watermarks advance only after a window was shipped, in order, by the runner's
thread; a collection started ahead whose window is then not gathered as planned (its collector failed before, or
another gather shipped part of it meanwhile) is waited for and its files removed: nothing of it is shipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metrics_utility.library.collectors import Collector

log = logging.getLogger('metrics_utility.gather')


@dataclass
class _Collection:
    """One collector's `gather()` on the background thread: its result or its exception once `done` is set."""

    key: str
    since: datetime | None
    until: datetime | None
    collector: Collector
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None

    started: datetime | None = None
    elapsed: float = 0.0

    def run(self) -> None:
        self.started, began = datetime.now(UTC), time.perf_counter()
        try:
            self.result = self.collector.gather()
        except BaseException as exc:  # handed to the runner's thread by `handed_over`
            self.error = exc
        finally:
            self.elapsed = time.perf_counter() - began
            self.done.set()

    def handed_over(self, **_: Any) -> Any:
        """The background result, as `Collector.gather` would have returned or raised it."""
        began = time.perf_counter()
        self.done.wait()
        log.debug('%s: packaging waited %.3f s for its collection', self.key, time.perf_counter() - began)
        if self.error is not None:
            raise self.error
        return self.result

    def discard(self) -> None:
        """Wait for the collection, then remove the files it returned (never packaged)."""
        self.done.wait()
        if isinstance(self.result, list | tuple):
            for path in self.result:
                if isinstance(path, str | Path):
                    Path(path).unlink(missing_ok=True)


class _HandOver:
    """A taken collection as a collector function: `Package` calls it for the result and reads `ran` (when the
    collection started, how long it took) so `data_collection_status.csv` keeps the collector's own time."""

    def __init__(self, collection: _Collection) -> None:
        self._collection = collection

    def __call__(self, **params: Any) -> Any:
        return self._collection.handed_over(**params)

    @property
    def ran(self) -> tuple[datetime, float] | None:
        collection = self._collection
        return None if collection.started is None else (collection.started, collection.elapsed)


class Prefetch:
    """Collections on one background thread, in the order they are started (`ahead`, `take`); see the module doc."""

    def __init__(self) -> None:
        self._queue: list[_Collection] = []  # started, not taken: what `take` may hand over
        self._todo: list[_Collection] = []  # started, not yet running
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def take(
        self, key: str, since: datetime | None, until: datetime | None, build: Callable[[], Collector]
    ) -> Collector:
        """The collector of this window for `Package`: the one started ahead when it is this window, else a new one
        (any other started ahead is discarded first, so collections never overlap)."""
        ahead = self._pending()
        if ahead is not None and (ahead.key, ahead.since, ahead.until) == (key, since, until):
            return self._handing(ahead)
        self.discard()
        return self._handing(self._start(key, since, until, build()))

    def ahead(self, key: str, since: datetime | None, until: datetime | None, build: Callable[[], Collector]) -> None:
        """Start this window's collection after the ones already started (the runner's next window). A collector
        that cannot even be built is left to `take`, which raises where that window is gathered."""
        try:
            collector = build()
        except Exception:
            return
        self._start(key, since, until, collector)

    def discard(self) -> None:
        """Wait for every collection started and not taken, and remove its files."""
        while (pending := self._pending()) is not None:
            with self._ready:
                self._queue.remove(pending)
            pending.discard()

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Discard what was not taken and end the background thread."""
        try:
            self.discard()
        finally:
            with self._ready:
                self._closed = True
                self._ready.notify_all()
            if self._thread is not None:
                self._thread.join()

    # -- the background thread ---------------------------------------------------------------------------------------

    def _handing(self, collection: _Collection) -> Collector:
        with self._ready:
            self._queue.remove(collection)
        return replace(collection.collector, func=_HandOver(collection))

    def _pending(self) -> _Collection | None:
        with self._ready:
            return self._queue[0] if self._queue else None

    def _start(self, key: str, since: datetime | None, until: datetime | None, collector: Collector) -> _Collection:
        collection = _Collection(key, since, until, collector)
        with self._ready:
            self._queue.append(collection)
            self._todo.append(collection)
            self._ready.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name='metrics-utility-collect', daemon=True)
                self._thread.start()
        return collection

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._todo and not self._closed:
                    self._ready.wait()
                if not self._todo:
                    return
                collection = self._todo.pop(0)
            collection.run()
