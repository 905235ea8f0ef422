"""The `metrics-utility` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metrics_utility import __version__
from metrics_utility.commands import build_report, gather


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='metrics-utility',
        description='Gather Ansible Automation Platform usage data, ship it, and build billing reports.',
    )
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    gather.add_parser(commands)
    build_report.add_parser(commands)

    demo = commands.add_parser('demo', help='run the whole job on a throwaway database with synthetic data')
    demo.add_argument('--output', type=Path, default=Path('demo-output'), help='where everything goes')
    demo.add_argument('--scale', choices=['tiny', 'small', 'medium', 'large'], default='small')
    demo.add_argument('--days', type=int, default=3, help='complete UTC days of activity before today (default 3)')
    demo.add_argument('--seed', type=int, default=42)
    demo.add_argument('--keep-running', action='store_true', help='leave PostgreSQL running afterwards')
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == 'demo':
        from metrics_utility.demo.run import DemoOptions, run_demo

        if args.days < 1:
            print('metrics-utility demo: --days must be 1 or more', file=sys.stderr)
            return 2
        return run_demo(DemoOptions(args.output, args.scale, args.days, args.seed, args.keep_running))
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
