"""`metrics-utility build-report` (alias `build_report`): build a monthly or ranged report from stored packages.

Flags and variables follow metrics-utility (docs/reports.md, Variables and flags): `--month` (default: the previous
month), `--since/--until` (until inclusive), `--ephemeral` for RENEWAL_GUIDANCE, `--force` to overwrite;
SHIP_TARGET=controller_db reads RENEWAL_GUIDANCE from the controller database (docs/upstream.md). Every problem with
flags and variables is reported at once; the exit code is 0 when a report was written or legitimately skipped
(exists without --force, no billing data), 1 when building failed (also: the controller database cannot be read), 2
for bad flags or variables. Packages the report could not verify or read are not failures: they are listed (stderr,
the status sheet, the summary's `problems`).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from metrics_utility import pushgateway
from metrics_utility.commands import failed, summary_path, upstream_options
from metrics_utility.library import instants, secret
from metrics_utility.library.errors import MetricsUtilityError, SetupError
from metrics_utility.library.summary_file import write_json
from metrics_utility.settings.common import ConfigError, shown
from metrics_utility.settings.when import WhenError, parse_when

if TYPE_CHECKING:  # storage and report settings pull in boto3 and pandas: imported when a report is built
    from metrics_utility.library.reports import BuildResult, ReportOptions
    from metrics_utility.library.storage import Storage
    from metrics_utility.settings.environment import Environment
    from metrics_utility.settings.gather import DatabaseSettings
    from metrics_utility.settings.report import ReportSettings

PROG = 'metrics-utility build-report'
FIRST_DAY = date(1970, 1, 1)  # no controller holds older data; pandas' dates end in 1677 and 2262 anyway
MAX_EPHEMERAL_DAYS = 3650


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    for name in ('build-report', 'build_report'):
        parser = subparsers.add_parser(
            name,
            help='build a CCSP, CCSPv2 or RENEWAL_GUIDANCE report (XLSX)'
            if name == 'build-report'
            else argparse.SUPPRESS,
        )
        parser.add_argument('--month', help='YYYY-MM (default: the previous month, UTC)')
        parser.add_argument('--since', help='first day: YYYY-MM-DD, or Nd / Nmonths ago (UTC)')
        parser.add_argument('--until', help='last day, inclusive: YYYY-MM-DD, or Nd / Nmonths ago (UTC)')
        parser.add_argument('--type', dest='report_type', help='overrides METRICS_UTILITY_REPORT_TYPE')
        parser.add_argument(
            '--sheets', help='comma list (or "all"); overrides METRICS_UTILITY_OPTIONAL_CCSP_REPORT_SHEETS'
        )
        parser.add_argument('--ephemeral', help='RENEWAL_GUIDANCE only: Nd or Nmonths (a month counts as 30 days)')
        parser.add_argument('--force', action='store_true', help='overwrite an existing report')
        parser.add_argument('--rebuild-rollups', action='store_true', help='rebuild the daily rollups from raw data')
        parser.add_argument(
            '--also-from',
            action='append',
            metavar='DIR_OR_S3_URI',
            help='also read packages from this directory or s3://bucket/prefix (repeatable, read-only; '
            'replaces METRICS_UTILITY_ADDITIONAL_SHIP_PATHS)',
        )
        parser.add_argument(
            '--summary-file', type=summary_path, help="write the run's JSON summary here (the operator reads it)"
        )
        parser.add_argument('--verbose', action='store_true', help='debug logging')
        parser.add_argument(
            '--format',
            dest='output_format',
            help='xlsx (the only format written; metrics-utility also takes ods, accepted here with a warning)',
        )
        upstream_options.add(parser)  # metrics-utility's Django options: accepted without effect
        parser.set_defaults(func=run)


_RELATIVE = re.compile(r'([0-9]{1,6})\s*(d|day|days|mo|mon|month|months)')


def parse_day(value: str, flag: str, problems: list[str], today: date) -> date | None:
    """ISO date or a relative form (`3d`, `2months`: the start of that UTC day), as gather reads them."""
    try:
        return parse_when(value, datetime(today.year, today.month, today.day, tzinfo=UTC), option=flag).date()
    except WhenError as exc:
        problems.append(str(exc))
        return None


def parse_ephemeral(value: str, problems: list[str]) -> int | None:
    match = _RELATIVE.fullmatch(value.strip())
    days = (int(match[1]) * (1 if match[2].startswith('d') else 30)) if match else -1
    if days == 0:  # metrics-utility takes 0d (or 0months) as "no ephemeral analysis"
        return None
    if not 1 <= days <= MAX_EPHEMERAL_DAYS:
        problems.append(
            f'--ephemeral={shown(value)}; expected Nd or Nmonths from 0d (none) to {MAX_EPHEMERAL_DAYS}d '
            '(a month counts as 30 days; e.g. 30d, 2months)'
        )
        return None
    return days


def resolve_period(
    args: argparse.Namespace, kind: str | None, problems: list[str], today: date
) -> tuple[date, date, str | None] | None:
    """(since, until exclusive, month label) from --month / --since / --until.

    A period lies between 1970-01-01 and today: a flag given empty is an error, never "not given"."""
    given = {
        flag: value is not None
        for flag, value in (('--since', args.since), ('--until', args.until), ('--month', args.month))
    }
    if given['--until'] and not given['--since']:
        problems.append('--until requires --since')
    if given['--month'] and (given['--since'] or given['--until']):
        problems.append('--month cannot be combined with --since/--until')
    if kind == 'RENEWAL_GUIDANCE':
        if not given['--since']:
            problems.append('RENEWAL_GUIDANCE requires --since')
        if given['--until'] or given['--month']:
            problems.append('RENEWAL_GUIDANCE takes --since only (it runs until today)')
    elif args.ephemeral is not None:
        problems.append('--ephemeral applies to RENEWAL_GUIDANCE only')
    if given['--since']:
        since = parse_day(args.since, '--since', problems, today)
        last = parse_day(args.until, '--until', problems, today) if given['--until'] else today
        if since is None or last is None:
            return None
        if since < FIRST_DAY:
            problems.append(f'--since {since} is before {FIRST_DAY}; a report covers 1970-01-01 to today')
        if last > today:
            problems.append(f'--until {last} is after today ({today}); a report covers days that have begun')
        if since > last:
            problems.append(f'--since {since} is after --until {last}')
        if since < FIRST_DAY or last > today or since > last:
            return None
        return since, last + timedelta(days=1), None
    if given['--month']:
        match = re.fullmatch(r'([0-9]{4})-([0-9]{1,2})', args.month.strip())  # 2024-2 too, as metrics-utility
        if not match or not 1 <= int(match.group(2)) <= 12:
            problems.append(f'--month={shown(args.month)} is not a month; expected YYYY-MM, e.g. 2024-02')
            return None
        month = f'{match.group(1)}-{int(match.group(2)):02d}'
        if month < f'{FIRST_DAY:%Y-%m}':
            problems.append(
                f'--month={shown(args.month)} is out of range; expected a month from '
                f'{FIRST_DAY:%Y-%m} to this month ({today:%Y-%m})'
            )
            return None
        first = date(int(match.group(1)), int(match.group(2)), 1)
        if month > f'{today:%Y-%m}':  # metrics-utility finds no data there and ends well: no report, exit 0
            return first, first, month
    else:
        first = instants.last_month(datetime(today.year, today.month, today.day, tzinfo=UTC)).date()
    next_first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, next_first, f'{first:%Y-%m}'


def run(args: argparse.Namespace, env: dict[str, str] | None = None, now: datetime | None = None) -> int:
    from metrics_utility.library.allocator import fix_mmap_threshold, use_system_pool
    from metrics_utility.library.storage import StorageError
    from metrics_utility.library.tempdir import job_tempdir
    from metrics_utility.settings.common import ConfigError
    from metrics_utility.settings.environment import Environment, live_environment, overrides, process_environment
    from metrics_utility.settings.push import push_settings
    from metrics_utility.settings.report import report_settings
    from metrics_utility.settings.sources import additional_sources
    from metrics_utility.settings.upstream import without_effect

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format='%(levelname)s %(message)s')
    secret.install_log_redaction(logging.getLogger().handlers)  # botocore's signed headers never reach the log
    environment = Environment(process_environment() if env is None else env, overrides(args))
    now = now or instants.now()
    problems: list[str] = []
    settings = report_settings(environment, problems)
    kind = settings.report_type if settings else (args.report_type or environment.text('METRICS_UTILITY_REPORT_TYPE'))
    period = resolve_period(args, kind, problems, now.date())
    ephemeral = parse_ephemeral(args.ephemeral, problems) if args.ephemeral is not None else None
    extra = additional_sources(environment, None, problems, settings.ship if settings else None)
    from_db = settings is not None and settings.ship.target == 'controller_db'
    database = controller_database(environment, problems, extra) if from_db else None
    warnings = (
        without_effect(environment) + upstream_options.warnings(args) + output_format(args.output_format, problems)
    )
    summary_file = getattr(args, 'summary_file', None)
    started = time.monotonic()

    def outcome(code: int, error: str | None = None, **extra: object) -> int:
        target = settings.ship.target if settings is not None and settings.ship is not None else None
        data = {'command': 'build-report', 'ok': code == 0, 'target': target, 'error': error, **extra}
        write_json(data, summary_file)
        pushgateway.push_run('report', data, time.monotonic() - started, push_settings(environment))
        return code

    for warning in warnings:
        print(f'{PROG}: warning: {warning}', file=sys.stderr)
    if problems or settings is None or period is None:
        return outcome(failed(PROG, ConfigError(problems)), 'invalid configuration: ' + '; '.join(problems))
    since, until, month = period
    if since == until:  # a --month that has not begun
        print(
            f'{PROG}: warning: --month={month} has not begun (this month is {now:%Y-%m}): no data, no report written',
            file=sys.stderr,
        )
        return outcome(0)
    # The report machinery (pandas, pyarrow, openpyxl) is loaded once the configuration is good: a refused command
    # line or configuration answers without it.
    use_system_pool(live_environment())  # before pyarrow loads: freed buffers go back (library/allocator.py)
    from metrics_utility.library.dataframes.store import default_workers
    from metrics_utility.library.reports import ReportOptions, build, report_name

    options = ReportOptions(
        settings.report_type,
        since,
        until,
        month,
        settings.sheets,
        settings.price_per_node,
        organization_filter=settings.organization_filter,
        deduplicator=settings.deduplicator,
        ephemeral_days=ephemeral,
        generated=now,
        **settings.header,
    )
    try:
        storage = _storage(settings, extra)
        name = report_name(options)
        if storage.exists(name) and not args.force:
            print(f'{PROG}: {name} already exists in {storage.describe()}; skipped (pass --force to rebuild it)')
            return outcome(0, report=name)
        if database is None:  # few packages: large buffers mapped apart, unmapped when freed (library/allocator.py)
            fix_mmap_threshold(package_bytes(storage, since, until), environment.values)
        with job_tempdir(prefix='report-') as tmp:
            if database is not None:  # RENEWAL_GUIDANCE straight from main_hostmetric (SHIP_TARGET=controller_db)
                result = renewal_from_database(database, options, now, tmp)
            else:
                result = build(
                    storage, options, tmp / 'report.xlsx', force_rollups=args.rebuild_rollups, workers=default_workers()
                )
            if result.path is not None:
                storage.put(name, filename=result.path)
                put_sidecar(storage, name, result, now)
        # The usage digests follow the one-installation rollup layout that `serve` reads; a report over several sources
        # keeps its rollups per installation (docs/reports.md) and leaves that layout alone.
        if database is None and not extra:
            put_usage_digests(storage, since, until)
    except StorageError as exc:
        error = StorageError(f'storage failed: {exc}')
        return outcome(failed(PROG, error), str(error))
    except MetricsUtilityError as error:
        return outcome(failed(PROG, error), error.message)
    summary = {
        'report': name if result.path else None,
        'type': options.report_type,
        'since': since.isoformat(),
        'until': (until - timedelta(days=1)).isoformat(),
        'quantity': result.quantity,
        'problems': len(result.problems),
        'days_rebuilt': result.days_rebuilt,
    }
    for problem in result.problems:
        print(f'{PROG}: warning: {problem.day} {problem.name}: {problem.message}', file=sys.stderr)
    if result.path is None:
        print(f'{PROG}: {result.message}; no report written')
    print(json.dumps(summary))
    return outcome(
        0,
        report=summary['report'],
        quantity=result.quantity,
        period=month or summary['since'] + '--' + summary['until'],
        problem_count=len(result.problems),
        problems=summary_problems(result.problems),
    )


def package_bytes(storage: Storage, since: date, until: date) -> int | None:
    """The compressed size of the period's packages when the storage tells sizes without reading (a directory),
    else None."""
    from metrics_utility.library.extract import Extractor, days
    from metrics_utility.library.storage import StorageError

    extractor = Extractor(storage)
    total = 0
    try:
        for day in days(since, until):
            for entry in extractor.signature(extractor.tarballs(day)):
                if 'size' not in entry:
                    return None
                total += int(entry['size'])
    except (StorageError, OSError):  # the report meets it again and says so
        return None
    return total


def put_sidecar(storage: Storage, name: str, result: BuildResult, now: datetime) -> None:
    """The report's listing sidecar (billed quantity, job runs; library/reports/catalog.py). A storage that refuses
    it costs only the quantity in `reports list`; the report itself is stored."""
    from metrics_utility.library.reports import catalog
    from metrics_utility.library.storage import StorageError

    entry = catalog.parse_name(name)
    if entry is None:
        return
    try:
        storage.put(catalog.sidecar_name(name), dict=catalog.sidecar(entry, result.quantity, result.job_runs, now))
    except StorageError as exc:
        print(f'{PROG}: warning: cannot store the listing sidecar of {name} ({exc})', file=sys.stderr)


def put_usage_digests(storage: Storage, since: date, until: date) -> None:
    """The usage digests of the report's whole months (library/usage_digest.py), from the rollups just built, so
    `serve` answers a year in well under a second. A digest that cannot be built or stored costs only speed."""
    from metrics_utility.library.usage_periods import write_month_digests

    try:
        write_month_digests(storage, since, until)
    except Exception as exc:  # never the report's failure: one warning line, no traceback
        print(f'{PROG}: warning: cannot store the usage digests ({secret.redact(str(exc))})', file=sys.stderr)


def _storage(settings: ReportSettings, extra: list) -> Storage:
    """The main storage, or a view that also reads the additional sources; one that cannot even be set up is a
    configuration problem (exit 2), as in gather."""
    from metrics_utility.library.storage import StorageError
    from metrics_utility.library.storage.multi import MultiStorage

    try:
        storage = settings.ship.storage()
        if extra:  # several storages: packages read from all, everything written to the main one
            storage = MultiStorage(storage, [source.storage() for source in extra])
    except ConfigError:
        raise
    except (StorageError, ValueError) as exc:
        raise SetupError(str(exc)) from None
    return storage


def controller_database(environment: Environment, problems: list[str], extra: list) -> DatabaseSettings:
    """The METRICS_UTILITY_DB_* connection that SHIP_TARGET=controller_db reads host metrics through."""
    from metrics_utility.settings.gather import database_settings

    if extra:
        problems.append(
            'SHIP_TARGET=controller_db reads host metrics from the controller database only; '
            'additional package sources (--also-from, METRICS_UTILITY_ADDITIONAL_SHIP_PATHS) do not '
            'apply'
        )
    return database_settings(environment, problems)


def output_format(value: str | None, problems: list[str]) -> list[str]:
    """The warnings for metrics-utility's `--format` (xlsx, or ods which is written as XLSX here)."""
    if value is None or value.strip().lower() == 'xlsx':
        return []
    if value.strip().lower() == 'ods':
        return ['--format=ods is accepted but the report is written as XLSX (LibreOffice opens it)']
    problems.append(f'--format={shown(value)} is not a report format; expected xlsx or ods')
    return []


def renewal_from_database(database: DatabaseSettings, options: ReportOptions, now: datetime, tmp: Path) -> BuildResult:
    """RENEWAL_GUIDANCE from the controller's `main_hostmetric`, read in a read-only session, from --since to now."""
    from metrics_utility.library.extract import controller_db
    from metrics_utility.library.reports.builder import build_renewal

    since = datetime(options.since.year, options.since.month, options.since.day, tzinfo=UTC)
    workdir = tmp / 'controller_db'
    workdir.mkdir()
    with controller_db.connect(
        host=database.host,
        port=database.port,
        dbname=database.dbname,
        user=database.user,
        password=database.password.reveal(),
        sslmode=database.sslmode,
    ) as conn:
        metrics = controller_db.host_metrics(conn, since, now, workdir)
    return build_renewal(options, metrics, tmp / 'report.xlsx')


SUMMARY_PROBLEMS = 5
SUMMARY_PROBLEM_BYTES = 300


def summary_problems(problems: list) -> list[str]:
    """The first problems as short lines (`<day> <package>: <message>`) for the run summary: at most
    SUMMARY_PROBLEMS of SUMMARY_PROBLEM_BYTES each as JSON (≤ 1.5 KiB), so the 4 KiB summary always holds them; the
    full list is on stderr and the workbook's status sheet, the count in `problem_count`."""
    return [_short(f'{p.day} {p.name}: {p.message}') for p in problems[:SUMMARY_PROBLEMS]]


def _short(line: str) -> str:
    """`line`, cut (with '…') so that its JSON form (escapes included) fits SUMMARY_PROBLEM_BYTES."""
    if len(json.dumps(line)) <= SUMMARY_PROBLEM_BYTES:
        return line
    low, high = 0, min(len(line), SUMMARY_PROBLEM_BYTES)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if len(json.dumps(line[:middle] + '…')) <= SUMMARY_PROBLEM_BYTES:
            low = middle
        else:
            high = middle - 1
    return line[:low] + '…'
