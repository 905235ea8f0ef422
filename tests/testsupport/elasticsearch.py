"""The Elasticsearch/OpenSearch `_bulk` endpoint's contract, as a responder for the local HTTPS server.

What it checks and answers, as a real cluster does: `POST /_bulk` (or `/<index>/_bulk`) with an NDJSON body
(`Content-Type: application/x-ndjson`, final newline required); each action line is one of index/create/update/
delete with `_index` (or the path's index); index/create/update are followed by a source line that is a JSON object;
the answer is `{"took", "errors", "items": [{<action>: {"_index", "_id", "status", "result" | "error"}}]}` with one
item per action, in order. `index` with an existing `_id` overwrites (status 200, result "updated"), otherwise 201.
Authentication: an API key (`Authorization: ApiKey …`) or HTTP basic, when configured.

Fault injection: `fail_items(n, status, type_)` answers the next n items with an error (429 is a per-item
`es_rejected_execution_exception`); `server.script(Reply(429))` answers a whole request.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from testsupport.https_servers import Recorded, Reply

ACTIONS = ('index', 'create', 'update', 'delete')


class BulkProtocolError(ValueError):
    pass


class ElasticsearchBulk:
    def __init__(self, api_key: str | None = None, basic: tuple[str, str] | None = None) -> None:
        self.api_key = api_key
        self.basic = basic
        self.indices: dict[str, dict[str, dict[str, Any]]] = {}
        self.bulk_requests = 0
        self.protocol_errors: list[str] = []
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def fail_items(self, count: int, status: int = 429, type_: str = 'es_rejected_execution_exception') -> None:
        with self._lock:
            self._failures.extend([(status, type_)] * count)

    def documents(self, index: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.indices.get(index, {}))

    def _authorised(self, request: Recorded) -> bool:
        header = request.headers.get('Authorization', '')
        if self.api_key is not None:
            return header == f'ApiKey {self.api_key}'
        if self.basic is not None:
            expected = base64.b64encode(f'{self.basic[0]}:{self.basic[1]}'.encode()).decode()
            return header == f'Basic {expected}'
        return True

    def __call__(self, request: Recorded) -> Reply:
        path = request.path.split('?', 1)[0]
        parts = [p for p in path.split('/') if p]
        if request.method != 'POST' or not parts or parts[-1] != '_bulk' or len(parts) > 2:
            return Reply(404, {'error': {'type': 'no_handler', 'reason': f'no handler for {request.method} {path}'}})
        if not self._authorised(request):
            return Reply(401, {'error': {'type': 'security_exception', 'reason': 'unable to authenticate'}})
        try:
            pairs = self._parse(request, parts[0] if len(parts) == 2 else None)
        except BulkProtocolError as exc:
            with self._lock:
                self.protocol_errors.append(str(exc))
            return Reply(400, {'error': {'type': 'illegal_argument_exception', 'reason': str(exc)}, 'status': 400})
        items, errors = [], False
        with self._lock:
            self.bulk_requests += 1
            for action, meta, source in pairs:
                index, doc_id = meta['_index'], meta.get('_id')
                result: dict[str, Any] = {'_index': index, '_id': doc_id}
                if self._failures:
                    status, type_ = self._failures.pop(0)
                    result |= {'status': status, 'error': {'type': type_, 'reason': f'injected {type_}'}}
                    errors = True
                else:
                    store = self.indices.setdefault(index, {})
                    existed = doc_id in store
                    if action == 'delete':
                        store.pop(doc_id, None)
                        result |= {'status': 200 if existed else 404, 'result': 'deleted' if existed else 'not_found'}
                    elif action == 'create' and existed:
                        result |= {
                            'status': 409,
                            'error': {'type': 'version_conflict_engine_exception', 'reason': 'document already exists'},
                        }
                        errors = True
                    else:
                        store[doc_id] = source
                        result |= {'status': 200 if existed else 201, 'result': 'updated' if existed else 'created'}
                items.append({action: result})
        return Reply(200, {'took': 1, 'errors': errors, 'items': items})

    @staticmethod
    def _parse(request: Recorded, path_index: str | None) -> list[tuple[str, dict[str, Any], Any]]:
        if request.headers.get('Content-Type', '').split(';')[0].strip() not in (
            'application/x-ndjson',
            'application/json',
        ):
            raise BulkProtocolError('Content-Type must be application/x-ndjson')
        text = request.body.decode('utf-8')
        if not text.endswith('\n'):
            raise BulkProtocolError('The bulk request must be terminated by a newline [\\n]')
        lines = text[:-1].split('\n')
        pairs = []
        position = 0
        while position < len(lines):
            try:
                action_line = json.loads(lines[position])
            except ValueError:
                raise BulkProtocolError(f'line {position + 1}: not JSON') from None
            if not isinstance(action_line, dict) or len(action_line) != 1 or next(iter(action_line)) not in ACTIONS:
                raise BulkProtocolError(f'line {position + 1}: expected one of {ACTIONS} as the only key')
            action, meta = next(iter(action_line.items()))
            meta = dict(meta or {})
            meta.setdefault('_index', path_index)
            if not meta['_index']:
                raise BulkProtocolError(f'line {position + 1}: index is missing')
            position += 1
            source = None
            if action != 'delete':
                if position >= len(lines):
                    raise BulkProtocolError(f'line {position}: {action} without a source line')
                try:
                    source = json.loads(lines[position])
                except ValueError:
                    raise BulkProtocolError(f'line {position + 1}: source is not JSON') from None
                if not isinstance(source, dict):
                    raise BulkProtocolError(f'line {position + 1}: source must be a JSON object')
                position += 1
            pairs.append((action, meta, source))
        if not pairs:
            raise BulkProtocolError('request body is required')
        return pairs
