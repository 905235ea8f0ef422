"""The worker's run summary, read from the pod's termination message.

Contract (worker → operator): the keys are `metrics_utility.contract.SUMMARY_FIELDS`, each with the `Summary`
attribute it fills here (a test parses every one). As its last act the worker writes one JSON object, at most
4 KiB, to `/dev/termination-log`; the kubelet copies it to `status.containerStatuses[].state.terminated.message`:

    {"command": "gather" | "build-report" | "check",   # which command ran
     "ok": true | false,                     # the run did what it was asked
     "window": {"since": RFC3339, "until": RFC3339} | null,   # gather: the window shipped (since incl., until excl.)
     "rows": int, "bytes": int, "packages": int,               # gather: what was shipped
     "unreadable_rows": int,                 # gather: rows exported with NULLs (document unreadable); absent
                                             # from older workers' summaries (then None: unknown)
     "target": "directory" | "s3" | "crc",
     "report": str | null,                   # build-report: the report's object name
     "quantity": int | null,                 # build-report: billed managed nodes of the report's period
     "period": str | null,                   # build-report: "YYYY-MM" or "YYYY-MM-DD--YYYY-MM-DD" (until incl.)
     "problem_count": int,                   # build-report: packages/files not used (tampered, unreadable, …)
     "problems": [str],                      # build-report: the first few of them, "<day> <package>: <message>"
     "usage": {"month": "YYYY-MM", "unique_managed_nodes": int, "job_runs": int} | null,
                                             # gather: month-to-date usage from the daily rollups (opt-in)
     "vcpu": number | null,                  # vCPU gather: the value shipped
     "error": str | null,                    # on failure: one line a person can act on
     "reason": str,                          # check: contract.CHECK_REASONS of the first failed check (or Ok)
     # gather, operating at scale (docs/scale.md), additive:
     "stored_bytes": int, "stored_objects": int,            # what the storage holds after retention
     "retention": {"max_age_days", "max_bytes", "deleted_objects", "deleted_bytes", "blocked_objects",
                   "blocked_bytes"},                        # the limits applied and what they did
     "volume": {"bytes": int, "free_bytes": int},           # the filesystem of a directory target
     "kpi": {"documents": int, "error": str | null},        # the KPI sink: documents indexed, why it failed
     "crc": {"identity": str | null, "fallback": str | null,    # console.redhat.com: the identity uploads used,
             "subject": str | null, "not_after": str | null}}   # and its certificate's subject and expiry
                                                            # (contract.CRC_IDENTITIES), why the certificate was
                                                            # given up for the service account

Every field except `ok` is optional. A missing, truncated or non-JSON message is not an error: the operator then
relies on the Job's conditions alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from metrics_utility import contract
from metrics_utility.library.secret import scrub

MAX_BYTES: Final = contract.SUMMARY_MAX_BYTES
MAX_ERROR: Final = 1024
MAX_PROBLEM: Final = 300
MAX_SUBJECT: Final = 256  # a certificate's subject (the worker sends at most as much)


@dataclass(frozen=True)
class Window:
    since: str
    until: str


@dataclass(frozen=True)
class MonthUsage:
    """Month-to-date figures the worker computed from the storage's daily rollups (UTC month)."""

    month: str
    unique_managed_nodes: int
    job_runs: int


@dataclass(frozen=True)
class Kpi:
    """What the gather's KPI sink did; a failure there never fails the gather, so it is only visible here."""

    documents: int
    error: str | None = None


@dataclass(frozen=True)
class Secondary:
    """The second, put-only target (console.redhat.com) fed from the primary's packages; its failure never fails
    the gather, so it is only visible here."""

    target: str
    ok: bool
    pending: int | None = None  # windows still to send
    last_window: Window | None = None  # the last window it confirmed in that run
    error: str | None = None


@dataclass(frozen=True)
class Crc:
    """Which identity the console.redhat.com uploads used (contract.CRC_IDENTITIES; None: none was accepted) and why
    the client certificate was given up for the service account (None: it was not); the certificate's subject and
    expiry (ISO 8601) when one carried the uploads."""

    identity: str | None
    fallback: str | None = None
    subject: str | None = None
    not_after: str | None = None


@dataclass(frozen=True)
class Summary:
    ok: bool
    command: str | None = None
    window: Window | None = None
    rows: int | None = None
    bytes: int | None = None
    packages: int | None = None
    unreadable_rows: int | None = None
    target: str | None = None
    report: str | None = None
    vcpu: float | None = None
    error: str | None = None
    stored_bytes: int | None = None
    stored_objects: int | None = None
    retention: dict[str, int | None] | None = None
    volume: dict[str, int] | None = None
    quantity: int | None = None
    period: str | None = None
    usage: MonthUsage | None = None
    kpi: Kpi | None = None
    problems: int | None = None  # build-report: how many problems the report listed
    first_problem: str | None = None
    reason: str | None = None  # check: the reason code of the first failed check (contract.CHECK_REASONS)
    secondary: Secondary | None = None
    crc: Crc | None = None


def _ints(value: Any, fields: tuple[str, ...]) -> dict[str, int | None] | None:
    return {name: _int(value.get(name)) for name in fields} if isinstance(value, dict) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _str(value: Any, limit: int = 512) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _usage(value: Any) -> MonthUsage | None:
    if not isinstance(value, dict):
        return None
    month, nodes, runs = (
        _str(value.get('month'), 7),
        _int(value.get('unique_managed_nodes')),
        _int(value.get('job_runs')),
    )
    if month is None or nodes is None or runs is None:
        return None
    return MonthUsage(month=month, unique_managed_nodes=nodes, job_runs=runs)


def _kpi(value: Any) -> Kpi | None:
    if not isinstance(value, dict) or _int(value.get('documents')) is None:
        return None
    error = value.get('error')
    return Kpi(documents=value['documents'], error=_flat(error) if isinstance(error, str) and error else None)


def _flat(text: str) -> str:
    """One line, credential shapes scrubbed (the worker redacted it; this is the second lock), then shortened."""
    return scrub(' '.join(text.split()))[:MAX_ERROR]


def parse(message: str | None) -> Summary | None:
    """The summary in a termination message, or None when there is none worth trusting."""
    if not message or len(message.encode()) > MAX_BYTES:
        return None
    try:
        data = json.loads(message)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get('ok'), bool):
        return None
    raw_window = data.get('window')
    window = None
    if isinstance(raw_window, dict) and _str(raw_window.get('since')) and _str(raw_window.get('until')):
        window = Window(since=raw_window['since'], until=raw_window['until'])
    vcpu = data.get('vcpu')
    return Summary(
        ok=data['ok'],
        command=_str(data.get('command')),
        window=window,
        rows=_int(data.get('rows')),
        bytes=_int(data.get('bytes')),
        packages=_int(data.get('packages')),
        unreadable_rows=_int(data.get('unreadable_rows')),
        target=_str(data.get('target')),
        report=_str(data.get('report')),
        vcpu=float(vcpu) if isinstance(vcpu, int | float) and not isinstance(vcpu, bool) else None,
        error=_flat(data['error']) if isinstance(data.get('error'), str) else None,
        stored_bytes=_int(data.get('stored_bytes')),
        stored_objects=_int(data.get('stored_objects')),
        retention=_ints(data.get('retention'), contract.SUMMARY_RETENTION_FIELDS),
        volume=_volume(data.get('volume')),
        quantity=_int(data.get('quantity')),
        period=_str(data.get('period'), 32),
        usage=_usage(data.get('usage')),
        kpi=_kpi(data.get('kpi')),
        problems=_int(data.get('problem_count')),
        first_problem=_first_problem(data.get('problems')),
        reason=_str(data.get('reason'), 64),
        secondary=_secondary(data.get('secondary')),
        crc=_crc(data.get('crc')),
    )


def _crc(value: Any) -> Crc | None:
    if not isinstance(value, dict):
        return None
    identity = value.get('identity')
    fallback = value.get('fallback')
    if identity not in contract.CRC_IDENTITIES and identity is not None:
        identity = None  # an identity this operator does not know: shown as unknown, the fallback reason still counts
    reason = _flat(fallback) if isinstance(fallback, str) and fallback.strip() else None
    subject = value.get('subject')
    subject = _flat(subject)[:MAX_SUBJECT] if isinstance(subject, str) and subject.strip() else None
    not_after = value.get('not_after')
    if not (isinstance(not_after, str) and len(not_after) <= 64 and _is_instant(not_after)):
        not_after = None
    if not (identity or reason):
        return None
    return Crc(identity=identity, fallback=reason, subject=subject, not_after=not_after)


def _is_instant(text: str) -> bool:
    """An ISO 8601 time with its offset (the status field is a date-time: anything else would be refused)."""
    try:
        parsed = datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _secondary(value: Any) -> Secondary | None:
    if not isinstance(value, dict) or not isinstance(value.get('ok'), bool) or not _str(value.get('target'), 32):
        return None
    raw = value.get('last_window')
    window = None
    if isinstance(raw, dict) and _str(raw.get('since'), 64) and _str(raw.get('until'), 64):
        window = Window(since=raw['since'][:64], until=raw['until'][:64])
    error = value.get('error')
    return Secondary(
        target=value['target'][:32],
        ok=value['ok'],
        pending=_int(value.get('pending')),
        last_window=window,
        error=_flat(error) if isinstance(error, str) and error else None,
    )


def _first_problem(value: Any) -> str | None:
    first = value[0] if isinstance(value, list) and value else None
    return _flat(first)[:MAX_PROBLEM] if isinstance(first, str) and first.strip() else None


def _volume(value: Any) -> dict[str, int] | None:
    figures = _ints(value, contract.SUMMARY_VOLUME_FIELDS)
    if figures is None or figures['bytes'] is None or figures['free_bytes'] is None:
        return None
    return {'bytes': figures['bytes'], 'free_bytes': figures['free_bytes']}
