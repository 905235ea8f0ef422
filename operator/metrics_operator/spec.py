"""The `MetricsCollection` spec: defaults and validation, as pure functions.

The CRD's schema and CEL rules reject most bad input at the API server, but the operator cannot rely on that (an
older CRD, a server without CEL, an emulator), so the same rules are checked here and reported as a condition that
names the field. `DEFAULTS` mirrors the CRD's `default:` values; a test keeps the two equal.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from metrics_operator import cron, dashboard, dropin, names, network
from metrics_utility import contract

COLLECTORS: Final = contract.SPEC_COLLECTORS
REPORT_TYPES: Final = contract.REPORT_TYPES
STORAGE_TYPES: Final = ('directory', 's3', 'crc')
SSL_MODES: Final = ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')
TIME_ZONE_RE: Final = re.compile(r'^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$')
DURATION_RE: Final = re.compile(r'^[0-9]+m$')

DEFAULTS: Final[dict[str, Any]] = {
    'suspend': False,
    'imagePullPolicy': 'IfNotPresent',
    'database': {},
    'collectors': ['job_host_summary', 'main_jobevent'],
    'gather': {
        'schedule': '@hourly',
        'untilLag': '10m',
        'lookbackDays': 28,
        'parallelism': 2,
        'activeDeadlineSeconds': 3000,
        'backoffLimit': 2,
    },
    'report': {
        'enabled': True,
        'schedule': '0 4 2 * *',
        'type': 'CCSPv2',
        'activeDeadlineSeconds': 3600,
        'backoffLimit': 2,
    },
    'vcpu': {
        'enabled': False,
        'schedule': '15 * * * *',
        'prometheusUrl': 'https://prometheus-k8s.openshift-monitoring.svc.cluster.local:9091',
        'activeDeadlineSeconds': 900,
        'backoffLimit': 2,
    },
    'jobs': {'startingDeadlineSeconds': 600, 'successfulJobsHistoryLimit': 3, 'failedJobsHistoryLimit': 3},
}
# `spec.resources` has no CRD default: given, it applies to every worker pod as written; absent, each pod kind gets
# its own, from the measured peaks with headroom (docs/operator.md "Sizing"). A gather (and the vCPU, check and
# backfill pods, which run gathers) peaks near 110 MiB whatever the controller's size; the report is the largest pod:
# the first report of the month over a large controller (a cold report: 6M events + 400k summaries in a day) peaks
# at 430-490 MiB: the limit leaves about twice that.
RESOURCE_DEFAULTS: Final[dict[names.JobKind, dict[str, Any]]] = {
    'gather': {'requests': {'cpu': '100m', 'memory': '128Mi'}, 'limits': {'memory': '512Mi'}},
    'vcpu': {'requests': {'cpu': '100m', 'memory': '128Mi'}, 'limits': {'memory': '512Mi'}},
    'report': {'requests': {'cpu': '100m', 'memory': '256Mi'}, 'limits': {'memory': '1Gi'}},
}
# Applied by the operator, not the CRD, and only without `spec.controller`: there the Secret's values apply unless a
# field is given, and a default written by the API server could not be told from a given one.
DATABASE_DEFAULTS: Final = {'port': 5432, 'name': 'awx', 'sslMode': 'prefer'}
SECRET_KEY_DEFAULTS: Final = {
    'database.credentialsSecret': {'usernameKey': 'username', 'passwordKey': 'password'},
    'storage.s3.credentialsSecret': {'accessKeyKey': 'access-key', 'secretKeyKey': 'secret-key'},
    'storage.crc.serviceAccountSecret': {'clientIdKey': 'client-id', 'clientSecretKey': 'client-secret'},
    'storage.console.serviceAccountSecret': {'clientIdKey': 'client-id', 'clientSecretKey': 'client-secret'},
    'kpi.credentialsSecret': {'usernameKey': 'username', 'passwordKey': 'password'},
    'kpi.apiKeySecret': {'key': 'api-key'},
}
# Optional blocks without CRD defaults (spec.retention, spec.backfill; docs/scale.md). Defaults are applied here.
REPORT_MIN_AGE_DAYS: Final = 35  # a month of data plus the monthly report's delay must survive retention
BACKFILL_DEFAULTS: Final = {'parallelism': 2, 'activeDeadlineSeconds': 21600}
DATE_RE: Final = re.compile(r'^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}))?$')
QUANTITY_RE: Final = re.compile(r'^([0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$')
_UNITS: Final = {
    None: 1,
    'k': 10**3,
    'M': 10**6,
    'G': 10**9,
    'T': 10**12,
    'P': 10**15,
    'E': 10**18,
    'Ki': 2**10,
    'Mi': 2**20,
    'Gi': 2**30,
    'Ti': 2**40,
    'Pi': 2**50,
    'Ei': 2**60,
}
STORAGE_DEFAULTS: Final = {'directory': {'path': '/metrics-utility', 'reclaimPolicy': 'Retain'}, 's3': {}, 'crc': {}}
# Storage blocks that name or size a claim: the directory target itself, and the watermark volume of console.redhat.com
# (put-only: the worker keeps its watermarks in METRICS_UTILITY_STATE_PATH, a file on this claim).
CLAIM_BLOCKS: Final = {'directory': 'directory', 'crc': 'crc.state'}
ACCESS_MODES: Final = ('ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany')
RECLAIM_POLICIES: Final = ('Retain', 'Delete')
# The console.redhat.com upload identity (`storage.crc.identity`, `storage.console.identity`; docs/operator.md).
IDENTITY_SOURCES: Final = ('controller', 'managed', 'certificateSecret', 'serviceAccount')
CERTIFICATE_SOURCES: Final = ('controller', 'managed', 'certificateSecret')
CRC_TARGETS: Final = ('crc', 'console')  # the storage blocks that upload to console.redhat.com
RENEW_BEFORE_DAYS: Final = (1, 365)
MANAGED_DEFAULTS: Final = {'renewBeforeDays': 30}
MANAGED_CREDENTIAL_KEYS: Final = {'usernameKey': 'username', 'passwordKey': 'password'}
# Defaults of optional nested blocks, applied only when the block is given (as the API server does).
BLOCK_DEFAULTS: Final = {
    **SECRET_KEY_DEFAULTS,
    'storage.crc.state': {'reclaimPolicy': 'Retain'},
    **{f'storage.{target}.identity.managed': MANAGED_DEFAULTS for target in CRC_TARGETS},
    **{f'storage.{target}.identity.managed.credentialsSecret': MANAGED_CREDENTIAL_KEYS for target in CRC_TARGETS},
}
# spec.kpi (docs/scale.md) and spec.report.additionalSources (docs/reports.md). Sources are joined with ';' into
# METRICS_UTILITY_ADDITIONAL_SHIP_PATHS, so no part may contain one; sub paths stay inside their claim.
KPI_INDEX_RE: Final = re.compile(r'^[a-z0-9][a-z0-9._+-]*$')
S3_SOURCE_RE: Final = re.compile(r'^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^;/]+)*$')
SOURCE_PATH_RE: Final = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,254})*$')
# Pod placement, copied into every pod the operator creates; the API server validates their content with the pod.
PLACEMENT_FIELDS: Final = ('nodeSelector', 'tolerations', 'affinity', 'priorityClassName')
# storage.directory.path is the claim's mount point: plain names only, and never on (or above, or inside) what the
# pod needs: /tmp (its writable scratch), the crc state volume, CA bundles, report sources, the termination log,
# the virtualenv and the system directories. The CRD has the same list (a test keeps them equal).
DIRECTORY_PATH_RE: Final = re.compile(r'^(/[A-Za-z0-9_][A-Za-z0-9._-]{0,254})+$')
RESERVED_PATHS: Final = (
    '/bin',
    '/dev',
    '/etc',
    '/lib',
    '/lib64',
    '/opt/venv',
    '/proc',
    '/run',
    '/sbin',
    '/sources',
    '/sys',
    '/tmp',
    '/usr',
    '/var/lib/metrics-utility',
    '/var/run',
)
# Text the worker reads from a variable (it trims padding and treats blank as unset) and numbers it bounds.
TRIMMED: Final = r'^\S(.*\S)?$'
WORKER_PATTERNS: Final = (
    (
        'spec.database.host',
        r'^(/\S*|[^\s./]{1,63}(\.[^\s./]{1,63})*\.?)$',
        'must be a host name (labels of at most 63 characters), an address or a socket directory',
    ),
    ('spec.database.name', TRIMMED, 'must be a database name without leading or trailing spaces'),
    ('spec.report.pricePerNode', r'^[0-9]+(\.[0-9]+)?$', "must be a non-negative number such as '11' or '11.50'"),
    (
        'spec.storage.s3.bucket',
        r'^[A-Za-z0-9._-]+$',
        'must be a bucket name (letters, digits, dots, hyphens, underscores)',
    ),
    ('spec.storage.s3.endpoint', r'^https?://\S+$', 'must be an http(s):// URL such as https://s3.example.com'),
    ('spec.storage.crc.billingAccountId', r'^[0-9]{12}$', 'must be the 12-digit AWS account id'),
    ('spec.storage.console.billingAccountId', r'^[0-9]{12}$', 'must be the 12-digit AWS account id'),
    ('spec.vcpu.clusterName', TRIMMED, 'must be a cluster name without leading or trailing spaces'),
    ('spec.vcpu.prometheusUrl', r'^https?://\S+$', 'must be an http(s):// URL of Prometheus'),
    *(
        (
            f'spec.storage.{target}.identity.managed.candlepinUrl',
            r'^https://\S+$',
            'must be an https:// URL of the Candlepin service',
        )
        for target in CRC_TARGETS
    ),
    *(
        (
            f'spec.storage.{target}.identity.managed.organization',
            r'^(\S(.*\S)?)?$',
            'must be a Candlepin organization key without leading or trailing spaces (empty: discovered)',
        )
        for target in CRC_TARGETS
    ),
)
WORKER_RANGES: Final = (
    ('spec.gather.lookbackDays', contract.MAX_GATHER_PERIOD_DAYS),
    ('spec.gather.parallelism', contract.GATHER_PARALLELISM),
    ('spec.retention.maxAgeDays', contract.RETENTION_MAX_AGE_DAYS),
)
DNS_SUBDOMAIN_RE: Final = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')


class SpecError(ValueError):
    """A spec a person must fix; `field` is the dotted path the message is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f'{field}: {message}')
        self.field = field
        self.message = message


def _merge(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(defaults))
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _get(spec: Mapping[str, Any], path: str) -> Any:
    node: Any = spec
    for part in path.split('.'):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def with_defaults(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec as the API server would store it after defaulting (idempotent)."""
    result = _merge(DEFAULTS, spec)
    if not result.get('controller') and isinstance(result['database'], dict):
        result['database'] = _merge(DATABASE_DEFAULTS, result['database'])
    storage = result.get('storage')
    if isinstance(storage, dict):
        for kind, defaults in STORAGE_DEFAULTS.items():
            if isinstance(storage.get(kind), Mapping):
                storage[kind] = _merge(defaults, storage[kind])
    dashboard.apply_defaults(result)
    for path, defaults in BLOCK_DEFAULTS.items():
        ref = _get(result, path)
        if isinstance(ref, dict):
            for key, value in defaults.items():
                ref.setdefault(key, value)
    return result


def validate(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return the defaulted spec or raise `SpecError` naming the first offending field."""
    if len(name) > names.MAX_COLLECTION_NAME:
        raise SpecError('metadata.name', f'must be at most {names.MAX_COLLECTION_NAME} characters (CronJob names ≤ 52)')
    full = with_defaults(spec)
    found = dropin.problem(full) or network.problem(full) or dashboard.problem(name, full)
    if found:
        raise SpecError(*found)
    _validate_database(full.get('database'), bool(full.get('controller')))
    _validate_collectors(full['collectors'])
    for kind in names.JOB_KINDS:
        schedule = full[kind].get('schedule')
        why = cron.problem(schedule) if isinstance(schedule, str) else f'must be {cron.EXPECTED}'
        if why is not None:
            raise SpecError(f'spec.{kind}.schedule', why)
    if not DURATION_RE.fullmatch(str(full['gather']['untilLag'])):
        raise SpecError('spec.gather.untilLag', "must be minutes like '10m'")
    _validate_report(full['report'])
    tz = full.get('timeZone')
    if tz is not None and not TIME_ZONE_RE.fullmatch(str(tz)):
        raise SpecError('spec.timeZone', 'must be an IANA time zone name such as Europe/Berlin')
    if full['vcpu']['enabled'] and not full['vcpu'].get('clusterName'):
        raise SpecError('spec.vcpu.clusterName', 'is required when vcpu.enabled is true')
    _validate_storage(full)
    _validate_sources(name, full)
    _validate_kpi(full)
    _refuse_url_credentials(full)
    _validate_retention(full)
    _validate_backfill(full)
    _validate_placement(full)
    _validate_worker_values(full)
    return full


def _validate_worker_values(full: Mapping[str, Any]) -> None:
    """Values the worker parses, checked as the CRD checks them: without the CRD's checks (an older CRD, a server
    without CEL) the operator is the last gate, and the worker would refuse them on every run (or, trimming padding,
    silently use another value: a blank host becomes localhost)."""
    for path, pattern, expected in WORKER_PATTERNS:
        value = _get(full, path.removeprefix('spec.'))
        if value is not None and not (isinstance(value, str) and re.fullmatch(pattern, value)):
            raise SpecError(path, expected)
    for path, (low, high) in WORKER_RANGES:
        value = _get(full, path.removeprefix('spec.'))
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise SpecError(path, f'must be a whole number from {low} to {high}')


def _validate_collectors(collectors: Any) -> None:
    """The collector keys the worker knows (the contract's), at least one: an empty list gathers nothing."""
    if not isinstance(collectors, list) or not collectors:
        raise SpecError('spec.collectors', 'must list at least one collector')
    for collector in collectors:
        if collector not in COLLECTORS:
            raise SpecError('spec.collectors', f'unknown collector {collector!r}; expected one of {COLLECTORS}')


def _validate_report(report: Mapping[str, Any]) -> None:
    """What build-report refuses for a type: other types' sheets and deduplicators, values with its separator."""
    kind = report['type']
    if kind not in REPORT_TYPES:
        raise SpecError('spec.report.type', f'must be one of {REPORT_TYPES}')
    for sheet in report.get('sheets') or []:
        if kind != 'RENEWAL_GUIDANCE' and sheet not in contract.SHEETS[kind]:
            raise SpecError(
                'spec.report.sheets', f'{sheet!r} is not a {kind} sheet; expected some of {contract.SHEETS[kind]}'
            )
    dedup = report.get('deduplicator')
    if dedup is not None and dedup not in contract.DEDUPLICATORS[kind]:
        raise SpecError(
            'spec.report.deduplicator',
            f'{dedup!r} does not apply to {kind}; expected one of {contract.DEDUPLICATORS[kind]}',
        )
    since = report.get('since')
    if since is not None and kind != 'RENEWAL_GUIDANCE':
        raise SpecError('spec.report.since', 'applies to RENEWAL_GUIDANCE only (CCSP reports cover the last month)')
    if since is not None and not (isinstance(since, str) and re.fullmatch(contract.RENEWAL_SINCE_PATTERN, since)):
        raise SpecError(
            'spec.report.since', "must be how far back the renewal report starts: Nd or Nmonths, e.g. '12months'"
        )
    separator = contract.LIST_SEPARATORS['ORGANIZATION_FILTER']
    for index, org in enumerate(report.get('organizationFilter') or []):
        if not isinstance(org, str) or not org.strip() or org != org.strip() or separator in org:
            raise SpecError(
                f'spec.report.organizationFilter[{index}]',
                f'must be an organization name: not empty, '
                f'no {separator!r} (the list separator), no leading or trailing spaces',
            )


def quantity_bytes(value: Any) -> int | None:
    """Bytes of an integer or a Kubernetes quantity such as '20Gi'; None when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    match = QUANTITY_RE.match(str(value).strip()) if isinstance(value, str) else None
    return int(match[1]) * _UNITS[match[2]] if match else None


def _optional_block(full: Mapping[str, Any], key: str, holding: str) -> Mapping[str, Any] | None:
    """`spec.<key>`, an optional object: None when absent, a SpecError saying what it holds when not an object."""
    block = full.get(key)
    if block is not None and not isinstance(block, Mapping):
        raise SpecError(f'spec.{key}', f'must be an object with {holding}')
    return block


def _validate_retention(full: Mapping[str, Any]) -> None:
    retention = _optional_block(full, 'retention', 'maxAgeDays and/or maxBytes')
    if retention is None:
        return
    age = retention.get('maxAgeDays')
    if age is not None and (not isinstance(age, int) or isinstance(age, bool) or age < 1):
        raise SpecError('spec.retention.maxAgeDays', 'must be a whole number of days, at least 1')
    if age is not None and full['report']['enabled'] and age < REPORT_MIN_AGE_DAYS:
        raise SpecError(
            'spec.retention.maxAgeDays',
            f'must be at least {REPORT_MIN_AGE_DAYS} while reports are '
            'enabled (a month of data plus the report delay must stay)',
        )
    if 'maxBytes' in retention and quantity_bytes(retention['maxBytes']) is None:
        raise SpecError('spec.retention.maxBytes', "must be bytes or a quantity such as '20Gi'")


def _validate_backfill(full: Mapping[str, Any]) -> None:
    backfill = _optional_block(full, 'backfill', 'since, until and parallelism')
    if backfill is None:
        return
    instants = {}
    for key in ('since', 'until'):
        value = backfill.get(key)
        instants[key] = backfill_instant(value) if isinstance(value, str) and DATE_RE.fullmatch(value) else None
        if instants[key] is None:
            raise SpecError(f'spec.backfill.{key}', 'must be a real UTC date (2024-01-31) or an RFC 3339 time')
    if instants['since'] >= instants['until']:
        raise SpecError('spec.backfill.until', 'must be after since')
    if instants['until'] - instants['since'] > timedelta(days=contract.MAX_GATHER_PERIOD_DAYS[1]):
        raise SpecError(
            'spec.backfill.until',
            f'must be at most {contract.MAX_GATHER_PERIOD_DAYS[1]} days after '
            'since (the longest window a gather takes)',
        )
    for key in ('parallelism', 'shards'):
        value = backfill.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100):
            raise SpecError(f'spec.backfill.{key}', 'must be a whole number from 1 to 100')


def backfill_instant(value: str) -> datetime | None:
    """The UTC instant of a backfill bound (a date is its midnight UTC); None for an impossible date or time."""
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00') if len(value) > 10 else f'{value}T00:00:00+00:00')
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _validate_placement(full: Mapping[str, Any]) -> None:
    """Types only (an older CRD may let anything through); the API server checks the content with each pod."""
    selector = full.get('nodeSelector')
    if selector is not None and not (
        isinstance(selector, Mapping) and all(isinstance(v, str) for v in (*selector, *selector.values()))
    ):
        raise SpecError('spec.nodeSelector', 'must be a map of node label names to string values')
    tolerations = full.get('tolerations')
    if tolerations is not None and not isinstance(tolerations, list):
        raise SpecError('spec.tolerations', 'must be a list of tolerations (key, operator, value, effect)')
    for index, toleration in enumerate(tolerations or []):
        if not isinstance(toleration, Mapping):
            raise SpecError(f'spec.tolerations[{index}]', 'must be a toleration object (key, operator, value, effect)')
    affinity = full.get('affinity')
    if affinity is not None and not isinstance(affinity, Mapping):
        raise SpecError('spec.affinity', 'must be an object (nodeAffinity, podAffinity, podAntiAffinity)')
    priority = full.get('priorityClassName')
    if priority is not None and not (
        isinstance(priority, str) and len(priority) <= 253 and DNS_SUBDOMAIN_RE.match(priority)
    ):
        raise SpecError('spec.priorityClassName', 'must name a PriorityClass (a lowercase DNS subdomain)')


def backfill_settings(full: Mapping[str, Any]) -> dict[str, Any] | None:
    """The backfill block with defaults: `shards` (Job completions) defaults to `parallelism`."""
    if full.get('backfill') is None:
        return None
    result = {**BACKFILL_DEFAULTS, **full['backfill']}
    result.setdefault('shards', result['parallelism'])
    return result


def _validate_kpi(full: Mapping[str, Any]) -> None:
    """The gather's Elasticsearch/OpenSearch sink: https only, since credentials travel with every request."""
    kpi = _optional_block(full, 'kpi', 'url, index and credentialsSecret or apiKeySecret')
    if kpi is None:
        return
    if not isinstance(kpi.get('url'), str) or not kpi['url'].startswith('https://'):
        raise SpecError('spec.kpi.url', 'must be an https:// URL such as https://es.example:9200')
    if '@' in kpi['url'].removeprefix('https://').split('/', 1)[0]:
        raise SpecError('spec.kpi.url', 'must not hold user:password@: use credentialsSecret or apiKeySecret')
    if 'index' in kpi and not (isinstance(kpi['index'], str) and KPI_INDEX_RE.match(kpi['index'])):
        raise SpecError('spec.kpi.index', 'must be a lowercase index name (a-z, 0-9, ".", "_", "-", "+")')
    if 'credentialsSecret' in kpi and 'apiKeySecret' in kpi:
        raise SpecError('spec.kpi', 'set credentialsSecret (basic auth) or apiKeySecret, not both')
    if 'credentialsSecret' in kpi:
        _require_ref(kpi['credentialsSecret'], 'spec.kpi.credentialsSecret', ('usernameKey', 'passwordKey'))
    if 'apiKeySecret' in kpi:
        _require_ref(kpi['apiKeySecret'], 'spec.kpi.apiKeySecret', ('key',))
    ca = kpi.get('caConfigMap')
    if ca is not None and (not isinstance(ca, Mapping) or not ca.get('name')):
        raise SpecError('spec.kpi.caConfigMap.name', 'is required (name of a ConfigMap in the same namespace)')


# URLs the operator writes into the ConfigMap (the worker logs them): credentials there would leak; the CRD's CEL rule
# and this check name the field and never repeat the URL. spec.kpi.url is checked in _validate_kpi.
URL_FIELDS: Final = {
    'storage.s3.endpoint': 'use credentialsSecret',
    'storage.crc.ingressUrl': 'use serviceAccountSecret',
    'storage.crc.ssoUrl': 'use serviceAccountSecret',
    'storage.crc.proxyUrl': 'use a proxy without credentials',
    'storage.console.ingressUrl': 'use serviceAccountSecret',
    'storage.console.ssoUrl': 'use serviceAccountSecret',
    'storage.console.proxyUrl': 'use a proxy without credentials',
    'storage.crc.identity.managed.candlepinUrl': 'use credentialsSecret',
    'storage.console.identity.managed.candlepinUrl': 'use credentialsSecret',
    'vcpu.prometheusUrl': 'the worker uses its service-account token',
}
USERINFO_RE: Final = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@')


def _refuse_url_credentials(full: Mapping[str, Any]) -> None:
    for path, instead in URL_FIELDS.items():
        value = _get(full, path)
        if isinstance(value, str) and USERINFO_RE.match(value):
            raise SpecError(
                f'spec.{path}', f'must not hold user:password@ (it would reach the ConfigMap and logs): {instead}'
            )


def _validate_sources(name: str, full: Mapping[str, Any]) -> None:
    """Extra read-only package sources of build-report; S3 ones reuse the main bucket's endpoint and credentials."""
    sources = full['report'].get('additionalSources')
    if sources is None:
        return
    field = 'spec.report.additionalSources'
    if not isinstance(sources, list):
        raise SpecError(field, 'must be a list of {s3: s3://bucket/prefix} or {claimName, path}')
    storage, seen, main_claim = full['storage'], set(), main_claim_name(name, full)
    for index, source in enumerate(sources):
        item = f'{field}[{index}]'
        if not isinstance(source, Mapping) or ('s3' in source) == ('claimName' in source):
            raise SpecError(item, 'set either s3 (s3://bucket/prefix) or claimName (an existing claim)')
        if 'path' in source and 'claimName' not in source:
            raise SpecError(f'{item}.path', 'only applies with claimName')
        if 's3' in source:
            if not isinstance(source['s3'], str) or not S3_SOURCE_RE.fullmatch(source['s3']):
                raise SpecError(f'{item}.s3', 'must be s3://bucket or s3://bucket/prefix (no ";", no empty parts)')
            if storage['type'] != 's3':
                raise SpecError(f'{item}.s3', 'needs storage.type s3 (S3 sources use its endpoint and credentials)')
            if source['s3'] == _main_s3(storage['s3']):
                raise SpecError(f'{item}.s3', 'is the main storage; list other buckets or prefixes only')
            key = source['s3']
        else:
            if not isinstance(source['claimName'], str) or not source['claimName']:
                raise SpecError(f'{item}.claimName', 'must name a PersistentVolumeClaim in the same namespace')
            if 'path' in source and not (isinstance(source['path'], str) and SOURCE_PATH_RE.fullmatch(source['path'])):
                raise SpecError(f'{item}.path', "must be a relative path inside the claim such as 'controller-b'")
            if source['claimName'] == main_claim and 'path' not in source:
                raise SpecError(f'{item}.claimName', 'is the main storage; set path for another directory on its claim')
            key = f'{source["claimName"]}/{source.get("path", "")}'
        if key in seen:
            raise SpecError(item, 'is listed twice; list each source once')
        seen.add(key)


def _main_s3(s3: Mapping[str, Any]) -> str:
    prefix = str(s3.get('prefix') or '').strip('/')
    return f's3://{s3.get("bucket")}' + (f'/{prefix}' if prefix else '')


def _require_ref(ref: Any, field: str, keys: tuple[str, ...]) -> None:
    if not isinstance(ref, Mapping) or not ref.get('name'):
        raise SpecError(f'{field}.name', 'is required (name of a Secret in the same namespace)')
    for key in keys:
        if not ref.get(key):
            raise SpecError(f'{field}.{key}', 'must name a key of the Secret')


def _validate_database(db: Any, controller: bool) -> None:
    """With `spec.controller` every field is optional (the controller's Secret supplies what is not given)."""
    if not isinstance(db, Mapping):
        raise SpecError('spec.database', 'must be an object (host, port, name, sslMode, credentialsSecret)')
    if not controller and not db.get('host'):
        raise SpecError('spec.database.host', 'is required')
    if 'host' in db and (not isinstance(db['host'], str) or not db['host']):
        raise SpecError('spec.database.host', 'must not be empty')
    port = db.get('port', 1 if controller else None)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise SpecError('spec.database.port', 'must be an integer 1..65535')
    if db.get('sslMode', SSL_MODES[0] if controller else None) not in SSL_MODES:
        raise SpecError('spec.database.sslMode', f'must be one of {SSL_MODES}')
    if not controller or 'credentialsSecret' in db:
        _require_ref(db.get('credentialsSecret'), 'spec.database.credentialsSecret', ('usernameKey', 'passwordKey'))


def _validate_storage(full: Mapping[str, Any]) -> None:
    storage = full.get('storage')
    if not isinstance(storage, Mapping) or storage.get('type') not in STORAGE_TYPES:
        raise SpecError('spec.storage.type', f'must be one of {STORAGE_TYPES}')
    kind = storage['type']
    for other in STORAGE_TYPES:
        if (other == kind) != (other in storage):
            raise SpecError(f'spec.storage.{other}', f'exactly the block matching storage.type ({kind}) must be set')
    block = storage[kind]
    if kind == 'directory':
        _validate_directory_path(block.get('path'))
    elif kind == 's3':
        for key in ('bucket', 'endpoint'):
            if not block.get(key):
                raise SpecError(f'spec.storage.s3.{key}', 'is required')
        if 'credentialsSecret' in block:
            _require_ref(
                block['credentialsSecret'], 'spec.storage.s3.credentialsSecret', ('accessKeyKey', 'secretKeyKey')
            )
    else:
        if not block.get('billingAccountId'):
            raise SpecError('spec.storage.crc.billingAccountId', 'is required (12-digit AWS account id)')
        _validate_identity(full, 'crc')
        if not isinstance(block.get('state'), Mapping):
            raise SpecError(
                'spec.storage.crc.state',
                'is required: claimName or size of a volume for the watermarks '
                '(console.redhat.com cannot be read back)',
            )
        if full['report']['enabled']:
            raise SpecError('spec.report.enabled', 'reports need directory or s3 storage; disable them for crc')
    _validate_console(full)
    _validate_claim(full)


def _validate_console(full: Mapping[str, Any]) -> None:
    """`storage.console`: console.redhat.com as the gather's second, put-only target, fed from the directory or S3
    target's packages (its watermarks live there, so it needs no volume of its own; docs/migrate.md)."""
    storage = full['storage']
    if 'console' not in storage:
        return
    block = storage['console']
    if storage['type'] == 'crc':
        raise SpecError(
            'spec.storage.console', 'needs directory or s3 storage (it is fed from the packages stored there)'
        )
    if not isinstance(block, Mapping):
        raise SpecError('spec.storage.console', 'must be an object (billingAccountId, serviceAccountSecret, ...)')
    if not block.get('billingAccountId'):
        raise SpecError('spec.storage.console.billingAccountId', 'is required (12-digit AWS account id)')
    _validate_identity(full, 'console')


def _validate_identity(full: Mapping[str, Any], target: str) -> None:
    """`storage.<target>.identity` and the service account it may make optional (the CRD's CEL rules, in order)."""
    field, block = f'spec.storage.{target}', full['storage'][target]
    ident = block.get('identity')
    if ident is not None and not isinstance(ident, Mapping):
        raise SpecError(f'{field}.identity', 'must be an object (source, certificateSecret, managed)')
    ident = ident or {}
    source = ident.get('source')
    if source is not None and source not in IDENTITY_SOURCES:
        raise SpecError(f'{field}.identity.source', f'must be one of {IDENTITY_SOURCES}')
    if source == 'controller' and not full.get('controller'):
        raise SpecError(
            f'{field}.identity.source',
            'controller needs spec.controller (the AutomationController whose Candlepin identity to use)',
        )
    for option in ('certificateSecret', 'managed'):
        if (option in ident) != (source == option):
            raise SpecError(f'{field}.identity.{option}', f'is required with source {option} and applies to it only')
    if source == 'certificateSecret':
        _require_name(ident['certificateSecret'], f'{field}.identity.certificateSecret')
    if source == 'managed':
        managed = ident['managed']
        if not isinstance(managed, Mapping):
            raise SpecError(f'{field}.identity.managed', 'must be an object (credentialsSecret, organization, ...)')
        _require_name(managed.get('credentialsSecret'), f'{field}.identity.managed.credentialsSecret')
        _require_ref(
            managed['credentialsSecret'], f'{field}.identity.managed.credentialsSecret', ('usernameKey', 'passwordKey')
        )
        days, (low, high) = managed.get('renewBeforeDays'), RENEW_BEFORE_DAYS
        if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
            raise SpecError(f'{field}.identity.managed.renewBeforeDays', f'must be a whole number from {low} to {high}')
    if 'serviceAccountSecret' in block or identity_source(full, target) == 'serviceAccount':
        if 'serviceAccountSecret' not in block:
            raise SpecError(
                f'{field}.serviceAccountSecret',
                'is required unless identity.source is controller, managed or certificateSecret '
                '(controller is the default with spec.controller)',
            )
        _require_ref(block['serviceAccountSecret'], f'{field}.serviceAccountSecret', ('clientIdKey', 'clientSecretKey'))


def _require_name(ref: Any, field: str) -> None:
    """A reference to an object of this namespace: a lowercase DNS subdomain of at most 253 characters."""
    if not isinstance(ref, Mapping) or not ref.get('name'):
        raise SpecError(f'{field}.name', 'is required (name of a Secret in the same namespace)')
    name = ref['name']
    if not (isinstance(name, str) and len(name) <= 253 and DNS_SUBDOMAIN_RE.fullmatch(name)):
        raise SpecError(f'{field}.name', 'must name a Secret in this namespace (a lowercase DNS subdomain, ≤ 253)')


def identity_source(full: Mapping[str, Any], target: str) -> str:
    """The identity `storage.<target>` uploads with: the given source, else `controller` when `spec.controller` is
    set (the controller holds a Candlepin certificate), else `serviceAccount`."""
    ident = full['storage'][target].get('identity') or {}
    return ident.get('source') or ('controller' if full.get('controller') else 'serviceAccount')


@dataclass(frozen=True)
class CrcIdentity:
    """The resolved upload identity of the collection's console.redhat.com target (`crc` or `console`).

    `tls_secret` is the kubernetes.io/tls Secret whose tls.crt/tls.key the pods mount (certificateSecret's, or the
    operator's own for managed; None for controller and serviceAccount); `service_account` whether a service account
    is configured (the only identity for serviceAccount, the fallback of the others)."""

    target: str
    source: str
    tls_secret: str | None
    service_account: bool
    renew_before_days: int
    managed: Mapping[str, Any] | None

    @property
    def field(self) -> str:
        return f'spec.storage.{self.target}.identity'

    @property
    def certificate(self) -> bool:
        return self.source in CERTIFICATE_SOURCES


def crc_target(full: Mapping[str, Any]) -> str | None:
    """`crc` or `console`: the storage block that uploads to console.redhat.com (at most one exists), else None."""
    storage = full['storage']
    return next((t for t in CRC_TARGETS if isinstance(storage.get(t), Mapping)), None)


def crc_identity(name: str, full: Mapping[str, Any]) -> CrcIdentity | None:
    """The upload identity of a validated spec, or None when nothing uploads to console.redhat.com."""
    target = crc_target(full)
    if target is None:
        return None
    block, source = full['storage'][target], identity_source(full, target)
    ident = block.get('identity') or {}
    managed = ident.get('managed') if source == 'managed' else None
    tls_secret = {
        'certificateSecret': (ident.get('certificateSecret') or {}).get('name'),
        'managed': names.candlepin_identity_secret(name),
    }.get(source)
    days = (managed or {}).get('renewBeforeDays', MANAGED_DEFAULTS['renewBeforeDays'])
    return CrcIdentity(target, source, tls_secret, 'serviceAccountSecret' in block, days, managed)


def identity_secret_refs(full: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, Secret) of the identity the pods mount and the user (or the AAP operator) supplies: the controller's
    `<controller>-secret-key` or the certificateSecret. The managed identity's Secret is the operator's own."""
    target = crc_target(full)
    if target is None:
        return []
    source, ident = identity_source(full, target), full['storage'][target].get('identity') or {}
    if source == 'controller':
        return [(f'spec.storage.{target}.identity.source', dropin.secret_key_secret_name(full['controller']['name']))]
    if source == 'certificateSecret':
        return [(f'spec.storage.{target}.identity.certificateSecret.name', ident['certificateSecret']['name'])]
    return []


def _validate_directory_path(path: Any) -> None:
    """Where the storage claim is mounted: a plain absolute path that neither hides nor sits inside a directory the
    pod needs (the operator's own mounts, the image's system directories)."""
    field = 'spec.storage.directory.path'
    if not isinstance(path, str) or not DIRECTORY_PATH_RE.fullmatch(path):
        raise SpecError(
            field,
            'must be an absolute path of plain names such as /metrics-utility (letters, digits, '
            "'.', '_', '-'; no '..', no trailing '/')",
        )
    for reserved in RESERVED_PATHS:
        if path == reserved or path.startswith(reserved + '/') or reserved.startswith(path + '/'):
            raise SpecError(
                field,
                f'{path} collides with {reserved}, which the worker pod needs; choose another '
                'directory such as /metrics-utility',
            )


def _validate_claim(full: Mapping[str, Any]) -> None:
    """The claim rules of `storage.directory` and `storage.crc.state`: an existing claim or a size for a new one."""
    found = claim_block(full)
    if found is None:
        return
    field, block = found
    if bool(block.get('claimName')) == bool(block.get('size')):
        raise SpecError(field, 'set either claimName (existing claim) or size (new claim)')
    if block.get('storageClassName') and not block.get('size'):
        raise SpecError(f'{field}.storageClassName', 'only applies with size')
    if block.get('accessMode', ACCESS_MODES[0]) not in ACCESS_MODES:
        raise SpecError(f'{field}.accessMode', f'must be one of {ACCESS_MODES}')
    if block.get('reclaimPolicy', RECLAIM_POLICIES[0]) not in RECLAIM_POLICIES:
        raise SpecError(f'{field}.reclaimPolicy', f'must be one of {RECLAIM_POLICIES}')


def secret_refs(full: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, Secret name) pairs the pods need; checked before any CronJob is written."""
    refs = dropin.secret_refs(full)
    if full['database'].get('credentialsSecret'):
        refs.insert(0, ('spec.database.credentialsSecret.name', full['database']['credentialsSecret']['name']))
    storage = full['storage']
    if storage['type'] == 's3' and 'credentialsSecret' in storage['s3']:
        refs.append(('spec.storage.s3.credentialsSecret.name', storage['s3']['credentialsSecret']['name']))
    for target in CRC_TARGETS:
        if 'serviceAccountSecret' in (storage.get(target) or {}):
            name = storage[target]['serviceAccountSecret']['name']
            refs.append((f'spec.storage.{target}.serviceAccountSecret.name', name))
    refs += identity_secret_refs(full)
    for block in ('credentialsSecret', 'apiKeySecret'):
        if block in (full.get('kpi') or {}):
            refs.append((f'spec.kpi.{block}.name', full['kpi'][block]['name']))
    return refs + dashboard.secret_refs(full)


def configmap_refs(full: Mapping[str, Any]) -> list[tuple[str, str]]:
    refs = dropin.configmap_refs(full) + network.configmap_refs(full)
    if full['vcpu']['enabled'] and full['vcpu'].get('caConfigMap'):
        refs.append(('spec.vcpu.caConfigMap.name', full['vcpu']['caConfigMap']['name']))
    if full['storage']['type'] == 'crc' and full['storage']['crc'].get('caConfigMap'):
        refs.append(('spec.storage.crc.caConfigMap.name', full['storage']['crc']['caConfigMap']['name']))
    if (full['storage'].get('console') or {}).get('caConfigMap'):
        refs.append(('spec.storage.console.caConfigMap.name', full['storage']['console']['caConfigMap']['name']))
    if (full.get('kpi') or {}).get('caConfigMap'):
        refs.append(('spec.kpi.caConfigMap.name', full['kpi']['caConfigMap']['name']))
    return refs


def claim_block(full: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """(field, block) of the storage claim: `storage.directory` or `storage.crc.state`; None for S3.

    Tolerates a spec that never validated: deleting such a collection still looks for the operator's claim."""
    storage = full.get('storage')
    path = CLAIM_BLOCKS.get(storage.get('type')) if isinstance(storage, Mapping) else None
    block = _get(storage, path) if path else None
    return (f'spec.storage.{path}', block) if isinstance(block, Mapping) else None


def storage_claim_name(name: str, full: Mapping[str, Any]) -> str | None:
    """The claim every gather pod mounts: the user's or `<name>-data`, which the operator creates."""
    found = claim_block(full)
    return (found[1].get('claimName') or names.claim_name(name)) if found else None


def main_claim_name(name: str, full: Mapping[str, Any]) -> str | None:
    """The claim of directory storage (the one report sources can share); crc's state claim holds no packages."""
    return storage_claim_name(name, full) if full['storage']['type'] == 'directory' else None


def claim_refs(name: str, full: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, claim) pairs the user supplied (never created or deleted by the operator): storage and sources.

    A source on the main claim is left out: that claim is the user's (listed first) or the operator's own."""
    found, refs, main = claim_block(full), [], main_claim_name(name, full)
    if found is not None and found[1].get('claimName'):
        refs.append((f'{found[0]}.claimName', found[1]['claimName']))
    if full['report']['enabled']:
        for index, source in enumerate(full['report'].get('additionalSources') or []):
            if source.get('claimName', main) != main:
                refs.append((f'spec.report.additionalSources[{index}].claimName', source['claimName']))
    return refs


def enabled_kinds(full: Mapping[str, Any]) -> list[names.JobKind]:
    return [kind for kind in names.JOB_KINDS if kind == 'gather' or full[kind]['enabled']]
