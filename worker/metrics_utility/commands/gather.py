"""`metrics-utility gather` (also `gather_automation_controller_billing_data`): collect, package and ship.

Exit codes: 0 everything shipped; 1 the run failed (a collector, the upload, the lock, the database); 2 bad
arguments or configuration (every problem listed at once).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from metrics_utility import pushgateway
from metrics_utility.commands import failed, summary_path, upstream_options
from metrics_utility.gather import backfill, interval, summary
from metrics_utility.gather.interval import IntervalError
from metrics_utility.library import instants, secret
from metrics_utility.library.errors import MetricsUtilityError
from metrics_utility.settings import gather as settings
from metrics_utility.settings.common import ConfigError
from metrics_utility.settings.environment import Environment, overrides, process_environment
from metrics_utility.settings.gather import job_completion_index
from metrics_utility.settings.push import push_settings
from metrics_utility.settings.upstream import without_effect
from metrics_utility.settings.when import WhenError, parse_when

NAMES = ('gather', 'gather_automation_controller_billing_data')
PROG = 'metrics-utility gather'
log = logging.getLogger('metrics_utility.gather')


def add_parser(commands: argparse._SubParsersAction) -> None:
    for name in NAMES:
        p = commands.add_parser(
            name,
            help='collect usage data for a window, package it and ship it' if name == 'gather' else argparse.SUPPRESS,
            description='Collect controller usage data in daily UTC slices, package it and ship it. Windows resume '
            'where the last confirmed upload ended (per collector). Configuration comes from METRICS_UTILITY_* '
            'variables; flags override them.',
        )
        mode = p.add_mutually_exclusive_group()
        mode.add_argument('--ship', action='store_true', help='ship packages and advance watermarks')
        mode.add_argument('--dry-run', action='store_true', help='build packages locally only (the default)')
        p.add_argument('--since', help='start (included): ISO date/datetime (UTC) or 10m, 2h, 3d, 1mo')
        p.add_argument('--until', help='end (excluded), default now: ISO date/datetime (UTC) or 10m, 2h, 3d, 1mo')
        p.add_argument('--collectors', help='comma-separated collector keys (overrides the environment)')
        p.add_argument('--summary-file', type=summary_path, help="write the run's JSON summary here ('-' for stdout)")
        p.add_argument('--output', help='dry run: keep the packages here (default: a new temp folder)')
        p.add_argument('--verbose', action='store_true', help='debug logging')
        p.add_argument(
            '--shard',
            help='sharded backfill: ship slice p of --since..--until when p mod n == i; i/n, or '
            'n with the index from JOB_COMPLETION_INDEX (docs/scale.md)',
        )
        # No argparse type=: a flag gets exactly the check (and message) of the variable it replaces.
        p.add_argument('--retention-max-age-days', help='delete stored windows older than this many days')
        p.add_argument('--retention-max-bytes', help='delete the oldest stored windows above this total')
        upstream_options.add(p)  # metrics-utility's Django options: accepted without effect
        p.set_defaults(func=run)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                'time': self.formatTime(record, '%Y-%m-%dT%H:%M:%S'),
                'level': record.levelname.lower(),
                'logger': record.name,
                'message': record.getMessage(),
            }
        )


def _setup_logging(verbose: bool) -> bool:
    """Human lines on a terminal, JSON lines otherwise (cron mail, pod logs). Returns True on a terminal."""
    tty = sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(levelname)s %(message)s') if tty else _JsonFormatter())
    root = logging.getLogger('metrics_utility')
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    secret.install_log_redaction([handler])  # every record redacted; botocore/urllib3 debug capped (headers, keys)
    return tty


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    environment = Environment(process_environment() if env is None else env, overrides(args))
    started = time.monotonic()
    result = summary.RunSummary()
    try:
        code = _gather(args, environment, result, tty=_setup_logging(args.verbose))
    except MetricsUtilityError as error:
        result.ok, result.error = False, error.message
        summary.write(result, args.summary_file)
        code = failed(PROG, error)
    pushgateway.push_run('gather', result.to_json(), time.monotonic() - started, push_settings(environment))
    return code


def _gather(args: argparse.Namespace, env: Environment, result: summary.RunSummary, tty: bool) -> int:
    """Parse, load settings, wire, run, report; a `MetricsUtilityError` ends it with its exit code."""
    for warning in without_effect(env) + upstream_options.warnings(args):  # accepted without effect (docs/upstream.md)
        log.warning(warning)
    since, until, config, shard = _parse(args, env)
    if config.max_days == 0:
        log.warning('METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS=0: an empty look-back window, nothing gathered')
        summary.write(result, args.summary_file)
        return 0
    # The gather's machinery (database driver, collectors, storage targets) is loaded once the configuration is
    # good: a refused command line or configuration answers without it.
    import psycopg

    from metrics_utility.gather import runner, scale_steps, usage, wiring
    from metrics_utility.library.collectors import registry

    keep = None if args.ship else Path(args.output or tempfile.mkdtemp(prefix='metrics-utility-dry-run-'))
    result.target = config.ship_target if args.ship else None
    wired = wiring.wire(config, ship=args.ship, keep=keep, shard=shard, since=since, until=until)
    try:
        wired.run(result, progress=_progress(tty))
        if args.ship:
            daily = registry.windowed_keys(config.collectors)
            scale_steps.merge_backfill(
                wired.steps, wired.connect_exclusive, config.lock_name, wired.state, daily, result
            )
    except psycopg.Error as exc:  # outside a window (the state, the backfill merge): the run failed
        raise runner.GatherError(str(exc)) from None
    finally:
        if tty:
            sys.stderr.write('\r\033[K')
    if result.ok and args.ship:
        result.usage = usage.month_usage(wired.storage, config.usage, instants.now().date())
    summary.write(result, args.summary_file)
    where = wired.storage.describe() if wired.storage is not None else f'{keep} (dry run: nothing shipped)'
    what = 'shipped' if args.ship else 'built'
    log.info('%s: %d package(s), %d rows, %d bytes -> %s', what, result.packages, result.rows, result.bytes, where)
    if not result.ok:
        sys.stderr.write(f'{PROG}: {secret.redact(result.error)}\n')
        return 1
    return 0


def _parse(
    args: argparse.Namespace, env: Environment
) -> tuple[datetime | None, datetime | None, settings.GatherSettings, backfill.Shard | None]:
    """The window, the settings and the shard, or `ConfigError` listing every problem with them (exit 2)."""
    problems = []
    now = instants.now()
    since = until = None
    try:  # an empty value is an error, not "not given"
        since = parse_when(args.since, now, option='--since') if args.since is not None else None
    except WhenError as exc:
        problems.append(str(exc))
    try:
        until = parse_when(args.until, now, option='--until') if args.until is not None else None
    except WhenError as exc:
        problems.append(str(exc))
    try:  # flags (--collectors, --retention-max-*) arrive as the environment's overrides
        config = settings.load(env, ship=args.ship)
    except ConfigError as exc:
        problems.extend(exc.problems)
        config = None
    if args.output is not None and not args.output.strip():
        problems.append('--output is empty; expected the directory that keeps the packages of a dry run')
    shard = None
    try:
        index = job_completion_index(env)
        shard = backfill.Shard.parse(args.shard, index) if getattr(args, 'shard', None) is not None else None
    except backfill.ShardError as exc:
        problems.append(str(exc))
    gathers = config is not None and config.max_days > 0
    if gathers and (since is not None or until is not None) and getattr(args, 'shard', None) is None:
        try:  # before any connection: a window that cannot be gathered is the user's to fix (exit 2); a sharded
            # backfill has its own window rules (backfill.check_window)
            interval.check_window(since, until, now, config.max_days)
        except IntervalError as exc:
            problems.append(str(exc))
    if problems or config is None:
        raise ConfigError(problems)
    return since, until, config, shard


def _progress(tty: bool) -> Callable[[str], None]:
    """Progress on one rewritten terminal line; nothing in logs."""

    def progress(message: str) -> None:
        if tty:
            sys.stderr.write(f'\r\033[K{message}')
            sys.stderr.flush()

    return progress
