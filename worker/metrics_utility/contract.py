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
CCSP_SHEETS: Final = tuple(s for s in CCSPV2_SHEETS if s not in ('jobs', 'data_collection_status',
                                                                  'usage_by_installations'))  # fmt: skip
SHEETS: Final = {'CCSPv2': CCSPV2_SHEETS, 'CCSP': CCSP_SHEETS, 'RENEWAL_GUIDANCE': ()}
CCSP_DEDUPLICATORS: Final = ('ccsp', 'ccsp-experimental', 'ccsp-case-insensitive')
RENEWAL_DEDUPLICATORS: Final = ('renewal', 'renewal-hostname', 'renewal-experimental')
DEDUPLICATORS: Final = {'CCSP': CCSP_DEDUPLICATORS, 'CCSPv2': CCSP_DEDUPLICATORS,
                        'RENEWAL_GUIDANCE': RENEWAL_DEDUPLICATORS}  # fmt: skip
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

# Every variable the operator renders into a pod (suffixes after PREFIX); the worker reads each of them.
RENDERED_VARIABLES: Final = frozenset({
    'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_SSLMODE', 'DB_USER', 'DB_PASSWORD',
    'SHIP_TARGET', 'SHIP_PATH', 'OPTIONAL_COLLECTORS', 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR',
    'MAX_GATHER_PERIOD_DAYS', 'REPORT_TYPE', 'OPTIONAL_CCSP_REPORT_SHEETS', 'ORGANIZATION_FILTER',
    'PRICE_PER_NODE', 'DEDUPLICATOR', *(f.variable for f in HEADER_FIELDS),
    'BUCKET_NAME', 'BUCKET_ENDPOINT', 'BUCKET_REGION', 'BUCKET_ACCESS_KEY', 'BUCKET_SECRET_KEY',
    'BILLING_PROVIDER', 'BILLING_ACCOUNT_ID', 'RED_HAT_ORG_ID', 'CRC_INGRESS_URL', 'CRC_SSO_URL', 'PROXY_URL',
    'CRC_CA_BUNDLE', 'STATE_PATH', 'SERVICE_ACCOUNT_ID', 'SERVICE_ACCOUNT_SECRET',
    'USAGE_BASED_METERING_ENABLED', 'COLLECTOR_LOCK_SUFFIX', 'CLUSTER_NAME', 'PROMETHEUS_URL', 'PROMETHEUS_CA',
    'RETENTION_MAX_AGE_DAYS', 'RETENTION_MAX_BYTES',
    'ELASTICSEARCH_URL', 'ELASTICSEARCH_INDEX', 'ELASTICSEARCH_CA_BUNDLE', 'ELASTICSEARCH_USERNAME',
    'ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_API_KEY', 'ADDITIONAL_SHIP_PATHS', 'MONTH_USAGE', 'CA_BUNDLE',
})  # fmt: skip
