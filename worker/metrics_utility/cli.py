"""The `metrics-utility` command line.

Every input gets one readable answer and an exit code, never a traceback: 0 done, 1 the run failed, 2 bad
arguments or configuration. Errors carry their exit code (`library.errors.MetricsUtilityError`); commands answer them
through `commands.failed`, and so does the guard here for one that escapes a command. A usage error (unknown flag,
missing value) is one line naming the command, and with `--summary-file` the run summary is written for it too, so
the operator sees why a pod failed before any work began.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path

from metrics_utility import __version__
from metrics_utility.commands import build_report, candlepin_manage, check, failed, gather, reports, serve
from metrics_utility.gather import summary
from metrics_utility.library import summary_file
from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError

PROG = 'metrics-utility'
SUMMARY_FLAG = '--summary-file'
_COMMAND_NAMES = {name: 'gather' for name in gather.NAMES} | {
    'build-report': 'build-report',
    'build_report': 'build-report',
}
_COMMAND_NAMES['check'] = 'check'
_COMMAND_NAMES['candlepin_manage'] = 'candlepin'
_COMMAND_NAMES['reports'] = 'reports'
_COMMAND_NAMES['serve'] = 'serve'


class UsageError(MetricsUtilityError):
    """The command line does not parse: argparse's complaint, raised instead of printed-and-exited."""

    exit_code = BAD_INPUT

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog

    @property
    def message(self) -> str:
        return self.args[0]  # argparse's complaint as it is


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (subcommand parsers inherit the class) so `main` answers in one line."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(self.prog, message)


def _intent(argv: list[str]) -> tuple[str | None, str | None]:
    """(command, summary file) read leniently from a command line that argparse refused: the first word that is not
    an option, and the value of --summary-file (or an unambiguous abbreviation, as argparse allows) after it."""
    command, path = None, None
    words = iter(argv)
    for word in words:
        if word == '--':
            break
        if command is None:
            if not word.startswith('-'):
                command = _COMMAND_NAMES.get(word, word)
            continue
        flag, equals, value = word.partition('=')
        if len(flag) >= 4 and SUMMARY_FLAG.startswith(flag):
            path = value if equals else next(words, None)
    return command, path


def _failed(command: str | None, message: str, path: str | None) -> None:
    """The run summary of a run that ended before its command could write one (operator contract)."""
    if not path or not path.strip():
        return
    if command == 'gather':
        summary.write(summary.RunSummary(ok=False, error=message), path)
    elif command == 'build-report':
        summary_file.write_json({'command': 'build-report', 'ok': False, 'target': None, 'error': message}, path)
    elif command == 'check':
        summary_file.write_json(
            {'command': 'check', 'ok': False, 'reason': 'InvalidConfiguration', 'error': message}, path
        )


def _usage_error(error: UsageError, argv: list[str]) -> int:
    command, path = _intent(argv)
    prog = error.prog if error.prog != PROG or command not in _COMMAND_NAMES.values() else f'{PROG} {command}'
    message = f'{error.message} (see {prog} --help)'
    sys.stderr.write(f'{prog}: {message}\n')
    _failed(command, message, path)
    return error.exit_code


def _where(exc: BaseException) -> str:
    """module:line where `exc` was raised: enough for a bug report, and unlike its text it holds no secret."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return 'unknown place'
    last = frames[-1]
    return f'{Path(last.filename).name}:{last.lineno}'


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog='metrics-utility',
        description='Gather Ansible Automation Platform usage data, ship it, and build billing reports.',
    )
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    gather.add_parser(commands)
    build_report.add_parser(commands)
    candlepin_manage.add_parser(commands)  # register|renew a Candlepin consumer identity (also `candlepin_manage`)
    check.add_parser(commands)
    reports.add_parser(commands)  # reports list|get (docs/serve.md)
    serve.add_parser(commands)  # the usage API and dashboard (docs/serve.md)

    demo = commands.add_parser('demo', help='run the whole job on a throwaway database with synthetic data')
    demo.add_argument('--output', type=Path, default=Path('demo-output'), help='where everything goes')
    demo.add_argument('--scale', choices=['tiny', 'small', 'medium', 'large'], default='small')
    demo.add_argument('--days', type=int, default=3, help='complete UTC days of activity before today (default 3)')
    demo.add_argument('--seed', type=int, default=42)
    demo.add_argument('--keep-running', action='store_true', help='leave PostgreSQL running afterwards')
    return parser


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run one command; `env` replaces os.environ for gather and build-report (tests run them in-process)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = _parser().parse_args(argv)
    except UsageError as error:
        return _usage_error(error, argv)
    except SystemExit as done:  # --help and --version print and exit 0
        return done.code if isinstance(done.code, int) else 0
    if args.command == 'demo':
        from metrics_utility.demo.run import DemoOptions, run_demo

        if args.days < 1:
            print('metrics-utility demo: --days must be 1 or more', file=sys.stderr)
            return 2
        return run_demo(DemoOptions(args.output, args.scale, args.days, args.seed, args.keep_running))
    command = _COMMAND_NAMES.get(args.command, args.command)
    try:
        return args.func(args) if env is None else args.func(args, dict(env))
    except MetricsUtilityError as error:  # commands answer their own; one that escapes gets the same answer
        _failed(command, error.message, getattr(args, 'summary_file', None))
        return failed(f'{PROG} {command}', error)
    except Exception as exc:  # the last guard: a bug still gets one line and the summary, never a traceback
        message = f'internal error ({type(exc).__name__} at {_where(exc)}); please report it'
        sys.stderr.write(f'{PROG} {command}: {message}\n')
        _failed(command, message, getattr(args, 'summary_file', None))
        return 1


if __name__ == '__main__':
    sys.exit(main())
