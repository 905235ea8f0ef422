"""Gather configuration from `METRICS_UTILITY_*` variables (metrics-utility's names) and command-line overrides,
loaded once into typed groups: database, ship, crc, vcpu, package, retention, kpi, usage, platform.

Every problem is collected and reported together, each naming the variable and what is expected, so a cron job or
a CronJob is fixed in one round. Secrets (database password, S3 secret key, service-account secret) are kept in
`Secret` values whose repr never shows them. Each group is a frozen dataclass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from metrics_utility import contract
from metrics_utility.library import secret
from metrics_utility.library.package import parse_compression
from metrics_utility.library.secret import Secret

from .common import (
    ConfigError,
    ShipSettings,
    is_directory,
    nul_problems,
    ship_settings,
    shown,
    shown_name,
    whole_number,
)
from .environment import Environment, Override
from .network import PROXIES, NetworkSettings, network_settings, trusted_ca  # noqa: F401 - PROXIES re-exported
from .report import organization_filter
from .variables import declared

TARGETS = ('directory', 's3', 'crc')
DEFAULT_OPTIONAL = ('main_jobevent',)
KNOWN_COLLECTORS = contract.COLLECTOR_KEYS  # the one list the operator and its CRD are built from
DEFAULT_INGRESS = declared('METRICS_UTILITY_CRC_INGRESS_URL').default
DEFAULT_SECRET_KEY_FILE = declared('METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE').default
DEFAULT_SSO = declared('METRICS_UTILITY_CRC_SSO_URL').default
DEFAULT_PROMETHEUS = declared('METRICS_UTILITY_PROMETHEUS_URL').default
PREFIX = contract.PREFIX
DEFAULT_LOCK = 'gather_automation_controller_billing_lock'
SERVICE_ACCOUNT_TOKEN = Path('/var/run/secrets/kubernetes.io/serviceaccount/token')


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: str
    dbname: str
    user: str
    password: Secret
    sslmode: str


@dataclass(frozen=True)
class CrcSettings:
    billing_provider: str | None
    billing_account_id: str | None
    red_hat_org_id: str | None
    client_id: str | None
    client_secret: Secret | None
    client_cert: str | None
    client_key: str | None
    ingress_url: str | None
    sso_url: str | None
    proxy_url: str | None
    ca_bundle: str | None
    candlepin_enabled: bool = False  # upload with the controller's Candlepin identity (library.candlepin)
    controller_secret_key_file: str | None = None  # decrypts that identity; never read into the settings


@dataclass(frozen=True)
class VcpuSettings:
    cluster_name: str | None
    metering_enabled: bool
    prometheus_url: str | None
    token_file: str | None
    ca_bundle: str | None


@dataclass(frozen=True)
class PackageSettings:
    compression: str | None = None
    max_bytes: int | None = None


@dataclass(frozen=True)
class RetentionSettings:
    max_age_days: int | None = None
    max_bytes: int | None = None
    upload_state: str | None = None


@dataclass(frozen=True)
class KpiSettings:
    url: str
    index: str
    username: str | None
    password: Secret | None
    api_key: Secret | None
    ca_bundle: str | None


@dataclass(frozen=True)
class UsageSettings:
    """Month-to-date usage: on/off, and the report's deduplicator and CCSPv2 organization filter."""

    enabled: bool = False
    deduplicator: str = 'ccsp'
    organization_filter: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlatformSettings:
    """What config.json says the worker runs on: openshift, k8s or traditional."""

    install_type: str = 'traditional'


@dataclass(frozen=True)
class GatherSettings:
    ship: ShipSettings | None
    collectors: list[str]
    save_watermarks: bool
    max_days: int
    lock_name: str
    state_path: Path | None
    db: DatabaseSettings
    crc: CrcSettings | None
    vcpu: VcpuSettings | None
    package: PackageSettings
    retention: RetentionSettings
    elasticsearch: KpiSettings | None  # None: no KPI sink
    usage: UsageSettings
    platform: PlatformSettings
    network: NetworkSettings = field(default_factory=NetworkSettings)
    secondary_target: str | None = None  # a put-only second target fed from this one (gather/secondary.py)
    parallelism: int = 2  # concurrent read sessions per window export (METRICS_UTILITY_GATHER_PARALLELISM)

    @property
    def ship_target(self) -> str | None:
        return self.ship.target if self.ship else None

    @property
    def ship_path(self) -> str | None:
        return self.ship.path if self.ship else None

    @property
    def compression(self) -> str | None:
        return self.package.compression

    @property
    def package_max_bytes(self) -> int | None:
        return self.package.max_bytes


def _service_account_token() -> str | None:
    """In a pod, Prometheus (OpenShift monitoring) accepts the pod's own service-account token."""
    return str(SERVICE_ACCOUNT_TOKEN) if SERVICE_ACCOUNT_TOKEN.is_file() else None


def load(
    env: Mapping[str, str] | Environment,
    *,
    ship: bool,
    collectors: list[str] | None = None,
    flags: Mapping[str, tuple[str, str]] | None = None,
) -> GatherSettings:
    """Read and check the gather variables; raise ConfigError listing every problem.

    Flags come as the environment's overrides (`settings.environment.overrides`); for callers that parse their own
    arguments, `collectors` (from --collectors) replaces the collector variables and `flags` maps a variable suffix
    to the (flag, value) that replaces it, e.g. {'RETENTION_MAX_AGE_DAYS': ('--retention-max-age-days', '-5')}.
    """
    extra: dict[str, Override] = {PREFIX + suffix: given for suffix, given in (flags or {}).items()}
    if collectors is not None:
        extra[f'{PREFIX}OPTIONAL_COLLECTORS'] = ('--collectors', ','.join(collectors))
    env = Environment.of(env).with_flags(extra)
    problems: list[str] = nul_problems({k: v for k, v in env.values.items() if k.startswith(PREFIX)})
    problems += nul_problems({flag: str(value) for flag, value in env.flags.values()})

    shipping = ship_settings(env, TARGETS, problems) if ship or env.text(f'{PREFIX}SHIP_TARGET') else None
    target = shipping.target if shipping else None
    wanted = _collectors(env, problems)
    save_watermarks = not env.boolean('METRICS_UTILITY_DISABLE_SAVE_LAST_GATHERED_ENTRIES', problems)
    days_text = env.text('METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS')  # 0: metrics-utility's empty window, nothing to do
    empty = days_text is not None and whole_number(days_text, 0, 0) == 0
    max_days = 0 if empty else env.whole('METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS', problems, 28)
    suffix = env.text('METRICS_UTILITY_COLLECTOR_LOCK_SUFFIX')
    lock_name = f'gather_automation_controller_billing_{suffix}_lock' if suffix else DEFAULT_LOCK
    state = env.text('METRICS_UTILITY_STATE_PATH')
    state_path = Path(state) if state else None
    if target == 'crc' and ship and save_watermarks and not state_path:
        state_path = default_crc_state(env.text('METRICS_UTILITY_SHIP_PATH'))
        if state_path is None:
            problems.append(
                f'{PREFIX}STATE_PATH is not set: console.redhat.com cannot be read back, so watermarks need '
                'a file on a persistent volume (e.g. /var/lib/metrics-utility/watermarks.json), or '
                f'{PREFIX}SHIP_PATH naming an existing directory (they then live in its state/crc-watermarks.json)'
            )
    secondary = secondary_target(env, target, problems) if shipping else None
    db = database_settings(env, problems)
    parallelism = env.whole('METRICS_UTILITY_GATHER_PARALLELISM', problems, 2)
    network = network_settings(env, problems)  # before the clients' groups: they fall back to its CA bundle
    crc = crc_settings(env, problems) if 'crc' in (target, secondary) else None
    vcpu = vcpu_settings(env, problems) if contract.VCPU_COLLECTOR in wanted else None
    package = package_settings(env, problems)
    usage = usage_settings(env, problems)
    retention = retention_settings(env, problems)
    kpi = kpi_settings(env, problems)
    platform = platform_settings(env)
    if problems:
        raise ConfigError(problems)
    assert max_days is not None
    return GatherSettings(
        shipping,
        wanted,
        save_watermarks,
        max_days,
        lock_name,
        state_path,
        db,
        crc,
        vcpu,
        package,
        retention,
        kpi,
        usage,
        platform,
        network,
        secondary,
        parallelism,
    )


def default_crc_state(ship_path: str | None) -> Path | None:
    """Upstream's console CronJob ships to crc with no state file (its watermarks live in the controller database,
    which we never write) but with SHIP_PATH on the mounted claim: the watermarks go there."""
    if not ship_path or not is_directory(ship_path):
        return None
    return Path(ship_path) / 'state' / 'crc-watermarks.json'


def secondary_target(env: Environment, target: str | None, problems: list[str]) -> str | None:
    """METRICS_UTILITY_SECONDARY_TARGET: console.redhat.com beside a readable target (its packages feed it)."""
    name = f'{PREFIX}SECONDARY_TARGET'
    value = env.text(name)
    if value is None:
        return None
    choices = declared(name).choices
    if value not in choices:
        problems.append(f'{name}={shown(value)}: expected {", ".join(choices)} (console.redhat.com)')
        return None
    if target not in ('directory', 's3'):
        problems.append(
            f'{name}={value}: needs {PREFIX}SHIP_TARGET directory or s3 (the second target is fed from the '
            f'packages stored there), found {shown(target or "")}'
        )
        return None
    return value


def _collectors(env: Environment, problems: list[str]) -> list[str]:
    """job_host_summary unless disabled, plus the optional list (default main_jobevent); --collectors replaces
    both."""
    given = env.flag('METRICS_UTILITY_OPTIONAL_COLLECTORS')
    if given is None:
        raw = env.raw('METRICS_UTILITY_OPTIONAL_COLLECTORS')  # set but empty means: no optional collectors
        optional = [c.strip() for c in raw.split(',') if c.strip()] if raw is not None else list(DEFAULT_OPTIONAL)
        disabled = env.boolean('METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR', problems)
        wanted = [] if disabled else [contract.ALWAYS_ON_COLLECTOR]
        wanted += [c for c in optional if c not in wanted]
    else:
        env.raw('METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR')  # replaced by the flag, as documented
        wanted = list(dict.fromkeys(c.strip() for c in str(given[1]).split(',') if c.strip()))
    unknown = [c for c in wanted if c not in KNOWN_COLLECTORS]
    if unknown:
        problems.append(
            f'unknown collector(s) {", ".join(map(shown_name, unknown))}: expected some of '
            f'{", ".join(KNOWN_COLLECTORS)}'
        )
    if not wanted and given is not None:
        problems.append(f'--collectors names no collector: expected some of {", ".join(KNOWN_COLLECTORS)}')
    elif not wanted:
        problems.append(f'no collector selected: enable job_host_summary or list some in {PREFIX}OPTIONAL_COLLECTORS')
    return [c for c in wanted if c in KNOWN_COLLECTORS]


def database_settings(env: Environment, problems: list[str]) -> DatabaseSettings:
    db = DatabaseSettings(
        host=env.text('METRICS_UTILITY_DB_HOST') or 'localhost',
        port=str(env.whole('METRICS_UTILITY_DB_PORT', problems, 5432)),
        dbname=env.text('METRICS_UTILITY_DB_NAME') or 'awx',
        user=env.text('METRICS_UTILITY_DB_USER') or 'awx',
        password=Secret(env.text('METRICS_UTILITY_DB_PASSWORD') or ''),
        sslmode=env.text('METRICS_UTILITY_DB_SSLMODE') or 'prefer',
    )
    for host in db.host.split(','):  # libpq: comma-separated hosts; '/…' is a socket directory
        if not host.startswith('/') and (len(host) > 253 or any(len(label) > 63 for label in host.split('.'))):
            problems.append(
                f'{PREFIX}DB_HOST={shown(db.host)}: expected host names (labels of at most 63 '
                'characters, 253 in all), IP addresses or a socket directory'
            )
            break
    modes = declared('METRICS_UTILITY_DB_SSLMODE').choices
    if db.sslmode not in modes:
        problems.append(f'{PREFIX}DB_SSLMODE={shown(db.sslmode)}: expected {", ".join(modes[:-1])} or {modes[-1]}')
    return db


def url(env: Environment, name: str, problems: list[str]) -> str | None:
    """A URL variable; one holding `user:password@` is a problem (never echoed) and reads as unset."""
    value = env.text(name)
    if problem := secret.url_credentials_problem(name, value, declared(name).instead or ''):
        problems.append(problem)
        return None
    return value


def crc_settings(env: Environment, problems: list[str]) -> CrcSettings:
    secret_value = env.text('METRICS_UTILITY_SERVICE_ACCOUNT_SECRET')
    crc = CrcSettings(
        billing_provider=env.text('METRICS_UTILITY_BILLING_PROVIDER'),
        billing_account_id=env.text('METRICS_UTILITY_BILLING_ACCOUNT_ID'),
        red_hat_org_id=env.text('METRICS_UTILITY_RED_HAT_ORG_ID'),
        client_id=env.text('METRICS_UTILITY_SERVICE_ACCOUNT_ID'),
        client_secret=Secret(secret_value) if secret_value else None,
        client_cert=env.text('METRICS_UTILITY_CRC_CLIENT_CERT'),
        client_key=env.text('METRICS_UTILITY_CRC_CLIENT_KEY'),
        ingress_url=url(env, 'METRICS_UTILITY_CRC_INGRESS_URL', problems) or DEFAULT_INGRESS,
        sso_url=url(env, 'METRICS_UTILITY_CRC_SSO_URL', problems) or DEFAULT_SSO,
        proxy_url=url(env, 'METRICS_UTILITY_PROXY_URL', problems),
        ca_bundle=trusted_ca(env, 'METRICS_UTILITY_CRC_CA_BUNDLE'),
        candlepin_enabled=env.boolean('METRICS_UTILITY_CANDLEPIN_ENABLED', problems),
        controller_secret_key_file=env.text('METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE') or DEFAULT_SECRET_KEY_FILE,
    )
    if crc.billing_provider not in declared('METRICS_UTILITY_BILLING_PROVIDER').choices:
        problems.append(f'{PREFIX}BILLING_PROVIDER={shown(crc.billing_provider or "")}: expected aws')
    account = crc.billing_account_id or ''
    if not (account.isascii() and account.isdigit() and len(account) == 12):
        problems.append(f'{PREFIX}BILLING_ACCOUNT_ID: expected the 12-digit AWS account id')
    mutual = crc.client_cert or crc.client_key
    if mutual and not (crc.client_cert and crc.client_key):
        problems.append(f'{PREFIX}CRC_CLIENT_CERT and {PREFIX}CRC_CLIENT_KEY: set both for mutual TLS')
    if crc.candlepin_enabled:  # an explicit file must exist; upstream's default path may be absent (no identity then)
        problems.extend(secret_key_file_problems(env.text('METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE')))
    account = (crc.client_id, crc.client_secret)
    if any(account) and not all(account):  # half a service account is a mistake even beside a certificate
        problems.append(f'{PREFIX}SERVICE_ACCOUNT_ID and {PREFIX}SERVICE_ACCOUNT_SECRET: set both (or neither)')
    elif not mutual and not crc.candlepin_enabled and not all(account):
        problems.append(
            f'{PREFIX}SERVICE_ACCOUNT_ID and {PREFIX}SERVICE_ACCOUNT_SECRET: expected the console.redhat.com '
            f"service account, or a client certificate ({PREFIX}CRC_CLIENT_CERT/_KEY) or the controller's identity "
            f'({PREFIX}CANDLEPIN_ENABLED=true) to upload with'
        )
    return crc


def secret_key_file_problems(path: str | None) -> list[str]:
    """A SECRET_KEY file given explicitly must exist (its content is read only when used). Unset, the default path
    is tried at upload time and a missing file only means "no controller identity": metrics-utility's drop-in
    ConfigMaps set CANDLEPIN_ENABLED without our variable, and must never make gather exit 2."""
    name = f'{PREFIX}CONTROLLER_SECRET_KEY_FILE'
    if path is None or '\x00' in path:  # a NUL byte is reported with every variable by nul_problems
        return []
    if not (Path(path).is_file() and os.access(path, os.R_OK)):
        return [f"{name}={shown(path)}: expected a readable file holding the controller's SECRET_KEY"]
    return []


def vcpu_settings(env: Environment, problems: list[str]) -> VcpuSettings:
    vcpu = VcpuSettings(
        cluster_name=env.text('METRICS_UTILITY_CLUSTER_NAME'),
        metering_enabled=env.boolean('METRICS_UTILITY_USAGE_BASED_METERING_ENABLED', problems),
        prometheus_url=url(env, 'METRICS_UTILITY_PROMETHEUS_URL', problems) or DEFAULT_PROMETHEUS,
        token_file=env.text('METRICS_UTILITY_PROMETHEUS_TOKEN_FILE') or _service_account_token(),
        ca_bundle=trusted_ca(env, 'METRICS_UTILITY_PROMETHEUS_CA'),
    )
    if not vcpu.cluster_name:
        problems.append(f'{PREFIX}CLUSTER_NAME is not set: required when total_workers_vcpu is collected')
    return vcpu


def package_settings(env: Environment, problems: list[str]) -> PackageSettings:
    compression = env.text('METRICS_UTILITY_COMPRESSION')
    if compression is not None:
        try:
            parse_compression(compression)
        except ValueError:
            problems.append(
                f"{PREFIX}COMPRESSION={shown(compression)}: expected 'isal-0'..'isal-3' or 'gzip-0'..'gzip-9'"
            )
    return PackageSettings(compression, env.whole('METRICS_UTILITY_PACKAGE_MAX_BYTES', problems, None))


def usage_settings(env: Mapping[str, str] | Environment, problems: list[str] | None = None) -> UsageSettings:
    """Month-to-date usage: METRICS_UTILITY_MONTH_USAGE, with build-report's deduplicator (a CCSP one, else ccsp)
    and organization filter (CCSPv2 only), so the summary's figures match the report's."""
    env = Environment.of(env)
    enabled = env.boolean('METRICS_UTILITY_MONTH_USAGE', problems if problems is not None else [])
    dedup = env.text('METRICS_UTILITY_DEDUPLICATOR') or 'ccsp'
    orgs = organization_filter(env, env.text('METRICS_UTILITY_REPORT_TYPE') or '')
    return UsageSettings(enabled, dedup if dedup in contract.CCSP_DEDUPLICATORS else 'ccsp', orgs)


def retention_settings(env: Environment, problems: list[str]) -> RetentionSettings:
    """Retention limits (variables or their flags); docs/scale.md."""
    retention = RetentionSettings(
        max_age_days=env.whole('METRICS_UTILITY_RETENTION_MAX_AGE_DAYS', problems, None),
        max_bytes=env.whole('METRICS_UTILITY_RETENTION_MAX_BYTES', problems, None),
        upload_state=env.text('METRICS_UTILITY_RETENTION_UPLOAD_STATE'),
    )
    if retention.upload_state and not retention.upload_state.startswith('state/'):
        problems.append(
            f'{PREFIX}RETENTION_UPLOAD_STATE={shown(retention.upload_state)}: expected an object name '
            'under state/ (e.g. state/uploaded.json)'
        )
    return retention


def kpi_settings(env: Environment, problems: list[str]) -> KpiSettings | None:
    """The Elasticsearch KPI sink (docs/scale.md); None when METRICS_UTILITY_ELASTICSEARCH_URL is unset."""
    name = 'METRICS_UTILITY_ELASTICSEARCH_URL'
    raw_url = env.text(name)
    password = env.text('METRICS_UTILITY_ELASTICSEARCH_PASSWORD')
    api_key = env.text('METRICS_UTILITY_ELASTICSEARCH_API_KEY')
    username = env.text('METRICS_UTILITY_ELASTICSEARCH_USERNAME')
    index = env.text('METRICS_UTILITY_ELASTICSEARCH_INDEX') or declared('METRICS_UTILITY_ELASTICSEARCH_INDEX').default
    if raw_url is None:
        env.raw('METRICS_UTILITY_ELASTICSEARCH_CA_BUNDLE')  # read (and unused) without a URL, as the others are
        return None
    ca_bundle = trusted_ca(env, 'METRICS_UTILITY_ELASTICSEARCH_CA_BUNDLE')
    checked = url(env, name, problems)
    if checked is not None and not checked.startswith(('https://', 'http://')):
        problems.append(f'{name}={checked!r}: expected https://host:9200')
    if api_key and (username or password):
        problems.append(f'{PREFIX}ELASTICSEARCH_API_KEY and {PREFIX}ELASTICSEARCH_USERNAME/PASSWORD: set one of them')
    elif bool(username) != bool(password):
        problems.append(f'{PREFIX}ELASTICSEARCH_USERNAME and {PREFIX}ELASTICSEARCH_PASSWORD: set both for basic auth')
    assert index is not None
    return KpiSettings(
        checked or '',
        index,
        username,
        Secret(password) if password else None,
        Secret(api_key) if api_key else None,
        ca_bundle,
    )


def platform_settings(env: Mapping[str, str] | Environment) -> PlatformSettings:
    """The install type config.json reports: OCI runtimes set `container=oci`, every pod KUBERNETES_SERVICE_*."""
    env = Environment.of(env)
    runtime, pod = env.text('container'), (env.text('KUBERNETES_SERVICE_PORT'), env.text('KUBERNETES_SERVICE_HOST'))
    if runtime == 'oci':
        return PlatformSettings('openshift')
    return PlatformSettings('k8s' if any(pod) else 'traditional')


def job_completion_index(env: Mapping[str, str] | Environment) -> str | None:
    """The pod's index in an Indexed Job (`--shard n` takes it as i), as Kubernetes set it."""
    return Environment.of(env).raw('JOB_COMPLETION_INDEX')
