"""`metrics-utility reports list|get`: the reports of any storage, listed or copied out (docs/serve.md).

Why: getting the monthly workbook out of a cluster should be one `kubectl exec … reports get --month 2026-11 -o -`,
not a busybox pod and `tar`. The storage is the one build-report uses (METRICS_UTILITY_SHIP_TARGET directory or s3;
reports live in the main storage). Exit codes: 0 done, 1 the storage failed, 2 the user's to fix (bad month or type,
no such report, ambiguous choice, output not writable or existing without --force).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from metrics_utility.commands import failed
from metrics_utility.contract import REPORT_TYPES
from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError, SetupError
from metrics_utility.settings.common import ConfigError, shown

if TYPE_CHECKING:
    from metrics_utility.library.reports.catalog import ReportEntry
    from metrics_utility.library.storage import Storage
    from metrics_utility.settings.serve import StorageSettings

PROG = 'metrics-utility reports'
_MONTH = re.compile(r'([0-9]{4})-([0-9]{2})')


class ReportChoiceError(MetricsUtilityError):
    """The report asked for cannot be chosen: none, several, or the output cannot be written."""

    exit_code = BAD_INPUT


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser('reports', help='list the stored reports, or copy one out (list|get)')
    actions = parser.add_subparsers(dest='action', metavar='ACTION', required=True)
    listing = actions.add_parser('list', help='the reports: type, period, size, billed quantity')
    listing.add_argument('--json', action='store_true', help='JSON instead of a table')
    get = actions.add_parser('get', help='copy one report to a file (or stdout with -o -)')
    get.add_argument('id', nargs='?', help='a report id as listed (e.g. CCSPv2-2026-11)')
    get.add_argument('--month', help='YYYY-MM: the report of that month')
    get.add_argument('--type', dest='report_type', help=f'with --month: one of {", ".join(REPORT_TYPES)}')
    get.add_argument('-o', '--output', help="file to write (default: the report's file name here; '-': stdout)")
    get.add_argument('--force', action='store_true', help='overwrite an existing output file')
    for sub in (listing, get):
        sub.add_argument(
            '--also-from', action='append', metavar='DIR_OR_S3_URI', help='accepted as build-report takes it'
        )
    parser.set_defaults(func=run)


def open_storage(settings: StorageSettings) -> Storage:
    """The main storage (plus the read-only sources), as build-report opens it."""
    from metrics_utility.library.storage import StorageError
    from metrics_utility.library.storage.multi import MultiStorage

    try:
        storage = settings.ship.storage()
        if settings.sources:
            storage = MultiStorage(storage, [s.storage() for s in settings.sources])
    except ConfigError:
        raise
    except (StorageError, ValueError) as exc:
        raise SetupError(str(exc)) from None
    return storage


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    from metrics_utility.library.storage import StorageError
    from metrics_utility.settings.environment import Environment, overrides, process_environment
    from metrics_utility.settings.serve import storage_settings

    environment = Environment(process_environment() if env is None else env, overrides(args))
    problems: list[str] = []
    settings = storage_settings(environment, problems)
    if args.action == 'get':
        problems += _get_problems(args)
    if problems or settings is None:
        return failed(f'{PROG} {args.action}', ConfigError(problems))
    try:
        storage = open_storage(settings)
        if args.action == 'list':
            return _list(storage, args.json)
        return _get(storage, args)
    except StorageError as exc:
        return failed(f'{PROG} {args.action}', StorageError(f'storage failed: {exc}'))
    except MetricsUtilityError as error:
        return failed(f'{PROG} {args.action}', error)


def _get_problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if args.id is not None and (args.month is not None or args.report_type is not None):
        problems.append('give a report id or --month (and --type), not both')
    elif args.id is None and args.month is None:
        problems.append('name the report: an id (see reports list) or --month YYYY-MM [--type TYPE]')
    if args.month is not None:
        match = _MONTH.fullmatch(args.month)
        if not match or not 1 <= int(match[2]) <= 12:
            problems.append(f'--month={shown(args.month)} is not a month; expected YYYY-MM, e.g. 2026-11')
    if args.report_type is not None and args.report_type not in REPORT_TYPES:
        problems.append(
            f'--type={shown(args.report_type)} is not a report type; expected one of: {", ".join(REPORT_TYPES)}'
        )
    if args.output is not None and not args.output.strip():
        problems.append("-o is empty; expected a file path, or '-' for stdout")
    return problems


def _size(value: int | None) -> str:
    if value is None:
        return '-'
    for unit in ('B', 'KiB', 'MiB'):
        if value < 1024 or unit == 'MiB':
            return f'{value} {unit}' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1024  # type: ignore[assignment]
    return str(value)


def table(entries: list[ReportEntry]) -> list[str]:
    """The listing as aligned text lines (header first)."""
    from datetime import timedelta

    rows = [('ID', 'TYPE', 'PERIOD', 'SIZE', 'MODIFIED', 'BILLED')]
    for e in entries:
        period = e.month or f'{e.since}..{e.until - timedelta(days=1)}'
        modified = e.modified.strftime('%Y-%m-%d %H:%M') if e.modified else '-'
        billed = '-' if e.billed_quantity is None else str(e.billed_quantity)
        rows.append((e.id, e.type, period, _size(e.size), modified, billed))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ['  '.join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _list(storage: Storage, as_json: bool) -> int:
    from metrics_utility.library.reports import catalog

    entries = catalog.list_reports(storage)
    if as_json:
        print(json.dumps({'reports': [e.to_json() for e in entries]}, indent=2))
    elif not entries:
        print(f'no reports in {catalog.main_storage(storage).describe()}')
    else:
        print('\n'.join(table(entries)))
    return 0


def choose(entries: list[ReportEntry], report_id: str | None, month: str | None, kind: str | None) -> ReportEntry:
    """The one entry the arguments name; ReportChoiceError when none or several do."""
    if report_id is not None:
        found = [e for e in entries if e.id == report_id]
        if not found:
            raise ReportChoiceError(f'no report {shown(report_id)}; see metrics-utility reports list')
        return found[0]
    found = [e for e in entries if e.month == month and (kind is None or e.type == kind)]
    if not found:
        what = f'{kind} report' if kind else 'report'
        raise ReportChoiceError(f'no {what} for {month}; see metrics-utility reports list')
    if len(found) > 1:
        kinds = ', '.join(sorted(e.type for e in found))
        raise ReportChoiceError(f'{month} has several reports ({kinds}); choose one with --type')
    return found[0]


def _get(storage: Storage, args: argparse.Namespace) -> int:
    from metrics_utility.library.reports import catalog

    month = None
    if args.month is not None:
        match = _MONTH.fullmatch(args.month)
        assert match is not None
        month = f'{match[1]}-{match[2]}'
    entry = choose(catalog.list_reports(storage), args.id, month, args.report_type)
    output = args.output if args.output is not None else entry.file_name
    with catalog.main_storage(storage).get(entry.name) as path:
        if output == '-':
            sys.stdout.flush()
            sys.stdout.buffer.write(path.read_bytes())
            sys.stdout.buffer.flush()
            return 0
        write_file(Path(output), path.read_bytes(), args.force)
    print(f'{entry.name} -> {output} ({_size(entry.size)})', file=sys.stderr)
    return 0


def write_file(target: Path, data: bytes, force: bool) -> None:
    """Write `data` to `target` atomically (a temporary file renamed over it); ReportChoiceError when it cannot."""
    if target.is_dir():
        raise ReportChoiceError(f'-o {shown(str(target))} is a directory; expected a file path')
    if target.exists() and not force:
        raise ReportChoiceError(f'-o {shown(str(target))} exists; pass --force to overwrite it')
    folder = target.parent if str(target.parent) else Path('.')
    try:
        fd, tmp = tempfile.mkstemp(prefix=f'.{target.name[:50]}.', suffix='.part', dir=folder)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReportChoiceError(f'-o {shown(str(target))} cannot be written ({reason})') from None
    try:
        with os.fdopen(fd, 'wb') as out:
            out.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportChoiceError(f'-o {shown(str(target))} cannot be written ({exc.strerror or exc})') from None
