"""The contract between the worker and the operator: the names and limits both sides must agree on.

Why one module: the operator renders `METRICS_UTILITY_*` variables and command lines that the worker parses, and the
CRD's enums and rules decide which specs the API server accepts. When the two halves keep their own copies they
drift (the operator once accepted a collector the worker rejects). The operator and its CRD are built from this
module; the worker's own tables are tested against it (`tests/metrics_utility/test_contract.py`).

Pure data, no imports from the rest of the package: the operator imports it without loading the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

PREFIX: Final = 'METRICS_UTILITY_'

Kind = Literal['windowed', 'snapshot']


@dataclass(frozen=True)
class CollectorSpec:
    """A collector key as both sides see it: `windowed` collectors ship daily slices, `snapshot` ones one state."""

    key: str
    kind: Kind
    format: Literal['csv', 'json']
    selectable: bool = True  # may be listed in MetricsCollection.spec.collectors (vCPU has its own block)


COLLECTORS: Final = (
    CollectorSpec('job_host_summary', 'windowed', 'csv'),
    CollectorSpec('job_host_summary_service', 'windowed', 'csv'),
    CollectorSpec('main_host', 'snapshot', 'csv'),
    CollectorSpec('main_host_daily', 'windowed', 'csv'),
    CollectorSpec('main_hostmetric', 'windowed', 'csv'),
    CollectorSpec('main_indirectmanagednodeaudit', 'windowed', 'csv'),
    CollectorSpec('main_jobevent', 'windowed', 'csv'),
    CollectorSpec('main_jobevent_service', 'windowed', 'csv'),
    CollectorSpec('unified_jobs', 'windowed', 'csv'),
    CollectorSpec('execution_environments', 'snapshot', 'csv'),
    CollectorSpec('credentials_service', 'windowed', 'csv'),
    CollectorSpec('controller_version_service', 'snapshot', 'csv'),
    CollectorSpec('table_metadata', 'snapshot', 'csv'),
    CollectorSpec('total_workers_vcpu', 'snapshot', 'json', selectable=False),
)
COLLECTOR_KEYS: Final = tuple(c.key for c in COLLECTORS)
SNAPSHOT_KEYS: Final = tuple(c.key for c in COLLECTORS if c.kind == 'snapshot')
SPEC_COLLECTORS: Final = tuple(c.key for c in COLLECTORS if c.selectable)
ALWAYS_ON_COLLECTOR: Final = 'job_host_summary'  # on unless DISABLE_JOB_HOST_SUMMARY_COLLECTOR
VCPU_COLLECTOR: Final = 'total_workers_vcpu'

# Report types, the sheets each accepts and the deduplication modes each accepts (build-report refuses the rest).
REPORT_TYPES: Final = ('CCSP', 'CCSPv2', 'RENEWAL_GUIDANCE')
CCSPV2_SHEETS: Final = (
    'ccsp_summary', 'jobs', 'managed_nodes', 'indirectly_managed_nodes', 'inventory_scope', 'infrastructure_summary',
    'usage_by_organizations', 'usage_by_collections', 'usage_by_roles', 'usage_by_modules', 'data_collection_status',
    'managed_nodes_by_organizations', 'usage_trend', 'usage_by_installations',
)  # fmt: skip
CCSP_SHEETS: Final = tuple(
    s for s in CCSPV2_SHEETS if s not in ('jobs', 'data_collection_status', 'usage_by_installations')
)
SHEETS: Final = {'CCSPv2': CCSPV2_SHEETS, 'CCSP': CCSP_SHEETS, 'RENEWAL_GUIDANCE': ()}
# the sheets of a CCSP/CCSPv2 report when METRICS_UTILITY_OPTIONAL_CCSP_REPORT_SHEETS is not set
DEFAULT_SHEETS: Final = (
    'ccsp_summary',
    'managed_nodes',
    'usage_by_organizations',
    'usage_by_collections',
    'usage_by_roles',
    'usage_by_modules',
)
CCSP_DEDUPLICATORS: Final = ('ccsp', 'ccsp-experimental', 'ccsp-case-insensitive')
RENEWAL_DEDUPLICATORS: Final = ('renewal', 'renewal-hostname', 'renewal-experimental')
DEDUPLICATORS: Final = {
    'CCSP': CCSP_DEDUPLICATORS,
    'CCSPv2': CCSP_DEDUPLICATORS,
    'RENEWAL_GUIDANCE': RENEWAL_DEDUPLICATORS,
}
# RENEWAL_GUIDANCE needs --since (it runs until today); the operator renders the spec's relative start.
RENEWAL_SINCE_DEFAULT: Final = '12months'
RENEWAL_SINCE_PATTERN: Final = r'^[1-9][0-9]{0,3}(d|months)$'


@dataclass(frozen=True)
class HeaderField:
    """A report header field: its `MetricsCollection.spec.report` key, `ReportOptions` field and variable."""

    spec_key: str
    option: str
    variable: str


HEADER_FIELDS: Final = (
    HeaderField('sku', 'sku', 'REPORT_SKU'),
    HeaderField('skuDescription', 'sku_description', 'REPORT_SKU_DESCRIPTION'),
    HeaderField('h1Heading', 'h1_heading', 'REPORT_H1_HEADING'),
    HeaderField('companyName', 'company_name', 'REPORT_COMPANY_NAME'),
    HeaderField('email', 'email', 'REPORT_EMAIL'),
    HeaderField('rhnLogin', 'rhn_login', 'REPORT_RHN_LOGIN'),
    HeaderField('companyBusinessLeader', 'business_leader', 'REPORT_COMPANY_BUSINESS_LEADER'),
    HeaderField('companyProcurementLeader', 'procurement_leader', 'REPORT_COMPANY_PROCUREMENT_LEADER'),
    HeaderField('poNumber', 'po_number', 'REPORT_PO_NUMBER'),
    HeaderField('endUserCompanyName', 'end_user_company_name', 'REPORT_END_USER_COMPANY_NAME'),
    HeaderField('endUserCity', 'end_user_city', 'REPORT_END_USER_CITY'),
    HeaderField('endUserState', 'end_user_state', 'REPORT_END_USER_STATE'),
    HeaderField('endUserCountry', 'end_user_country', 'REPORT_END_USER_COUNTRY'),
)

# Separators the worker splits list variables on: no listed value may contain its separator.
LIST_SEPARATORS: Final = {
    'OPTIONAL_COLLECTORS': ',',
    'OPTIONAL_CCSP_REPORT_SHEETS': ',',
    'ORGANIZATION_FILTER': ';',
    'ADDITIONAL_SHIP_PATHS': ';',
}

# Numeric ranges the worker accepts (inclusive).
MAX_GATHER_PERIOD_DAYS: Final = (1, 3650)
RETENTION_MAX_AGE_DAYS: Final = (1, 36500)
RETENTION_MAX_BYTES: Final = (0, 1 << 62)
SHARDS: Final = (1, 1000)
GATHER_PARALLELISM: Final = (1, 16)  # concurrent read sessions per window export

# Every variable the operator renders into a pod (suffixes after PREFIX); the worker reads each of them.
RENDERED_VARIABLES: Final = frozenset({
    'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_SSLMODE', 'DB_USER', 'DB_PASSWORD',
    'SHIP_TARGET', 'SHIP_PATH', 'OPTIONAL_COLLECTORS', 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR',
    'MAX_GATHER_PERIOD_DAYS', 'GATHER_PARALLELISM', 'REPORT_TYPE', 'OPTIONAL_CCSP_REPORT_SHEETS', 'ORGANIZATION_FILTER',
    'PRICE_PER_NODE', 'DEDUPLICATOR', *(f.variable for f in HEADER_FIELDS),
    'BUCKET_NAME', 'BUCKET_ENDPOINT', 'BUCKET_REGION', 'BUCKET_ACCESS_KEY', 'BUCKET_SECRET_KEY',
    'BILLING_PROVIDER', 'BILLING_ACCOUNT_ID', 'RED_HAT_ORG_ID', 'CRC_INGRESS_URL', 'CRC_SSO_URL', 'PROXY_URL',
    'CRC_CA_BUNDLE', 'STATE_PATH', 'SERVICE_ACCOUNT_ID', 'SERVICE_ACCOUNT_SECRET',
    'USAGE_BASED_METERING_ENABLED', 'COLLECTOR_LOCK_SUFFIX', 'CLUSTER_NAME', 'PROMETHEUS_URL', 'PROMETHEUS_CA',
    'RETENTION_MAX_AGE_DAYS', 'RETENTION_MAX_BYTES',
    'ELASTICSEARCH_URL', 'ELASTICSEARCH_INDEX', 'ELASTICSEARCH_CA_BUNDLE', 'ELASTICSEARCH_USERNAME',
    'ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_API_KEY', 'ADDITIONAL_SHIP_PATHS', 'MONTH_USAGE', 'CA_BUNDLE',
    'SECONDARY_TARGET',
    'CANDLEPIN_ENABLED', 'CONTROLLER_SECRET_KEY_FILE', 'CRC_CLIENT_CERT', 'CRC_CLIENT_KEY',
    # metrics-utility serve, rendered into the dashboard pod (operator/metrics_operator/dashboard.py)
    'SERVE_ADDRESS', 'SERVE_PORT', 'SERVE_AUTH', 'SERVE_TLS_CERT', 'SERVE_TLS_KEY', 'SERVE_NAMESPACE',
    'SERVE_COLLECTION', 'SERVE_CACHE_DIR',
})  # fmt: skip


# The run summary: one JSON object, the worker's last act (`gather/summary.py` writes it for both commands), that the
# operator reads from the pod's termination message (`metrics_operator/worker_summary.py`). Readers treat every key
# but `ok` as optional: older workers wrote fewer.
SUMMARY_MAX_BYTES: Final = 4096  # the kubelet keeps at most 4 KiB of a termination message

SummaryCommand = Literal['gather', 'build-report', 'check']
_BOTH: Final[tuple[SummaryCommand, ...]] = ('gather', 'build-report')
_GATHER: Final[tuple[SummaryCommand, ...]] = ('gather',)
_REPORT: Final[tuple[SummaryCommand, ...]] = ('build-report',)
_CHECK: Final[tuple[SummaryCommand, ...]] = ('check',)  # metrics-utility check (docs/check.md)
_ALL: Final[tuple[SummaryCommand, ...]] = (*_BOTH, 'check')


@dataclass(frozen=True)
class SummaryField:
    """One top-level key of the run summary: the commands that write it, whether the worker writes it only when it
    is known, and the operator's `Summary` attribute it fills (None: for people and dashboards only)."""

    key: str
    commands: tuple[SummaryCommand, ...]
    read_as: str | None
    when_known: bool = False


SUMMARY_FIELDS: Final = (
    SummaryField('command', _ALL, 'command'),
    SummaryField('ok', _ALL, 'ok'),
    SummaryField('window', _GATHER, 'window'),  # {since, until}: the window shipped (since incl., until excl.)
    SummaryField('rows', _GATHER, 'rows'),
    SummaryField('bytes', _GATHER, 'bytes'),
    SummaryField('packages', _GATHER, 'packages'),
    SummaryField('unreadable_rows', _GATHER, 'unreadable_rows'),  # rows exported with NULLs (document unreadable)
    SummaryField('target', _BOTH, 'target'),
    SummaryField('vcpu', _GATHER, 'vcpu'),
    SummaryField('error', _ALL, 'error'),
    SummaryField('collectors', _GATHER, None),  # {key: SUMMARY_COLLECTOR_FIELDS}
    SummaryField('stored_bytes', _GATHER, 'stored_bytes', when_known=True),
    SummaryField('stored_objects', _GATHER, 'stored_objects', when_known=True),
    SummaryField('retention', _GATHER, 'retention', when_known=True),
    SummaryField('volume', _GATHER, 'volume', when_known=True),
    SummaryField('backfill', _GATHER, None, when_known=True),
    SummaryField('kpi', _GATHER, 'kpi', when_known=True),
    SummaryField('usage', _GATHER, 'usage', when_known=True),
    SummaryField('started_from', _GATHER, None, when_known=True),  # {collector: why its first window starts there}
    SummaryField(
        'secondary', _GATHER, 'secondary', when_known=True
    ),  # SUMMARY_SECONDARY_FIELDS: the put-only 2nd target
    SummaryField('crc', _GATHER, 'crc', when_known=True),  # SUMMARY_CRC_FIELDS: the identity uploads used
    SummaryField('report', _REPORT, 'report', when_known=True),
    SummaryField('quantity', _REPORT, 'quantity', when_known=True),
    SummaryField('period', _REPORT, 'period', when_known=True),  # "YYYY-MM" or "YYYY-MM-DD--YYYY-MM-DD" (until incl.)
    SummaryField('problem_count', _REPORT, 'problems', when_known=True),
    SummaryField('problems', _REPORT, 'first_problem', when_known=True),  # the first few, "<day> <package>: <message>"
    SummaryField('reason', _CHECK, 'reason'),  # CHECK_REASONS: the first failed check's (Ok when all passed)
    SummaryField('checks', _CHECK, None),  # [{name, ok, reason, message, tables?}]: every check
)
SUMMARY_KEYS: Final = {c: tuple(f.key for f in SUMMARY_FIELDS if c in f.commands) for c in _ALL}
# Blocks dropped, in this order, when a command's summary would exceed SUMMARY_MAX_BYTES.
SUMMARY_DROPPABLE: Final[dict[SummaryCommand, tuple[str, ...]]] = {
    'gather': ('collectors', 'backfill', 'kpi', 'started_from'),
    'build-report': ('problems',),
    'check': ('checks',),
}
SUMMARY_WINDOW_FIELDS: Final = ('since', 'until')
SUMMARY_COLLECTOR_FIELDS: Final = ('windows', 'rows', 'bytes', 'packages', 'shipped_until', 'error', 'unreadable')
SUMMARY_RETENTION_FIELDS: Final = (
    'max_age_days',
    'max_bytes',
    'deleted_objects',
    'deleted_bytes',
    'blocked_objects',
    'blocked_bytes',
)
SUMMARY_VOLUME_FIELDS: Final = ('bytes', 'free_bytes')
SUMMARY_USAGE_FIELDS: Final = ('month', 'unique_managed_nodes', 'job_runs')
SUMMARY_KPI_FIELDS: Final = ('documents', 'error')
SUMMARY_SECONDARY_FIELDS: Final = (
    'target',
    'ok',
    'windows',
    'packages',
    'bytes',
    'pending',
    'last_window',
    'shipped_until',
    'error',
)
# console.redhat.com: which identity the uploads used (`library/storage/crc_identity.py`); `fallback` says why the
# client certificate was given up for the service account (null: it was not); `subject` and `not_after` (ISO 8601 UTC)
# name the certificate that carried the uploads (never its content; null for the service account).
SUMMARY_CRC_FIELDS: Final = ('identity', 'fallback', 'subject', 'not_after')
CRC_IDENTITIES: Final = ('controller', 'managed', 'certificate', 'service-account')
# The operator's warning before the certificate a gather uploaded with expires (status.gather.crc.notAfter within
# renewBeforeDays; docs/operator.md, "console.redhat.com identity"): a condition of its own, and a Warning Event
# (reason ExpiresSoon or Expired) when it turns True.
CERTIFICATE_EXPIRING_CONDITION: Final = 'CertificateExpiring'
CERTIFICATE_EXPIRY_REASONS: Final = ('AsExpected', 'ExpiresSoon', 'Expired')

# `metrics-utility check` (docs/check.md): each check's outcome is one of these reasons; the operator turns the first
# failing one into the `Checked` condition. Exit codes: 0 every check passed, 1 a check failed, 2 bad configuration.
CHECK_OK: Final = 'Ok'
CHECK_REASONS: Final = (
    CHECK_OK,
    'InvalidConfiguration',  # a variable is wrong (exit 2): the message lists every problem
    'DatabaseUnreachable',  # no PostgreSQL answered at host:port in time
    'DatabaseNotFound',  # PostgreSQL answered, the database does not exist
    'AuthenticationFailed',  # database password, S3 keys, SSO service account, client certificate or token refused
    'PermissionDenied',  # the role lacks SELECT on a table a configured collector reads (the table is named)
    'TableMissing',  # a table a configured collector needs does not exist (wrong database?)
    'StorageDenied',  # the storage refused writing, reading or deleting the probe object
    'StorageNotFound',  # the bucket or directory does not exist
    'StorageUnreachable',  # the storage endpoint (S3, console.redhat.com, SSO) did not answer
    'PrometheusUnreachable',  # Prometheus did not answer (total_workers_vcpu configured)
    'PrometheusQueryFailed',  # Prometheus answered, but not with a query result
    'ReportFieldsMissing',  # REPORT_TYPE is set and header fields its sheets show are empty
)
CHECK_FAILED_EXIT: Final = 1
CHECK_CONFIG_EXIT: Final = 2
# The header fields (HeaderField.option) each report type prints on its summary sheet: empty ones are reported.
REPORT_HEADER_FIELDS: Final = {
    'CCSP': (
        'h1_heading',
        'company_name',
        'email',
        'rhn_login',
        'business_leader',
        'procurement_leader',
        'sku',
        'sku_description',
    ),
    'CCSPv2': (
        'h1_heading',
        'company_name',
        'email',
        'rhn_login',
        'po_number',
        'end_user_company_name',
        'end_user_city',
        'end_user_state',
        'end_user_country',
        'sku',
        'sku_description',
    ),
    'RENEWAL_GUIDANCE': (),
}

# The operator's managed Candlepin identity (`storage.crc.identity.source: managed`, docs/operator.md): whether the
# consumer certificate in `<collection>-candlepin-identity` is registered and current. Its expiry warning is
# CERTIFICATE_EXPIRING_CONDITION, set by the operator from the Secret (True only while renewal has not succeeded).
IDENTITY_READY_CONDITION: Final = 'IdentityReady'
IDENTITY_REASONS: Final = (
    'Registered',  # a new consumer was registered and its certificate stored
    'Renewed',  # the certificate was regenerated within renewBeforeDays of its expiry
    'CheckedIn',  # the consumer checked in; its certificate is not due
    'SecretConflict',  # a Secret of that name exists that the operator does not own
    'CredentialsSecretNotFound',  # the Red Hat account's Secret does not exist
    'CredentialsInvalid',  # it lacks a key, or a value is not a username/password
    'RegistrationFailed',  # Candlepin refused or failed the registration (or the organization lookup)
    'RenewalFailed',  # the check-in or the regeneration failed
)
