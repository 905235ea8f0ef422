"""Django's common options, which every metrics-utility command accepts: here accepted without effect.

Why: metrics-utility's commands are Django management commands, so `--verbosity 2`, `--traceback`, `--no-color`,
`--settings`, … are valid on its command lines (cron lines, wrapper scripts); refusing them would fail a switch with
exit 2. Each one given is named in one warning; `--verbose` is our debug switch (docs/upstream.md, Flags).
"""

from __future__ import annotations

import argparse

# flag → (argparse keywords, what we do instead)
OPTIONS: dict[str, tuple[dict, str]] = {
    '--verbosity': ({'choices': ['0', '1', '2', '3']}, '--verbose turns on debug logging'),
    '--settings': ({}, 'there is no Django settings module; the METRICS_UTILITY_* variables configure the worker'),
    '--pythonpath': ({}, 'nothing is imported from another path'),
    '--traceback': ({'action': 'store_true'}, 'errors are one line and an exit code, never a traceback'),
    '--no-color': ({'action': 'store_true'}, 'output has no colour'),
    '--force-color': ({'action': 'store_true'}, 'output has no colour'),
    '--skip-checks': ({'action': 'store_true'}, 'there are no Django system checks'),
}


def _dest(flag: str) -> str:
    return 'django_' + flag[2:].replace('-', '_')


def add(parser: argparse.ArgumentParser) -> None:
    """Add the Django options to a command's parser (hidden from --help)."""
    for flag, (keywords, _) in OPTIONS.items():
        names = ['-v', flag] if flag == '--verbosity' else [flag]
        parser.add_argument(*names, dest=_dest(flag), help=argparse.SUPPRESS, **keywords)


def warnings(args: argparse.Namespace) -> list[str]:
    """One warning per Django option given on the command line."""
    given = [flag for flag in OPTIONS if getattr(args, _dest(flag), None) not in (None, False)]
    return [f'{flag} (a Django option of metrics-utility) has no effect here: {OPTIONS[flag][1]}' for flag in given]
