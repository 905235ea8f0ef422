"""Storage.put: the checks every target shares run once in the base, before the target's `_store`."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from metrics_utility.library.extract.multi import InstallationView
from metrics_utility.library.storage import (
    PutOnlyStorage,
    Storage,
    StorageCRC,
    StorageCRCMutual,
    StorageDirectory,
    StorageError,
    StorageS3,
    StorageSegment,
)
from metrics_utility.library.storage.base import PayloadKind, document_bytes
from metrics_utility.library.storage.elasticsearch import StorageElasticsearch
from metrics_utility.library.storage.multi import MultiStorage

pytestmark = pytest.mark.unit


class Recorder(PutOnlyStorage):
    """A target that keeps what reaches `_store`, accepting only `accepts`."""

    def __init__(self, accepts: frozenset[PayloadKind] = frozenset(('dict', 'filename', 'fileobj'))) -> None:
        self.accepts = accepts
        self.stored: list[tuple[str, str, Any]] = []

    def describe(self) -> str:
        return 'recorder'

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        self.stored.append((name, kind, value))


STREAM = io.BytesIO(b'x')
ONE = 'put() takes exactly one of dict=, filename= or fileobj='
DICT_ONLY = frozenset(('dict',))
FILES_ONLY = frozenset(('filename', 'fileobj'))

REFUSED = [
    ({}, TypeError, ONE),
    ({'dict': {}, 'filename': 'a'}, TypeError, ONE),
    ({'dict': {}, 'filename': 'a', 'fileobj': STREAM}, TypeError, ONE),
    (
        {'name': '../x', 'dict': {}},
        StorageError,
        'invalid object name \'../x\': no ".", ".." or empty path segments allowed',
    ),
    (
        {'name': '/etc', 'dict': {}},
        StorageError,
        "invalid object name '/etc': expected a relative path like data/2024/01/31/x.tar.gz",
    ),
    ({'name': '../x'}, TypeError, ONE),
    ({'fileobj': STREAM, 'accepts': DICT_ONLY}, StorageError, 'recorder does not accept fileobj= payloads, for data/x'),
    ({'dict': {'a': 1}, 'accepts': FILES_ONLY}, StorageError, 'recorder does not accept dict= payloads, for data/x'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('call', 'error', 'message'),
    REFUSED,
    ids=[
        'no-payload',
        'two-payloads',
        'three-payloads',
        'dotdot-name',
        'absolute-name',
        'bad-name-and-no-payload-is-the-payload-error',
        'stream-to-a-dict-only-target',
        'dict-to-a-file-only-target',
    ],
)
def test_put_refuses_before_the_target_is_reached(call, error, message):
    call = dict(call)
    target = Recorder(call.pop('accepts', frozenset(('dict', 'filename', 'fileobj'))))
    with pytest.raises(error, match=f'^{re.escape(message)}$'):
        target.put(call.pop('name', 'data/x'), **call)
    assert target.stored == []


def test_store_gets_the_payload_as_given():
    target = Recorder()
    document = {'b': 2, 'a': 1}
    target.put('reports/a.json', dict=document)
    target.put('data/a.tar.gz', filename='/tmp/a.tar.gz')
    target.put('data/b.tar.gz', fileobj=STREAM)
    assert target.stored == [
        ('reports/a.json', 'dict', document),
        ('data/a.tar.gz', 'filename', '/tmp/a.tar.gz'),
        ('data/b.tar.gz', 'fileobj', STREAM),
    ]


def test_document_bytes_are_stable_indented_json():
    assert document_bytes({'b': 2, 'a': Path('/x')}) == b'{\n  "a": "/x",\n  "b": 2\n}'


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found))


def test_no_target_repeats_put():
    """put() stays the one template; a target that overrides it would skip or repeat the shared checks."""
    targets = {c for c in _subclasses(Storage) if c.__module__.startswith('metrics_utility.')}
    assert targets >= {
        InstallationView,
        MultiStorage,
        StorageCRC,
        StorageCRCMutual,
        StorageDirectory,
        StorageElasticsearch,
        StorageS3,
        StorageSegment,
    }
    assert [c.__name__ for c in targets if 'put' in vars(c)] == []
