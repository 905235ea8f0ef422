"""What the operator accepts, the worker runs (issue #17, class 8): specs generated from the CRD's own schema.

For every field of `MetricsCollection.spec` (walked from the CRD's OpenAPI schema) the test takes a valid base
spec, sets that one field to each edge value its schema suggests (every enum value and a wrong one, bounds and one
past them, empty lists, list separators, padding, unicode, control characters, over-long strings, the field
removed) plus hand-picked values for fields with a grammar (schedules, dates, paths), and then:

- runs the CRD's validation (structural schema + CEL rules) and `spec.validate`;
- when both accept: renders every pod (CronJobs and the backfill Job) and feeds its arguments and environment to
  the worker's own argument parser and settings loaders (`testsupport.pod_in_worker`): the worker must accept it;
- when either rejects: the rejection must name a real field of the spec;
- what the operator accepts must run even where the CRD would refuse it (an older CRD, a server without CEL);
- what the CRD accepts the operator accepts too, except where only the operator can look (`OPERATOR_ONLY`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from metrics_operator import names, preflight, render, spec
from metrics_utility import contract
from testsupport.crd_rules import cel_failures, schema_errors
from testsupport.operator_samples import collection, crc_storage
from testsupport.pod_in_worker import pod_of, serve_problems, worker_problems

pytestmark = [pytest.mark.unit, pytest.mark.slow, pytest.mark.hostile]
ROOT = Path(__file__).resolve().parents[2]
CRD = yaml.safe_load((ROOT / 'deploy' / 'crds' / 'metricscollections.metrics.aap.dev.yaml').read_text())
SPEC_SCHEMA = CRD['spec']['versions'][0]['schema']['openAPIV3Schema']['properties']['spec']
DELETE = object()  # the field removed

FULL_SOURCES = [{'claimName': 'b', 'path': 'east'}, {'claimName': 'metrics-data', 'path': 'copied'}]
BASES: dict[str, dict[str, Any]] = {
    'directory': collection()['spec'],
    's3': collection(
        storage={
            'type': 's3',
            's3': {
                'bucket': 'main',
                'endpoint': 'https://s3.example.com',
                'region': 'eu-1',
                'prefix': 'cluster-a',
                'credentialsSecret': {'name': 's3'},
            },
            'console': {'billingAccountId': '123456789012', 'serviceAccountSecret': {'name': 'sa'}},
        },
        report={'additionalSources': [{'s3': 's3://other/b'}]},
        dashboard={
            'enabled': True,
            'network': {'enabled': True, 'route': {'enabled': True, 'host': 'm.apps.example.com'}},
        },
    )['spec'],
    'crc': collection(
        report={'enabled': False},
        storage=crc_storage({'size': '1Gi'}, caConfigMap={'name': 'crc-ca'}, orgId='123'),
        vcpu={'enabled': True, 'clusterName': 'c1', 'caConfigMap': {'name': 'prom-ca'}},
    )['spec'],
    # An AAP drop-in: the controller's database Secret with one field overridden, the admin's existing ConfigMap and
    # Secret, extra variables (docs/operator.md, "Reusing an AAP install's configuration").
    'dropin': {
        'controller': {'name': 'aap'},
        'database': {'sslMode': 'require'},
        'envFrom': [
            {'configMapRef': {'name': 'automationcontroller-metrics-utility-configmap'}},
            {'secretRef': {'name': 'metrics-utility-secret', 'optional': True}},
        ],
        'env': [
            {'name': 'HTTPS_PROXY', 'value': 'http://proxy.example:3128'},
            {'name': 'TZ', 'valueFrom': {'configMapKeyRef': {'name': 'site', 'key': 'tz', 'optional': True}}},
            {'name': 'EXTRA_TOKEN', 'valueFrom': {'secretKeyRef': {'name': 'site', 'key': 'token'}}},
        ],
        'storage': {'type': 'directory', 'directory': {'claimName': 'automationcontroller-metrics-utility'}},
    },
    'renewal': collection(
        report={'type': 'RENEWAL_GUIDANCE', 'deduplicator': 'renewal', 'since': '6months'},
        dashboard={'enabled': True},  # the default: loopback only, reached by kubectl port-forward
    )['spec'],
    # console.redhat.com identities (docs/operator.md, "console.redhat.com identity"): the controller's own, without
    # a service account; a managed one with the service account as its fallback; a certificateSecret on console.
    'crc-controller': {
        'controller': {'name': 'aap'},
        'report': {'enabled': False},
        'vcpu': {'enabled': True, 'clusterName': 'c1'},
        'storage': {
            'type': 'crc',
            'crc': {'billingAccountId': '123456789012', 'state': {'size': '1Gi'}, 'identity': {'source': 'controller'}},
        },
    },
    'crc-managed': collection(
        report={'enabled': False},
        storage=crc_storage(
            {'size': '1Gi'},
            identity={
                'source': 'managed',
                'managed': {
                    'credentialsSecret': {'name': 'rh-account'},
                    'organization': '12345',
                    'candlepinUrl': 'https://subscription.rhsm.example/subscription',
                    'renewBeforeDays': 30,
                },
            },
        ),
    )['spec'],
    'console-certificate': collection(
        storage={
            'type': 'directory',
            'directory': {'claimName': 'metrics-data'},
            'console': {
                'billingAccountId': '123456789012',
                'identity': {'source': 'certificateSecret', 'certificateSecret': {'name': 'crc-tls'}},
            },
        },
        backfill={'since': '2024-01-01', 'until': '2024-02-01'},
    )['spec'],
    'full': collection(
        collectors=list(contract.SPEC_COLLECTORS),
        storage={
            'type': 'directory',
            'directory': {'claimName': 'metrics-data', 'path': '/data/metrics'},
            'console': {
                'billingAccountId': '123456789012',
                'orgId': '123',
                'ingressUrl': 'https://console.example/api/ingress/v1/upload',
                'ssoUrl': 'https://sso.example/token',
                'proxyUrl': 'http://proxy.example:3128',
                'caConfigMap': {'name': 'console-ca'},
                'serviceAccountSecret': {'name': 'sa', 'clientIdKey': 'id', 'clientSecretKey': 'secret'},
            },
        },
        report={
            'type': 'CCSPv2',
            'sheets': ['jobs', 'managed_nodes'],
            'organizationFilter': ['Org A', 'Org B'],
            'deduplicator': 'ccsp-case-insensitive',
            'pricePerNode': '11.50',
            'sku': 'SKU',
            'companyName': 'ACME',
            'additionalSources': FULL_SOURCES,
        },
        vcpu={'enabled': True, 'clusterName': 'c1'},
        retention={'maxAgeDays': 400, 'maxBytes': '20Gi'},
        kpi={
            'url': 'https://es.example:9200',
            'index': 'kpi',
            'apiKeySecret': {'name': 'es'},
            'caConfigMap': {'name': 'es-ca'},
        },
        backfill={'since': '2024-01-01', 'until': '2024-03-01', 'shards': 4, 'parallelism': 2},
        dashboard={
            'enabled': True,
            'network': {
                'enabled': True,
                'servingCertSecret': 'dashboard-cert',
                'ingress': {'enabled': True, 'host': 'metrics.example.com', 'className': 'nginx', 'tlsSecret': 'ing'},
            },
        },
        jobs={'startingDeadlineSeconds': 60},
        timeZone='Europe/Berlin',
        nodeSelector={'disk': 'ssd'},
        tolerations=[{'operator': 'Exists'}],
        priorityClassName='batch',
    )['spec'],
}

GENERIC_STRINGS = [
    '',
    ' ',
    'a',
    ' padded ',
    'a;b',
    'a,b',
    'ünïcødé-名前',
    'tab\there',
    'line\nbreak',
    '\u00a0a',
    '../up',
    '/abs',
    'a\n',
]
SCHEDULES = [
    '@hourly',
    '@daily',
    '@every 1h',
    '@HOURLY',
    '* * * * *',
    '61 25 * * *',
    '0 24 * * *',
    '0 0 0 * *',
    '0 0 32 * *',
    '0 0 1 13 *',
    '0 0 * * 7',
    '0 0 * * 8',
    '*/0 * * * *',
    '*/15 * * * *',
    '5-1 * * * *',
    '0-59/100 * * * *',
    '0 0 30 2 *',
    '0 0 29 2 *',
    '0 0 31 4,6,9,11 *',
    '0 0 31 1-12 *',
    '0 4 2 * *',
    '0 0 ? JAN-MAR mon-fri',
    '0 0 1 dec-jan *',
    '0 0 1 * FRI-MON',
    '1,2,3 * * * *',
    '1,,2 * * * *',
    '* * * *',
    '* * * * * *',
    'a b c d e',
    '0 0 1 1 0',
    '00 04 02 * *',
    '-1 * * * *',
    '1- * * * *',
    '0 0 L * *',
    '0 0 15W * *',
    '0 0 * * 1#2',
    'TZ=UTC 0 * * * *',
    '0 4 2 * *\n',
    '@every 90m',
    '@every 30s',
    '  0 4 2 * *  ',
]
DATES = [
    '2024-01-01',
    '2024-02-29',
    '2023-02-29',
    '2024-02-30',
    '2024-13-01',
    '2024-00-10',
    '0000-01-01',
    '9999-12-31',
    '2024-01-01T00:00:00Z',
    '2024-01-01T25:00:00Z',
    '2024-01-01T12:00Z',
    '2024-01-01T00:00:00+14:00',
    '2024-01-01T00:00:00-12:00',
    '2024-01-01T00:00:00+25:00',
    '1990-01-01',
    '2024-1-1',
    '2024-01-01\n',
]
FIELD_VALUES: dict[str, list[Any]] = {
    'schedule': SCHEDULES,
    'spec.backfill.since': DATES,
    'spec.backfill.until': [*DATES, '2024-03-01'],
    'spec.storage.directory.path': [
        '/',
        '/tmp',
        '/tmp/x',
        '/var',
        '/var/lib',
        '/var/lib/metrics-utility',
        '/etc/metrics-utility',
        '/sources',
        '/sources/0',
        '/dev/termination-log',
        '/usr',
        '/opt',
        '/opt/venv/lib',
        '/data/',
        '/data//x',
        '/data/../etc',
        '/data/./x',
        '/metrics-utility',
        '/srv/metrics',
        '/home/metrics',
        'relative',
        '/data\n',
    ],
    'spec.gather.untilLag': ['0m', '10m', '9999999m', '10h', 'm', '10'],
    'spec.report.since': ['12months', '365d', '0d', '1d', '12mo', '1y', '9999months'],
    'spec.report.pricePerNode': ['0', '11.50', '11.555', '1e3', '-1', '.5'],
    'spec.report.organizationFilter': [['Org A'], ['a;b'], [' Org'], ['Org '], [''], ['\u00a0Org'], ['Org,A']],
    'spec.retention.maxBytes': [0, 1, 2**62, 2**62 + 1, 2**63 - 1, -1, '20Gi', '4Ei', '5Ei', '9Ei', 'lots', '1.5Gi'],
    'spec.timeZone': ['UTC', 'Europe/Berlin', 'Etc/GMT+5', 'America/Argentina/Buenos_Aires', 'Europe/../x'],
}
# Rejected by the operator only: the CRD's regular expression can neither know month lengths nor add up a duration.
OPERATOR_ONLY = {
    *((f'spec.{kind}.schedule', '@every 30s') for kind in ('gather', 'report', 'vcpu')),
    ('spec.gather.schedule', '0 0 30 2 *'),
    ('spec.gather.schedule', '0 0 31 4,6,9,11 *'),
    ('spec.report.schedule', '0 0 30 2 *'),
    ('spec.report.schedule', '0 0 31 4,6,9,11 *'),
    ('spec.vcpu.schedule', '0 0 30 2 *'),
    ('spec.vcpu.schedule', '0 0 31 4,6,9,11 *'),
}


def walk(schema: Mapping[str, Any], path: str = 'spec') -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every field below `schema` (object properties; the first item of an array of objects)."""
    for key, sub in (schema.get('properties') or {}).items():
        child = f'{path}.{key}'
        yield child, sub
        yield from walk(sub, child)
        if sub.get('type') == 'array' and isinstance(sub.get('items'), Mapping) and sub['items'].get('properties'):
            yield from walk(sub['items'], f'{child}[0]')


FIELDS = dict(walk(SPEC_SCHEMA))


def candidates(path: str, node: Mapping[str, Any]) -> list[Any]:
    values: list[Any] = [DELETE]
    kind = node.get('type')
    if node.get('x-kubernetes-int-or-string'):
        values += [0, 10, -1, '0', '', 'lots']
    elif 'enum' in node:
        values += [*node['enum'], 'not-an-enum-value', '']
    elif kind == 'boolean':
        values += [True, False]
    elif kind == 'integer':
        low, high = node.get('minimum'), node.get('maximum')
        values += [0, -1, 2**31]
        values += [low, low - 1] if low is not None else [-(2**63)]
        values += [high, high + 1] if high is not None else [2**63 - 1]
    elif kind == 'string':
        values += GENERIC_STRINGS
        if 'maxLength' in node:
            values += ['x' * node['maxLength'], 'x' * (node['maxLength'] + 1)]
        if 'default' in node:
            values += [node['default'], f'{node["default"]}\n']
    elif kind == 'array':
        items = node.get('items') or {}
        values += [[]]
        if 'enum' in items:
            values += [[value] for value in items['enum']] + [[items['enum'][0], items['enum'][0]], ['nope']]
        elif items.get('type') == 'string':
            values += [[value] for value in GENERIC_STRINGS]
    elif kind == 'object':
        values += [{}]
    values += FIELD_VALUES.get(path, []) + FIELD_VALUES.get(path.rsplit('.', 1)[-1], [])
    return values


def _tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    for part in path.split('.')[1:]:
        name, _, index = part.partition('[')
        tokens.append(name)
        if index:
            tokens.append(int(index.rstrip(']')))
    return tokens


def mutated(base: Mapping[str, Any], path: str, value: Any) -> dict[str, Any] | None:
    """`base` with the field at `path` set to `value` (None when the field's parent is not in `base`)."""
    result = copy.deepcopy(dict(base))
    node: Any = result
    tokens = _tokens(path)
    for token in tokens[:-1]:
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            return None
    last = tokens[-1]
    if value is DELETE:
        if isinstance(node, dict):
            node.pop(last, None)
    else:
        node[last] = copy.deepcopy(value)
    return result


def bases_for(path: str) -> list[str]:
    """Two bases that hold the field's parent block, the richest first (enough variety, bounded time)."""
    preferred = ('full', 's3', 'crc', 'crc-controller', 'crc-managed', 'console-certificate', 'renewal', 'directory')
    found = [name for name in preferred if mutated(BASES[name], path, 'probe') is not None][:2]
    dropin = path.startswith(('spec.controller', 'spec.database', 'spec.env'))
    return found + ['dropin'] * (dropin and mutated(BASES['dropin'], path, 'probe') is not None)


def known_field(field: str) -> bool:
    """Whether a dotted path (`[i]` or `.i` indexes) is a field of the spec's schema (or metadata.name)."""
    if field == 'metadata.name':
        return True
    plain = re.sub(r'\.(\d+)(?=\.|$)', r'[\1]', field)
    plain = re.sub(r'\[\d+\]', '[0]', plain)
    return plain in FIELDS or plain == 'spec' or (plain.endswith('[0]') and plain[:-3] in FIELDS)


def crd_problems(name: str, raw: Mapping[str, Any]) -> list[str]:
    obj = {
        'apiVersion': names.API_VERSION,
        'kind': names.KIND,
        'metadata': {'name': name},
        'spec': spec.with_defaults(raw),
    }
    return schema_errors(SPEC_SCHEMA_ROOT, obj) + cel_failures(SPEC_SCHEMA_ROOT, obj)


SPEC_SCHEMA_ROOT = CRD['spec']['versions'][0]['schema']['openAPIV3Schema']


def crd_names_a_field(problem: str) -> bool:
    where, _, message = problem.partition(': ')
    where = where.lstrip('.')
    if where in ('', '<root>'):
        return 'metadata.name' in message
    return known_field(where if where.startswith(('spec', 'metadata')) else f'spec.{where}')


def outcome(name: str, raw: Mapping[str, Any], tmp: Path) -> tuple[list[str], str | None, list[str]]:
    """(CRD problems, the operator's SpecError text or None, the worker's problems for every rendered pod)."""
    crd = crd_problems(name, raw)
    try:
        full = spec.validate(name, raw)
    except spec.SpecError as exc:
        assert known_field(exc.field), f'SpecError names no field of the spec: {exc.field}'
        return crd, str(exc), []
    workloads = render.desired(name, 'ns', full, 'registry.example/worker:1')
    configmap = workloads[0]
    cronjobs = [w for w in workloads if w['kind'] == 'CronJob']
    dashboards = [w for w in workloads if w['kind'] == 'Deployment']  # metrics-utility serve (docs/operator.md)
    job = render.backfill_job(name, 'ns', full, 'registry.example/worker:1')
    check = preflight.check_job(name, 'ns', full, 'registry.example/worker:1')  # docs/check.md
    problems = []
    for index, workload in enumerate([*cronjobs, *([job] if job else []), check, *dashboards]):
        pod = pod_of(workload, configmap, tmp / str(index))
        found = serve_problems(pod) if workload['kind'] == 'Deployment' else worker_problems(pod)
        problems += [f'{workload["metadata"]["name"]}: {p}' for p in found]
        problems += pod_problems(workload, {item['name'] for item in full.get('env') or []})
    return crd, None, problems


def pod_problems(workload: Mapping[str, Any], passed: set[str]) -> list[str]:
    """What the API server would refuse in the pod, and variables the contract does not know."""
    template = workload['spec'].get('jobTemplate', {}).get('spec', workload['spec'])['template']['spec']
    (container,) = template['containers']
    problems = []
    paths = [m['mountPath'] for m in container['volumeMounts']]
    if len(set(paths)) != len(paths):
        problems.append(f'duplicate mount paths {paths}')
    variables = {e['name'] for e in container['env']} - {'HOME', 'TMPDIR'} - passed  # spec.env passes unchanged
    unknown = {v for v in variables if v.removeprefix(contract.PREFIX) not in contract.RENDERED_VARIABLES}
    if unknown:
        problems.append(f'variables outside the contract: {sorted(unknown)}')
    return problems


CASES = [(path, base) for path in FIELDS for base in bases_for(path)]


@pytest.mark.parametrize(('path', 'base'), CASES, ids=[f'{path}@{base}' for path, base in CASES])
def test_every_generated_spec_is_run_by_the_worker_or_rejected_naming_a_field(path, base, tmp_path):
    failures = []
    for number, value in enumerate(candidates(path, FIELDS[path])):
        raw = mutated(BASES[base], path, value)
        crd, refused, worker = outcome('controller', raw, tmp_path / str(number))
        shown = '<removed>' if value is DELETE else repr(value)
        # The operator is the last gate (an older CRD, a server without CEL): what it accepts must run.
        if refused is None and worker:
            failures.append(f'{path}={shown}: accepted, but the worker refuses: {worker}')
        if crd and not all(crd_names_a_field(p) for p in crd):
            failures.append(f'{path}={shown}: a CRD problem names no field: {crd}')
        operator_only = isinstance(value, str) and (path, value) in OPERATOR_ONLY
        if not crd and refused is not None and not operator_only:
            failures.append(f'{path}={shown}: the CRD accepts what the operator refuses: {refused}')
    assert failures == []


PAIRS = {
    'report type × deduplicator × sheet': [
        {'report': {'type': kind, 'sheets': [sheet], **({'deduplicator': dedup} if dedup else {})}}
        for kind in contract.REPORT_TYPES
        for dedup in (None, *contract.CCSP_DEDUPLICATORS, *contract.RENEWAL_DEDUPLICATORS)
        for sheet in contract.CCSPV2_SHEETS
    ],
    'storage type × report × vcpu × collectors': [
        {
            'storage': storage,
            'report': {'enabled': report},
            'vcpu': {'enabled': vcpu, 'clusterName': 'c'},
            'collectors': [collector],
        }
        for storage in (BASES['directory']['storage'], BASES['s3']['storage'], BASES['crc']['storage'])
        for report in (True, False)
        for vcpu in (True, False)
        for collector in contract.SPEC_COLLECTORS
    ],
}


@pytest.mark.parametrize('case', PAIRS, ids=list(PAIRS))
def test_every_combination_is_run_by_the_worker_or_rejected_naming_a_field(case, tmp_path):
    failures, accepted = [], 0
    for number, fields in enumerate(PAIRS[case]):
        raw = collection(**fields)['spec']
        crd, refused, worker = outcome('controller', raw, tmp_path / str(number))
        accepted += refused is None
        if refused is None and worker:
            failures.append(f'{fields}: accepted, but the worker refuses: {worker}')
        if crd and not all(crd_names_a_field(p) for p in crd):
            failures.append(f'{fields}: a CRD problem names no field: {crd}')
        if not crd and refused is not None:
            failures.append(f'{fields}: the CRD accepts what the operator refuses: {refused}')
        if crd and refused is None:
            failures.append(f'{fields}: the operator accepts what the CRD refuses: {crd}')
    assert failures == []
    assert 0 < accepted < len(PAIRS[case])  # both outcomes occur: the combinations matter
