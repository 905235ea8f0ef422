"""The KPI sink: one Elasticsearch/OpenSearch document per shipped data file and one per gather run.

The sink is secondary. It receives documents only after the primary target confirmed a window (so it never reports
data that was not shipped), and its failures never fail the gather or hold a watermark back: they are logged and
reported in the run summary (`kpi.error`). File documents have deterministic ids (install uuid, object name, file),
so re-shipping a window overwrites its documents; run documents are per run (started time and shard).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from metrics_utility.library import instants, secret
from metrics_utility.library.package import parse_tarball_name
from metrics_utility.library.slicing import Window
from metrics_utility.library.storage import StorageError
from metrics_utility.library.storage.elasticsearch import StorageElasticsearch, document_id

from .runner import PackagedFile
from .summary import RunSummary

log = logging.getLogger('metrics_utility.gather.kpi')

Document = tuple[str, dict[str, Any]]


def file_documents(item: PackagedFile, window: Window, target: str | None, timestamp: str) -> list[Document]:
    """One document per data file of a shipped package."""
    parsed = parse_tarball_name(item.object_name)
    install_uuid = parsed.install_uuid if parsed else None
    docs = []
    for record in item.files:
        doc = {
            '@timestamp': timestamp,
            'type': 'file',
            'install_uuid': install_uuid,
            'collector': record['collector'],
            'file': record['file'],
            'part': record['part'],
            'parts': record['parts'],
            'window': {'since': window.since.isoformat(), 'until': window.until.isoformat()},
            'rows': record['rows'],
            'bytes': record['size'],
            'sha256': record['sha256'],
            'duration_seconds': record['elapsed'],
            'status': record['status'],
            'object': item.object_name,
            'package_bytes': item.bytes,
            'target': target,
        }
        docs.append((document_id(install_uuid or '', item.object_name, record['file']), doc))
    return docs


def run_document(summary: RunSummary, install_uuid: str | None, started: datetime, duration: float) -> Document:
    doc = {
        '@timestamp': started.isoformat(),
        'type': 'run',
        'install_uuid': install_uuid,
        'command': summary.command,
        'status': 'ok' if summary.ok else 'failed',
        'error': summary.error,
        'window': {'since': summary.since, 'until': summary.until} if summary.since else None,
        'rows': summary.rows,
        'bytes': summary.bytes,
        'packages': summary.packages,
        'duration_seconds': round(duration, 3),
        'target': summary.target,
        'stored_bytes': summary.stored_bytes,
        'stored_objects': summary.stored_objects,
        'collectors': {
            k: {'rows': o.rows, 'windows': o.windows, 'error': o.error} for k, o in sorted(summary.collectors.items())
        },
    }
    shard = (summary.backfill or {}).get('shard')
    return document_id('run', install_uuid or '', started.isoformat(), str(shard)), doc


class KpiSink:
    """Hooks for the runner: `confirmed` after each window, `finish` at the end of the run."""

    def __init__(self, target: StorageElasticsearch, now: Callable[[], datetime] = instants.now) -> None:
        self.target = target
        self.now = now
        self.started = now()
        self._clock = time.monotonic()
        self.documents = 0
        self.error: str | None = None
        self.install_uuid: str | None = None

    def _send(self, docs: list[Document], what: str) -> None:
        if not docs:
            return
        try:
            self.documents += self.target.index_documents(docs)
        except StorageError as exc:
            reason = secret.redact(str(exc))  # the status copies it: redacted before anything cuts it
            self.error = self.error or reason
            log.warning('KPI documents for %s not indexed (the gather itself is not affected): %s', what, reason)

    def confirmed(self, key: str, window: Window, shipped: list[PackagedFile], target: str | None = None) -> None:
        timestamp = self.now().isoformat()
        docs = [doc for item in shipped for doc in file_documents(item, window, target, timestamp)]
        if docs and self.install_uuid is None:
            self.install_uuid = docs[0][1]['install_uuid']
        self._send(docs, f'{key} {window.since.isoformat()}..{window.until.isoformat()}')

    def finish(self, summary: RunSummary) -> None:
        self._send([run_document(summary, self.install_uuid, self.started, time.monotonic() - self._clock)], 'the run')
        summary.kpi = {'documents': self.documents, 'error': self.error}
