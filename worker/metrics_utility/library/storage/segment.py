"""Segment (the analytics service) as a put-only target for small JSON artifacts (anonymized service metrics).

What `put(name, dict=data)` sends, following metrics-utility's StorageSegment (docs/storage.md, Segment):

- one `track` event per chunk of `data`; each top-level key is chunked on its own; a list value is split between
  items so that every event stays within Segment's 32 KiB per-event limit; any other value goes whole;
- event properties `{artifact_name, data, upload_timestamp, chunk_info: {chunk_number, total_chunks, chunk_size}}`;
- events are posted to the batch API in batches of at most 475,000 bytes (Segment's limit is 500 KB), as gzip JSON
  with HTTP basic auth (write key as user name).

Differences, on purpose: a value too large for one event is an error before anything is sent (metrics-utility sent
it and Segment dropped it silently); scalar top-level values and empty lists are sent instead of dropped; the
`messageId` is derived from the artifact name and the chunk's content, so sending the same artifact again is
deduplicated by Segment; 5xx and connection errors are retried; a missing write key is an error, not a silent no-op.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .base import PayloadKind, PutOnlyStorage, StorageError
from .http import HTTPClient, Redactor, RetryPolicy, Timeout, failure, require_https

log = logging.getLogger(__name__)

DEFAULT_SEGMENT_URL = 'https://api.segment.io/v1/batch'
DEFAULT_EVENT_NAME = 'Metrics Artifact Upload'
EVENT_LIMIT = 32 * 1024
BATCH_LIMIT = 475_000

_PLACEHOLDER = 10**12  # wider than any real chunk number or size, so the size estimate is an upper bound


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(',', ':'), default=str)


def _size(value: Any) -> int:
    return len(_dumps(value).encode('utf-8'))


def split_chunks(data: dict[str, Any], budget: int) -> list[dict[str, Any]]:
    """Split `data` into `{key: value}` chunks whose compact JSON is at most `budget` bytes.

    Each top-level key gets its own chunk(s); lists are split between items (order kept); other values are never
    split. Raises StorageError naming the key when a single value or list item cannot fit.
    """
    chunks: list[dict[str, Any]] = []
    for key, value in data.items():
        if not isinstance(value, list):
            if _size({key: value}) > budget:
                raise StorageError(
                    f'top-level key {key!r} is {_size({key: value})} bytes as JSON, over the {budget} bytes one '
                    'Segment event can carry; make it a list so it can be split'
                )
            chunks.append({key: value})
            continue
        empty = _size({key: []})
        items: list[Any] = []
        size = empty
        for index, item in enumerate(value):
            item_size = _size(item)
            if empty + item_size > budget:
                raise StorageError(
                    f'item {index} of {key!r} is {item_size} bytes as JSON, over the {budget} bytes one Segment event '
                    'can carry'
                )
            extra = item_size + (1 if items else 0)  # the comma between items
            if items and size + extra > budget:
                chunks.append({key: items})
                items, size, extra = [], empty, item_size
            items.append(item)
            size += extra
        if items or not value:
            chunks.append({key: items})
    return chunks or [{}]


class StorageSegment(PutOnlyStorage):
    """Put-only: sends `dict=` payloads as Segment `track` events (see the module docstring for the format).

    `user_id` becomes the events' userId; without it an anonymousId derived from the artifact name is used.
    `debug` logs the chunking and every batch at INFO instead of DEBUG. HTTPS is required except to loopback.
    """

    def __init__(
        self,
        debug: bool = False,
        user_id: str | None = None,
        write_key: str | None = None,
        url: str = DEFAULT_SEGMENT_URL,
        *,
        event_name: str = DEFAULT_EVENT_NAME,
        proxy_url: str | None = None,
        verify_cert_path: str | None = None,
        timeout: Timeout = (10.0, 30.0),
        retry: RetryPolicy | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        event_limit: int = EVENT_LIMIT,
        batch_limit: int = BATCH_LIMIT,
    ) -> None:
        if not write_key:
            raise StorageError('StorageSegment needs write_key (the Segment source write key)')
        require_https(url, 'Segment url')
        self.debug = debug
        self.user_id = user_id or None
        self.url = url
        self.event_name = event_name
        self._write_key = write_key
        self._now = now
        self.event_limit = event_limit
        self.batch_limit = batch_limit
        self.client = HTTPClient(
            proxy_url=proxy_url,
            verify_cert_path=verify_cert_path,
            timeout=timeout,
            retry=retry,
            redact=Redactor(write_key),
        )
        self.client.redact.add('', user=write_key)  # basic auth as write_key:, in base64

    def describe(self) -> str:
        return f'Segment {self.url}{self.client.describe_proxy()}'

    def _log(self, message: str, *args: Any) -> None:
        log.log(logging.INFO if self.debug else logging.DEBUG, message, *args)

    def events(self, name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The track events for one artifact (public so a dry run can show what would be sent)."""
        if not isinstance(data, dict):
            raise StorageError(f'{self.describe()} sends dict payloads only; got {type(data).__name__} for {name}')
        timestamp = self._now().isoformat()
        who = {'userId': self.user_id} if self.user_id else {'anonymousId': str(uuid.uuid5(uuid.NAMESPACE_URL, name))}

        def event(chunk: dict[str, Any], number: int, total: int, size: int, message_id: str) -> dict[str, Any]:
            return {
                'type': 'track',
                'event': self.event_name,
                **who,
                'messageId': message_id,
                'timestamp': timestamp,
                'properties': {
                    'artifact_name': name,
                    'data': chunk,
                    'upload_timestamp': timestamp,
                    'chunk_info': {'chunk_number': number, 'total_chunks': total, 'chunk_size': size},
                },
                'context': {'library': {'name': 'metrics-utility', 'version': '1'}},
            }

        overhead = _size(event({}, _PLACEHOLDER, _PLACEHOLDER, _PLACEHOLDER, '0' * 64)) - _size({})
        chunks = split_chunks(data, self.event_limit - overhead)
        total = len(chunks)
        result = []
        for number, chunk in enumerate(chunks, 1):
            body = _dumps(chunk)
            digest = hashlib.sha256(f'{name}\0{self.event_name}\0{number}\0{total}\0{body}'.encode()).hexdigest()
            result.append(event(chunk, number, total, len(body.encode()), digest))
        self._log('%s: %d top-level keys in %d Segment events', name, len(data), total)
        return result

    def batches(self, events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Group events into batches whose JSON body stays within `batch_limit` bytes."""
        overhead = _size({'batch': [], 'sentAt': self._now().isoformat()})
        batches: list[list[dict[str, Any]]] = []
        current: list[dict[str, Any]] = []
        size = overhead
        for event in events:
            event_size = _size(event)
            if event_size > self.event_limit:  # split_chunks guarantees this; keep the promise visible
                raise StorageError(f'a Segment event of {event_size} bytes exceeds {self.event_limit} bytes')
            extra = event_size + (1 if current else 0)
            if current and size + extra > self.batch_limit:
                batches.append(current)
                current, size, extra = [], overhead, event_size
            current.append(event)
            size += extra
        if current:
            batches.append(current)
        return batches

    accepts = frozenset(('dict',))

    def _refused_payload(self, name: str, kind: PayloadKind) -> str:
        return f'{self.describe()} sends dict= payloads only (JSON events), not files, for {name}'

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        batches = self.batches(self.events(name, value))
        for number, batch in enumerate(batches, 1):
            body = _dumps({'batch': batch, 'sentAt': self._now().isoformat()}).encode('utf-8')
            what = f'Segment batch {number} of {len(batches)} for {name} to {self.url}'
            response = self.client.request(
                'POST',
                self.url,
                what=what,
                data=gzip.compress(body),
                auth=(self._write_key, ''),
                headers={'Content-Type': 'application/json', 'Content-Encoding': 'gzip'},
            )
            with response:
                if not 200 <= response.status_code < 300:
                    raise StorageError(self._failure(name, number, len(batches), response))
            self._log(
                '%s: sent batch %d of %d (%d events, %d bytes)', name, number, len(batches), len(batch), len(body)
            )

    def _failure(self, name: str, number: int, total: int, response: Any) -> str:
        answer, host = failure(response, self.client), urlsplit(self.url).netloc
        sent = f'{number - 1} of {total} batches were sent; sending {name} again is safe (Segment drops duplicates)'
        reason = {
            'credentials': f'{host} rejected the write key (HTTP {answer.status}); check the Segment source',
            'too_large': f'{host} found batch {number} too large (HTTP 413); lower batch_limit',
            'unavailable': f'{self.url} answered HTTP {answer.status} for batch {number} after {answer.attempts} '
            f'attempts{answer.detail}',
            'refused': f'{self.url} answered HTTP {answer.status} for batch {number}{answer.detail}',
        }[answer.kind]
        return self.client.redact(f'{reason}; {sent}')
