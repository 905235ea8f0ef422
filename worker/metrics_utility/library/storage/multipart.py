"""A multipart/form-data body with one file part, streamed from disk with a known length.

requests' `files=` builds the whole body in memory (a 100 MB tarball costs 100 MB of RAM); this body is read in
blocks while it is sent and still gives a Content-Length, which upload gateways prefer to chunked bodies.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _quote(value: str) -> str:
    # HTML's multipart rules: escape the quote and line breaks, keep everything else (names are ours and plain).
    return value.replace('\\', '\\\\').replace('"', '%22').replace('\r', '%0D').replace('\n', '%0A')


class MultipartFile:
    """The body of a form with the single field `field` holding the file at `path`.

    Pass it as `data=` to requests with `headers={'Content-Type': body.content_type}`. One instance is good for one
    request: make a new one for a retry (the stream cannot be rewound by the HTTP stack).
    """

    block_size = 1 << 16

    def __init__(self, path: str | Path, *, field: str, filename: str, content_type: str) -> None:
        self.boundary = uuid.uuid4().hex
        self._head = (
            f'--{self.boundary}\r\n'
            f'Content-Disposition: form-data; name="{_quote(field)}"; filename="{_quote(filename)}"\r\n'
            f'Content-Type: {content_type}\r\n\r\n'
        ).encode()
        self._tail = f'\r\n--{self.boundary}--\r\n'.encode()
        self._path = Path(path)
        self._size = os.path.getsize(self._path)
        self._parts: list[bytes | IO[bytes]] | None = None

    @property
    def content_type(self) -> str:
        return f'multipart/form-data; boundary={self.boundary}'

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def read(self, size: int = -1) -> bytes:
        if self._parts is None:
            self._parts = [self._head, open(self._path, 'rb'), self._tail]  # noqa: SIM115 - closed when drained
        want = size if size is not None and size >= 0 else len(self)
        out = bytearray()
        while self._parts and len(out) < want:
            part = self._parts[0]
            if isinstance(part, bytes):
                taken, rest = part[: want - len(out)], part[want - len(out) :]
                out += taken
                if rest:
                    self._parts[0] = rest
                else:
                    self._parts.pop(0)
            else:
                chunk = part.read(want - len(out))
                if chunk:
                    out += chunk
                else:
                    part.close()
                    self._parts.pop(0)
        return bytes(out)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(self.block_size):
            yield chunk

    def close(self) -> None:
        for part in self._parts or ():
            if not isinstance(part, bytes):
                part.close()
        self._parts = []
