"""StorageSegment against a local HTTPS stand-in for Segment's batch API: format, limits, retries, secrets."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime

import pytest

from metrics_utility.library.storage import PutOnlyStorageError, RetryPolicy, StorageError, StorageSegment
from metrics_utility.library.storage.segment import BATCH_LIMIT, EVENT_LIMIT, split_chunks
from testsupport.https_servers import HTTPSServer, Recorded, Reply
from testsupport.proxy import ConnectProxy
from testsupport.secrets import WRITE_KEY, assert_secret_free, exception_texts, logged

pytestmark = pytest.mark.integration

SECRETS = [WRITE_KEY, base64.b64encode(f'{WRITE_KEY}:'.encode()).decode()]
NOW = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def segment(segment_server: HTTPSServer, ca_bundle: str, retry: RetryPolicy) -> StorageSegment:
    return StorageSegment(
        debug=True,
        user_id='install-4b5a',
        write_key=WRITE_KEY,
        url=segment_server.url('/v1/batch'),
        verify_cert_path=ca_bundle,
        retry=retry,
        now=lambda: NOW,
    )


def body(request: Recorded) -> dict:
    assert request.headers['Content-Encoding'] == 'gzip' and request.headers['Content-Type'] == 'application/json'
    return json.loads(gzip.decompress(request.body))


def events(server: HTTPSServer) -> list[dict]:
    return [event for request in server.requests for event in body(request)['batch']]


def test_a_small_dict_is_one_track_event(segment, segment_server, caplog):
    segment.put('anonymized/2024-02-29.json', dict={'controller_version': '4.5.0', 'jobs': [{'id': 1}, {'id': 2}]})
    [request] = segment_server.requests
    assert request.headers['Authorization'] == f'Basic {SECRETS[1]}', 'basic auth with the write key as user name'
    first, second = events(segment_server)
    assert first['type'] == 'track' and first['event'] == 'Metrics Artifact Upload'
    assert first['userId'] == 'install-4b5a' and len(first['messageId']) == 64
    assert first['properties'] == {
        'artifact_name': 'anonymized/2024-02-29.json',
        'data': {'controller_version': '4.5.0'},
        'upload_timestamp': NOW.isoformat(),
        'chunk_info': {'chunk_number': 1, 'total_chunks': 2, 'chunk_size': len('{"controller_version":"4.5.0"}')},
    }
    assert second['properties']['data'] == {'jobs': [{'id': 1}, {'id': 2}]}
    assert 'sent batch 1 of 1' in caplog.text, 'debug=True logs each batch'
    assert_secret_free([*logged(caplog), segment.describe()], SECRETS)


def test_big_payloads_are_split_within_segment_limits_and_reassemble(segment, segment_server):
    rows = [{'id': i, 'name': f'job-{i}', 'padding': 'x' * (200 + i % 300)} for i in range(4000)]
    data = {'controller_version': '4.5.0', 'jobs': rows, 'empty': [], 'hosts': {'total': 12}}
    segment.put('anonymized/big.json', dict=data)

    assert len(segment_server.requests) > 1, 'about 1.5 MB of events needs several batches'
    for request in segment_server.requests:
        assert len(gzip.decompress(request.body)) <= BATCH_LIMIT
    sent = events(segment_server)
    assert all(len(json.dumps(e, separators=(',', ':')).encode()) <= EVENT_LIMIT for e in sent)
    numbers = [e['properties']['chunk_info']['chunk_number'] for e in sent]
    assert numbers == list(range(1, len(sent) + 1))
    assert {e['properties']['chunk_info']['total_chunks'] for e in sent} == {len(sent)}

    rebuilt: dict = {}
    for event in sent:
        [(key, value)] = event['properties']['data'].items()  # one top-level key per event
        if isinstance(value, list):
            rebuilt.setdefault(key, []).extend(value)
        else:
            rebuilt[key] = value
    assert rebuilt == data, 'nothing lost, nothing reordered'


def test_sending_again_gives_the_same_message_ids(segment, segment_server):
    data = {'jobs': [{'id': i, 'pad': 'y' * 500} for i in range(200)]}
    segment.put('anonymized/a.json', dict=data)
    first = [e['messageId'] for e in events(segment_server)]
    segment_server.requests.clear()
    segment.put('anonymized/a.json', dict=data)
    assert [e['messageId'] for e in events(segment_server)] == first and len(set(first)) == len(first) > 1


def test_an_item_too_big_for_one_event_fails_before_anything_is_sent(segment, segment_server):
    with pytest.raises(StorageError, match=r"item 1 of 'jobs' is 4\d{4} bytes as JSON, over the 3\d{4} bytes"):
        segment.put('anonymized/a.json', dict={'ok': 1, 'jobs': [{'id': 1}, {'blob': 'z' * 40_000}]})
    with pytest.raises(StorageError, match=r"top-level key 'config' is .* make it a list"):
        segment.put('anonymized/a.json', dict={'config': {'blob': 'z' * 40_000}})
    assert segment_server.requests == []


def test_5xx_is_retried(segment, segment_server, sleeps):
    segment_server.script(Reply(503), Reply(500))
    segment.put('anonymized/a.json', dict={'a': 1})
    assert len(segment_server.requests) == 3 and sleeps == [1.0, 2.0]
    assert body(segment_server.requests[0]) == body(segment_server.requests[2]), 'the same batch is sent again'
    segment_server.responder = lambda request: Reply(502, 'bad gateway')
    with pytest.raises(StorageError, match=r'HTTP 502 for batch 1 after 4 attempts: bad gateway; 0 of 1 batches'):
        segment.put('anonymized/b.json', dict={'b': 1})


def test_a_rejected_write_key_is_named_without_showing_it(segment, segment_server, caplog):
    segment_server.responder = lambda request: Reply(401, {'message': 'Invalid write key'})
    with pytest.raises(StorageError, match=r'rejected the write key \(HTTP 401\)') as excinfo:
        segment.put('anonymized/a.json', dict={'a': 1})
    assert len(segment_server.requests) == 1
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], SECRETS)


def test_a_failed_batch_says_how_far_it_got(segment, segment_server):
    segment_server.script(Reply(200), Reply(400, {'message': 'bad event'}))
    data = {'jobs': [{'id': i, 'pad': 'p' * 1000} for i in range(600)]}  # ~600 KB: two batches
    with pytest.raises(StorageError, match=r'HTTP 400 for batch 2: .*bad event.*; 1 of 2 batches were sent'):
        segment.put('anonymized/a.json', dict=data)


def test_proxy_is_honoured(segment_server, ca_bundle, connect_proxy: ConnectProxy):
    segment = StorageSegment(
        write_key=WRITE_KEY,
        url=segment_server.url('/v1/batch'),
        proxy_url=connect_proxy.url,
        verify_cert_path=ca_bundle,
    )
    segment.put('anonymized/a.json', dict={'a': 1})
    assert connect_proxy.targets() == [f'127.0.0.1:{segment_server.port}']
    assert 'anonymousId' in events(segment_server)[0], 'without user_id the event is anonymous'


def test_put_only_dicts_and_settings(segment, tmp_path):
    with pytest.raises(StorageError, match='sends dict= payloads only'):
        segment.put('a.json', filename=tmp_path / 'a.json')
    with pytest.raises(TypeError, match='exactly one'):
        segment.put('a.json')
    with pytest.raises(PutOnlyStorageError, match='only accepts uploads; remove'):
        segment.remove('a.json')
    with pytest.raises(StorageError, match='needs write_key'):
        StorageSegment(write_key='')
    with pytest.raises(StorageError, match='must use https://'):
        StorageSegment(write_key=WRITE_KEY, url='http://api.segment.example.com/v1/batch')
    assert StorageSegment(write_key=WRITE_KEY, url='http://127.0.0.1:1/v1/batch').describe().startswith('Segment')


def test_split_chunks_is_exact_at_the_budget():
    item = {'k': 'v'}  # {"k":"v"} is 9 bytes; {"a":[]} is 8
    assert split_chunks({'a': [item, item]}, budget=8 + 9 + 1 + 9) == [{'a': [item, item]}]
    assert split_chunks({'a': [item, item]}, budget=8 + 9 + 1 + 8) == [{'a': [item]}, {'a': [item]}]
    assert split_chunks({}, budget=100) == [{}]
