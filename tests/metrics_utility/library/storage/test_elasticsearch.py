"""StorageElasticsearch against a local HTTPS server implementing the `_bulk` endpoint's contract."""

from __future__ import annotations

import logging

import pytest

from metrics_utility.library.storage import PutOnlyStorageError, StorageError
from metrics_utility.library.storage.elasticsearch import StorageElasticsearch, document_id
from testsupport.elasticsearch import ElasticsearchBulk
from testsupport.https_servers import HTTPSServer, Reply

pytestmark = pytest.mark.integration
API_KEY = 'es-api-key-Zq81xW'
PASSWORD = 'es-password-Pk29vd'


@pytest.fixture
def bulk() -> ElasticsearchBulk:
    return ElasticsearchBulk(api_key=API_KEY)


@pytest.fixture
def es_server(tls_ca, bulk):
    with HTTPSServer(tls_ca, bulk) as server:
        yield server


def target(server, ca_bundle, retry, **kwargs) -> StorageElasticsearch:
    options = {'api_key': API_KEY} | kwargs
    return StorageElasticsearch(server.url(''), 'kpi', verify_cert_path=ca_bundle, retry=retry, **options)


def test_documents_are_indexed_with_deterministic_ids_and_overwritten(es_server, bulk, ca_bundle, retry):
    es = target(es_server, ca_bundle, retry, max_batch_bytes=400)
    docs = [(document_id('u', f'obj-{i}'), {'n': i, 'collector': 'job_host_summary'}) for i in range(6)]
    assert es.index_documents(docs) == 6
    assert bulk.bulk_requests > 1  # cut at max_batch_bytes
    assert bulk.documents('kpi') == {doc_id: doc for doc_id, doc in docs}
    es.index_documents([(docs[0][0], {'n': 99})])
    assert bulk.documents('kpi')[docs[0][0]] == {'n': 99} and len(bulk.documents('kpi')) == 6
    es.put('data/2024/02/29/x.tar.gz', dict={'type': 'run'})
    assert bulk.documents('kpi')[document_id('data/2024/02/29/x.tar.gz')] == {'type': 'run'}
    assert not bulk.protocol_errors
    request = es_server.requests[0]
    assert request.headers['Content-Type'] == 'application/x-ndjson' and request.body.endswith(b'\n')


def test_item_failures_raise_a_clear_error(es_server, bulk, ca_bundle, retry):
    bulk.fail_items(2, status=400, type_='mapper_parsing_exception')
    es = target(es_server, ca_bundle, retry)
    with pytest.raises(StorageError) as caught:
        es.index_documents([('a', {'x': 1}), ('b', {'x': 2}), ('c', {'x': 3})])
    message = str(caught.value)
    assert 'refused 2 of 3 document(s)' in message and 'mapper_parsing_exception' in message and '/kpi' in message
    assert set(bulk.documents('kpi')) == {'c'}


def test_rejected_items_and_429_responses_are_retried(es_server, bulk, ca_bundle, retry, sleeps):
    es_server.script(Reply(429, {'error': 'too many requests'}), Reply(503))
    bulk.fail_items(1)  # then one item rejected with 429 inside a 200 answer
    es = target(es_server, ca_bundle, retry)
    assert es.index_documents([('a', {'x': 1}), ('b', {'x': 2})]) == 2
    assert set(bulk.documents('kpi')) == {'a', 'b'}
    assert len(sleeps) == 3
    resent = es_server.requests[-1].body.decode().splitlines()
    assert len(resent) == 2 and '"_id":"a"' in resent[0]  # only the rejected document went again


def test_lasting_rejection_and_overload_give_up(es_server, bulk, ca_bundle, retry):
    bulk.fail_items(10)
    with pytest.raises(StorageError, match='kept rejecting 1 document'):
        target(es_server, ca_bundle, retry).index_documents([('a', {'x': 1})])
    es_server.script(*[Reply(503)] * 4)
    with pytest.raises(StorageError, match='HTTP 503 after 4 attempts'):
        target(es_server, ca_bundle, retry).index_documents([('a', {'x': 1})])


def test_credentials_tls_and_secrets(tls_ca, ca_bundle, retry, caplog):
    caplog.set_level(logging.DEBUG)
    basic = ElasticsearchBulk(basic=('kpi-writer', PASSWORD))
    with HTTPSServer(tls_ca, basic) as server:
        es = target(server, ca_bundle, retry, api_key=None, username='kpi-writer', password=PASSWORD)
        assert es.index_documents([('a', {'x': 1})]) == 1
        wrong = target(server, ca_bundle, retry, api_key=None, username='kpi-writer', password='not-it-9')
        with pytest.raises(StorageError, match='refused the credentials') as caught:
            wrong.index_documents([('a', {'x': 1})])
        assert 'not-it-9' not in str(caught.value)
        with pytest.raises(StorageError, match='cannot verify the TLS certificate'):
            StorageElasticsearch(server.url(''), 'kpi', username='u', password=PASSWORD, retry=retry).put(
                'n', dict={'x': 1}
            )
    assert PASSWORD not in caplog.text and API_KEY not in caplog.text
    with pytest.raises(StorageError, match='must use https'):
        StorageElasticsearch('http://es.example:9200', 'kpi', api_key=API_KEY)
    with pytest.raises(StorageError, match='not valid for Elasticsearch'):
        StorageElasticsearch('https://es.example:9200', 'KPI')
    with pytest.raises(StorageError, match='either api_key or username'):
        StorageElasticsearch('https://es.example:9200', 'kpi', api_key='k', username='u', password='p')
    with pytest.raises(StorageError, match='must not hold credentials') as caught:
        StorageElasticsearch(f'https://elastic:{PASSWORD}@es.example:9200', 'kpi')
    assert PASSWORD not in str(caught.value)


def test_put_only(es_server, ca_bundle, retry):
    es = target(es_server, ca_bundle, retry)
    with pytest.raises(PutOnlyStorageError):
        es.glob('*')
    with pytest.raises(StorageError, match='dict= documents only'):
        es.put('x.tar.gz', filename='/etc/hostname')
