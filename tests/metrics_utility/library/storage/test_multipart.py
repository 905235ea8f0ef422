"""The streamed multipart body: exact bytes, exact length, parsed back by the standard library."""

from __future__ import annotations

import os
from email.message import Message

import pytest

from metrics_utility.library.storage.multipart import MultipartFile
from testsupport.https_servers import Recorded, form_parts

pytestmark = pytest.mark.unit


def test_body_streams_in_blocks_and_parses_back(tmp_path):
    path = tmp_path / 'x.tar.gz'
    content = os.urandom(200_000)
    path.write_bytes(content)
    body = MultipartFile(path, field='file', filename='a "quoted".tar.gz', content_type='application/x-tgz')
    data = b''.join(body)  # what requests does: iterate in blocks
    assert len(data) == len(body)
    headers = Message()
    headers['Content-Type'] = body.content_type
    [part] = form_parts(Recorded('POST', '/', headers, data))
    assert part.get_param('name', header='content-disposition') == 'file'
    assert part.get_filename() == 'a %22quoted%22.tar.gz'
    assert part.get_content_type() == 'application/x-tgz'
    assert part.get_payload(decode=True) == content


def test_small_reads_and_close(tmp_path):
    path = tmp_path / 'x'
    path.write_bytes(b'abc')
    body = MultipartFile(path, field='file', filename='x', content_type='text/plain')
    pieces = []
    while piece := body.read(7):
        pieces.append(piece)
    assert all(len(p) <= 7 for p in pieces) and len(b''.join(pieces)) == len(body)
    body.close()
