"""`metrics-utility candlepin_manage register|renew`: metrics-utility 0.8's Candlepin command, accepted without effect.

Why: scripts and timers written for metrics-utility call it; refusing the command (exit 2) would fail them on the
switch. We do not register or renew Candlepin consumers: mutual TLS to console.redhat.com uses the certificate and
key given in METRICS_UTILITY_CRC_CLIENT_CERT/KEY (docs/upstream.md). The command takes metrics-utility's flags,
says so once on stderr and exits 0; it never echoes a value (`--password`).
"""

from __future__ import annotations

import argparse
import sys

from metrics_utility.commands import upstream_options
from metrics_utility.contract import PREFIX

NAME = 'candlepin_manage'
MESSAGE = (
    f'metrics-utility {NAME}: warning: {NAME} {{action}} has no effect here: Candlepin consumers are neither '
    'registered nor renewed; mutual TLS to console.redhat.com uses the certificate and key in '
    f'{PREFIX}CRC_CLIENT_CERT/{PREFIX}CRC_CLIENT_KEY, else the service account'
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(NAME, help="metrics-utility's Candlepin command: accepted, no effect")
    actions = parser.add_subparsers(dest='candlepin_action', metavar='ACTION', required=True)
    for action in ('register', 'renew'):
        sub = actions.add_parser(action, help='accepted, no effect')
        if action == 'register':
            for flag in ('--username', '--password', '--org'):
                sub.add_argument(flag)
        for flag in ('--candlepin-url', '--candlepin-ca', '--proxy'):
            sub.add_argument(flag)
        sub.add_argument('--force', action='store_true')
        sub.add_argument('--dry-run', action='store_true')
        upstream_options.add(sub)
        sub.set_defaults(func=run)


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    print(MESSAGE.format(action=args.candlepin_action), file=sys.stderr)
    return 0
