"""The collector contract.

A collector is a plain function decorated with `@collector(key, version, format, kind=...)`, where `kind` says
whether it reads a window (`windowed`: since/until) or the state at the time of the run (`snapshot`). Calling the
decorated name with keyword parameters validates them at once and returns an initialised `Collector`; nothing touches
the database or the network until `.gather()`. This split lets a caller build every collector of a run (failing fast
on bad parameters) before it takes any lock.

`.gather()` returns a dict (format 'json'), or a list of file paths (format 'csv'); `None`, `[]` or `{}` mean "no
data". Collectors depend only on their parameters and never write to the controller database. A csv collector that
reads stored documents (host variables, event data) returns `Files`, a list that also carries how many exported rows
had a document that could not be read (exported with NULLs; recorded in `data_collection_status.csv` and the run
summary); any other list counts as 0.

Parameters the contract checks for every collector that declares them:
- `since`, `until`: timezone-aware datetimes, `since < until` (since included, until excluded);
- `db`: an open psycopg connection;
- `max_file_bytes`: a positive whole number, the size at which CSV output rolls over to a new part;
- `streams` (windowed controller csv collectors): `controller.streams.Streams`, how many concurrent read sessions
  one window's export may use (None: the export runs on `db` alone);
- `output_dir`: where files go; when omitted a fresh per-collector temporary directory is created (the caller, e.g.
  Package, removes the files once packed). Every call writes files of names of its own (`<key>.<random>.csv`), so one
  directory may take several calls (several windows of one job) before one Package packs them all.

Decorating registers nothing: `registry.COLLECTORS` lists the collectors a gather may run, by key.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psycopg

from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError
from metrics_utility.library.instants import require_aware

Format = Literal['csv', 'json']
Kind = Literal['windowed', 'snapshot']
Result = dict[str, Any] | list[Path] | None


class Files(list):
    """A csv collector's files (a plain list of paths) and `unreadable`: its rows whose documents could not be read."""

    def __init__(self, paths: list[Path] = (), unreadable: int = 0) -> None:  # type: ignore[assignment]
        super().__init__(paths)
        self.unreadable = unreadable


def unreadable_rows(result: Any) -> int:
    """The `unreadable` count of a collector's result (0 for results that are not `Files`)."""
    return result.unreadable if isinstance(result, Files) else 0


class CollectorError(MetricsUtilityError):
    """A collector could not do its work (bad connection, failed query, unreachable service)."""


class CollectorParameterError(CollectorError, ValueError):
    """A collector was called with parameters it cannot work with."""

    exit_code = BAD_INPUT


@dataclass(frozen=True)
class CollectorInfo:
    """What a collector is: its key (member name stem in packages), format, version (recorded in manifests), kind,
    and `inputs`: which of a run's values (`RUN_INPUTS`) it takes, read once from its keyword parameters."""

    key: str
    version: str
    format: Format
    kind: Kind
    description: str = ''
    inputs: tuple[str, ...] = ()


RUN_INPUTS = ('db', 'since', 'until', 'output_dir', 'streams')


@dataclass(frozen=True)
class RunContext:
    """What a gather run offers every collector of one window; each takes the values its `info.inputs` name."""

    db: psycopg.Connection
    since: datetime
    until: datetime
    output_dir: Path
    streams: Any = None  # controller.streams.Streams: concurrent read sessions a window's export may use

    def values(self) -> dict[str, Any]:
        return {
            'db': self.db,
            'since': self.since,
            'until': self.until,
            'output_dir': self.output_dir,
            'streams': self.streams,
        }


@dataclass
class Collector:
    """An initialised collector: validated parameters bound to the function that does the work."""

    info: CollectorInfo
    func: Callable[..., Result]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def format(self) -> Format:
        return self.info.format

    def gather(self) -> Result:
        db = self.params.get('db')
        if isinstance(db, psycopg.Connection) and db.closed:
            raise CollectorError(f'{self.key}: the database connection was closed before gather()')
        return self.func(**self.params)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k != 'db'}
        return f'<Collector {self.key} v{self.version} {self.format} {shown}>'


Check = Callable[[dict[str, Any]], dict[str, Any]]


class CollectorFactory:
    """The decorated name: `factory(**params)` validates and returns a `Collector`; `for_run` builds it from a run."""

    def __init__(self, info: CollectorInfo, func: Callable[..., Result], check: Check | None) -> None:
        self.info, self.__wrapped__, self._check = info, func, check
        self._signature = inspect.signature(func)
        self.__name__, self.__qualname__, self.__doc__ = func.__name__, func.__qualname__, func.__doc__
        self.__module__ = func.__module__

    def __call__(self, **params: Any) -> Collector:
        values = _validate(self.info, self._signature, params)
        return Collector(self.info, self.__wrapped__, self._check(values) if self._check else values)

    def for_run(self, context: RunContext, params: Mapping[str, Any] | None = None) -> Collector:
        """This collector for one window of a run: the run's values it takes, plus its own `params`."""
        offered = context.values()
        return self(**({name: offered[name] for name in self.info.inputs} | dict(params or {})))

    def __repr__(self) -> str:
        return f'<collector {self.info.key} v{self.info.version} {self.info.kind} {self.info.format}>'


def collector(
    key: str, version: str, format: Format, *, kind: Kind, description: str = '', check: Check | None = None
) -> Callable[[Callable[..., Result]], CollectorFactory]:
    """Make `func` collector `key`; see the module docstring for the contract. `check` validates the bound parameters
    further (after the common checks) and returns them, possibly normalised."""
    if format not in ('csv', 'json'):
        raise ValueError(f'format must be csv or json, got {format!r}')
    if kind not in ('windowed', 'snapshot'):
        raise ValueError(f'kind must be windowed or snapshot, got {kind!r}')

    def decorate(func: Callable[..., Result]) -> CollectorFactory:
        accepted = inspect.signature(func).parameters
        info = CollectorInfo(
            key,
            version,
            format,
            kind,
            description or (func.__doc__ or '').strip().split('\n')[0],
            tuple(name for name in RUN_INPUTS if name in accepted),
        )
        return CollectorFactory(info, func, check)

    return decorate


def _validate(info: CollectorInfo, signature: inspect.Signature, params: dict[str, Any]) -> dict[str, Any]:
    accepted = signature.parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise CollectorParameterError(
            f'{info.key}: unknown parameter(s) {", ".join(unknown)}; accepted: {", ".join(accepted)}'
        )
    try:
        bound = signature.bind(**params)
    except TypeError as exc:
        raise CollectorParameterError(f'{info.key}: {exc}') from None
    bound.apply_defaults()
    values = dict(bound.arguments)

    for name in ('since', 'until'):
        if name in values and values[name] is None and accepted[name].default is not None:
            raise CollectorParameterError(f'{info.key}: {name} is required (a timezone-aware UTC datetime)')
        if name in values and values[name] is not None:
            try:
                require_aware(name, values[name], ValueError, ValueError)
            except ValueError as exc:
                raise CollectorParameterError(f'{info.key}: {exc}') from None
    since, until = values.get('since'), values.get('until')
    if since is not None and until is not None and since >= until:
        raise CollectorParameterError(
            f'{info.key}: since ({since.isoformat()}) must be before until ({until.isoformat()})'
        )
    if 'db' in values:
        db = values['db']
        if not isinstance(db, psycopg.Connection):
            raise CollectorParameterError(f'{info.key}: db must be a psycopg connection, got {type(db).__name__}')
        if db.closed:
            raise CollectorParameterError(f'{info.key}: the database connection is closed')
    if 'max_file_bytes' in values:
        limit = values['max_file_bytes']
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise CollectorParameterError(f'{info.key}: max_file_bytes must be a positive whole number, got {limit!r}')
    if 'output_dir' in values:
        if values['output_dir'] is None:
            values['output_dir'] = Path(tempfile.mkdtemp(prefix=f'metrics-utility-{info.key}-'))
        else:
            values['output_dir'] = Path(values['output_dir'])
            values['output_dir'].mkdir(parents=True, exist_ok=True)
    return values
