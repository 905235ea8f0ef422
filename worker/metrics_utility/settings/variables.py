"""Every environment variable the worker reads, declared once: name, kind, group, default, limits, secrecy, meaning.

Why one table: the loaders (`settings.gather`, `settings.report`, …) read a variable only through its declaration
(`settings.environment.Environment` refuses an undeclared name), `docs/settings.md` is generated from it
(`scripts/render-settings.py`) and the hostile tests are generated from it, so a new variable is documented and
attacked the day it is declared. Names are spelled out in full so that grepping a name from the README lands here.
Numeric ranges and list separators come from `metrics_utility.contract`, which the operator renders from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

from metrics_utility import contract

Kind = Literal['text', 'whole', 'boolean', 'url', 'list', 'decimal', 'seconds', 'choice', 'path']
# How a variable relates to metrics-utility 0.8's variable of the same name (docs/upstream.md lists every one):
# 'same' meaning and values, 'differently' (docs/upstream.md says how), 'no effect' (accepted and named in one
# warning whose text is the declaration's `doc`); None: a variable of ours only.
Upstream = Literal['same', 'differently', 'no effect']

# Groups, in the order docs/settings.md lists them: group → what the group configures.
GROUPS: Final = {
    'ship': 'Where packages and reports live (gather and build-report)',
    'database': "The controller's PostgreSQL database (gather)",
    'collectors': 'What gather collects and how far back it goes',
    'crc': 'Shipping to console.redhat.com (SHIP_TARGET=crc)',
    'vcpu': 'The total_workers_vcpu collector (OpenShift monitoring Prometheus)',
    'package': 'How gather packages its data',
    'retention': 'Deleting old stored windows after a gather (directory, S3)',
    'kpi': 'Per-package KPI documents sent to Elasticsearch',
    'usage': 'Month-to-date usage in the gather summary',
    'report': 'build-report: report type, sheets, deduplication, price',
    'header': 'build-report: the report header (free text)',
    'sources': 'build-report: additional read-only package sources',
    'push': 'Pushing run figures to a Prometheus Pushgateway',
    'proxy': 'Outbound proxies and the CA bundle every outbound client trusts',
    'backfill': 'A sharded backfill run as a Kubernetes Indexed Job',
    'platform': 'Install-type detection for config.json (set by the container runtime)',
    'demo': 'The demo command',
    'candlepin': 'Registering and renewing a Candlepin consumer identity (the candlepin command)',
    'upstream': "metrics-utility's variables accepted for compatibility, without effect (one warning each)",
    'serve': 'metrics-utility serve: where the usage API listens and who may read it (docs/serve.md)',
}


@dataclass(frozen=True)
class Variable:
    """One variable. `default` is what an unset (or empty) variable means, as text for the docs; `low`/`high`
    bound a whole number; `choices` a choice; `flag` names the command-line option that overrides it."""

    name: str
    group: str
    kind: Kind
    doc: str
    default: str | None = None
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False
    flag: str | None = None
    separator: str | None = None
    instead: str | None = None  # a URL's credentials go here instead (the message when a URL holds user:password@)
    upstream: Upstream | None = None

    @property
    def problem_separator(self) -> str:
        """build-report has always written `NAME=value; expected …`, gather `NAME=value: expected …`."""
        return ';' if self.group in ('report', 'header') else ':'


P = contract.PREFIX
_SEP = contract.LIST_SEPARATORS
_ACCOUNT = f'the service account goes in {P}SERVICE_ACCOUNT_ID/SECRET'
_CANDLEPIN = (
    'gather picks no Candlepin identity by itself: mutual TLS to console.redhat.com uses the certificate and key in '
    f'{P}CRC_CLIENT_CERT/{P}CRC_CLIENT_KEY (e.g. the files `candlepin register` stores), else the service account'
)
_SERVICE_LIMITS = (
    'read by metrics-service, not by metrics-utility; main_jobevent_service gathers every job in the window'
)


def _range(pair: tuple[int, int]) -> dict[str, int]:
    return {'low': pair[0], 'high': pair[1]}


_DECLARED: Final[tuple[Variable, ...]] = (
    # ship / storage
    Variable(
        'METRICS_UTILITY_SHIP_TARGET',
        'ship',
        'choice',
        'Where data goes: directory, s3 or crc (gather); directory, s3 or controller_db (build-report: the '
        'directory target, RENEWAL_GUIDANCE read from the controller database)',
        choices=('directory', 's3', 'crc', 'controller_db'),
    ),
    Variable(
        'METRICS_UTILITY_SHIP_PATH',
        'ship',
        'path',
        'The directory (directory target) or key prefix (s3) holding data/ and reports/',
    ),
    Variable('METRICS_UTILITY_BUCKET_NAME', 'ship', 'text', 'S3 bucket name (s3 target)'),
    Variable(
        'METRICS_UTILITY_BUCKET_ENDPOINT',
        'ship',
        'url',
        'S3 endpoint URL, e.g. https://s3.us-east-1.amazonaws.com',
        instead=f'give the keys in {P}BUCKET_ACCESS_KEY/SECRET_KEY instead',
    ),
    Variable('METRICS_UTILITY_BUCKET_REGION', 'ship', 'text', 'S3 region (optional)'),
    Variable(
        'METRICS_UTILITY_BUCKET_ACCESS_KEY',
        'ship',
        'text',
        'S3 access key id (with the secret key, or neither for the implicit AWS credentials)',
        secret=True,
    ),
    Variable('METRICS_UTILITY_BUCKET_SECRET_KEY', 'ship', 'text', 'S3 secret access key', secret=True),
    # database
    Variable(
        'METRICS_UTILITY_DB_HOST',
        'database',
        'text',
        'Host name(s), IP or socket directory (libpq: comma-separated hosts)',
        default='localhost',
    ),
    Variable('METRICS_UTILITY_DB_PORT', 'database', 'whole', 'Port', default='5432', low=1, high=65535),
    Variable('METRICS_UTILITY_DB_NAME', 'database', 'text', 'Database name', default='awx'),
    Variable('METRICS_UTILITY_DB_USER', 'database', 'text', 'User (a SELECT-only role is enough)', default='awx'),
    Variable('METRICS_UTILITY_DB_PASSWORD', 'database', 'text', 'Password', secret=True),
    Variable(
        'METRICS_UTILITY_GATHER_PARALLELISM',
        'database',
        'whole',
        'Concurrent read sessions per window export (job_host_summary, main_jobevent): each a backend busy on one '
        'database core while it runs; 2 leaves a busy controller database its other cores (docs/collectors.md)',
        default='2',
        **_range(contract.GATHER_PARALLELISM),
    ),
    Variable(
        'METRICS_UTILITY_DB_SSLMODE',
        'database',
        'choice',
        'libpq sslmode',
        default='prefer',
        choices=('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'),
    ),
    # collectors
    Variable(
        'METRICS_UTILITY_OPTIONAL_COLLECTORS',
        'collectors',
        'list',
        'Collectors besides job_host_summary (set empty for none)',
        default='main_jobevent',
        separator=_SEP['OPTIONAL_COLLECTORS'],
        flag='--collectors',
    ),
    Variable(
        'METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR',
        'collectors',
        'boolean',
        'Do not collect job_host_summary',
        default='false',
    ),
    Variable(
        'METRICS_UTILITY_DISABLE_SAVE_LAST_GATHERED_ENTRIES',
        'collectors',
        'boolean',
        'Do not advance the watermarks after shipping',
        default='false',
    ),
    Variable(
        'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS',
        'collectors',
        'whole',
        'The longest window one gather covers; 0 (as metrics-utility) gathers nothing and ends with 0',
        default='28',
        **_range(contract.MAX_GATHER_PERIOD_DAYS),
    ),
    Variable(
        'METRICS_UTILITY_COLLECTOR_LOCK_SUFFIX',
        'collectors',
        'text',
        'Names a separate gather lock (the vCPU gather runs beside the main one)',
    ),
    Variable(
        'METRICS_UTILITY_STATE_PATH',
        'collectors',
        'path',
        'A watermark file on a persistent volume (for crc; otherwise the watermarks live in the target). For crc '
        'it defaults to SHIP_PATH/state/crc-watermarks.json when SHIP_PATH is an existing directory',
    ),
    Variable(
        'METRICS_UTILITY_SECONDARY_TARGET',
        'crc',
        'choice',
        'A second, put-only target fed from the directory/S3 target: each stored package is sent there once, '
        'with its own watermark (state/console.json); uses the crc variables',
        choices=('crc',),
    ),
    # crc
    Variable('METRICS_UTILITY_BILLING_PROVIDER', 'crc', 'choice', 'Billing provider', choices=('aws',)),
    Variable('METRICS_UTILITY_BILLING_ACCOUNT_ID', 'crc', 'text', 'The 12-digit AWS account id'),
    Variable('METRICS_UTILITY_RED_HAT_ORG_ID', 'crc', 'text', 'Red Hat organization id'),
    Variable('METRICS_UTILITY_SERVICE_ACCOUNT_ID', 'crc', 'text', 'console.redhat.com service account client id'),
    Variable(
        'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET',
        'crc',
        'text',
        'console.redhat.com service account secret',
        secret=True,
    ),
    Variable('METRICS_UTILITY_CRC_CLIENT_CERT', 'crc', 'path', 'Client certificate for mutual TLS (with the key)'),
    Variable('METRICS_UTILITY_CRC_CLIENT_KEY', 'crc', 'path', 'Client key for mutual TLS'),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_ENABLED',
        'crc',
        'boolean',
        "Upload over mutual TLS with the controller's own Candlepin identity (conf_setting CANDLEPIN_*, decrypted "
        f'with {P}CONTROLLER_SECRET_KEY_FILE), falling back to the service account when one is configured',
        default='false',
        upstream='differently',
    ),
    Variable(
        'METRICS_UTILITY_CONTROLLER_SECRET_KEY_FILE',
        'crc',
        'path',
        "The controller's SECRET_KEY as a file (Secret <controller>-secret-key, key secret_key), to decrypt its "
        f'Candlepin identity with {P}CANDLEPIN_ENABLED; the default is where the AAP operator mounts it; when set, '
        'the file must exist',
        default='/etc/tower/SECRET_KEY',
    ),
    Variable(
        'METRICS_UTILITY_CRC_INGRESS_URL',
        'crc',
        'url',
        'Upload URL',
        default='https://console.redhat.com/api/ingress/v1/upload',
        instead=_ACCOUNT,
    ),
    Variable(
        'METRICS_UTILITY_CRC_SSO_URL',
        'crc',
        'url',
        'Token URL of the service account',
        default=('https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token'),
        instead=_ACCOUNT,
    ),
    Variable(
        'METRICS_UTILITY_PROXY_URL',
        'crc',
        'url',
        'Proxy for console.redhat.com (no credentials: use HTTPS_PROXY from a Secret)',
        instead='set HTTPS_PROXY from a Secret instead (its password is redacted too)',
    ),
    Variable('METRICS_UTILITY_CRC_CA_BUNDLE', 'crc', 'path', 'CA bundle trusted for console.redhat.com'),
    # vcpu
    Variable(
        'METRICS_UTILITY_CLUSTER_NAME',
        'vcpu',
        'text',
        'Cluster name reported with the vCPU count (required when total_workers_vcpu is collected)',
    ),
    Variable(
        'METRICS_UTILITY_USAGE_BASED_METERING_ENABLED',
        'vcpu',
        'boolean',
        'Usage-based metering is enabled',
        default='false',
    ),
    Variable(
        'METRICS_UTILITY_PROMETHEUS_URL',
        'vcpu',
        'url',
        'Prometheus URL',
        default='https://prometheus-k8s.openshift-monitoring.svc.cluster.local:9091',
        instead=f'give a bearer token in {P}PROMETHEUS_TOKEN_FILE instead',
    ),
    Variable(
        'METRICS_UTILITY_PROMETHEUS_TOKEN_FILE',
        'vcpu',
        'path',
        "Bearer token file (default: the pod's service-account token when present)",
    ),
    Variable('METRICS_UTILITY_PROMETHEUS_CA', 'vcpu', 'path', 'CA bundle trusted for Prometheus'),
    # package
    Variable(
        'METRICS_UTILITY_COMPRESSION',
        'package',
        'text',
        "Tarball compression: 'isal-0'..'isal-3' or 'gzip-0'..'gzip-9' (default: the packager's)",
    ),
    Variable(
        'METRICS_UTILITY_PACKAGE_MAX_BYTES',
        'package',
        'whole',
        'Largest uncompressed data per package',
        low=1 << 16,
        high=1 << 34,
    ),
    # retention
    Variable(
        'METRICS_UTILITY_RETENTION_MAX_AGE_DAYS',
        'retention',
        'whole',
        'Delete stored windows older than this',
        flag='--retention-max-age-days',
        **_range(contract.RETENTION_MAX_AGE_DAYS),
    ),
    Variable(
        'METRICS_UTILITY_RETENTION_MAX_BYTES',
        'retention',
        'whole',
        'Delete the oldest windows above this total',
        flag='--retention-max-bytes',
        **_range(contract.RETENTION_MAX_BYTES),
    ),
    Variable(
        'METRICS_UTILITY_RETENTION_UPLOAD_STATE',
        'retention',
        'text',
        'Object under state/ of an upload stage: windows it has not uploaded are kept',
    ),
    # kpi
    Variable(
        'METRICS_UTILITY_ELASTICSEARCH_URL',
        'kpi',
        'url',
        'Elasticsearch URL (unset: no KPI documents)',
        instead=f'give them in {P}ELASTICSEARCH_USERNAME/PASSWORD or {P}ELASTICSEARCH_API_KEY instead',
    ),
    Variable('METRICS_UTILITY_ELASTICSEARCH_INDEX', 'kpi', 'text', 'Index', default='metrics-utility-kpi'),
    Variable('METRICS_UTILITY_ELASTICSEARCH_USERNAME', 'kpi', 'text', 'Basic-auth user (with the password)'),
    Variable('METRICS_UTILITY_ELASTICSEARCH_PASSWORD', 'kpi', 'text', 'Basic-auth password', secret=True),
    Variable(
        'METRICS_UTILITY_ELASTICSEARCH_API_KEY', 'kpi', 'text', 'API key (instead of user and password)', secret=True
    ),
    Variable('METRICS_UTILITY_ELASTICSEARCH_CA_BUNDLE', 'kpi', 'path', 'CA bundle trusted for Elasticsearch'),
    # usage
    Variable(
        'METRICS_UTILITY_MONTH_USAGE',
        'usage',
        'boolean',
        'Add month-to-date usage to the gather summary '
        '(readable targets; uses DEDUPLICATOR and ORGANIZATION_FILTER as build-report does)',
        default='false',
    ),
    # report
    Variable(
        'METRICS_UTILITY_REPORT_TYPE', 'report', 'choice', 'Report type', choices=contract.REPORT_TYPES, flag='--type'
    ),
    Variable(
        'METRICS_UTILITY_OPTIONAL_CCSP_REPORT_SHEETS',
        'report',
        'list',
        'Sheets of a CCSP/CCSPv2 report, or "all" (default: the standard set)',
        separator=_SEP['OPTIONAL_CCSP_REPORT_SHEETS'],
        flag='--sheets',
    ),
    Variable(
        'METRICS_UTILITY_DEDUPLICATOR',
        'report',
        'choice',
        'Host deduplication (ccsp for CCSP/CCSPv2, renewal for RENEWAL_GUIDANCE)',
        choices=contract.CCSP_DEDUPLICATORS + contract.RENEWAL_DEDUPLICATORS,
    ),
    Variable(
        'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS',
        'report',
        'whole',
        'metrics-utility’s hop limit of the renewal deduplicator (no METRICS_UTILITY_ prefix); checked for '
        'compatibility, no effect: the renewal deduplicator here always merges the whole chain of shared keys',
        default='3',
        low=0,  # metrics-utility takes any int(); 0 (hostname only) and large limits are valid there
        high=1_000_000,
    ),
    Variable(
        'METRICS_UTILITY_ORGANIZATION_FILTER',
        'report',
        'list',
        'Organizations a CCSPv2 report covers',
        separator=_SEP['ORGANIZATION_FILTER'],
    ),
    Variable(
        'METRICS_UTILITY_PRICE_PER_NODE',
        'report',
        'decimal',
        'Price per managed node (rounded half-up to cents)',
        default='0',
    ),
    # header: the names of contract.HEADER_FIELDS, spelled out so a grep finds them (a test keeps them equal)
    Variable('METRICS_UTILITY_REPORT_SKU', 'header', 'text', 'Report header: SKU'),
    Variable('METRICS_UTILITY_REPORT_SKU_DESCRIPTION', 'header', 'text', 'Report header: SKU description'),
    Variable('METRICS_UTILITY_REPORT_H1_HEADING', 'header', 'text', 'Report header: H1 heading'),
    Variable('METRICS_UTILITY_REPORT_COMPANY_NAME', 'header', 'text', 'Report header: company name'),
    Variable('METRICS_UTILITY_REPORT_EMAIL', 'header', 'text', 'Report header: email'),
    Variable('METRICS_UTILITY_REPORT_RHN_LOGIN', 'header', 'text', 'Report header: RHN login'),
    Variable(
        'METRICS_UTILITY_REPORT_COMPANY_BUSINESS_LEADER', 'header', 'text', 'Report header: company business leader'
    ),
    Variable(
        'METRICS_UTILITY_REPORT_COMPANY_PROCUREMENT_LEADER',
        'header',
        'text',
        'Report header: company procurement leader',
    ),
    Variable('METRICS_UTILITY_REPORT_PO_NUMBER', 'header', 'text', 'Report header: PO number'),
    Variable('METRICS_UTILITY_REPORT_END_USER_COMPANY_NAME', 'header', 'text', 'Report header: end user company name'),
    Variable('METRICS_UTILITY_REPORT_END_USER_CITY', 'header', 'text', 'Report header: end user city'),
    Variable('METRICS_UTILITY_REPORT_END_USER_STATE', 'header', 'text', 'Report header: end user state'),
    Variable('METRICS_UTILITY_REPORT_END_USER_COUNTRY', 'header', 'text', 'Report header: end user country'),
    # sources
    Variable(
        'METRICS_UTILITY_ADDITIONAL_SHIP_PATHS',
        'sources',
        'list',
        'More package sources (directories or s3://bucket/prefix) a report reads',
        separator=_SEP['ADDITIONAL_SHIP_PATHS'],
        flag='--also-from',
    ),
    # push
    Variable(
        'METRICS_UTILITY_PUSHGATEWAY_URL',
        'push',
        'url',
        'Pushgateway URL (unset: nothing is pushed)',
        instead=f'give them in {P}PUSHGATEWAY_USERNAME/PASSWORD instead; nothing pushed',
    ),
    Variable('METRICS_UTILITY_PUSHGATEWAY_JOB', 'push', 'text', 'job label', default='metrics-utility'),
    Variable('METRICS_UTILITY_PUSHGATEWAY_INSTANCE', 'push', 'text', 'instance label (default: the host name)'),
    Variable(
        'METRICS_UTILITY_PUSHGATEWAY_GROUPING', 'push', 'list', 'More grouping labels: name=value,…', separator=','
    ),
    Variable('METRICS_UTILITY_PUSHGATEWAY_TIMEOUT', 'push', 'seconds', 'Push timeout', default='10'),
    Variable('METRICS_UTILITY_PUSHGATEWAY_USERNAME', 'push', 'text', 'Basic-auth user'),
    Variable('METRICS_UTILITY_PUSHGATEWAY_PASSWORD', 'push', 'text', 'Basic-auth password', secret=True),
    # proxy: every client (botocore, requests, urllib) reads these itself; settings.network checks them first and
    # registers their passwords for redaction
    *(
        Variable(
            name,
            'proxy',
            'url',
            'Proxy URL for every outbound client, http://[user:password@]host:port (its password is redacted)',
            secret=True,
        )
        for name in ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy')
    ),
    *(
        Variable(
            name,
            'proxy',
            'list',
            'Hosts, domains (.svc) and addresses every outbound client reaches directly, not through the proxy',
            separator=',',
        )
        for name in ('NO_PROXY', 'no_proxy')
    ),
    Variable(
        'METRICS_UTILITY_CA_BUNDLE',
        'proxy',
        'path',
        'PEM CA bundle trusted by every outbound client (S3, console.redhat.com and SSO, Prometheus, Elasticsearch, '
        "Pushgateway) instead of the default store; a client's own CA variable wins for that client",
    ),
    # backfill
    Variable(
        'JOB_COMPLETION_INDEX',
        'backfill',
        'text',
        "The pod's index in an Indexed Job (set by Kubernetes; `--shard n` takes it as i)",
    ),
    # platform
    Variable('container', 'platform', 'text', 'oci under an OCI runtime: install type openshift'),
    Variable('KUBERNETES_SERVICE_HOST', 'platform', 'text', 'Set in every pod: install type k8s'),
    Variable('KUBERNETES_SERVICE_PORT', 'platform', 'text', 'Set in every pod: install type k8s'),
    # demo
    Variable(
        'METRICS_UTILITY_PG_BIN',
        'demo',
        'path',
        "Directory of PostgreSQL's initdb/pg_ctl for the demo "
        'database (default: found on PATH and in the usual places)',
    ),
    # upstream: metrics-utility 0.8 reads these; we accept them and say, once, what we do instead
    Variable(
        'METRICS_UTILITY_GATHER_INTERVAL_HOURS',
        'upstream',
        'text',
        'metrics-utility never reads it either; the schedule (cron or spec.schedule) sets how often gather runs',
        upstream='no effect',
    ),
    # candlepin: `metrics-utility candlepin register|renew` (docs/upstream.md)
    Variable(
        'METRICS_UTILITY_CANDLEPIN_URL',
        'candlepin',
        'url',
        'The Candlepin (subscription management) API',
        default='https://subscription.rhsm.redhat.com/subscription',
        instead=f'give them in {P}RH_USERNAME/{P}RH_PASSWORD instead',
        upstream='same',
    ),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_CA',
        'candlepin',
        'path',
        f'CA bundle trusted for the Candlepin API (default: {P}CA_BUNDLE, else /etc/rhsm/ca/redhat-uep.pem when '
        'present, else the default store)',
        upstream='same',
    ),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_ORG',
        'candlepin',
        'text',
        "The owner (organization key) to register in (default: the user's only organization)",
        upstream='same',
    ),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_CERT_DIR',
        'candlepin',
        'path',
        'Directory of the local identity store: cert.pem, key.pem, consumer_uuid (files 0600)',
        default='/var/lib/awx/candlepin-certs',
        upstream='same',
    ),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_RENEWAL_DAYS',
        'candlepin',
        'whole',
        'renew regenerates the certificate when it expires within this many days',
        default='30',
        low=1,
        high=3650,
        upstream='same',
    ),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_STORAGE',
        'candlepin',
        'choice',
        'Where the identity is kept: local (the directory above); db is refused (the worker only reads the controller '
        'database)',
        default='local',
        choices=('local',),
        upstream='differently',
    ),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_REGISTRATION_ENABLED',
        'candlepin',
        'boolean',
        'false: candlepin register refuses to register',
        default='true',
        upstream='same',
    ),
    Variable(
        'METRICS_UTILITY_CANDLEPIN_LIFECYCLE_ENABLED',
        'candlepin',
        'boolean',
        'false: candlepin renew refuses to check in or regenerate',
        default='true',
        upstream='same',
    ),
    Variable(
        'METRICS_UTILITY_RH_USERNAME', 'candlepin', 'text', 'Red Hat login that registers the consumer', upstream='same'
    ),
    Variable(
        'METRICS_UTILITY_RH_PASSWORD',
        'candlepin',
        'text',
        'Its password (basic auth to Candlepin; never shown)',
        secret=True,
        upstream='same',
    ),
    Variable(
        'AWX_PATH',
        'upstream',
        'text',
        'no AWX checkout is imported: the worker reads the controller database through METRICS_UTILITY_DB_*',
        upstream='no effect',
    ),
    *(
        Variable(name, 'upstream', 'text', doc, upstream='no effect')
        for name, doc in (
            ('MOCK_PROMETHEUS_URL', f"metrics-utility's test hook; Prometheus is {P}PROMETHEUS_URL"),
            ('MOCK_SEGMENT_URL', 'metrics-utility’s test hook; nothing is sent to Segment'),
            ('METRICS_SERVICE_JOBEVENT_JOB_LIMIT', _SERVICE_LIMITS),
            ('METRICS_SERVICE_JOBEVENT_ROW_LIMIT', _SERVICE_LIMITS),
        )
    ),
    # serve: `metrics-utility serve` (docs/serve.md)
    Variable(
        'METRICS_UTILITY_SERVE_ADDRESS',
        'serve',
        'text',
        'The IP address serve listens on; anything but loopback requires SERVE_AUTH=kubernetes',
        default='127.0.0.1',
        flag='--address',
    ),
    Variable(
        'METRICS_UTILITY_SERVE_PORT',
        'serve',
        'whole',
        'The TCP port serve listens on',
        default='8080',
        low=1,
        high=65535,
        flag='--port',
    ),
    Variable(
        'METRICS_UTILITY_SERVE_AUTH',
        'serve',
        'choice',
        'none (loopback only: kubectl port-forward) or kubernetes (bearer token, TokenReview + SubjectAccessReview)',
        default='none',
        choices=('none', 'kubernetes'),
    ),
    Variable('METRICS_UTILITY_SERVE_TLS_CERT', 'serve', 'path', 'PEM serving certificate (required with kubernetes)'),
    Variable('METRICS_UTILITY_SERVE_TLS_KEY', 'serve', 'path', 'PEM key of the serving certificate'),
    Variable('METRICS_UTILITY_SERVE_NAMESPACE', 'serve', 'text', "The MetricsCollection's namespace (access reviews)"),
    Variable(
        'METRICS_UTILITY_SERVE_COLLECTION',
        'serve',
        'text',
        'The MetricsCollection whose metricscollections/reports get a caller must be allowed',
    ),
    Variable(
        'METRICS_UTILITY_SERVE_CACHE_DIR',
        'serve',
        'path',
        'An existing directory where serve keeps usage digests when the storage is read-only (unset: none kept)',
    ),
)

# The relation of our other declarations to metrics-utility's variable of the same name. 'same' allows a superset
# (e.g. more sheet names); 'differently' means some value upstream accepts means something else or is refused here.
_SAME = (
    *(f'{P}{suffix}' for suffix in ('SHIP_PATH', 'BUCKET_NAME', 'BUCKET_ENDPOINT', 'BUCKET_REGION', 'DB_HOST',
                                    'DB_PORT', 'DB_NAME', 'OPTIONAL_COLLECTORS', 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR',
                                    'DISABLE_SAVE_LAST_GATHERED_ENTRIES', 'COLLECTOR_LOCK_SUFFIX', 'BILLING_PROVIDER',
                                    'BILLING_ACCOUNT_ID', 'RED_HAT_ORG_ID', 'SERVICE_ACCOUNT_ID',
                                    'SERVICE_ACCOUNT_SECRET', 'CRC_INGRESS_URL', 'CRC_SSO_URL', 'CLUSTER_NAME',
                                    'USAGE_BASED_METERING_ENABLED', 'PROMETHEUS_URL', 'REPORT_TYPE',
                                    'OPTIONAL_CCSP_REPORT_SHEETS', 'DEDUPLICATOR', 'ORGANIZATION_FILTER',
                                    'MAX_GATHER_PERIOD_DAYS')),
    *(f'{P}{f.variable}' for f in contract.HEADER_FIELDS),
    'container',
    'KUBERNETES_SERVICE_PORT',
)  # fmt: skip
_DIFFERENTLY = (
    *(
        f'{P}{suffix}'
        for suffix in (
            'SHIP_TARGET',
            'BUCKET_ACCESS_KEY',
            'BUCKET_SECRET_KEY',
            'DB_USER',
            'DB_PASSWORD',
            'PROXY_URL',
            'PRICE_PER_NODE',
        )
    ),
    'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS',
)
_RELATION: Final[dict[str, Upstream]] = {**dict.fromkeys(_SAME, 'same'), **dict.fromkeys(_DIFFERENTLY, 'differently')}
VARIABLES: Final = tuple(replace(v, upstream=_RELATION[v.name]) if v.name in _RELATION else v for v in _DECLARED)
BY_NAME: Final = {v.name: v for v in VARIABLES}


def declared(name: str) -> Variable:
    """The declaration of `name`; a KeyError names the missing declaration (a programming error, not a user one)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f'{name} is not declared in metrics_utility.settings.variables') from None
