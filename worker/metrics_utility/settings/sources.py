"""Additional, read-only package sources of build-report: `--also-from` or METRICS_UTILITY_ADDITIONAL_SHIP_PATHS.

Why: one report over several controllers whose gathers ship to different places. Each source is a directory or
`s3://bucket[/prefix]`; S3 sources use the METRICS_UTILITY_BUCKET_ENDPOINT / _REGION / _ACCESS_KEY / _SECRET_KEY
of the main storage (one S3 service, several buckets or prefixes). Every problem is reported, naming the source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .common import PREFIX, ShipSettings, endpoint_credentials, is_directory, s3_credentials, shown
from .environment import Environment

if TYPE_CHECKING:
    from metrics_utility.library.storage import Storage

VARIABLE = 'METRICS_UTILITY_ADDITIONAL_SHIP_PATHS'


@dataclass(frozen=True)
class Source:
    """One additional source, as given (`spec`) and as a ship target."""

    spec: str
    ship: ShipSettings

    def storage(self) -> Storage:
        """The source's Storage (S3 support is imported only when a source needs it)."""
        return self.ship.storage()


def additional_sources(
    env: Mapping[str, str] | Environment,
    flags: Sequence[str] | None,
    problems: list[str],
    main: ShipSettings | None = None,
) -> list[Source]:
    """The `--also-from` values when given (they replace the variable), else the `;`-separated variable."""
    env = Environment.of(env)
    given = env.flag(VARIABLE)
    if not flags and given is not None:
        flags = list(given[1])
    if flags:
        specs, origin = [f.strip() for f in flags], '--also-from'
    else:
        raw = env.raw(VARIABLE) or ''
        specs, origin = [s.strip() for s in raw.split(';') if s.strip()], VARIABLE
    sources: list[Source] = []
    seen: set[tuple[str, str, str]] = set()
    if main is not None:
        seen.add(_key(main))
    for spec in specs:
        source = _parse(env, spec, origin, problems)
        if source is None:
            continue
        if _key(source.ship) in seen:
            problems.append(f'{origin} {shown(spec)} is the main storage or given twice; list each other source once')
            continue
        seen.add(_key(source.ship))
        sources.append(source)
    return sources


def _key(ship: ShipSettings) -> tuple[str, str, str]:
    if ship.target == 'directory':
        try:
            return ('directory', str(Path(ship.path).resolve()), '')
        except (OSError, ValueError):  # a name the OS refuses (NUL byte, too long) is reported by the settings
            return ('directory', ship.path, '')
    bucket = ship.s3.bucket if ship.s3 else ''
    return (ship.target, bucket, ship.path.strip('/'))


def _parse(env: Environment, spec: str, origin: str, problems: list[str]) -> Source | None:
    if not spec:
        problems.append(f'{origin} has an empty source; expected a directory or s3://bucket/prefix')
        return None
    if spec.startswith('s3://'):
        bucket, _, prefix = spec[5:].partition('/')
        endpoint = env.text('METRICS_UTILITY_BUCKET_ENDPOINT') or ''
        if not bucket:
            problems.append(f'{origin} {shown(spec)} names no bucket; expected s3://bucket/prefix')
            return None
        if problem := endpoint_credentials(endpoint):
            problems.append(problem)
            return None
        if not endpoint.startswith(('http://', 'https://')):
            problems.append(f'{origin} {shown(spec)} needs {PREFIX}BUCKET_ENDPOINT (http(s)://host[:port]) to reach S3')
            return None
        return Source(spec, ShipSettings('s3', prefix.strip('/'), s3_credentials(env, bucket, endpoint, None)))
    if '://' in spec:
        problems.append(f'{origin} {shown(spec)} is not supported; expected a directory or s3://bucket/prefix')
        return None
    if not is_directory(spec):
        problems.append(f'{origin} {shown(spec)} is not an existing directory')
        return None
    return Source(spec, ShipSettings('directory', spec))
