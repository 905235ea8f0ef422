"""Continue where metrics-utility stopped: where each collector's first gather starts when we have no state yet.

An admin who switches from AAP's built-in metrics-utility has two records of what was already sent:
- the controller's `conf_setting` row `AUTOMATION_ANALYTICS_LAST_ENTRIES`, where metrics-utility keeps its
  watermarks. The `value` column (jsonb) holds a JSON *string* whose text is the JSON object
  `{collector key: ISO 8601 timestamp}` (double-encoded: Django's settings layer `json.dumps` the dict and stores
  that string). The row is shared with the controller's own analytics, which writes keys of its own
  (`events_table`, `unified_jobs_table`, …);
- the packages it left in a directory or S3 target (`data/YYYY/MM/DD/<install_uuid>-<since>-<until>-<i>-<key>.tar.gz`).

With an empty state, each windowed collector starts at the later of both (`controller-watermark` or
`target-packages`), so a window upstream already sent to console.redhat.com is not uploaded again and a window the
target already holds is not gathered twice. Marks older than the look-back horizon are not imported (the run starts
at the horizon, `default`); once we have a state of our own it alone decides (`state`).

Every value of that row is untrusted: not JSON, single-encoded, a timestamp without time zone, one in the future,
unknown keys, a huge document — each is ignored with a warning naming the problem, never a crash, and no
watermark ever moves past now. Reading is one SELECT, so the SELECT-only role suffices; nothing is written back to
the controller database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from metrics_utility import contract
from metrics_utility.library.package.naming import day_prefix, parse_tarball_name

if TYPE_CHECKING:
    import psycopg

    from metrics_utility.library.storage import Storage

    from .runner import GatherRequest
    from .state import Watermarks

log = logging.getLogger('metrics_utility.gather.upstream')

SETTING = 'AUTOMATION_ANALYTICS_LAST_ENTRIES'
MAX_VALUE_CHARS = 64 * 1024  # a real value is a few hundred characters; anything this big is not one
MAX_NOTES = 10  # per kind of problem, so a hostile row cannot flood the log
Reason = Literal['state', 'controller-watermark', 'target-packages', 'default']
IMPORTABLE = frozenset(c.key for c in contract.COLLECTORS if c.kind == 'windowed')


@dataclass
class Imported:
    """The controller watermarks that may be used, and why the others were not."""

    marks: dict[str, datetime] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + '...'


def _listed(names: list[str]) -> str:
    shown = ', '.join(_short(n, 40) for n in names[:MAX_NOTES])
    return shown + (f' and {len(names) - MAX_NOTES} more' if len(names) > MAX_NOTES else '')


def parse_last_entries(value: Any, now: datetime) -> Imported:
    """The usable marks of the row's `value` as psycopg returns jsonb (a str for the double-encoded form).

    Only keys of our windowed collectors are kept; a mark later than `now` is dropped (it would stop its collector
    or skip data that was never sent).
    """
    out = Imported()
    where = f'conf_setting {SETTING}'
    if value is None:
        return out
    if isinstance(value, dict):
        out.notes.append(
            f'{where} holds a JSON object, not the JSON string metrics-utility writes (double-encoded); not imported'
        )
        return out
    if not isinstance(value, str):
        out.notes.append(f'{where} holds {_json_type(value)}, expected a JSON string holding an object; not imported')
        return out
    if len(value) > MAX_VALUE_CHARS:
        out.notes.append(f'{where} is {len(value)} characters long, more than {MAX_VALUE_CHARS}; not imported')
        return out
    if not value.strip():
        return out  # metrics-utility reads an empty value as "nothing gathered yet"
    try:
        entries = json.loads(value)
    except RecursionError:
        out.notes.append(f'{where} is not JSON (nested too deeply); not imported')
        return out
    except ValueError as exc:
        out.notes.append(f'{where} is not JSON ({exc}); not imported')
        return out
    if not isinstance(entries, dict):
        out.notes.append(f'{where} holds {_json_type(entries)} inside its string, expected an object; not imported')
        return out
    unknown: list[str] = []
    bad: list[str] = []
    for key, text in entries.items():
        if key not in IMPORTABLE:
            unknown.append(key)
            continue
        mark, problem = _timestamp(text, now)
        if problem is not None:
            bad.append(f'{key}: {problem}')
        else:
            out.marks[key] = mark
    if unknown:
        out.notes.append(f'{where}: keys that are not windowed collectors here are not imported: {_listed(unknown)}')
    out.notes += [f'{where}: {item}; not imported' for item in bad[:MAX_NOTES]]
    if len(bad) > MAX_NOTES:
        out.notes.append(f'{where}: {len(bad) - MAX_NOTES} more unusable entries not imported')
    return out


def _timestamp(text: Any, now: datetime) -> tuple[datetime, None] | tuple[None, str]:
    if not isinstance(text, str):
        return None, f'{_json_type(text)} is not a timestamp'
    try:
        mark = datetime.fromisoformat(text)
    except ValueError:
        return None, f'{_short(text)} is not an ISO 8601 timestamp'
    if mark.tzinfo is None:
        return None, f'{_short(text)} has no time zone (never read as local time)'
    if mark > now:
        return None, f'{mark.isoformat()} is later than now ({now.isoformat()})'
    return mark, None


def _json_type(value: Any) -> str:
    names = {dict: 'an object', list: 'an array', str: 'a string', bool: 'a boolean', type(None): 'null'}
    return names.get(type(value), 'a number')


@dataclass(frozen=True)
class Coverage:
    """What a target holds of one collector: the end of its latest package, and the holes before it."""

    end: datetime
    gaps: tuple[tuple[datetime, datetime], ...] = ()


def coverage(windows: Iterable[tuple[datetime, datetime]]) -> Coverage | None:
    """The end of the latest window and every hole between the first window and that end (None: no windows)."""
    ordered = sorted(windows)
    if not ordered:
        return None
    gaps: list[tuple[datetime, datetime]] = []
    reach = ordered[0][1]
    for since, until in ordered[1:]:
        if since > reach:
            gaps.append((reach, since))
        reach = max(reach, until)
    return Coverage(reach, tuple(gaps))


def package_windows(
    names: Iterable[str], install_uuid: str, keys: Collection[str], now: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Windows of the packages named `<install_uuid>-<since>-<until>-<i>-<key>.tar.gz` per key in `keys`.

    Names without a key (metrics-utility <= 0.6.0), with an unspecific one (`unknown`, `config`), of another
    installation, empty or ending after now prove nothing and are left out.
    """
    found: dict[str, list[tuple[datetime, datetime]]] = {}
    for name in names:
        parsed = parse_tarball_name(name)
        if parsed is None or parsed.install_uuid != install_uuid or parsed.key not in keys:
            continue
        assert parsed.since is not None and parsed.until is not None
        if parsed.since < parsed.until <= now:
            found.setdefault(parsed.key, []).append((parsed.since, parsed.until))
    return found


@dataclass(frozen=True)
class Start:
    """Where one collector starts and why (`at` None: at the look-back horizon)."""

    reason: Reason
    at: datetime | None = None


def decide(
    keys: Iterable[str],
    own: Mapping[str, datetime],
    controller: Mapping[str, datetime],
    held: Mapping[str, Coverage],
    horizon: datetime,
) -> tuple[dict[str, Start], list[str]]:
    """Each collector's start: our state when it has any mark, else the later of the controller watermark and the
    end of the target's packages (not before the horizon), else the horizon."""
    starts: dict[str, Start] = {}
    notes: list[str] = []
    for key in keys:
        if own:
            starts[key] = Start('state', own[key]) if key in own else Start('default')
            continue
        candidates: list[tuple[datetime, Reason]] = []
        mark = controller.get(key)
        if mark is not None and mark >= horizon:
            candidates.append((mark, 'controller-watermark'))
        elif mark is not None:
            notes.append(
                f'{key}: the controller watermark {mark.isoformat()} is older than the look-back horizon '
                f'{horizon.isoformat()}; starting at the horizon'
            )
        cover = held.get(key)
        if cover is not None and cover.end >= horizon:
            candidates.append((cover.end, 'target-packages'))
            notes += [
                f'{key}: the target holds no package between {a.isoformat()} and {b.isoformat()}; that '
                'gap is not gathered (gather it with --since/--until)'
                for a, b in cover.gaps
                if b > horizon
            ]
        if not candidates:
            starts[key] = Start('default')
            continue
        at, reason = max(candidates, key=lambda c: (c[0], c[1] == 'controller-watermark'))
        if mark is not None and reason == 'target-packages' and mark < at:
            notes.append(
                f'{key}: the target holds packages up to {at.isoformat()}, later than the controller '
                f'watermark {mark.isoformat()}; continuing after them'
            )
        elif cover is not None and reason == 'controller-watermark' and cover.end < at:
            notes.append(
                f'{key}: the target holds packages only up to {cover.end.isoformat()}; metrics-utility '
                f'sent data up to {at.isoformat()} elsewhere; it is not gathered again'
            )
        starts[key] = Start(reason, at)
    return starts, notes


# -- thin readers ----------------------------------------------------------------------------------------------------


def read_setting(conn: psycopg.Connection) -> tuple[Any, str | None, list[str]]:
    """(`AUTOMATION_ANALYTICS_LAST_ENTRIES` value, `INSTALL_UUID`, notes) of the system settings (the newest row of
    each key, as the controller reads them). A failed read is a note, never an error: it only costs the import."""
    import psycopg

    try:
        with conn.transaction():  # a savepoint inside an open transaction: a failure leaves the session usable
            rows = conn.execute(
                'SELECT key, value FROM conf_setting WHERE user_id IS NULL AND key = ANY(%s) ORDER BY modified, id',
                ([SETTING, 'INSTALL_UUID'],),
            ).fetchall()
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, None, [f'cannot read conf_setting {SETTING} ({first}); not imported']
    values = dict(rows)
    install_uuid = values.get('INSTALL_UUID')
    return values.get(SETTING), install_uuid if isinstance(install_uuid, str) and install_uuid else None, []


def list_packages(storage: Storage, install_uuid: str, since: datetime, until: datetime) -> list[str]:
    """Names of the installation's packages in the day folders from `since` to `until` (both days included)."""
    names: list[str] = []
    day: date = since.date()
    while day <= until.date():
        names += storage.glob(f'{day_prefix(day)}/{install_uuid}-*.tar.gz')
        day += timedelta(days=1)
    return names


def resume(
    marks: Watermarks, conn: psycopg.Connection, storage: Storage | None, request: GatherRequest, now: datetime
) -> dict[str, Reason]:
    """The runner's one hook, right after loading the state: with an empty state, seed `marks` from the controller's
    watermarks and the target's packages; return where each windowed collector of the run starts (run summary)."""
    from metrics_utility.library.collectors import registry

    from .interval import horizon_of, resolve_until

    keys = registry.windowed_keys(request.collectors)
    if not keys:
        return {}
    own = dict(marks.shipped_until)
    end = resolve_until(request.until, now)[0]
    horizon = horizon_of(end, request.max_days)
    controller: dict[str, datetime] = {}
    held: dict[str, Coverage] = {}
    notes: list[str] = []
    if not own:
        value, install_uuid, notes = read_setting(conn)
        imported = parse_last_entries(value, now)
        controller, notes = imported.marks, notes + imported.notes
        if storage is not None and not storage.put_only and install_uuid is not None:
            try:
                names = list_packages(storage, install_uuid, horizon, end)  # the days this run may gather
            except Exception as exc:  # listing is a courtesy: the gather itself reports storage failures
                notes.append(f'cannot list the packages of {storage.describe()} ({exc}); not used')
                names = []
            for key, windows in package_windows(names, install_uuid, keys, now).items():
                if (found := coverage(windows)) is not None:
                    held[key] = found
    starts, decided = decide(keys, own, controller, held, horizon)
    for note in notes + decided:
        log.warning(note)
    if not own:
        for key, mark in controller.items():  # keys of collectors not run now too: they start there when enabled
            if mark >= horizon:
                marks.advance(key, mark)
        for key, start in starts.items():
            if start.at is not None:
                marks.advance(key, start.at)
                log.info('%s: starts at %s (%s)', key, start.at.isoformat(), start.reason)
    return {key: start.reason for key, start in starts.items()}
