"""Gather configuration from `METRICS_UTILITY_*` variables (metrics-utility's names) and command-line overrides.

Every problem is collected and reported together, each naming the variable and what is expected, so a cron job or
a CronJob is fixed in one round. Secrets (database password, S3 secret key, service-account secret) are kept in
`Secret` values whose repr never shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from metrics_utility import contract
from metrics_utility.library import secret
from metrics_utility.library.package import parse_compression
from metrics_utility.library.secret import Secret
from metrics_utility.settings.common import (
    ConfigError,
    ShipSettings,
    nul_problems,
    ship_settings,
    shown,
    shown_name,
    shown_number,
    whole_number,
)

TARGETS = ('directory', 's3', 'crc')
DEFAULT_OPTIONAL = ('main_jobevent',)
KNOWN_COLLECTORS = contract.COLLECTOR_KEYS  # the one list the operator and its CRD are built from
DEFAULT_INGRESS = 'https://console.redhat.com/api/ingress/v1/upload'
DEFAULT_SSO = 'https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token'
DEFAULT_PROMETHEUS = 'https://prometheus-k8s.openshift-monitoring.svc.cluster.local:9091'
PREFIX = 'METRICS_UTILITY_'


SettingsError = ConfigError  # one error type for every command


@dataclass
class GatherSettings:
    ship: ShipSettings | None = None
    collectors: list[str] = field(default_factory=list)
    save_watermarks: bool = True
    max_days: int = 28
    lock_name: str = 'gather_automation_controller_billing_lock'
    state_path: Path | None = None
    db: dict[str, str] = field(default_factory=dict)
    crc: dict[str, str | None] = field(default_factory=dict)
    vcpu: dict[str, str | bool | None] = field(default_factory=dict)
    compression: str | None = None
    package_max_bytes: int | None = None
    retention: dict[str, int | str | None] = field(default_factory=dict)  # max_age_days, max_bytes, upload_state
    elasticsearch: dict[str, str | Secret | None] = field(default_factory=dict)  # empty: no KPI sink

    @property
    def ship_target(self) -> str | None:
        return self.ship.target if self.ship else None

    @property
    def ship_path(self) -> str | None:
        return self.ship.path if self.ship else None


SERVICE_ACCOUNT_TOKEN = Path('/var/run/secrets/kubernetes.io/serviceaccount/token')


def _service_account_token() -> str | None:
    """In a pod, Prometheus (OpenShift monitoring) accepts the pod's own service-account token."""
    return str(SERVICE_ACCOUNT_TOKEN) if SERVICE_ACCOUNT_TOKEN.is_file() else None


def _flag(env: Mapping[str, str], name: str, problems: list[str], default: bool = False) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == '':
        return default
    value = raw.strip().lower()
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    problems.append(f'{PREFIX}{name}={shown(raw)}: expected true or false')
    return default


def _int(env: Mapping[str, str], name: str, problems: list[str], default: int | None, low: int, high: int,
         flags: Mapping[str, tuple[str, str]] | None = None) -> int | None:  # fmt: skip
    """The variable `name` as a whole number in [low, high]; `flags` (variable suffix → (flag, value)) give a
    command-line value that replaces the variable and passes exactly the same check (an empty flag is an error)."""
    if flags and name in flags:
        label, raw = flags[name]
    else:
        label, raw = PREFIX + name, env.get(PREFIX + name)
        if raw is None or raw.strip() == '':
            return default
    value = whole_number(raw, low, high)
    if value is None:
        problems.append(f'{label}={shown_number(raw)}: expected a whole number from {low} to {high}')
        return default
    return value


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name)
    return value.strip() if value is not None and value.strip() != '' else None


def load(env: Mapping[str, str], *, ship: bool, collectors: list[str] | None = None,
         flags: Mapping[str, tuple[str, str]] | None = None) -> GatherSettings:  # fmt: skip
    """Read and check the gather variables; raise SettingsError listing every problem.

    `collectors` (from --collectors) replaces the collector variables; `flags` maps a variable suffix to the
    (flag, value) that replaces it, e.g. {'RETENTION_MAX_AGE_DAYS': ('--retention-max-age-days', '-5')}.
    """
    problems: list[str] = nul_problems({k: v for k, v in env.items() if k.startswith(PREFIX)})
    problems += nul_problems({flag: value for flag, value in (flags or {}).values()})
    s = GatherSettings()

    if ship or _get(env, 'SHIP_TARGET'):
        s.ship = ship_settings(env, TARGETS, problems)

    # Collectors: job_host_summary unless disabled, plus the optional list (default main_jobevent).
    if collectors is None:
        raw = env.get(PREFIX + 'OPTIONAL_COLLECTORS')  # set but empty means: no optional collectors
        optional = [c.strip() for c in raw.split(',') if c.strip()] if raw is not None else list(DEFAULT_OPTIONAL)
        wanted = [] if _flag(env, 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR', problems) else ['job_host_summary']
        wanted += [c for c in optional if c not in wanted]
    else:
        wanted = list(dict.fromkeys(collectors))
    unknown = [c for c in wanted if c not in KNOWN_COLLECTORS]
    if unknown:
        problems.append(f'unknown collector(s) {", ".join(map(shown_name, unknown))}: expected some of '
                        f'{", ".join(KNOWN_COLLECTORS)}')  # fmt: skip
    if not wanted and collectors is not None:
        problems.append(f'--collectors names no collector: expected some of {", ".join(KNOWN_COLLECTORS)}')
    elif not wanted:
        problems.append('no collector selected: enable job_host_summary or list some in '
                        f'{PREFIX}OPTIONAL_COLLECTORS')  # fmt: skip
    s.collectors = [c for c in wanted if c in KNOWN_COLLECTORS]

    s.save_watermarks = not _flag(env, 'DISABLE_SAVE_LAST_GATHERED_ENTRIES', problems)
    s.max_days = _int(env, 'MAX_GATHER_PERIOD_DAYS', problems, 28, 1, 3650)
    suffix = _get(env, 'COLLECTOR_LOCK_SUFFIX')
    if suffix:
        s.lock_name = f'gather_automation_controller_billing_{suffix}_lock'
    state = _get(env, 'STATE_PATH')
    s.state_path = Path(state) if state else None
    if s.ship_target == 'crc' and ship and s.save_watermarks and not s.state_path:
        problems.append(f'{PREFIX}STATE_PATH is not set: console.redhat.com cannot be read back, so watermarks need '
                        'a file on a persistent volume (e.g. /var/lib/metrics-utility/watermarks.json)')  # fmt: skip

    s.db = {
        'host': _get(env, 'DB_HOST') or 'localhost',
        'port': str(_int(env, 'DB_PORT', problems, 5432, 1, 65535)),
        'dbname': _get(env, 'DB_NAME') or 'awx',
        'user': _get(env, 'DB_USER') or 'awx',
        'password': Secret(_get(env, 'DB_PASSWORD') or ''),
        'sslmode': _get(env, 'DB_SSLMODE') or 'prefer',
    }
    for host in s.db['host'].split(','):  # libpq: comma-separated hosts; '/…' is a socket directory
        if not host.startswith('/') and (len(host) > 253 or any(len(label) > 63 for label in host.split('.'))):
            problems.append(f'{PREFIX}DB_HOST={shown(s.db["host"])}: expected host names (labels of at most 63 '
                            'characters, 253 in all), IP addresses or a socket directory')  # fmt: skip
            break
    if s.db['sslmode'] not in ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'):
        problems.append(f'{PREFIX}DB_SSLMODE={shown(s.db["sslmode"])}: expected disable, allow, prefer, require, '
                        'verify-ca or verify-full')  # fmt: skip

    if s.ship_target == 'crc':
        s.crc = {
            'billing_provider': _get(env, 'BILLING_PROVIDER'),
            'billing_account_id': _get(env, 'BILLING_ACCOUNT_ID'),
            'red_hat_org_id': _get(env, 'RED_HAT_ORG_ID'),
            'client_id': _get(env, 'SERVICE_ACCOUNT_ID'),
            'client_secret': Secret(v) if (v := _get(env, 'SERVICE_ACCOUNT_SECRET')) else None,
            'client_cert': _get(env, 'CRC_CLIENT_CERT'),
            'client_key': _get(env, 'CRC_CLIENT_KEY'),
            'ingress_url': _get(env, 'CRC_INGRESS_URL') or DEFAULT_INGRESS,
            'sso_url': _get(env, 'CRC_SSO_URL') or DEFAULT_SSO,
            'proxy_url': _get(env, 'PROXY_URL'),
            'ca_bundle': _get(env, 'CRC_CA_BUNDLE'),
        }
        _refuse_url_credentials(s.crc, problems, {
            'ingress_url': ('CRC_INGRESS_URL', f'the service account goes in {PREFIX}SERVICE_ACCOUNT_ID/SECRET'),
            'sso_url': ('CRC_SSO_URL', f'the service account goes in {PREFIX}SERVICE_ACCOUNT_ID/SECRET'),
            'proxy_url': ('PROXY_URL', 'set HTTPS_PROXY from a Secret instead (its password is redacted too)'),
        })  # fmt: skip
        if s.crc['billing_provider'] != 'aws':
            problems.append(f'{PREFIX}BILLING_PROVIDER={shown(s.crc["billing_provider"] or "")}: expected aws')
        account = s.crc['billing_account_id'] or ''
        if not (account.isascii() and account.isdigit() and len(account) == 12):
            problems.append(f'{PREFIX}BILLING_ACCOUNT_ID: expected the 12-digit AWS account id')
        mutual = s.crc['client_cert'] or s.crc['client_key']
        if mutual and not (s.crc['client_cert'] and s.crc['client_key']):
            problems.append(f'{PREFIX}CRC_CLIENT_CERT and {PREFIX}CRC_CLIENT_KEY: set both for mutual TLS')
        if not mutual and not (s.crc['client_id'] and s.crc['client_secret']):
            problems.append(f'{PREFIX}SERVICE_ACCOUNT_ID and {PREFIX}SERVICE_ACCOUNT_SECRET: expected the '
                            'console.redhat.com service account (or CRC_CLIENT_CERT/KEY for mutual TLS)')  # fmt: skip

    if 'total_workers_vcpu' in s.collectors:
        s.vcpu = {
            'cluster_name': _get(env, 'CLUSTER_NAME'),
            'metering_enabled': _flag(env, 'USAGE_BASED_METERING_ENABLED', problems),
            'prometheus_url': _get(env, 'PROMETHEUS_URL') or DEFAULT_PROMETHEUS,
            'token_file': _get(env, 'PROMETHEUS_TOKEN_FILE') or _service_account_token(),
            'ca_bundle': _get(env, 'PROMETHEUS_CA'),
        }
        _refuse_url_credentials(s.vcpu, problems, {
            'prometheus_url': ('PROMETHEUS_URL', f'give a bearer token in {PREFIX}PROMETHEUS_TOKEN_FILE instead'),
        })  # fmt: skip
        if not s.vcpu['cluster_name']:
            problems.append(f'{PREFIX}CLUSTER_NAME is not set: required when total_workers_vcpu is collected')

    for name in ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'):
        _register_proxy_password(env.get(name))
    s.compression = _get(env, 'COMPRESSION')
    if s.compression is not None:
        try:
            parse_compression(s.compression)
        except ValueError:
            problems.append(f"{PREFIX}COMPRESSION={shown(s.compression)}: expected 'isal-0'..'isal-3' or "
                            "'gzip-0'..'gzip-9'")  # fmt: skip
    s.package_max_bytes = _int(env, 'PACKAGE_MAX_BYTES', problems, None, 1 << 16, 1 << 34)
    _flag(env, 'MONTH_USAGE', problems)  # read by gather.usage after shipping; a typo must not pass silently
    _scale_settings(env, s, problems, flags or {})
    if problems:
        raise SettingsError(problems)
    return s


def _refuse_url_credentials(values: dict, problems: list[str], fields: dict[str, tuple[str, str]]) -> None:
    """URLs must not hold `user:password@` (they are logged and come from ConfigMaps); the URL is never echoed."""
    for key, (name, instead) in fields.items():
        if problem := secret.url_credentials_problem(PREFIX + name, values.get(key), instead):
            problems.append(problem)
            values[key] = None


def _register_proxy_password(url: str | None) -> None:
    """requests honours HTTPS_PROXY itself; its password (plain and percent-decoded) must not reach a log."""
    if url and secret.url_has_credentials(url):
        userinfo = url.split('://', 1)[-1].split('@', 1)[0]
        user, _, password = userinfo.partition(':')
        secret.register(password, unquote(password), user=unquote(user))


def _scale_settings(env: Mapping[str, str], s: GatherSettings, problems: list[str],
                    flags: Mapping[str, tuple[str, str]]) -> None:  # fmt: skip
    """Retention limits (variables or their flags) and the Elasticsearch KPI sink (docs/scale.md)."""
    s.retention = {
        'max_age_days': _int(env, 'RETENTION_MAX_AGE_DAYS', problems, None, 1, 36500, flags),
        'max_bytes': _int(env, 'RETENTION_MAX_BYTES', problems, None, 0, 1 << 62, flags),
        'upload_state': _get(env, 'RETENTION_UPLOAD_STATE'),
    }
    if s.retention['upload_state'] and not s.retention['upload_state'].startswith('state/'):
        problems.append(f'{PREFIX}RETENTION_UPLOAD_STATE={shown(s.retention["upload_state"])}: expected an object name '
                        'under state/ (e.g. state/uploaded.json)')  # fmt: skip
    url = _get(env, 'ELASTICSEARCH_URL')
    if url is None:
        return
    s.elasticsearch = {
        'url': url,
        'index': _get(env, 'ELASTICSEARCH_INDEX') or 'metrics-utility-kpi',
        'username': _get(env, 'ELASTICSEARCH_USERNAME'),
        'password': Secret(v) if (v := _get(env, 'ELASTICSEARCH_PASSWORD')) else None,
        'api_key': Secret(v) if (v := _get(env, 'ELASTICSEARCH_API_KEY')) else None,
        'ca_bundle': _get(env, 'ELASTICSEARCH_CA_BUNDLE'),
    }
    if '@' in url.split('://', 1)[-1].split('/', 1)[0]:  # user:password@host: never echo it
        s.elasticsearch['url'] = ''
        problems.append(
            f'{PREFIX}ELASTICSEARCH_URL holds credentials (user:password@host): give them in '
            f'{PREFIX}ELASTICSEARCH_USERNAME/PASSWORD or {PREFIX}ELASTICSEARCH_API_KEY instead'
        )
    elif not url.startswith(('https://', 'http://')):
        problems.append(f'{PREFIX}ELASTICSEARCH_URL={url!r}: expected https://host:9200')
    if s.elasticsearch['api_key'] and (s.elasticsearch['username'] or s.elasticsearch['password']):
        problems.append(f'{PREFIX}ELASTICSEARCH_API_KEY and {PREFIX}ELASTICSEARCH_USERNAME/PASSWORD: set one of them')
    elif bool(s.elasticsearch['username']) != bool(s.elasticsearch['password']):
        problems.append(f'{PREFIX}ELASTICSEARCH_USERNAME and {PREFIX}ELASTICSEARCH_PASSWORD: set both for basic auth')
