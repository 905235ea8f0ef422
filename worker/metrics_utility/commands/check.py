"""`metrics-utility check`: the preflight, for the operator's check Job and for cron users alike.

It reads the same variables as `gather --ship` (and `build-report` when METRICS_UTILITY_REPORT_TYPE is set) and asks
each peer one short question: the database login and SELECT on every table the configured collectors read, a probe
object written, read back and deleted in the storage (console.redhat.com: a token or the client certificate
accepted), a Prometheus query when total_workers_vcpu is collected, the report header fields. Every problem is
reported, not just the first. Exit codes: 0 all checks passed, 1 a check failed, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import sys

from metrics_utility import contract
from metrics_utility.check import outcomes
from metrics_utility.check.outcomes import CheckResult
from metrics_utility.commands import summary_path
from metrics_utility.library import secret, summary_file
from metrics_utility.library.storage import StorageError
from metrics_utility.settings import gather as gather_settings
from metrics_utility.settings.common import ConfigError
from metrics_utility.settings.environment import Environment, overrides, process_environment
from metrics_utility.settings.report import ReportSettings, report_settings

PROG = 'metrics-utility check'


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        'check',
        help='check the database, storage, Prometheus and report settings before the first run',
        description='Check, in seconds, that gather --ship (and build-report when METRICS_UTILITY_REPORT_TYPE is '
        'set) can work with this configuration: database login and SELECT on every table the collectors read, a '
        'probe object in the storage (console.redhat.com: token or certificate accepted), Prometheus, report header '
        'fields. Exit 0 all passed, 1 a check failed, 2 bad configuration (docs/check.md).',
    )
    p.add_argument('--collectors', help='comma-separated collector keys (overrides the environment)')
    p.add_argument('--summary-file', type=summary_path, help="write the checks as JSON here ('-' for stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    environment = Environment(process_environment() if env is None else env, overrides(args))
    results = check(environment)
    for line in outcomes.lines(results):
        (sys.stdout if not results or results[0].reason != 'InvalidConfiguration' else sys.stderr).write(
            secret.redact(line) + '\n'
        )
    data = outcomes.summary(results)
    summary_file.write_json(data, args.summary_file)
    return outcomes.exit_code(results)


def configuration(env: Environment) -> tuple[list[str], gather_settings.GatherSettings | None, ReportSettings | None]:
    """(every configuration problem, the gather settings, the report settings when REPORT_TYPE is set): what the
    check reads before it asks any peer (the operator's tests feed each rendered check pod to it)."""
    problems: list[str] = []
    config = None
    try:
        config = gather_settings.load(env, ship=True)
    except ConfigError as exc:
        problems.extend(exc.problems)
    report = report_settings(env, problems) if env.text(f'{contract.PREFIX}REPORT_TYPE') else None
    return problems, config, report


def check(env: Environment) -> list[CheckResult]:
    """Every check this configuration calls for, in order; configuration problems end it before any connection."""
    from metrics_utility.check import probes  # the peers' clients (psycopg, requests): imported when it runs
    from metrics_utility.library.collectors.controller.tables import OPTIONAL_TABLES, tables_read

    problems, config, report = configuration(env)
    if problems or config is None:
        return [outcomes.failed('configuration', 'InvalidConfiguration', '; '.join(problems))]
    db = config.db
    conninfo = {
        'host': db.host,
        'port': db.port,
        'dbname': db.dbname,
        'user': db.user,
        'password': db.password.reveal() or None,
        'sslmode': db.sslmode,
    }
    results = probes.database(conninfo, db.user, tables_read(config.collectors), OPTIONAL_TABLES)
    results.append(_storage(config))
    if config.secondary_target == 'crc':
        results.append(_console(config, 'secondary'))
    if config.vcpu is not None:
        vcpu = config.vcpu
        results.append(probes.prometheus(vcpu.prometheus_url or '', vcpu.token_file, vcpu.ca_bundle))
    if report is not None:
        results.append(outcomes.header_result(report.report_type, report.header))
    return results


def _storage(config: gather_settings.GatherSettings) -> CheckResult:
    from metrics_utility.check import probes

    ship = config.ship
    assert ship is not None  # load(ship=True) requires a target
    if ship.target == 'crc':
        return _console(config, 'storage')
    try:  # the configured client (CA bundle, proxy) with one attempt and short timeouts: a probe never hangs
        store = ship.storage(max_attempts=1, connect_timeout=probes.TIMEOUT, read_timeout=probes.TIMEOUT)
    except StorageError as exc:
        return outcomes.failed('storage', 'StorageUnreachable', secret.redact(str(exc).splitlines()[0]))
    return probes.storage(store)


def _console(config: gather_settings.GatherSettings, name: str) -> CheckResult:
    """console.redhat.com accepts the certificate the uploads take first (the CRC_CLIENT_CERT/KEY files, else the
    controller's identity), or SSO issues a token for our service account (alone, or as the fallback of a controller
    identity that is not usable). The certificate goes to the ingress's `cert.` host, as the uploads do."""
    from metrics_utility.check import probes
    from metrics_utility.gather.wiring import controller_identity
    from metrics_utility.library.storage.crc_identity import cert_ingress_url

    crc = config.crc
    assert crc is not None  # load() reads the crc group for a crc target or second target
    try:
        ingress = cert_ingress_url(crc.ingress_url or '')
    except ValueError as exc:
        return outcomes.failed(name, 'InvalidConfiguration', str(exc))
    if crc.client_cert and crc.client_key:
        return probes.client_certificate(
            ingress, crc.client_cert, crc.client_key, crc.proxy_url, crc.ca_bundle, name=name
        )
    service_account = bool(crc.client_id and crc.client_secret)
    if crc.candlepin_enabled:
        identity, why = controller_identity(config)
        if identity is not None:
            return probes.client_identity(ingress, identity, crc.proxy_url, crc.ca_bundle, name=name)
        if not service_account:
            return outcomes.failed(
                name,
                'AuthenticationFailed',
                f'{why}, and no service account is configured ({contract.PREFIX}SERVICE_ACCOUNT_ID/_SECRET) '
                'to fall back to',
            )
    assert crc.client_id and crc.client_secret  # the settings require one identity at least
    return probes.service_account(
        crc.sso_url or '', crc.client_id, crc.client_secret.reveal(), crc.proxy_url, crc.ca_bundle, name=name
    )
