"""Spec rules only the operator can check (beyond the CRD's CEL), and the references it looks up before writing."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest

from metrics_operator import render, spec
from metrics_utility import contract
from metrics_utility.contract import PREFIX
from testsupport.crd_rules import cel_failures, schema_errors
from testsupport.operator_samples import collection, crc_storage
from testsupport.pod_in_worker import Pod, pod_of, worker_problems

pytestmark = pytest.mark.unit
S3 = {'type': 's3', 's3': {'bucket': 'main', 'endpoint': 'https://s3.example.com', 'prefix': '/cluster-a/'}}
KPI = {'url': 'https://es.example:9200'}


def rejected(name: str = 'controller', **fields) -> spec.SpecError:
    with pytest.raises(spec.SpecError) as exc:
        spec.validate(name, collection(name, **fields)['spec'])
    return exc.value


def test_s3_source_that_is_the_main_storage_is_refused():
    error = rejected(storage=S3, report={'additionalSources': [{'s3': 's3://main/cluster-a'}]})
    assert error.field == 'spec.report.additionalSources[0].s3'
    assert 'main storage' in error.message
    spec.validate('c', collection(storage=S3, report={'additionalSources': [{'s3': 's3://main/cluster-b'}]})['spec'])


def test_source_on_the_operators_own_claim_needs_a_path():
    sized = {'type': 'directory', 'directory': {'size': '5Gi'}}
    error = rejected('alpha', storage=sized, report={'additionalSources': [{'claimName': 'alpha-data'}]})
    assert error.field == 'spec.report.additionalSources[0].claimName' and 'set path' in error.message
    sources = [{'claimName': 'alpha-data', 'path': 'imported'}, {'claimName': 'beta-data'}]
    full = spec.validate('alpha', collection('alpha', storage=sized, report={'additionalSources': sources})['spec'])
    # The operator creates alpha-data itself: waiting for it would never end. beta-data must exist.
    assert spec.claim_refs('alpha', full) == [('spec.report.additionalSources[1].claimName', 'beta-data')]


def test_a_source_listed_twice_names_the_second():
    sources = [{'claimName': 'b'}, {'claimName': 'c'}, {'claimName': 'b'}]
    error = rejected(report={'additionalSources': sources})
    assert (error.field, error.message) == (
        'spec.report.additionalSources[2]',
        'is listed twice; list each source once',
    )


@pytest.mark.parametrize(
    ('kpi', 'field'),
    [
        ('https://es', 'spec.kpi'),
        ({'index': 'kpi'}, 'spec.kpi.url'),
        ({**KPI, 'credentialsSecret': {'name': 'es', 'usernameKey': ''}}, 'spec.kpi.credentialsSecret.usernameKey'),
        ({**KPI, 'apiKeySecret': {'key': 'k'}}, 'spec.kpi.apiKeySecret.name'),
        ({**KPI, 'caConfigMap': {'name': ''}}, 'spec.kpi.caConfigMap.name'),
    ],
)
def test_kpi_messages_name_the_field(kpi, field):
    assert rejected(kpi=kpi).field == field


# id: (block, value that is not an object, the exact message)
NOT_AN_OBJECT = {
    'kpi as a URL string': (
        'kpi',
        'https://es',
        'must be an object with url, index and credentialsSecret or apiKeySecret',
    ),
    'retention as a number': ('retention', 30, 'must be an object with maxAgeDays and/or maxBytes'),
    'retention as a list': ('retention', [{'maxAgeDays': 30}], 'must be an object with maxAgeDays and/or maxBytes'),
    'backfill as a date': ('backfill', '2024-01-01', 'must be an object with since, until and parallelism'),
    'backfill as true': ('backfill', True, 'must be an object with since, until and parallelism'),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('block', 'value', 'message'), NOT_AN_OBJECT.values(), ids=list(NOT_AN_OBJECT))
def test_an_optional_block_that_is_not_an_object_is_named(block, value, message):
    error = rejected(**{block: value})
    assert (error.field, error.message) == (f'spec.{block}', message)


def test_sources_must_be_a_list_of_objects():
    assert rejected(report={'additionalSources': 's3://b'}).field == 'spec.report.additionalSources'
    assert rejected(report={'additionalSources': ['s3://b']}).field == 'spec.report.additionalSources[0]'


def test_references_checked_before_writing():
    kpi = {**KPI, 'credentialsSecret': {'name': 'es-basic'}, 'caConfigMap': {'name': 'es-ca'}}
    sources = [{'claimName': 'b'}, {'claimName': 'c', 'path': 'x'}]
    full = spec.validate('controller', collection(kpi=kpi, report={'additionalSources': sources})['spec'])
    assert ('spec.kpi.credentialsSecret.name', 'es-basic') in spec.secret_refs(full)
    assert ('spec.kpi.caConfigMap.name', 'es-ca') in spec.configmap_refs(full)
    assert spec.claim_refs('controller', full) == [
        ('spec.storage.directory.claimName', 'metrics-data'),
        ('spec.report.additionalSources[0].claimName', 'b'),
        ('spec.report.additionalSources[1].claimName', 'c'),
    ]
    # Without a report pod nothing mounts the source claims: they need not exist.
    off = collection(report={'enabled': False, 'additionalSources': [{'claimName': 'b'}]})
    no_report = spec.validate('controller', off['spec'])
    assert spec.claim_refs('controller', no_report) == [('spec.storage.directory.claimName', 'metrics-data')]
    api_key = spec.validate('controller', collection(kpi={**KPI, 'apiKeySecret': {'name': 'es-key'}})['spec'])
    assert ('spec.kpi.apiKeySecret.name', 'es-key') in spec.secret_refs(api_key)
    assert (
        spec.with_defaults({'kpi': {**KPI, 'apiKeySecret': {'name': 'k'}}})['kpi']['apiKeySecret']['key'] == 'api-key'
    )


def test_crc_needs_a_state_volume_even_under_an_old_crd():
    """An older CRD lets a crc collection without `state` through; its gathers could never run, so it is refused."""
    error = rejected(report={'enabled': False}, storage=crc_storage(None))
    assert error.field == 'spec.storage.crc.state' and 'watermarks' in error.message
    assert rejected(report={'enabled': False}, storage=crc_storage({'size': '1Gi', 'accessMode': 'Shared'})).field == (
        'spec.storage.crc.state.accessMode'
    )
    # Defaults reach a given state block only; none is invented.
    assert 'state' not in spec.with_defaults({'storage': crc_storage(None)})['storage']['crc']
    assert (
        spec.with_defaults({'storage': crc_storage({'size': '1Gi'})})['storage']['crc']['state']['reclaimPolicy']
        == 'Retain'
    )


def test_crc_state_claim_is_checked_unless_the_operator_creates_it():
    named = spec.validate(
        'alpha', collection('alpha', report={'enabled': False}, storage=crc_storage({'claimName': 's'}))['spec']
    )
    assert spec.claim_refs('alpha', named) == [('spec.storage.crc.state.claimName', 's')]
    assert spec.storage_claim_name('alpha', named) == 's'
    sized = spec.validate(
        'alpha', collection('alpha', report={'enabled': False}, storage=crc_storage({'size': '1Gi'}))['spec']
    )
    assert spec.claim_refs('alpha', sized) == []
    assert spec.storage_claim_name('alpha', sized) == 'alpha-data'
    # It holds no packages: report sources never treat it as the main storage.
    assert spec.main_claim_name('alpha', sized) is None
    assert spec.storage_claim_name('alpha', spec.validate('alpha', collection('alpha', storage=S3)['spec'])) is None


# -- What the operator accepts, the worker runs (issue #17, class 8) ----------------------------------------------

BACKFILL_DATE = 'must be a real UTC date (2024-01-31) or an RFC 3339 time'
PATH_PLAIN = (
    "must be an absolute path of plain names such as /metrics-utility (letters, digits, '.', '_', '-'; "
    "no '..', no trailing '/')"
)
ORG = "must be an organization name: not empty, no ';' (the list separator), no leading or trailing spaces"
SPEC_COLLECTORS = contract.SPEC_COLLECTORS
K8S_VERSION = '1.35.0'  # as tests/deploy: the schemas kubernetes-validate ships for the tests' kubectl


def collides(path: str, reserved: str) -> str:
    return f'{path} collides with {reserved}, which the worker pod needs; choose another directory such as ' + (
        '/metrics-utility'
    )


def directory(path: str) -> dict:
    return {'type': 'directory', 'directory': {'claimName': 'metrics-data', 'path': path}}


HOST = 'must be a host name (labels of at most 63 characters), an address or a socket directory'
REFUSED = {
    'a collector the worker does not know': (
        {'collectors': ['feature_flags_service']},
        'spec.collectors',
        f"unknown collector 'feature_flags_service'; expected one of {SPEC_COLLECTORS}",
    ),
    'the vCPU collector (it has its own block)': (
        {'collectors': ['total_workers_vcpu']},
        'spec.collectors',
        f"unknown collector 'total_workers_vcpu'; expected one of {SPEC_COLLECTORS}",
    ),
    'no collector at all': ({'collectors': []}, 'spec.collectors', 'must list at least one collector'),
    'report.since on a CCSP report': (
        {'report': {'since': '12months'}},
        'spec.report.since',
        'applies to RENEWAL_GUIDANCE only (CCSP reports cover the last month)',
    ),
    'report.since in years': (
        {'report': {'type': 'RENEWAL_GUIDANCE', 'since': '1y'}},
        'spec.report.since',
        "must be how far back the renewal report starts: Nd or Nmonths, e.g. '12months'",
    ),
    'a CCSP deduplicator on a renewal report': (
        {'report': {'type': 'RENEWAL_GUIDANCE', 'deduplicator': 'ccsp'}},
        'spec.report.deduplicator',
        f"'ccsp' does not apply to RENEWAL_GUIDANCE; expected one of {contract.RENEWAL_DEDUPLICATORS}",
    ),
    'a renewal deduplicator on a CCSPv2 report': (
        {'report': {'deduplicator': 'renewal-hostname'}},
        'spec.report.deduplicator',
        f"'renewal-hostname' does not apply to CCSPv2; expected one of {contract.CCSP_DEDUPLICATORS}",
    ),
    'a CCSPv2 sheet on a CCSP report': (
        {'report': {'type': 'CCSP', 'sheets': ['managed_nodes', 'jobs']}},
        'spec.report.sheets',
        f"'jobs' is not a CCSP sheet; expected some of {contract.CCSP_SHEETS}",
    ),
    'an organization holding the separator': (
        {'report': {'organizationFilter': ['Org A', 'Org;B']}},
        'spec.report.organizationFilter[1]',
        ORG,
    ),
    'an organization with padding': (
        {'report': {'organizationFilter': [' Org']}},
        'spec.report.organizationFilter[0]',
        ORG,
    ),
    'an empty organization': ({'report': {'organizationFilter': ['']}}, 'spec.report.organizationFilter[0]', ORG),
    'February 30': ({'backfill': {'since': '2024-02-30', 'until': '2024-03-02'}}, 'spec.backfill.since', BACKFILL_DATE),
    'February 29 of a common year': (
        {'backfill': {'since': '2023-02-01', 'until': '2023-02-29'}},
        'spec.backfill.until',
        BACKFILL_DATE,
    ),
    'hour 25': (
        {'backfill': {'since': '2024-01-01T25:00:00Z', 'until': '2024-01-02'}},
        'spec.backfill.since',
        BACKFILL_DATE,
    ),
    'year 0': ({'backfill': {'since': '0000-01-01', 'until': '2024-01-02'}}, 'spec.backfill.since', BACKFILL_DATE),
    'beyond year 9999 in UTC': (
        {'backfill': {'since': '2024-01-01', 'until': '9999-12-31T23:00:00-05:00'}},
        'spec.backfill.until',
        BACKFILL_DATE,
    ),
    'a time without seconds': (
        {'backfill': {'since': '2024-01-01T12:00Z', 'until': '2024-01-02'}},
        'spec.backfill.since',
        BACKFILL_DATE,
    ),
    'the same instant written twice': (
        {'backfill': {'since': '2024-01-01', 'until': '2024-01-01T00:00:00Z'}},
        'spec.backfill.until',
        'must be after since',
    ),
    'longer than a gather may look back': (
        {'backfill': {'since': '2010-01-01', 'until': '2024-01-01'}},
        'spec.backfill.until',
        'must be at most 3650 days after since (the longest window a gather takes)',
    ),
    'storage on /tmp': ({'storage': directory('/tmp')}, 'spec.storage.directory.path', collides('/tmp', '/tmp')),
    'storage above the crc state mount': (
        {'storage': directory('/var/lib')},
        'spec.storage.directory.path',
        collides('/var/lib', '/var/lib/metrics-utility'),
    ),
    'storage inside the report sources': (
        {'storage': directory('/sources/x')},
        'spec.storage.directory.path',
        collides('/sources/x', '/sources'),
    ),
    'storage over the CA bundles': (
        {'storage': directory('/etc/metrics-utility')},
        'spec.storage.directory.path',
        collides('/etc/metrics-utility', '/etc'),
    ),
    'storage over the virtualenv': (
        {'storage': directory('/opt')},
        'spec.storage.directory.path',
        collides('/opt', '/opt/venv'),
    ),
    'storage on the root': ({'storage': directory('/')}, 'spec.storage.directory.path', PATH_PLAIN),
    'storage path with ..': ({'storage': directory('/data/../etc')}, 'spec.storage.directory.path', PATH_PLAIN),
    'storage path with a trailing slash': ({'storage': directory('/data/')}, 'spec.storage.directory.path', PATH_PLAIN),
    'a blank cluster name': (
        {'vcpu': {'enabled': True, 'clusterName': ' '}},
        'spec.vcpu.clusterName',
        'must be a cluster name without leading or trailing spaces',
    ),
    'a blank database host (the worker would use localhost)': (
        {'database': {'host': ' ', 'credentialsSecret': {'name': 'db'}}},
        'spec.database.host',
        HOST,
    ),
    'a database host label longer than DNS allows': (
        {'database': {'host': 'x' * 64 + '.example.com', 'credentialsSecret': {'name': 'db'}}},
        'spec.database.host',
        HOST,
    ),
    'a bucket name holding the list separator': (
        {'storage': {'type': 's3', 's3': {'bucket': 'a;b', 'endpoint': 'https://s3.local'}}},
        'spec.storage.s3.bucket',
        'must be a bucket name (letters, digits, dots, hyphens, underscores)',
    ),
    'a price in exponent notation': (
        {'report': {'pricePerNode': '1e3'}},
        'spec.report.pricePerNode',
        "must be a non-negative number such as '11' or '11.50'",
    ),
    'retention beyond the worker range': (
        {'retention': {'maxAgeDays': 40000}},
        'spec.retention.maxAgeDays',
        'must be a whole number from 1 to 36500',
    ),
    'look-back beyond the worker range': (
        {'gather': {'lookbackDays': 4000}},
        'spec.gather.lookbackDays',
        'must be a whole number from 1 to 3650',
    ),
    'no gather stream': (
        {'gather': {'parallelism': 0}},
        'spec.gather.parallelism',
        'must be a whole number from 1 to 16',
    ),
    'more gather streams than the worker takes': (
        {'gather': {'parallelism': 17}},
        'spec.gather.parallelism',
        'must be a whole number from 1 to 16',
    ),
    'gather streams as text': (
        {'gather': {'parallelism': 'two'}},
        'spec.gather.parallelism',
        'must be a whole number from 1 to 16',
    ),
    'a source directory name longer than a file name': (
        {'report': {'additionalSources': [{'claimName': 'b', 'path': 'x' * 256}]}},
        'spec.report.additionalSources[0].path',
        "must be a relative path inside the claim such as 'controller-b'",
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', REFUSED, ids=list(REFUSED))
def test_what_the_worker_would_refuse_is_refused_naming_the_field(crd_schema, case):
    fields, field, message = REFUSED[case]
    obj = collection(**fields)
    error = rejected(**fields)
    assert (error.field, error.message) == (field, message)
    full = {**obj, 'spec': spec.with_defaults(obj['spec'])}
    crd = schema_errors(crd_schema, full) + cel_failures(crd_schema, full)
    leaf = re.sub(r'\[\d+\]', '', field).rsplit('.', 1)[-1]
    assert any(leaf in problem for problem in crd), crd  # the API server refuses it too, naming the field


def worker_view(fields: dict, tmp_path: Path) -> dict[str, Pod]:
    """Every pod the accepted spec renders, by workload name, each checked by the worker's own parsers."""
    full = spec.validate('controller', collection(**fields)['spec'])
    objects = render.desired('controller', 'ns', full, 'registry.example/worker:1')
    job = render.backfill_job('controller', 'ns', full, 'registry.example/worker:1')
    for obj in [*objects, *([job] if job else [])]:  # what the API server checks by schema
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    pods = {
        w['metadata']['name']: pod_of(w, objects[0], tmp_path / w['metadata']['name'])
        for w in [*objects[1:], *([job] if job else [])]
    }
    assert {name: worker_problems(pod) for name, pod in pods.items()} == {name: [] for name in pods}
    return pods


ACCEPTED = {
    'a service collector alone': (
        {'collectors': ['job_host_summary_service']},
        'controller-gather',
        lambda pod: (pod.env[f'{PREFIX}OPTIONAL_COLLECTORS'], pod.env[f'{PREFIX}DISABLE_JOB_HOST_SUMMARY_COLLECTOR']),
        ('job_host_summary_service', 'true'),
    ),
    'a renewal report gets its --since': (
        {'report': {'type': 'RENEWAL_GUIDANCE'}},
        'controller-report',
        lambda pod: pod.argv[:2],
        ['build-report', '--since=12months'],
    ),
    'a renewal report over three years': (
        {'report': {'type': 'RENEWAL_GUIDANCE', 'since': '36months', 'deduplicator': 'renewal-hostname'}},
        'controller-report',
        lambda pod: (pod.argv[1], pod.env[f'{PREFIX}DEDUPLICATOR']),
        ('--since=36months', 'renewal-hostname'),
    ),
    'a CCSPv2-only sheet on CCSPv2': (
        {'report': {'sheets': ['usage_by_installations'], 'deduplicator': 'ccsp-case-insensitive'}},
        'controller-report',
        lambda pod: pod.env[f'{PREFIX}OPTIONAL_CCSP_REPORT_SHEETS'],
        'usage_by_installations',
    ),
    'organizations with commas and unicode': (
        {'report': {'organizationFilter': ['Org, Inc.', 'Zürich Ops']}},
        'controller-report',
        lambda pod: pod.env[f'{PREFIX}ORGANIZATION_FILTER'],
        'Org, Inc.;Zürich Ops',
    ),
    'offsets compared as instants, not as text': (
        {'backfill': {'since': '2024-01-01T00:00:00+14:00', 'until': '2023-12-31T12:00:00Z'}},
        'controller-backfill-',
        lambda pod: pod.argv[2:4],
        ['--since=2024-01-01T00:00:00+14:00', '--until=2023-12-31T12:00:00Z'],
    ),
    'ten years of backfill exactly': (
        {'backfill': {'since': '2014-01-01', 'until': '2023-12-30'}},
        'controller-backfill-',
        lambda pod: pod.env[f'{PREFIX}MAX_GATHER_PERIOD_DAYS'],
        '3650',
    ),
    'storage in a directory of its own': (
        {'storage': directory('/srv/metrics')},
        'controller-gather',
        lambda pod: pod.env[f'{PREFIX}SHIP_PATH'][-12:],
        '/srv/metrics',
    ),
    'retention above the worker ceiling is the ceiling': (
        {'retention': {'maxBytes': '9Ei'}},
        'controller-gather',
        lambda pod: pod.env[f'{PREFIX}RETENTION_MAX_BYTES'],
        str(contract.RETENTION_MAX_BYTES[1]),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', ACCEPTED, ids=list(ACCEPTED))
def test_what_the_operator_accepts_the_worker_runs(crd_schema, tmp_path, case):
    fields, workload, read, expected = ACCEPTED[case]
    obj = collection(**fields)
    full = {**obj, 'spec': spec.with_defaults(obj['spec'])}
    assert schema_errors(crd_schema, full) + cel_failures(crd_schema, full) == []
    pods = worker_view(fields, tmp_path)
    (pod,) = [pod for name, pod in pods.items() if name.startswith(workload)]
    assert read(pod) == expected


# storage.crc.identity shapes only the operator sees (an older CRD or a server without the schema lets them through).
def _crc_identity(identity) -> dict:
    storage = crc_storage({'size': '1Gi'}, identity=identity)
    return {'report': {'enabled': False}, 'storage': storage}


MANAGED_ACCOUNT = {'credentialsSecret': {'name': 'rh-account'}}
IDENTITY_SHAPES = {
    'identity is a word': (
        'controller',
        'spec.storage.crc.identity',
        'must be an object (source, certificateSecret, managed)',
    ),
    'identity is a list': ([], 'spec.storage.crc.identity', 'must be an object (source, certificateSecret, managed)'),
    'source is not text': (
        {'source': 1},
        'spec.storage.crc.identity.source',
        f'must be one of {spec.IDENTITY_SOURCES}',
    ),
    'certificateSecret is a name': (
        {'source': 'certificateSecret', 'certificateSecret': 'crc-tls'},
        'spec.storage.crc.identity.certificateSecret.name',
        'is required (name of a Secret in the same namespace)',
    ),
    'certificate secret name is not text': (
        {'source': 'certificateSecret', 'certificateSecret': {'name': 7}},
        'spec.storage.crc.identity.certificateSecret.name',
        'must name a Secret in this namespace (a lowercase DNS subdomain, ≤ 253)',
    ),
    'managed is a list': (
        {'source': 'managed', 'managed': []},
        'spec.storage.crc.identity.managed',
        'must be an object (credentialsSecret, organization, ...)',
    ),
    'managed credentials key empty': (
        {'source': 'managed', 'managed': {'credentialsSecret': {'name': 'rh-account', 'passwordKey': ''}}},
        'spec.storage.crc.identity.managed.credentialsSecret.passwordKey',
        'must name a key of the Secret',
    ),
    'renewBeforeDays true': (
        {'source': 'managed', 'managed': {**MANAGED_ACCOUNT, 'renewBeforeDays': True}},
        'spec.storage.crc.identity.managed.renewBeforeDays',
        'must be a whole number from 1 to 365',
    ),
    'renewBeforeDays as text': (
        {'source': 'managed', 'managed': {**MANAGED_ACCOUNT, 'renewBeforeDays': '30'}},
        'spec.storage.crc.identity.managed.renewBeforeDays',
        'must be a whole number from 1 to 365',
    ),
    'renewBeforeDays a fraction': (
        {'source': 'managed', 'managed': {**MANAGED_ACCOUNT, 'renewBeforeDays': 7.5}},
        'spec.storage.crc.identity.managed.renewBeforeDays',
        'must be a whole number from 1 to 365',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('identity', 'field', 'message'), IDENTITY_SHAPES.values(), ids=list(IDENTITY_SHAPES))
def test_identity_shapes_the_crd_would_refuse_are_refused_naming_the_field(identity, field, message):
    error = rejected(**_crc_identity(identity))
    assert (error.field, error.message) == (field, message)
