"""Feed a rendered worker pod to the worker's own argument parser and settings loaders, in-process.

Why: the operator renders `METRICS_UTILITY_*` variables and command lines; the worker refuses what it cannot use with
exit code 2 before any I/O. This runs exactly those checks of `gather` and `build-report` (the same functions, in
the same order as `commands/gather.py` and `commands/build_report.py` call them before they touch a database or a
storage) against the pod's environment — ConfigMap, then container env, Secret references as stand-in values (the
`envFrom` sources a spec adds hold what the admin wrote there, unknown to the operator: they are left out) —
so a test can prove that an accepted spec runs. Volumes are emulated under `root`: every mount path becomes a
directory there and the paths in variables and arguments are rewritten to it (the directories a report source
names inside its claim are created too: that data is the user's).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from metrics_operator import names
from metrics_utility import cli, contract
from metrics_utility.commands import build_report
from metrics_utility.gather import backfill
from metrics_utility.settings import gather as settings
from metrics_utility.settings.common import ConfigError
from metrics_utility.settings.report import report_settings
from metrics_utility.settings.sources import additional_sources
from metrics_utility.settings.when import WhenError, parse_when

SECRET_STAND_IN = 'stand-in-secret-value'
# Keys of the AAP operator's `<controller>-postgres-configuration` Secret whose values the worker parses: stand-ins of
# the shape that Secret holds (the others are free text).
SECRET_KEY_STAND_INS = {'host': 'controller-postgres-15', 'port': '5432', 'database': 'awx', 'sslmode': 'prefer'}
PATH_VARIABLES = (
    'SHIP_PATH',
    'STATE_PATH',
    'CRC_CA_BUNDLE',
    'PROMETHEUS_CA',
    'ELASTICSEARCH_CA_BUNDLE',
    'CONTROLLER_SECRET_KEY_FILE',
    'CRC_CLIENT_CERT',
    'CRC_CLIENT_KEY',
    'SERVE_TLS_CERT',
    'SERVE_TLS_KEY',
    'SERVE_CACHE_DIR',
)


@dataclass(frozen=True)
class Pod:
    """What the worker sees: its arguments (without the program name) and its environment."""

    argv: list[str]
    env: dict[str, str]


class ContainerConfigError(LookupError):
    """What the kubelet reports as CreateContainerConfigError: a required Secret, ConfigMap or key is missing."""


def kubernetes_env(
    container: Mapping[str, Any],
    configmap: Mapping[str, Any],
    objects: Mapping[tuple[str, str], Mapping[str, str]],
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: `envFrom` sources in order (a later source wins), then
    `env` (wins over every source), references resolved from `objects` ((`configmap`|`secret`, name) → data; the
    operator's own ConfigMap is `configmap`). Optional references to what is missing leave the variable unset."""
    known = {('configmap', configmap['metadata']['name']): configmap['data'], **objects}
    env: dict[str, str] = {}
    for source in container.get('envFrom') or []:
        kind = 'configmap' if 'configMapRef' in source else 'secret'
        ref = source['configMapRef' if kind == 'configmap' else 'secretRef']
        data = known.get((kind, ref['name']))
        if data is None and not ref.get('optional'):
            raise ContainerConfigError(f'{kind} {ref["name"]!r} not found')
        env.update(data or {})
    for item in container['env']:
        if 'valueFrom' not in item:
            env[item['name']] = item.get('value', '')
            continue
        kind = 'configmap' if 'configMapKeyRef' in item['valueFrom'] else 'secret'
        ref = item['valueFrom']['configMapKeyRef' if kind == 'configmap' else 'secretKeyRef']
        value = (known.get((kind, ref['name'])) or {}).get(ref['key'])
        if value is None and not ref.get('optional'):
            raise ContainerConfigError(f"couldn't find key {ref['key']} in {kind} {ref['name']!r}")
        if value is not None:
            env[item['name']] = value
    return env


def pod_of(
    workload: Mapping[str, Any],
    configmap: Mapping[str, Any],
    root: Path,
    objects: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
) -> Pod:
    """The worker container of a CronJob or Job, with its volumes emulated under `root`.

    Without `objects`, Secret references get stand-in values and added `envFrom` sources are left out; with them,
    the environment is built as the kubelet does (`kubernetes_env`)."""
    template = workload['spec'].get('jobTemplate', {}).get('spec', workload['spec'])['template']
    (container,) = template['spec']['containers']
    mounts = sorted((m['mountPath'] for m in container['volumeMounts']), key=len, reverse=True)
    for mount in mounts:
        (root / mount.lstrip('/')).mkdir(parents=True, exist_ok=True)
    volumes = {v['name']: v for v in template['spec'].get('volumes') or []}
    for mount in container['volumeMounts']:  # a Secret volume's items are files: stand-in content
        for item in (volumes.get(mount['name'], {}).get('secret') or {}).get('items') or []:
            (root / mount['mountPath'].lstrip('/') / item['path']).write_text(SECRET_STAND_IN)

    def rooted(value: str) -> str:
        for mount in mounts:
            if value == mount or value.startswith(mount.rstrip('/') + '/'):
                return str(root / value.lstrip('/'))
        return value

    env = dict(configmap['data']) if objects is None else kubernetes_env(container, configmap, objects)
    for item in container['env'] if objects is None else []:
        ref = (item.get('valueFrom') or {}).get('secretKeyRef') or {}
        stand_in = SECRET_KEY_STAND_INS.get(ref.get('key'), SECRET_STAND_IN) if 'valueFrom' in item else ''
        env[item['name']] = item.get('value', stand_in)
    secret_mounts = [
        root / m['mountPath'].lstrip('/') for m in container['volumeMounts'] if volumes.get(m['name'], {}).get('secret')
    ]
    for name in PATH_VARIABLES:
        if contract.PREFIX + name in env and env[contract.PREFIX + name]:
            env[contract.PREFIX + name] = path = rooted(env[contract.PREFIX + name])
            # a Secret mounted whole holds each of its keys as a file (a serving certificate's tls.crt, tls.key)
            if any(Path(path).parent == mount for mount in secret_mounts) and not Path(path).exists():
                Path(path).write_text(SECRET_STAND_IN)
    sources = contract.PREFIX + 'ADDITIONAL_SHIP_PATHS'
    if env.get(sources):
        parts = [p if p.startswith('s3://') else rooted(p) for p in env[sources].split(';')]
        for part in parts:
            if not part.startswith('s3://') and part.startswith(str(root)):
                with contextlib.suppress(OSError):  # a name no file system holds: the worker says so
                    Path(part).mkdir(parents=True, exist_ok=True)
        env[sources] = ';'.join(parts)
    argv = [rooted(arg) for arg in container['command'][1:]]
    assert container['command'][0] == 'metrics-utility'
    assert container['terminationMessagePath'] == names.TERMINATION_LOG
    return Pod(argv, env)


@cache
def _parser() -> argparse.ArgumentParser:
    return cli._parser()


def worker_problems(pod: Pod, now: datetime | None = None) -> list[str]:
    """Every problem the worker reports (exit code 2) for this pod before any I/O; [] when it would start."""
    now = now or datetime.now(tz=UTC)
    try:
        args = _parser().parse_args(pod.argv)
    except SystemExit as exc:  # argparse: exit code 2 with its usage message on stderr
        return [f'argparse refused {pod.argv} (exit {exc.code})']
    if args.command in ('gather', 'gather_automation_controller_billing_data'):
        return _gather_problems(args, pod.env, now)
    if args.command in ('build-report', 'build_report'):
        return _report_problems(args, pod.env, now)
    if args.command == 'check':
        from metrics_utility.commands.check import configuration
        from metrics_utility.settings.environment import Environment, overrides

        return configuration(Environment(pod.env, overrides(args)))[0]
    return [f'unexpected command {args.command}']


def _gather_problems(args: Any, env: dict[str, str], now: datetime) -> list[str]:
    """`commands.gather._parse` up to the first I/O (plus the backfill window check of a shard)."""
    problems: list[str] = []
    since = until = None
    for option in ('since', 'until'):
        text = getattr(args, option)
        try:
            value = parse_when(text, option=f'--{option}') if text else None
        except (WhenError, OverflowError) as exc:
            problems.append(str(exc))
            value = None
        since, until = (value, until) if option == 'since' else (since, value)
    chosen = [c.strip() for c in args.collectors.split(',') if c.strip()] if args.collectors else None
    try:
        settings.load(env, ship=args.ship, collectors=chosen)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if args.shard:
        try:
            backfill.Shard.parse(args.shard, '0')
            backfill.check_window(since, until, now)
        except backfill.ShardError as exc:
            problems.append(str(exc))
    return problems


def _report_problems(args: Any, env: dict[str, str], now: datetime) -> list[str]:
    """`commands.build_report.run` up to the first I/O."""
    problems: list[str] = []
    config = report_settings(env, problems, report_type=args.report_type, sheets=args.sheets)
    kind = config.report_type if config else (args.report_type or env.get(contract.PREFIX + 'REPORT_TYPE'))
    build_report.resolve_period(args, kind, problems, now.date())
    if args.ephemeral:
        build_report.parse_ephemeral(args.ephemeral, problems)
    additional_sources(env, args.also_from, problems, config.ship if config else None)
    return problems


def serve_problems(pod: Pod) -> list[str]:
    """The dashboard pod (`metrics-utility serve`) through the serve command's own settings loader."""
    from metrics_utility.settings.serve import serve_settings

    if pod.argv != ['serve']:
        return [f'expected the command metrics-utility serve, got {pod.argv}']
    problems: list[str] = []
    serve_settings(pod.env, problems)
    return problems
