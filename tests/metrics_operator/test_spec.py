"""Spec rules only the operator can check (beyond the CRD's CEL), and the references it looks up before writing."""

from __future__ import annotations

import pytest

from metrics_operator import spec
from testsupport.operator_samples import collection, crc_storage

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
