"""A command's JSON summary, written within the termination-message limit: redacted first, then shortened.

Shared by every command (gather, build-report, check and the CLI's own failures) and read by the operator from the
pod's termination message, which the kubelet keeps only up to 4 KiB.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from metrics_utility import contract
from metrics_utility.library import secret


def write_json(data: dict[str, Any], path: str | Path | None) -> None:
    """Write a command's summary to `path` ('-' for stdout; None: nowhere) within `contract.SUMMARY_MAX_BYTES`,
    dropping first the blocks the contract names for `data['command']`."""
    if path is not None:
        optional = contract.SUMMARY_DROPPABLE.get(data.get('command'), ())  # type: ignore[call-overload]
        write_text(fit(data, contract.SUMMARY_MAX_BYTES, optional), path)


def fit(data: dict[str, Any], limit: int, optional: tuple[str, ...] = ()) -> str:
    """Compact JSON of `data` within `limit` bytes, as the operator measures a termination message: every string
    redacted first (so no cut leaves part of a secret), then the `optional` blocks dropped in order, then the error
    halved until it fits. Bytes, not characters: a non-ASCII error is escaped to six bytes a character."""
    data = secret.redact_tree(data)
    text = json.dumps(data, separators=(',', ':'))
    for name in optional:
        if len(text.encode()) <= limit:
            break
        data.pop(name, None)
        text = json.dumps(data, separators=(',', ':'))
    while len(text.encode()) > limit and isinstance(data.get('error'), str) and data['error']:
        data['error'] = data['error'][: max(0, len(data['error']) // 2 - 1)] + '…'
        text = json.dumps(data, separators=(',', ':'))
    return text


def write_text(text: str, path: str | Path) -> None:
    if str(path) == '-':
        sys.stdout.write(text + '\n')
        return
    try:
        with open(path, 'w', encoding='utf-8') as out:
            out.write(text)
            out.flush()
            if Path(path).is_file():
                os.fsync(out.fileno())
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        sys.stderr.write(f'metrics-utility: could not write the run summary to {path!r}: {reason}\n')
