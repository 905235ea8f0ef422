"""The run summary: the worker's last act, read by the operator from the pod's termination message.

Its keys are `metrics_utility.contract.SUMMARY_FIELDS` (the operator's `metrics_operator.worker_summary` reads the
same table), at most `SUMMARY_MAX_BYTES` of JSON. A gather's summary:

    {"command": "gather", "ok": bool, "window": {"since", "until"} | null, "rows": int, "bytes": int,
     "packages": int, "unreadable_rows": int, "target": str | null, "vcpu": number | null, "error": str | null,
     "collectors": {key: {"windows": int, "rows": int, "bytes": int, "packages": int,
                          "shipped_until": str | null, "error": str | null, "unreadable": int}},
     # added for operating at scale (docs/scale.md); each is present only when known:
     "stored_bytes": int, "stored_objects": int,          # what the storage holds after retention
     "retention": {"max_age_days", "max_bytes", "deleted_objects", "deleted_bytes", "blocked_objects",
                   "blocked_bytes"},
     "volume": {"bytes": int, "free_bytes": int},         # the filesystem of a directory target
     "backfill": {"run": str, "shard": int, "shards": int, "slices": int, "merged": {key: until}},
     "kpi": {"documents": int, "error": str | null},
     "usage": {"month": "YYYY-MM", "unique_managed_nodes": int, "job_runs": int},   # only when computed
     "started_from": {key: "state" | "controller-watermark" | "target-packages" | "default"},
     "secondary": {"target": "crc", "ok": bool, "windows": int, "packages": int, "bytes": int, "pending": int,
                   "last_window": {"since", "until"} | null, "shipped_until": {key: until}, "error": str | null},
     "crc": {"identity": "controller" | "managed" | "certificate" | "service-account" | null,
             "fallback": str | null, "subject": str | null, "not_after": "…Z" | null}}

`crc` says which identity the console.redhat.com uploads of the run used (the last accepted one's; null when none
was accepted) and, when a client certificate was tried and given up for the service account (or there was nothing
to upload with), why; `subject` and `not_after` name the certificate that carried them (its subject, e.g. the
Candlepin consumer's CN, and expiry; never key or certificate content).

`secondary` is the second, put-only target fed from the primary's stored packages (`gather/secondary.py`); its
failure is its own (`ok` stays the primary's).

`started_from` says where each windowed collector of a gather started and why (`gather/upstream_marks.py`): our
own watermark, metrics-utility's watermark in the controller database or its packages in the target (first run
after switching over, docs/migrate.md), or the look-back horizon.

`unreadable` (per collector) counts the shipped rows whose stored document (host variables, event data) could not be
read and was exported with NULLs (docs/collectors.md); `unreadable_rows` is their sum, kept when `collectors` is
dropped. Such rows never fail a run. Readers must treat both as 0 when absent (summaries of older workers).

`collectors` is dropped first, then the error is shortened, when the document would exceed the limit. Every string
is redacted (`library.secret`: known secrets in any encoding, credential shapes) before anything is shortened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics_utility import contract
from metrics_utility.library.summary_file import fit, write_text

MAX_BYTES = contract.SUMMARY_MAX_BYTES
GATHER_FIELDS = tuple(f for f in contract.SUMMARY_FIELDS if 'gather' in f.commands)


@dataclass
class CollectorOutcome:
    windows: int = 0
    rows: int = 0
    bytes: int = 0
    packages: int = 0
    shipped_until: str | None = None
    error: str | None = None
    unreadable: int = 0  # rows whose stored document could not be read (exported with NULLs)


@dataclass
class RunSummary:
    command: str = 'gather'
    ok: bool = True
    since: str | None = None
    until: str | None = None
    target: str | None = None
    vcpu: float | None = None
    error: str | None = None
    collectors: dict[str, CollectorOutcome] = field(default_factory=dict)
    stored_bytes: int | None = None
    stored_objects: int | None = None
    retention: dict[str, Any] | None = None
    volume: dict[str, int] | None = None
    backfill: dict[str, Any] | None = None
    kpi: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None  # month-to-date usage (gather.usage), when computed
    started_from: dict[str, str] | None = None  # per windowed collector: where the run started and why
    secondary: dict[str, Any] | None = None  # the second, put-only target's outcome (gather.secondary)
    crc: dict[str, Any] | None = None  # console.redhat.com: contract.SUMMARY_CRC_FIELDS

    def outcome(self, key: str) -> CollectorOutcome:
        return self.collectors.setdefault(key, CollectorOutcome())

    def total(self, figure: str) -> int:
        """One CollectorOutcome figure summed over the collectors (what the summary's top-level counts show)."""
        return sum(getattr(c, figure) for c in self.collectors.values())

    @property
    def rows(self) -> int:
        return self.total('rows')

    @property
    def bytes(self) -> int:
        return self.total('bytes')

    @property
    def packages(self) -> int:
        return self.total('packages')

    @property
    def unreadable(self) -> int:
        return self.total('unreadable')

    def fields(self) -> dict[str, Any]:
        """Every gather key of the contract with its value (None when unknown)."""
        return {
            'command': self.command,
            'ok': self.ok,
            'window': {'since': self.since, 'until': self.until} if self.since and self.until else None,
            'rows': self.rows,
            'bytes': self.bytes,
            'packages': self.packages,
            'unreadable_rows': self.unreadable,
            'target': self.target,
            'vcpu': self.vcpu,
            'error': self.error,
            'collectors': {k: vars(v) for k, v in sorted(self.collectors.items())},
            'stored_bytes': self.stored_bytes,
            'stored_objects': self.stored_objects,
            'retention': self.retention,
            'volume': self.volume,
            'backfill': self.backfill,
            'kpi': self.kpi,
            'usage': self.usage,
            'started_from': self.started_from,
            'secondary': self.secondary,
            'crc': self.crc,
        }

    def to_json(self) -> dict[str, Any]:
        """The summary in the contract's key order; keys written only when known are left out while unknown."""
        values = self.fields()
        return {f.key: values[f.key] for f in GATHER_FIELDS if not (f.when_known and values[f.key] is None)}

    def render(self, limit: int = MAX_BYTES) -> str:
        """Compact JSON within `limit` bytes, redacted before it is shortened."""
        return fit(self.to_json(), limit, optional=contract.SUMMARY_DROPPABLE['gather'])


def write(summary: RunSummary, path: str | Path | None) -> None:
    """Write the summary to `path` ('-' for stdout). A failure to write it must not mask the run's own outcome."""
    if path is not None:
        write_text(summary.render(), path)
