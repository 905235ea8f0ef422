"""Watermark stores: round trip, forward only, atomic, damaged documents explained."""

import json
from datetime import UTC, datetime

import pytest

from metrics_utility.gather.state import FileStateStore, StateError, StorageStateStore, Watermarks
from metrics_utility.library.storage import StorageDirectory

pytestmark = pytest.mark.unit

T1 = datetime(2024, 2, 29, tzinfo=UTC)
T2 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(params=['storage', 'file'])
def store(request, tmp_path):
    if request.param == 'storage':
        return StorageStateStore(StorageDirectory(tmp_path))
    return FileStateStore(tmp_path / 'state' / 'watermarks.json')


def test_round_trip_and_forward_only(store):
    assert store.load().shipped_until == {}
    marks = Watermarks(install_uuid='abc')
    assert marks.advance('job_host_summary', T2)
    assert not marks.advance('job_host_summary', T1)  # never backwards
    store.save(marks)
    loaded = store.load()
    assert loaded.get('job_host_summary') == T2
    assert loaded.install_uuid == 'abc'


def test_saving_leaves_no_temporary_files(tmp_path):
    store = FileStateStore(tmp_path / 'w.json')
    store.save(Watermarks({'a': T1}))
    store.save(Watermarks({'a': T2}))
    assert [p.name for p in tmp_path.iterdir()] == ['w.json']


@pytest.mark.parametrize('content', ['not json', '{"version": 9, "shipped_until": {}}',
                                     '{"version": 1, "shipped_until": {"a": "yesterday"}}',
                                     '{"version": 1, "shipped_until": {"a": "2024-02-29T00:00:00"}}'])  # fmt: skip
def test_damaged_documents_are_explained(tmp_path, content):
    path = tmp_path / 'w.json'
    path.write_text(content)
    with pytest.raises(StateError, match=r'w\.json') as info:
        FileStateStore(path).load()
    assert 'JSON' in str(info.value) or 'damaged' in str(info.value)


def test_document_is_readable_json(tmp_path):
    store = StorageStateStore(StorageDirectory(tmp_path))
    store.save(Watermarks({'job_host_summary': T1}, 'uuid-1'))
    data = json.loads((tmp_path / 'state' / 'watermarks.json').read_text())
    assert data == {'version': 1, 'install_uuid': 'uuid-1',
                    'shipped_until': {'job_host_summary': '2024-02-29T00:00:00+00:00'}}  # fmt: skip
