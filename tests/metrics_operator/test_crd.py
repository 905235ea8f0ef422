"""The CRD: structural schema and CEL rules on good and bad sample resources, defaults, printer columns."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from jsonpath_ng.ext import parse as jsonpath

from metrics_operator import dashboard, names, spec
from testsupport.crd_rules import cel_failures, schema_errors
from testsupport.operator_samples import collection, crc_storage

pytestmark = pytest.mark.unit
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / 'deploy' / 'examples').glob('*.yaml'))


def defaulted(obj: dict) -> dict:
    return {**obj, 'spec': spec.with_defaults(obj['spec'])}


def problems(schema: dict, obj: dict) -> list[str]:
    full = defaulted(obj)
    return schema_errors(schema, full) + cel_failures(schema, full)


def test_crd_shape(crd):
    version = crd['spec']['versions'][0]
    assert crd['metadata']['name'] == f'{names.PLURAL}.{names.GROUP}'
    assert crd['spec']['names']['shortNames'] == ['mc']
    assert version['name'] == names.VERSION and version['subresources'] == {'status': {}}
    columns = [c['name'] for c in version['additionalPrinterColumns'] if c.get('priority', 0) == 0]
    assert columns == ['Ready', 'Last gather', 'Last report', 'Storage', 'Age']


@pytest.mark.parametrize('path', EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(crd_schema, path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d['kind'] == names.KIND]
    assert docs
    for doc in docs:
        assert problems(crd_schema, doc) == []
        spec.validate(doc['metadata']['name'], doc['spec'])  # the operator agrees


S3 = {'type': 's3', 's3': {'bucket': 'main', 'endpoint': 'https://s3.example.com', 'prefix': 'a'}}
KPI = {'url': 'https://es.example:9200'}
TOLERATION = {'key': 'dedicated', 'operator': 'Equal', 'value': 'aap', 'effect': 'NoExecute', 'tolerationSeconds': 30}
SAME_NODE = {
    'podAffinity': {
        'requiredDuringSchedulingIgnoredDuringExecution': [
            {
                'labelSelector': {'matchLabels': {names.LABEL_COLLECTION: 'controller'}},
                'topologyKey': 'kubernetes.io/hostname',
            }
        ]
    }
}

GOOD = [
    collection(),
    collection(storage={'type': 'directory', 'directory': {'size': '5Gi', 'storageClassName': 'fast'}}),
    collection(storage={'type': 's3', 's3': {'bucket': 'bkt', 'endpoint': 'https://s3.example.com'}}),
    collection(report={'enabled': False}, storage=crc_storage({'claimName': 'crc-state'})),
    collection(report={'enabled': False}, storage=crc_storage({'size': '1Gi'})),
    collection(
        report={'enabled': False},
        vcpu={'enabled': True, 'clusterName': 'c1'},
        storage=crc_storage(
            {'size': '500Mi', 'storageClassName': 'fast', 'accessMode': 'ReadWriteMany', 'reclaimPolicy': 'Delete'}
        ),
    ),
    collection(vcpu={'enabled': True, 'clusterName': 'c1'}, timeZone='Europe/Berlin'),
    collection('x' * 45),
    collection(retention={'maxAgeDays': 400, 'maxBytes': '20Gi'}),
    collection(retention={'maxAgeDays': 7, 'maxBytes': 10_000_000}, report={'enabled': False}),
    collection(backfill={'since': '2024-01-01', 'until': '2024-03-01', 'parallelism': 4, 'shards': 8}),
    collection(backfill={'since': '2024-01-01T00:00:00Z', 'until': '2024-01-02T12:00:00Z'}),
    collection(kpi=KPI),
    collection(kpi={**KPI, 'index': 'aap-kpi.v2', 'credentialsSecret': {'name': 'es', 'usernameKey': 'user'}}),
    collection(kpi={**KPI, 'apiKeySecret': {'name': 'es'}, 'caConfigMap': {'name': 'es-ca', 'key': 'tls.crt'}}),
    collection(report={'additionalSources': [{'claimName': 'b'}, {'claimName': 'b', 'path': 'east/c_1'}]}),
    collection(report={'additionalSources': [{'claimName': 'metrics-data', 'path': 'copied'}]}),
    collection(storage=S3, report={'additionalSources': [{'s3': 's3://other'}, {'s3': 's3://main/b'}]}),
    collection(nodeSelector={'kubernetes.io/hostname': 'w1'}, tolerations=[{'operator': 'Exists'}], affinity={}),
    collection(tolerations=[TOLERATION], affinity=SAME_NODE, priorityClassName='system.aap-batch'),
]


@pytest.mark.parametrize('obj', GOOD, ids=range(len(GOOD)))
def test_good_samples_pass_schema_cel_and_operator(crd_schema, obj):
    assert problems(crd_schema, obj) == []
    spec.validate(obj['metadata']['name'], obj['spec'])


BAD = {
    'name too long': (collection('x' * 46), 'metadata.name', '45 characters'),
    'storage block mismatch': (
        collection(storage={'type': 's3', 'directory': {'claimName': 'c'}}),
        'spec.storage',
        'matching storage.type',
    ),
    'claim and size': (
        collection(storage={'type': 'directory', 'directory': {'claimName': 'c', 'size': '1Gi'}}),
        'spec.storage.directory',
        'either claimName',
    ),
    'class without size': (
        collection(storage={'type': 'directory', 'directory': {'claimName': 'c', 'storageClassName': 'x'}}),
        'spec.storage.directory.storageClassName',
        'only applies with size',
    ),
    'empty schedule': (collection(gather={'schedule': ''}), 'spec.gather.schedule', 'cron'),
    'bad schedule': (collection(report={'schedule': 'monthly'}), 'spec.report.schedule', 'cron'),
    'secret without name': (
        collection(database={'host': 'h', 'credentialsSecret': {'name': ''}}),
        'spec.database.credentialsSecret.name',
        'not be empty',
    ),
    'report on crc': (collection(storage=crc_storage({'size': '1Gi'})), 'spec.report.enabled', 'directory or s3'),
    'crc without a state volume': (
        collection(report={'enabled': False}, storage=crc_storage()),
        'spec.storage.crc.state',
        'state',
    ),
    'crc state claim and size': (
        collection(report={'enabled': False}, storage=crc_storage({'claimName': 'c', 'size': '1Gi'})),
        'spec.storage.crc.state',
        'either claimName',
    ),
    'crc state class without size': (
        collection(report={'enabled': False}, storage=crc_storage({'claimName': 'c', 'storageClassName': 'x'})),
        'spec.storage.crc.state.storageClassName',
        'storageClassName only applies',
    ),
    'crc state reclaim policy unknown': (
        collection(report={'enabled': False}, storage=crc_storage({'size': '1Gi', 'reclaimPolicy': 'Recycle'})),
        'spec.storage.crc.state',
        'reclaimPolicy',
    ),
    'vcpu without cluster': (collection(vcpu={'enabled': True}), 'spec.vcpu.clusterName', 'clusterName'),
    'retention shorter than a report month': (
        collection(retention={'maxAgeDays': 10}),
        'spec.retention.maxAgeDays',
        'retention.maxAgeDays must be at least 35',
    ),
    'retention size not a quantity': (
        collection(retention={'maxBytes': 'lots'}),
        'spec.retention.maxBytes',
        'maxBytes',
    ),
    'backfill backwards': (
        collection(backfill={'since': '2024-03-01', 'until': '2024-01-01'}),
        'spec.backfill.until',
        'backfill.until must be after',
    ),
    'kpi over plain http': (collection(kpi={'url': 'http://es:9200'}), 'spec.kpi.url', 'https'),
    'kpi url with credentials': (collection(kpi={'url': 'https://elastic:pw@es:9200'}), 'spec.kpi.url', 'kpi.url'),
    'kpi index not lowercase': (collection(kpi={**KPI, 'index': 'KPI'}), 'spec.kpi.index', 'kpi.index'),
    'kpi with two kinds of credentials': (
        collection(kpi={**KPI, 'credentialsSecret': {'name': 'a'}, 'apiKeySecret': {'name': 'b'}}),
        'spec.kpi',
        'not both',
    ),
    'kpi api key secret without name': (
        collection(kpi={**KPI, 'apiKeySecret': {'name': ''}}),
        'spec.kpi.apiKeySecret.name',
        'apiKeySecret.name',
    ),
    'kpi ca without name': (collection(kpi={**KPI, 'caConfigMap': {'key': 'ca'}}), 'spec.kpi.caConfigMap', 'name'),
    'source with neither s3 nor claim': (
        collection(report={'additionalSources': [{'path': 'x'}]}),
        'spec.report.additionalSources[0]',
        'either s3',
    ),
    'source with s3 and claim': (
        collection(storage=S3, report={'additionalSources': [{'s3': 's3://b1', 'claimName': 'c'}]}),
        'spec.report.additionalSources[0]',
        'either s3',
    ),
    's3 source without s3 storage': (
        collection(report={'additionalSources': [{'s3': 's3://other/a'}]}),
        'spec.report.additionalSources[0].s3',
        'storage.type s3',
    ),
    's3 source not a bucket uri': (
        collection(storage=S3, report={'additionalSources': [{'s3': 'https://other/a'}]}),
        'spec.report.additionalSources[0].s3',
        's3',
    ),
    's3 source with a separator': (
        collection(storage=S3, report={'additionalSources': [{'s3': 's3://other/a;b'}]}),
        'spec.report.additionalSources[0].s3',
        's3',
    ),
    'path on an s3 source': (
        collection(storage=S3, report={'additionalSources': [{'s3': 's3://other', 'path': 'x'}]}),
        'spec.report.additionalSources[0].path',
        'path only applies',
    ),
    'source path leaves the claim': (
        collection(report={'additionalSources': [{'claimName': 'b', 'path': '../a'}]}),
        'spec.report.additionalSources[0].path',
        'path',
    ),
    'source is the main claim': (
        collection(report={'additionalSources': [{'claimName': 'metrics-data'}]}),
        'spec.report.additionalSources[0].claimName',
        'main storage claim',
    ),
    'source listed twice': (
        collection(report={'additionalSources': [{'claimName': 'b', 'path': 'x'}, {'claimName': 'b', 'path': 'x'}]}),
        'spec.report.additionalSources[1]',
        'twice',
    ),
    'backfill without a date': (
        collection(backfill={'since': 'last week', 'until': '2024-01-01'}),
        'spec.backfill.since',
        'since',
    ),
    'node selector value not a string': (collection(nodeSelector={'disk': 1}), 'spec.nodeSelector', 'nodeSelector'),
    'node selector a list': (collection(nodeSelector=['disk=ssd']), 'spec.nodeSelector', 'nodeSelector'),
    'tolerations not a list': (collection(tolerations={'key': 'a'}), 'spec.tolerations', 'tolerations'),
    'toleration not an object': (collection(tolerations=['dedicated']), 'spec.tolerations[0]', 'tolerations'),
    'affinity not an object': (collection(affinity=['node-1']), 'spec.affinity', 'affinity'),
    'priority class not a dns name': (
        collection(priorityClassName='High_Priority'),
        'spec.priorityClassName',
        'priorityClassName',
    ),
    'priority class not a string': (collection(priorityClassName=1000), 'spec.priorityClassName', 'priorityClassName'),
}


@pytest.mark.parametrize('case', BAD, ids=list(BAD))
def test_bad_samples_are_rejected_by_crd_and_operator(crd_schema, case):
    obj, field, text = BAD[case]
    found = problems(crd_schema, obj)
    assert found, 'the CRD accepted a bad resource'
    assert any(text.split()[0].lower() in f.lower() for f in found), found
    with pytest.raises(spec.SpecError) as exc:
        spec.validate(obj['metadata']['name'], obj['spec'])
    assert exc.value.field.startswith(field)


def test_schema_rejects_unknown_enum_and_types(crd_schema):
    obj = collection(report={'type': 'CCSPv3'}, collectors=['nope'])
    obj['spec']['database']['port'] = 'five'
    errors = schema_errors(crd_schema, defaulted(obj))
    assert len(errors) == 3, errors


def _schema_defaults(node: dict) -> dict:
    result = {}
    for key, sub in (node.get('properties') or {}).items():
        if 'default' in sub and sub['default'] != {}:
            result[key] = sub['default']
        nested = _schema_defaults(sub)
        if nested and sub.get('type') == 'object':
            result[key] = {**(result.get(key) or {}), **nested}
    return result


def test_operator_defaults_equal_the_crd_defaults(crd_schema):
    crd_defaults = _schema_defaults(crd_schema['properties']['spec'])
    crd_defaults['database'].pop('credentialsSecret')  # reference blocks: checked below
    assert crd_defaults['vcpu'].pop('caConfigMap') == {'key': 'ca.crt'}  # render's fallback for the key
    kpi = crd_defaults.pop('kpi')  # only reference blocks inside: checked below
    # spec.dashboard has no default of its own: its nested defaults apply when it is given (dashboard.apply_defaults).
    exposure = dict(dashboard.EXPOSURE_DEFAULTS)
    assert crd_defaults.pop('dashboard') == dashboard.DEFAULTS | {
        'network': dashboard.NETWORK_DEFAULTS | {'route': exposure, 'ingress': exposure}
    }
    assert {key: crd_defaults[key] for key in spec.DEFAULTS} == copy.deepcopy(spec.DEFAULTS)
    assert set(crd_defaults) - set(spec.DEFAULTS) == {'storage'}
    # Nested defaults of blocks the user writes (storage, secret references) also agree.
    storage = crd_schema['properties']['spec']['properties']['storage']['properties']
    assert _schema_defaults(storage['directory']) == spec.STORAGE_DEFAULTS['directory'] | {
        'accessMode': 'ReadWriteOnce'
    }
    state = storage['crc']['properties']['state']
    assert _schema_defaults(state) == spec.BLOCK_DEFAULTS['storage.crc.state'] | {'accessMode': 'ReadWriteOnce'}
    # Same claim rules; the directory block adds one for its mount path first.
    assert state['x-kubernetes-validations'] == storage['directory']['x-kubernetes-validations'][1:]
    db_ref = crd_schema['properties']['spec']['properties']['database']['properties']['credentialsSecret']
    assert _schema_defaults(db_ref) == spec.SECRET_KEY_DEFAULTS['database.credentialsSecret']
    assert kpi.pop('caConfigMap') == {'key': 'ca.crt'}
    assert kpi == {key.removeprefix('kpi.'): v for key, v in spec.SECRET_KEY_DEFAULTS.items() if key.startswith('kpi.')}


def test_printer_columns_read_the_status_we_write(crd):
    from metrics_operator import status

    ready = status.ReadyState('True', 'Reconciled', 'ok')
    st, _ = status.compose({}, ready, [], generation=1, enabled=['gather', 'report'], now='2026-01-01T00:00:00Z')
    st['gather'] = {'lastSuccessTime': '2026-01-01T01:00:00Z'}
    obj = {**collection(), 'status': st}
    obj['metadata']['creationTimestamp'] = '2026-01-01T00:00:00Z'
    values = {}
    for column in crd['spec']['versions'][0]['additionalPrinterColumns']:
        found = [m.value for m in jsonpath(column['jsonPath'].lstrip('.').join(['$.', ''])).find(obj)]
        values[column['name']] = found[0] if found else None
    assert values['Ready'] == 'True' and values['Reason'] == 'Reconciled'
    assert values['Last gather'] == '2026-01-01T01:00:00Z' and values['Last report'] is None
    assert values['Storage'] == 'directory' and values['Age'] == '2026-01-01T00:00:00Z'


def _undeclared(value, schema, path='status') -> list[str]:
    """Paths an API server would prune: keys the structural schema does not declare."""
    if not isinstance(value, dict) or schema.get('x-kubernetes-preserve-unknown-fields'):
        return []
    props = schema.get('properties', {})
    missing = [f'{path}.{k}' for k in value if k not in props]
    return missing + [m for k, v in value.items() if k in props for m in _undeclared(v, props[k], f'{path}.{k}')]


def test_status_usage_and_totals_survive_pruning(crd_schema):
    from metrics_operator import job_records, status, worker_summary

    usage = worker_summary.MonthUsage('2026-03', 17, 5)
    kpi = worker_summary.Kpi(0, 'HTTP 401')
    jobs = [
        job_records.JobRecord(
            'g-1',
            'gather',
            'succeeded',
            finished='2026-03-02T04:01:00Z',
            summary=worker_summary.Summary(ok=True, rows=1, bytes=2, packages=1, usage=usage, kpi=kpi),
        ),
        job_records.JobRecord(
            'r-1',
            'report',
            'succeeded',
            finished='2026-03-02T04:02:00Z',
            summary=worker_summary.Summary(
                ok=True,
                quantity=42,
                period='2026-02',
                problems=1,
                first_problem='2026-02-03 p.tar.gz: manifest.json is missing',
            ),
        ),
        job_records.JobRecord('r-0', 'report', 'failed', finished='2026-03-01T04:02:00Z'),
    ]
    ready = status.ReadyState('True', 'Reconciled', 'ok')
    st, _ = status.compose({}, ready, jobs, generation=1, enabled=['gather', 'report'], now='2026-03-02T05:00:00Z')
    assert st['gather']['totals'] and st['gather']['usage'] and st['report']['billedQuantity'] == 42
    assert st['gather']['kpi'] == {'documents': 0, 'error': 'HTTP 401'}
    assert st['report']['problems'] == 1 and st['report']['firstProblem'].endswith('manifest.json is missing')
    assert _undeclared(st, crd_schema['properties']['status']) == []


def _crc(**urls) -> dict:
    return crc_storage({'claimName': 'crc-state'}, **urls)


def _console(primary: str = 'directory', **console) -> dict:
    """`spec.storage` with console.redhat.com as the second target (`storage.console`)."""
    block = {'billingAccountId': '123456789012', 'serviceAccountSecret': {'name': 'sa'}, **console}
    main = {'directory': {'claimName': 'c'}, 's3': {'bucket': 'bkt', 'endpoint': 'https://s3.local'}}
    return {'type': primary, primary: main[primary], 'console': block}


# URLs the operator writes into the ConfigMap: user:password@ is refused by the CRD and by spec.py, naming the field
# and never repeating the URL (a condition and an Event would otherwise carry the password).
URL_CREDENTIALS = {
    's3 endpoint': (
        collection(storage={'type': 's3', 's3': {'bucket': 'bkt', 'endpoint': 'https://minio:Pw-0005@s3.local'}}),
        'spec.storage.s3.endpoint',
        'use credentialsSecret',
    ),
    's3 endpoint, token only': (
        collection(storage={'type': 's3', 's3': {'bucket': 'bkt', 'endpoint': 'http://Tok-0005@127.0.0.1:9000'}}),
        'spec.storage.s3.endpoint',
        'use credentialsSecret',
    ),
    'crc ingress': (
        collection(report={'enabled': False}, storage=_crc(ingressUrl='https://u:Pw-0005@console.example/up')),
        'spec.storage.crc.ingressUrl',
        'use serviceAccountSecret',
    ),
    'crc sso': (
        collection(report={'enabled': False}, storage=_crc(ssoUrl='https://u:Pw-0005@sso.example/token')),
        'spec.storage.crc.ssoUrl',
        'use serviceAccountSecret',
    ),
    'crc proxy': (
        collection(report={'enabled': False}, storage=_crc(proxyUrl='http://proxy:Pw-0005@10.0.0.1:3128')),
        'spec.storage.crc.proxyUrl',
        'use a proxy without credentials',
    ),
    **{
        f'console {field}': (
            collection(storage=_console(**{field: url})),
            f'spec.storage.console.{field}',
            instead,
        )
        for field, url, instead in (
            ('ingressUrl', 'https://u:Pw-0005@console.example/up', 'use serviceAccountSecret'),
            ('ssoUrl', 'https://u:Pw-0005@sso.example/token', 'use serviceAccountSecret'),
            ('proxyUrl', 'http://proxy:Pw-0005@10.0.0.1:3128', 'use a proxy without credentials'),
        )
    },
    'prometheus': (
        collection(vcpu={'enabled': True, 'clusterName': 'c', 'prometheusUrl': 'https://sa:Pw-0005@prom:9091'}),
        'spec.vcpu.prometheusUrl',
        'the worker uses its service-account token',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('obj, field, instead', URL_CREDENTIALS.values(), ids=list(URL_CREDENTIALS))
def test_urls_holding_credentials_are_refused_by_crd_and_operator(crd_schema, obj, field, instead):
    message = f'must not hold user:password@ (it would reach the ConfigMap and logs): {instead}'
    assert problems(crd_schema, obj) == [f'.{field}: {field.removeprefix("spec.")} {message}']
    with pytest.raises(spec.SpecError) as exc:
        spec.validate(obj['metadata']['name'], obj['spec'])
    assert (exc.value.field, exc.value.message) == (field, message)
    assert 'Pw-0005' not in str(exc.value) and 'Tok-0005' not in str(exc.value)


@pytest.mark.parametrize('url', ['https://s3.local/b@2', 'https://s3.local/?owner=a@b'], ids=['path', 'query'])
def test_an_at_sign_after_the_host_is_not_a_credential(crd_schema, url):
    obj = collection(storage={'type': 's3', 's3': {'bucket': 'bkt', 'endpoint': url}})
    assert problems(crd_schema, obj) == []
    spec.validate(obj['metadata']['name'], obj['spec'])


def test_enums_and_lists_come_from_the_contract(crd_schema):
    """The CRD's enums and the lists inside its CEL rules are metrics_utility.contract's and spec.py's."""
    from metrics_utility import contract

    props = crd_schema['properties']['spec']['properties']
    report = props['report']
    assert props['collectors']['items']['enum'] == list(contract.SPEC_COLLECTORS)
    assert report['properties']['type']['enum'] == list(contract.REPORT_TYPES)
    assert report['properties']['sheets']['items']['enum'] == list(contract.CCSPV2_SHEETS)
    dedup = report['properties']['deduplicator']['enum']
    assert dedup == list(contract.CCSP_DEDUPLICATORS + contract.RENEWAL_DEDUPLICATORS)
    assert report['properties']['since']['pattern'] == contract.RENEWAL_SINCE_PATTERN
    rules = ' '.join(r['rule'] for r in report['x-kubernetes-validations'])
    assert f'self.sheets.all(s, s in {list(contract.CCSP_SHEETS)})' in rules
    assert f'self.deduplicator in {list(contract.RENEWAL_DEDUPLICATORS)}' in rules
    path_rule = props['storage']['properties']['directory']['x-kubernetes-validations'][0]['rule']
    assert f'{list(spec.RESERVED_PATHS)}.all(' in path_rule
    backfill = ' '.join(r['rule'] for r in props['backfill']['x-kubernetes-validations'])
    assert f"duration('{contract.MAX_GATHER_PERIOD_DAYS[1] * 24}h')" in backfill
    assert props['gather']['properties']['lookbackDays']['maximum'] == contract.MAX_GATHER_PERIOD_DAYS[1]
    assert props['gather']['properties']['parallelism']['maximum'] == contract.GATHER_PARALLELISM[1]
    assert props['gather']['properties']['parallelism']['minimum'] == contract.GATHER_PARALLELISM[0]
    assert props['retention']['properties']['maxAgeDays']['maximum'] == contract.RETENTION_MAX_AGE_DAYS[1]
    for path, pattern, _ in spec.WORKER_PATTERNS:  # the operator checks what the CRD checks
        node = crd_schema
        for part in path.split('.'):
            node = node['properties'][part]
        assert node['pattern'] == pattern, path


CERTIFICATE_SOURCES = (
    'identity.source is controller, managed or certificateSecret (controller is the default with spec.controller)'
)
CONSOLE = {  # (resource, CRD problems, operator's (field, message))
    'beside crc storage': (
        collection(
            report={'enabled': False}, storage={**crc_storage({'claimName': 'st'}), 'console': _console()['console']}
        ),
        ['.spec.storage: storage.console needs directory or s3 storage (it is fed from the packages stored there)'],
        ('spec.storage.console', 'needs directory or s3 storage (it is fed from the packages stored there)'),
    ),
    'no billing account': (
        collection(storage=_console(billingAccountId=None)),
        ["spec.storage.console: 'billingAccountId' is a required property"],
        ('spec.storage.console.billingAccountId', 'is required (12-digit AWS account id)'),
    ),
    'billing account of 11 digits': (
        collection(storage=_console(billingAccountId='12345678901')),
        ["spec.storage.console.billingAccountId: '12345678901' does not match '^[0-9]{12}\\\\Z'"],
        ('spec.storage.console.billingAccountId', 'must be the 12-digit AWS account id'),
    ),
    'no service account': (
        collection(storage=_console('s3', serviceAccountSecret=None)),
        [f'.spec: storage.console.serviceAccountSecret is required unless {CERTIFICATE_SOURCES}'],
        ('spec.storage.console.serviceAccountSecret', f'is required unless {CERTIFICATE_SOURCES}'),
    ),
    'empty service account name': (
        collection(storage=_console(serviceAccountSecret={'name': ''})),
        ['.spec.storage.console.serviceAccountSecret: serviceAccountSecret.name must not be empty'],
        ('spec.storage.console.serviceAccountSecret.name', 'is required (name of a Secret in the same namespace)'),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('obj, crd_problems, refused', CONSOLE.values(), ids=list(CONSOLE))
def test_console_misconfigured_is_refused_by_crd_and_operator(crd_schema, obj, crd_problems, refused):
    console = obj['spec']['storage']['console']
    for key in [k for k, v in console.items() if v is None]:
        del console[key]
    found = problems(crd_schema, obj)
    assert found == crd_problems
    with pytest.raises(spec.SpecError) as exc:
        spec.validate(obj['metadata']['name'], obj['spec'])
    assert (exc.value.field, exc.value.message) == refused


def test_console_beside_directory_and_s3_is_accepted(crd_schema):
    for primary in ('directory', 's3'):
        obj = collection(storage=_console(primary))
        assert problems(crd_schema, obj) == []
        full = spec.validate('controller', obj['spec'])
        assert full['storage']['console']['serviceAccountSecret'] == {
            'name': 'sa',
            'clientIdKey': 'client-id',
            'clientSecretKey': 'client-secret',
        }
        assert ('spec.storage.console.serviceAccountSecret.name', 'sa') in spec.secret_refs(full)


# storage.crc.identity / storage.console.identity (docs/operator.md, "console.redhat.com identity").
CONTROLLER = {'name': 'aap'}
NO_DB = {'credentialsSecret': None}


def _identity(target: str = 'crc', service_account: bool = False, controller: bool = False, **identity) -> dict:
    """A collection uploading to console.redhat.com (`target` crc or console) with `identity` (None values dropped)."""
    storage = _crc() if target == 'crc' else _console()
    block = storage[target]
    if not service_account:
        del block['serviceAccountSecret']
    if identity:
        block['identity'] = {k: v for k, v in identity.items() if v is not None}
    extra = {'controller': CONTROLLER, 'database': {}} if controller else {}
    return collection(report={'enabled': target == 'console'}, storage=storage, **extra)


MANAGED = {'credentialsSecret': {'name': 'rh-account'}}
IDENTITY_GOOD = {  # resource, (target, resolved source, TLS Secret mounted, service account configured)
    'default with controller': (_identity(controller=True), ('crc', 'controller', None, False)),
    'default without controller': (_identity(service_account=True), ('crc', 'serviceAccount', None, True)),
    'controller with fallback': (
        _identity(controller=True, service_account=True, source='controller'),
        ('crc', 'controller', None, True),
    ),
    'certificate secret': (
        _identity(source='certificateSecret', certificateSecret={'name': 'crc-tls'}),
        ('crc', 'certificateSecret', 'crc-tls', False),
    ),
    'managed': (
        _identity(source='managed', managed={**MANAGED, 'organization': '12345', 'renewBeforeDays': 365}),
        ('crc', 'managed', 'controller-candlepin-identity', False),
    ),
    'service account beside controller': (
        _identity(controller=True, service_account=True, source='serviceAccount'),
        ('crc', 'serviceAccount', None, True),
    ),
    'console with certificate': (
        _identity('console', source='certificateSecret', certificateSecret={'name': 'crc-tls'}),
        ('console', 'certificateSecret', 'crc-tls', False),
    ),
    'console default with controller': (
        _identity('console', controller=True),
        ('console', 'controller', None, False),
    ),
}


@pytest.mark.parametrize('obj, resolved', IDENTITY_GOOD.values(), ids=list(IDENTITY_GOOD))
def test_identity_choices_are_accepted_and_resolved(crd_schema, obj, resolved):
    assert problems(crd_schema, obj) == []
    full = spec.validate('controller', obj['spec'])
    found = spec.crc_identity('controller', full)
    assert (found.target, found.source, found.tls_secret, found.service_account) == resolved
    assert found.certificate == (resolved[1] != 'serviceAccount')


def test_managed_identity_defaults_agree_with_the_crd(crd_schema):
    obj = _identity(source='managed', managed=MANAGED)
    assert problems(crd_schema, obj) == []
    full = spec.validate('controller', obj['spec'])
    managed = full['storage']['crc']['identity']['managed']
    assert managed == {
        'credentialsSecret': {'name': 'rh-account', 'usernameKey': 'username', 'passwordKey': 'password'},
        'renewBeforeDays': 30,
    }
    assert spec.crc_identity('controller', full).renew_before_days == 30
    block = crd_schema['properties']['spec']['properties']['storage']['properties']['crc']['properties']['identity']
    assert _schema_defaults(block['properties']['managed']) == {
        'credentialsSecret': spec.MANAGED_CREDENTIAL_KEYS,
        **spec.MANAGED_DEFAULTS,
    }
    console = crd_schema['properties']['spec']['properties']['storage']['properties']['console']['properties']
    assert console['identity'] == block


def test_identity_secrets_are_checked_before_the_pods_need_them():
    controller = spec.validate('controller', _identity(controller=True)['spec'])
    assert spec.secret_refs(controller)[-1] == ('spec.storage.crc.identity.source', 'aap-secret-key')
    given = _identity(
        'console', source='certificateSecret', certificateSecret={'name': 'crc-tls'}, service_account=True
    )
    refs = spec.secret_refs(spec.validate('controller', given['spec']))
    assert refs[-2:] == [
        ('spec.storage.console.serviceAccountSecret.name', 'sa'),
        ('spec.storage.console.identity.certificateSecret.name', 'crc-tls'),
    ]
    managed = spec.validate('controller', _identity(source='managed', managed=MANAGED)['spec'])
    assert [name for _, name in spec.secret_refs(managed)] == ['db-reader']  # the operator's own Secret is not
    # the user's to create


LONG_NAME = 'a' * 254
IDENTITY_BAD = {  # resource, CRD problems, operator's (field, message)
    'no identity and no service account': (
        _identity(),
        [f'.spec: storage.crc.serviceAccountSecret is required unless {CERTIFICATE_SOURCES}'],
        ('spec.storage.crc.serviceAccountSecret', f'is required unless {CERTIFICATE_SOURCES}'),
    ),
    'source serviceAccount without one': (
        _identity(controller=True, source='serviceAccount'),
        [f'.spec: storage.crc.serviceAccountSecret is required unless {CERTIFICATE_SOURCES}'],
        ('spec.storage.crc.serviceAccountSecret', f'is required unless {CERTIFICATE_SOURCES}'),
    ),
    'controller source without spec.controller': (
        _identity(service_account=True, source='controller'),
        [
            '.spec: storage.crc.identity.source controller needs spec.controller '
            '(the AutomationController whose Candlepin identity to use)'
        ],
        (
            'spec.storage.crc.identity.source',
            'controller needs spec.controller (the AutomationController whose Candlepin identity to use)',
        ),
    ),
    'console controller source without spec.controller': (
        _identity('console', service_account=True, source='controller'),
        [
            '.spec: storage.console.identity.source controller needs spec.controller '
            '(the AutomationController whose Candlepin identity to use)'
        ],
        (
            'spec.storage.console.identity.source',
            'controller needs spec.controller (the AutomationController whose Candlepin identity to use)',
        ),
    ),
    'unknown source': (
        _identity(service_account=True, source='Controller'),
        [
            "spec.storage.crc.identity.source: 'Controller' is not one of "
            "['controller', 'managed', 'certificateSecret', 'serviceAccount']"
        ],
        ('spec.storage.crc.identity.source', f'must be one of {spec.IDENTITY_SOURCES}'),
    ),
    'certificateSecret source without its block': (
        _identity(source='certificateSecret'),
        [
            '.spec.storage.crc.identity: identity.certificateSecret is required with source certificateSecret '
            'and applies to it only'
        ],
        (
            'spec.storage.crc.identity.certificateSecret',
            'is required with source certificateSecret and applies to it only',
        ),
    ),
    'certificateSecret block with source managed': (
        _identity(source='managed', managed=MANAGED, certificateSecret={'name': 'crc-tls'}),
        [
            '.spec.storage.crc.identity: identity.certificateSecret is required with source certificateSecret '
            'and applies to it only'
        ],
        (
            'spec.storage.crc.identity.certificateSecret',
            'is required with source certificateSecret and applies to it only',
        ),
    ),
    'both blocks': (
        _identity(source='certificateSecret', certificateSecret={'name': 'crc-tls'}, managed=MANAGED),
        ['.spec.storage.crc.identity: identity.managed is required with source managed and applies to it only'],
        ('spec.storage.crc.identity.managed', 'is required with source managed and applies to it only'),
    ),
    'managed block without a source': (
        _identity(controller=True, managed=MANAGED),
        ['.spec.storage.crc.identity: identity.managed is required with source managed and applies to it only'],
        ('spec.storage.crc.identity.managed', 'is required with source managed and applies to it only'),
    ),
    'managed source without its block': (
        _identity(source='managed'),
        ['.spec.storage.crc.identity: identity.managed is required with source managed and applies to it only'],
        ('spec.storage.crc.identity.managed', 'is required with source managed and applies to it only'),
    ),
    'empty certificate secret name': (
        _identity(source='certificateSecret', certificateSecret={'name': ''}),
        [
            "spec.storage.crc.identity.certificateSecret.name: '' should be non-empty",
            "spec.storage.crc.identity.certificateSecret.name: '' does not match "
            "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\\\Z'",
        ],
        ('spec.storage.crc.identity.certificateSecret.name', 'is required (name of a Secret in the same namespace)'),
    ),
    'certificate secret name of 254 characters': (
        _identity(source='certificateSecret', certificateSecret={'name': LONG_NAME}),
        [f"spec.storage.crc.identity.certificateSecret.name: '{LONG_NAME}' is too long"],
        (
            'spec.storage.crc.identity.certificateSecret.name',
            'must name a Secret in this namespace (a lowercase DNS subdomain, ≤ 253)',
        ),
    ),
    'certificate secret name with capitals': (
        _identity(source='certificateSecret', certificateSecret={'name': 'CRC-tls'}),
        [
            "spec.storage.crc.identity.certificateSecret.name: 'CRC-tls' does not match "
            "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\\\Z'"
        ],
        (
            'spec.storage.crc.identity.certificateSecret.name',
            'must name a Secret in this namespace (a lowercase DNS subdomain, ≤ 253)',
        ),
    ),
    'managed credentials without a name': (
        _identity(source='managed', managed={'credentialsSecret': {'usernameKey': 'user'}}),
        ["spec.storage.crc.identity.managed.credentialsSecret: 'name' is a required property"],
        (
            'spec.storage.crc.identity.managed.credentialsSecret.name',
            'is required (name of a Secret in the same namespace)',
        ),
    ),
    'renewBeforeDays 0': (
        _identity(source='managed', managed={**MANAGED, 'renewBeforeDays': 0}),
        ['spec.storage.crc.identity.managed.renewBeforeDays: 0 is less than the minimum of 1'],
        ('spec.storage.crc.identity.managed.renewBeforeDays', 'must be a whole number from 1 to 365'),
    ),
    'renewBeforeDays 366': (
        _identity(source='managed', managed={**MANAGED, 'renewBeforeDays': 366}),
        ['spec.storage.crc.identity.managed.renewBeforeDays: 366 is greater than the maximum of 365'],
        ('spec.storage.crc.identity.managed.renewBeforeDays', 'must be a whole number from 1 to 365'),
    ),
    'candlepin URL over http': (
        _identity(source='managed', managed={**MANAGED, 'candlepinUrl': 'http://candlepin.local/candlepin'}),
        [
            "spec.storage.crc.identity.managed.candlepinUrl: 'http://candlepin.local/candlepin' does not match "
            "'^https://\\\\S+\\\\Z'"
        ],
        ('spec.storage.crc.identity.managed.candlepinUrl', 'must be an https:// URL of the Candlepin service'),
    ),
    'candlepin URL with a password': (
        _identity(source='managed', managed={**MANAGED, 'candlepinUrl': 'https://u:Pw-0005@candlepin.local/'}),
        [
            '.spec.storage.crc.identity.managed.candlepinUrl: identity.managed.candlepinUrl must not hold '
            'user:password@ (it would reach the ConfigMap and logs): use credentialsSecret'
        ],
        (
            'spec.storage.crc.identity.managed.candlepinUrl',
            'must not hold user:password@ (it would reach the ConfigMap and logs): use credentialsSecret',
        ),
    ),
    'organization padded with spaces': (
        _identity(source='managed', managed={**MANAGED, 'organization': ' 12345 '}),
        ["spec.storage.crc.identity.managed.organization: ' 12345 ' does not match '^(\\\\S(.*\\\\S)?)?\\\\Z'"],
        (
            'spec.storage.crc.identity.managed.organization',
            'must be a Candlepin organization key without leading or trailing spaces (empty: discovered)',
        ),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('obj, crd_problems, refused', IDENTITY_BAD.values(), ids=list(IDENTITY_BAD))
def test_identity_misconfigured_is_refused_by_crd_and_operator(crd_schema, obj, crd_problems, refused):
    assert problems(crd_schema, obj) == crd_problems
    with pytest.raises(spec.SpecError) as exc:
        spec.validate(obj['metadata']['name'], obj['spec'])
    assert (exc.value.field, exc.value.message) == refused
