"""What every controller CSV collector shares: its keyword signature, its session, and where its CSV goes.

`@csv_collector(key, version, kind=...)` turns a body `(run: CsvRun) -> list[Path]` into a collector with the
public signature of the collector contract: `db`, `output_dir`, `max_file_bytes` and, when windowed, `since`,
`until` and `streams` (keyword only; concurrent sessions for the collectors that split a window, `streams.py`).
The body runs inside one `streaming.session` and writes through `run.copy`, so the signature, the session rules
and the file naming are written once, here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from ..base import CollectorFactory, CollectorParameterError, Kind, collector
from . import window
from .streaming import DEFAULT_MAX_FILE_BYTES, Params, Query, Rewrite, copy_to_csv, session
from .streams import Streams


@dataclass(frozen=True)
class CsvRun:
    """One run of a CSV collector: its connection (in its session), window, output directory and part size."""

    key: str
    db: psycopg.Connection
    output_dir: Path
    max_file_bytes: int
    since: datetime | None = None
    until: datetime | None = None
    streams: Streams | None = None

    def window_params(self) -> dict[str, datetime]:
        """`since`/`until` as the bound parameters of `window.condition`."""
        assert self.since is not None and self.until is not None, f'{self.key} is not windowed'
        return window.params(self.since, self.until)

    def copy(self, query: Query, params: Params = None, rewrite: Rewrite | None = None) -> list[Path]:
        """Stream `query` into this run's CSV files (`streaming.copy_to_csv`)."""
        return copy_to_csv(self.db, query, self.output_dir, self.key, params, self.max_file_bytes, rewrite)


Body = Callable[[CsvRun], list[Path]]


def csv_collector(key: str, version: str, *, kind: Kind) -> Callable[[Body], CollectorFactory]:
    """A controller collector of format csv from its body; see the module docstring."""

    def decorate(body: Body) -> CollectorFactory:
        if kind == 'windowed':

            def collect(
                *,
                db: psycopg.Connection,
                since: datetime,
                until: datetime,
                output_dir: Path | None = None,
                max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                streams: Streams | None = None,
            ) -> list[Path]:
                with session(db):
                    run = CsvRun(key, db, output_dir, max_file_bytes, since, until, streams)  # type: ignore[arg-type]
                    return body(run)

        else:

            def collect(  # type: ignore[misc]
                *, db: psycopg.Connection, output_dir: Path | None = None, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
            ) -> list[Path]:
                with session(db):
                    return body(CsvRun(key, db, output_dir, max_file_bytes))  # type: ignore[arg-type]

        collect.__name__, collect.__qualname__, collect.__doc__ = body.__name__, body.__qualname__, body.__doc__
        collect.__module__ = body.__module__
        return collector(key, version, 'csv', kind=kind, check=_check_streams)(collect)

    return decorate


def _check_streams(values: dict) -> dict:
    streams = values.get('streams')
    if streams is not None and not isinstance(streams, Streams):
        raise CollectorParameterError(f'streams must be a Streams or None, got {type(streams).__name__}')
    return values
