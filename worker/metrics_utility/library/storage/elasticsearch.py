"""Elasticsearch / OpenSearch as a put-only target for small JSON documents (usage KPIs), through the `_bulk` API.

Each document is indexed with an `index` action and a deterministic `_id`, so sending the same document again
overwrites it instead of adding a duplicate. Requests are NDJSON (`application/x-ndjson`): one action line, one
document line, a final newline. Authentication is an API key (`Authorization: ApiKey …`) or HTTP basic; TLS
verification uses `verify_cert_path` (a CA bundle) or the default trust store.

Failures: a whole-request 429/5xx or a connection error is retried by the shared HTTP layer (backoff with jitter);
items the cluster rejected with 429 (`es_rejected_execution_exception`, a full write queue) are sent again, alone,
with the same backoff; any other item failure (mapping conflict, missing index with auto-create off, …) raises a
StorageError naming the index, the count and the first reasons. Bulk bodies are cut at `max_batch_bytes`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .base import PayloadKind, PutOnlyStorage, StorageError
from .http import HTTPClient, Redactor, RetryPolicy, Timeout, excerpt, failure, require_https

log = logging.getLogger(__name__)

NDJSON = 'application/x-ndjson'
DEFAULT_BATCH_BYTES = 5 * 1024 * 1024
_INDEX_NAME_FORBIDDEN = set('\\/*?"<>| ,#:')


def document_id(*parts: str) -> str:
    """A deterministic `_id` from the parts that identify a document (e.g. install uuid, object, file)."""
    return hashlib.sha256('\0'.join(parts).encode('utf-8')).hexdigest()


def _check_index(index: str) -> str:
    if not index or index != index.lower() or index[0] in '-_+' or set(index) & _INDEX_NAME_FORBIDDEN:
        raise StorageError(
            f'index name {index!r} is not valid for Elasticsearch: expected lowercase without spaces or \\/*?"<>|,#:'
        )
    return index


class StorageElasticsearch(PutOnlyStorage):
    """Put-only: `put(name, dict=document)` indexes one document with `_id = document_id(name)`;
    `index_documents([(id, document), …])` indexes many in as few bulk requests as fit."""

    def __init__(
        self,
        url: str,
        index: str,
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        verify_cert_path: str | None = None,
        proxy_url: str | None = None,
        timeout: Timeout = (10.0, 30.0),
        retry: RetryPolicy | None = None,
        max_batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        if api_key and (username or password):
            raise StorageError('StorageElasticsearch: give either api_key or username/password, not both')
        if bool(username) != bool(password):
            raise StorageError('StorageElasticsearch: username and password go together')
        has_credentials = bool(api_key or password)
        parts = urlsplit(url or '')
        if '@' in parts.netloc:  # the URL is shown in logs and errors: credentials must not be in it
            raise StorageError(
                'Elasticsearch url must not hold credentials (user:password@host): give username and '
                'password, or api_key'
            )
        if has_credentials:
            require_https(url, 'Elasticsearch url')
        elif parts.scheme not in ('http', 'https') or not parts.hostname:
            raise StorageError(f'Elasticsearch url {url!r} is not valid: expected https://host:9200')
        self.url = url.rstrip('/')
        self.index = _check_index(index)
        self.max_batch_bytes = max_batch_bytes
        self._auth = (username, password) if username and password else None
        self._headers = {'Content-Type': NDJSON, 'Accept': 'application/json'}
        if api_key:
            self._headers['Authorization'] = f'ApiKey {api_key}'
        self.client = HTTPClient(
            proxy_url=proxy_url,
            verify_cert_path=verify_cert_path,
            timeout=timeout,
            retry=retry,
            redact=Redactor(password, user=username),
        )
        self.client.redact.add_api_key(api_key)

    def describe(self) -> str:
        return f'Elasticsearch {self.url}/{self.index}{self.client.describe_proxy()}'

    accepts = frozenset(('dict',))

    def _refused_payload(self, name: str, kind: PayloadKind) -> str:
        return f'{self.describe()} indexes dict= documents only, not files, for {name}'

    def _store(self, name: str, kind: PayloadKind, value: Any) -> None:
        if not isinstance(value, dict):
            raise StorageError(f'{self.describe()} indexes JSON objects; got {type(value).__name__} for {name}')
        self.index_documents([(document_id(name), value)])

    def index_documents(self, documents: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Index every (id, document); returns how many were indexed. Raises StorageError on any lasting failure."""
        lines = []
        for doc_id, document in documents:
            action = json.dumps({'index': {'_index': self.index, '_id': doc_id}}, separators=(',', ':'))
            lines.append((doc_id, f'{action}\n{json.dumps(document, separators=(",", ":"), default=str)}\n'))
        done = 0
        for batch in self._batches(lines):
            done += self._send(batch)
        return done

    def _batches(self, lines: list[tuple[str, str]]) -> Iterable[list[tuple[str, str]]]:
        batch: list[tuple[str, str]] = []
        size = 0
        for item in lines:
            length = len(item[1].encode('utf-8'))
            if batch and size + length > self.max_batch_bytes:
                yield batch
                batch, size = [], 0
            batch.append(item)
            size += length
        if batch:
            yield batch

    def _send(self, batch: list[tuple[str, str]]) -> int:
        pending = batch
        retry = self.client.retry
        for attempt in range(1, retry.attempts + 1):
            rejected = self._post(pending)
            if not rejected:
                return len(batch)
            if attempt == retry.attempts:
                break
            delay = retry.delay(attempt)
            log.warning(
                '%s: %d document(s) rejected with 429 (queue full); retrying them in %.1f s',
                self.describe(),
                len(rejected),
                delay,
            )
            retry.sleep(delay)
            pending = rejected
        raise StorageError(
            f'{self.describe()} kept rejecting {len(pending)} document(s) with 429 (write queue full) after '
            f'{retry.attempts} attempts; the cluster is overloaded, try again later'
        )

    def _post(self, batch: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """One bulk request; returns the items rejected with 429 (to send again). Raises on other failures."""
        body = ''.join(text for _, text in batch).encode('utf-8')
        what = f'bulk request of {len(batch)} document(s) to {self.describe()}'
        response = self.client.request(
            'POST', f'{self.url}/_bulk', what=what, data=body, headers=self._headers, auth=self._auth
        )
        with response:
            if not 200 <= response.status_code < 300:
                raise StorageError(self._failure(response))
            try:
                answer = response.json()
                items = answer['items']
                errors = bool(answer.get('errors'))
            except (ValueError, KeyError, TypeError):
                raise StorageError(
                    f'{self.describe()} answered the bulk request with something that is not a bulk '
                    f'response: {excerpt(response, self.client.redact)}'
                ) from None
        if len(items) != len(batch):
            raise StorageError(f'{self.describe()} answered {len(items)} items for {len(batch)} documents')
        if not errors:
            return []
        rejected, failed = [], []
        for sent, item in zip(batch, items, strict=True):
            result = next(iter(item.values()), {}) if isinstance(item, dict) else {}
            status = result.get('status', 0)
            if 200 <= status < 300:
                continue
            if status == 429:
                rejected.append(sent)
            else:
                error = result.get('error') or {}
                reason = error.get('reason') if isinstance(error, dict) else str(error)
                kind = error.get('type') if isinstance(error, dict) else None
                failed.append(f'{sent[0][:12]}…: HTTP {status} {kind or ""} {reason or ""}'.strip())
        if failed:
            shown = '; '.join(failed[:3]) + (f'; and {len(failed) - 3} more' if len(failed) > 3 else '')
            raise StorageError(
                self.client.redact(f'{self.describe()} refused {len(failed)} of {len(batch)} document(s): {shown}')
            )
        return rejected

    def _failure(self, response: Any) -> str:
        answer, where = failure(response, self.client), self.describe()
        reason = {
            'credentials': f'{where} refused the credentials (HTTP {answer.status}); check the API key or user and '
            f'its index privileges (index on {self.index})',
            'too_large': f'{where} found the bulk request too large (HTTP 413); lower max_batch_bytes',
            'unavailable': f'{where} answered HTTP {answer.status} after {answer.attempts} attempts{answer.detail}',
            'refused': f'{where} answered HTTP {answer.status} to a bulk request{answer.detail}',
        }[answer.kind]
        return self.client.redact(reason)
